"""``curate clean``: run the rules' steps and write kept, dropped and quarantined records.

Outputs: clean.jsonl (kept records), dropped.jsonl (each dropped record with ``_curate``: step,
reason, line, id), quarantine.jsonl (malformed records: line, reason, error and the raw line),
duplicates.jsonl (clusters of record ids) and manifest.json, written last as the mark of a
complete run. dropped.jsonl and quarantine.jsonl hold records as read, for the data owner to
review, except when the rules redact personal data (a ``redact_pii`` step): then no record text
is written outside clean.jsonl, because a dropped or malformed record never had its text
redacted. Such a run writes each dropped record's ``_curate`` alone (``"record": "withheld"``)
and each quarantine entry without ``raw`` (``"raw_withheld": true``); the line number finds the
record in the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from curate.atomic import LineWriter, write_json
from curate.checkpoint import DEFAULT_EVERY, Checkpointer, Position, held_run
from curate.errors import CurateError
from curate.ledger import Ledger, StepCount
from curate.reader import detect_format, file_sha256
from curate.rules import Rules, load_rules, provenance_of
from curate.runner import Progress, check_engine, run_local
from curate.sources import FileSource, Source, open_source
from curate.writer import (
    cluster_line,
    dropped_lines,
    dropped_output,
    jsonl_to_parquet,
    kept_lines,
    quarantine_output,
    withholds_record_text,
)

if TYPE_CHECKING:
    from curate.engine_ray import RayCleanResult

OUTPUT_FILES = ("clean.jsonl", "dropped.jsonl", "quarantine.jsonl", "duplicates.jsonl")
PARQUET_OUTPUT = "clean.parquet"


def parquet_input(data: Source) -> Path | None:
    """The Parquet file ``data`` reads, whose column types clean.parquet keeps."""
    path = data.path if isinstance(data, FileSource) else None
    return path if path and path.is_file() and detect_format(path) == "parquet" else None


@dataclass
class CleanResult:
    out_dir: Path
    manifest: dict[str, Any]
    ledger: Ledger
    #: where a ``resume`` run took over from a killed one (None: it started from the beginning)
    resumed_from: Position | None = None


def provenance(source: Source | str | Path, rules: Rules) -> dict[str, Any]:
    return provenance_of(open_source(source).describe(rules), rules)


def clean(
    input_path: str | Path | Any,
    out_dir: str | Path,
    rules: Rules | str | Path | None = None,
    *,
    progress: Progress | None = None,
    resume: bool = False,
    checkpoint_every: float = DEFAULT_EVERY,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    output_format: str = "jsonl",
) -> CleanResult | RayCleanResult:
    """Clean one input with the given rules (a ``Rules``, a path, a bundled name or default).

    The input is a path or anything ``curate.sources.open_source`` accepts (a saved
    ``datasets`` folder, a ``datasets.Dataset``, a polars or pandas DataFrame, a list of dicts).
    The engine options are ``curate.runner.check_engine``'s; on Ray the outputs are written as
    shards (``curate.engine_ray``). ``output_format="parquet"`` also writes clean.parquet (a
    Parquet input's column types kept), listed in the manifest's outputs.
    """
    out_dir = Path(out_dir)
    if output_format not in ("jsonl", "parquet"):
        raise CurateError(f"output format {output_format!r}: expected jsonl or parquet")
    if output_format == "parquet" and engine != "local":
        raise CurateError("output format parquet is for the local engine")
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    check_engine(engine, resume=resume, workers=workers)
    if engine == "ray":
        from curate.engine_ray import clean_ray

        return clean_ray(input_path, out_dir, rules, address=address, num_cpus=num_cpus)
    data = open_source(input_path)
    outputs = [*OUTPUT_FILES, PARQUET_OUTPUT, "manifest.json"]
    with held_run(out_dir, outputs, "clean", rules, data, checkpoint_every, resume) as ckpt:
        return _clean(data, out_dir, rules, ckpt, progress, workers, output_format == "parquet")


class CleanSink:
    """Writes kept, dropped and quarantined records (see the module doc)."""

    def __init__(self, writers: dict[str, LineWriter], rules: Rules) -> None:
        self.writers = writers
        self.withhold = withholds_record_text(spec.step for spec in rules.steps)

    def quarantined(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.writers["quarantine.jsonl"].write_line(quarantine_output(entry, self.withhold))

    def dropped(self, frame: pl.DataFrame, count: StepCount) -> None:
        for line in dropped_lines(frame, count.id):
            self.writers["dropped.jsonl"].write_line(dropped_output(line, self.withhold))

    def kept(self, frame: pl.DataFrame) -> None:
        for line in kept_lines(frame):
            self.writers["clean.jsonl"].write_line(line)

    def saved_state(self) -> None:
        return None  # the writers' parts are the checkpoint's own

    def restore_state(self, state: None) -> None:
        pass


def _clean(
    data: Source,
    out_dir: Path,
    rules: Rules,
    ckpt: Checkpointer,
    progress: Progress | None,
    workers: int | None,
    parquet: bool,
) -> CleanResult:
    writers = {name: ckpt.writer(out_dir / name) for name in OUTPUT_FILES}
    sink = CleanSink(writers, rules)
    ledger, steps = run_local(data, rules, sink, ckpt, progress=progress, workers=workers)
    for _, step in steps:
        for cluster in step.duplicate_clusters():
            writers["duplicates.jsonl"].write_line(cluster_line(cluster))
    outputs = {name: {"lines": w.lines, "sha256": w.sha256} for name, w in writers.items()}
    manifest = ledger.manifest("clean", provenance(data, rules), outputs)
    # manifest.json is the mark of a complete run: it goes first and comes back last, so a
    # kill in between never leaves an old manifest next to new outputs.
    (out_dir / "manifest.json").unlink(missing_ok=True)
    for writer in writers.values():
        writer.commit()
    if parquet:
        target = out_dir / PARQUET_OUTPUT
        rows = jsonl_to_parquet(out_dir / "clean.jsonl", target, parquet_input(data))
        manifest["outputs"][PARQUET_OUTPUT] = {"rows": rows, "sha256": file_sha256(target)}
    else:
        (out_dir / PARQUET_OUTPUT).unlink(missing_ok=True)  # an older run's, now stale
    write_json(out_dir / "manifest.json", manifest)
    return CleanResult(out_dir, manifest, ledger, ckpt.resumed_from)
