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
from typing import Any

import polars as pl

from curate.atomic import AtomicWriter, LineWriter, write_json
from curate.checkpoint import DEFAULT_EVERY, Position, held_run
from curate.errors import CurateError
from curate.ledger import Ledger, StepCount
from curate.outdir import replace_dir
from curate.pipeline import Block
from curate.reader import detect_format, file_sha256
from curate.rules import Rules, load_rules, provenance_of
from curate.runner import Progress, check_engine, run_local
from curate.sources import FileSource, Source, open_source
from curate.writer import (
    cluster_lines,
    dropped_lines,
    dropped_output,
    jsonl_to_parquet,
    kept_lines,
    quarantine_output,
    with_masked_ids,
    withholds_record_text,
)

OUTPUT_FILES = ("clean.jsonl", "dropped.jsonl", "quarantine.jsonl", "duplicates.jsonl")
#: the outputs that a run on Ray writes as folders of shards, one per block
SHARDED = ("clean", "dropped", "quarantine")
PARQUET_OUTPUT = "clean.parquet"


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
) -> CleanResult:
    """Clean one input with the given rules (a ``Rules``, a path, a bundled name or default).

    The input is a path or anything ``curate.sources.open_source`` accepts (a saved
    ``datasets`` folder, a ``datasets.Dataset``, a polars or pandas DataFrame, a list of dicts).
    The engine options are ``curate.runner.check_engine``'s; on Ray the clean, dropped and
    quarantine outputs are folders of shards listed in the manifest (``curate.engine_ray``).
    ``output_format="parquet"`` also writes clean.parquet (a Parquet input's column types
    kept), listed in the manifest's outputs.
    """
    out_dir = Path(out_dir)
    if output_format not in ("jsonl", "parquet"):
        raise CurateError(f"output format {output_format!r}: expected jsonl or parquet")
    if output_format == "parquet" and engine != "local":
        raise CurateError("output format parquet is for the local engine")
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    check_engine(engine, resume=resume, workers=workers)
    on_ray = engine == "ray"
    if on_ray:
        from curate import engine_ray as R

        plan = R.planned(input_path, rules)
    data = input_path if on_ray else open_source(input_path)
    outputs = [*OUTPUT_FILES, PARQUET_OUTPUT, "manifest.json"]
    with held_run(out_dir, outputs, "clean", rules, data, checkpoint_every, resume) as ckpt:
        if on_ray:
            writers = {"duplicates.jsonl": ckpt.writer(out_dir / "duplicates.jsonl")}
            for kind in SHARDED:
                (ckpt.folder / kind).mkdir()
            options = {"action": None, "output": Shards(ckpt.folder, rules), "num_cpus": num_cpus}
            run = R.run_pipeline(*plan, address=address, copies_are_added=True, **options)
            ledger, steps, info, shards = run.ledger, plan[2], run.info, _shards(run.outputs)
        else:
            writers = {name: ckpt.writer(out_dir / name) for name in OUTPUT_FILES}
            sink = CleanSink(writers, rules)
            ledger, steps = run_local(data, rules, sink, ckpt, progress=progress, workers=workers)
            info, shards = provenance(data, rules), {}
        withhold = withholds_record_text(spec.step for spec in rules.steps)
        for _, step in steps:
            for line in cluster_lines(step.duplicate_clusters(), withhold):
                writers["duplicates.jsonl"].write_line(line)
        files = {name: {"lines": w.lines, "sha256": w.sha256} for name, w in writers.items()}
        engine_key = {"engine": "ray"} if on_ray else {}
        manifest = ledger.manifest("clean", info, {**shards, **files}, **engine_key)
        # manifest.json is the mark of a complete run: it goes first and comes back last, so a
        # kill in between never leaves an old manifest next to new outputs.
        (out_dir / "manifest.json").unlink(missing_ok=True)
        for writer in writers.values():
            writer.commit()
        for kind in shards:
            replace_dir(ckpt.folder / kind, out_dir / kind)
        if output_format == "parquet":
            target = out_dir / PARQUET_OUTPUT
            path = data.path if isinstance(data, FileSource) else None  # its types are kept
            like = path if path and path.is_file() and detect_format(path) == "parquet" else None
            rows = jsonl_to_parquet(out_dir / "clean.jsonl", target, like)
            manifest["outputs"][PARQUET_OUTPUT] = {"rows": rows, "sha256": file_sha256(target)}
        elif not on_ray:
            (out_dir / PARQUET_OUTPUT).unlink(missing_ok=True)  # an older run's, now stale
        write_json(out_dir / "manifest.json", manifest)
    return CleanResult(out_dir, manifest, ledger, ckpt.resumed_from)


def _shards(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest's listing of a Ray run's shards, per output, in input order."""
    listing = {}
    for kind in SHARDED:
        shards = [block[kind] for block in outputs if kind in block]
        listing[kind] = {"lines": sum(s["lines"] for s in shards), "shards": shards}
    return listing


@dataclass(frozen=True)
class Shards:
    """On Ray, the end of each block (``curate.engine_ray.Advance.output``): its records
    through a ``CleanSink`` into shards of the work folder, one per output that has lines;
    their listing."""

    work: Path
    rules: Rules

    def __call__(self, block: Block) -> dict[str, Any]:
        name = f"part-{block.name}.jsonl"
        writers = {f"{kind}.jsonl": AtomicWriter(self.work / kind / name) for kind in SHARDED}
        block.into(CleanSink(writers, self.rules, block.label))
        shards = {}
        for kind, writer in zip(SHARDED, writers.values(), strict=True):
            if not writer.lines:
                writer.abort()
                continue
            writer.commit()  # a task that Ray re-runs writes the same bytes again
            shards[kind] = {"path": f"{kind}/{name}", "lines": writer.lines}
            shards[kind]["sha256"] = writer.sha256
        return shards


class CleanSink:
    """Writes kept, dropped and quarantined records (see the module doc); ``file`` names the
    input file of the records (on Ray, with several)."""

    def __init__(
        self, writers: dict[str, LineWriter], rules: Rules, file: str | None = None
    ) -> None:
        self.writers = writers
        self.withhold = withholds_record_text(spec.step for spec in rules.steps)
        self.id_field = rules.fields.id
        self.file = file

    def quarantined(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            self.writers["quarantine.jsonl"].write_line(quarantine_output(entry, self.withhold))

    def dropped(self, frame: pl.DataFrame, count: StepCount) -> None:
        for line in dropped_lines(frame, count.id, self.file):
            self.writers["dropped.jsonl"].write_line(dropped_output(line, self.withhold))

    def kept(self, frame: pl.DataFrame) -> None:
        lines = kept_lines(frame)
        if self.withhold and self.id_field is not None:
            lines = with_masked_ids(frame, lines, self.id_field)
        for line in lines:
            self.writers["clean.jsonl"].write_line(line)

    def saved_state(self) -> None:
        return None  # the writers' parts are the checkpoint's own

    def restore_state(self, state: None) -> None:
        pass
