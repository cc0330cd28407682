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

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from curate import __version__, registry
from curate import batch as B
from curate.atomic import AtomicWriter, write_json
from curate.checkpoint import DEFAULT_EVERY, Checkpointer, Position, discard, for_run
from curate.errors import InputError
from curate.ledger import Ledger, StepCount
from curate.outdir import claim
from curate.parallel import split_for_workers
from curate.pipeline import StepRunner, build_steps, chain, finish_summaries
from curate.reader import ReadBatch
from curate.rules import Rules, load_rules
from curate.sources import Source, open_source
from curate.writer import dropped_lines, kept_lines

OUTPUT_FILES = ("clean.jsonl", "dropped.jsonl", "quarantine.jsonl", "duplicates.jsonl")
#: Steps that remove personal data from the text (a step class may also set ``redacts = True``).
REDACTING_STEPS = frozenset({"redact_pii"})
Progress = Callable[[int, int], None]


@dataclass
class CleanResult:
    out_dir: Path
    manifest: dict[str, Any]
    ledger: Ledger
    #: where a ``resume`` run took over from a killed one (None: it started from the beginning)
    resumed_from: Position | None = None


def provenance(source: Source | str | Path, rules: Rules) -> dict[str, Any]:
    return provenance_of(open_source(source).describe(rules), rules)


def provenance_of(input_info: dict[str, Any], rules: Rules) -> dict[str, Any]:
    """The tool, input and rules blocks of a manifest or audit, for a described input."""
    return {
        "tool": {"name": "curate", "version": __version__},
        "input": input_info,
        "rules": {
            "name": rules.name,
            "source": rules.shown_source,
            "files": rules.shown_files,
            "sha256": rules.sha256,
            "seed": rules.seed,
        },
    }


def count_read(ledger: Ledger, read: ReadBatch) -> None:
    ledger.records += read.frame.height + len(read.quarantined)
    ledger.quarantined += len(read.quarantined)
    ledger.blank_lines += read.blank_lines
    for q in read.quarantined:
        ledger.quarantine_reasons[q.reason] += 1


def withholds_records(rules: Rules) -> bool:
    """Whether the rules redact personal data, so that only clean.jsonl may hold record text."""
    registry.load_plugins()
    return any(
        spec.step in REDACTING_STEPS or getattr(registry.STEPS.get(spec.step), "redacts", False)
        for spec in rules.steps
    )


def withheld_drop_line(line: bytes) -> bytes:
    """A dropped.jsonl line of a redacting run: where and why, not the record."""
    return orjson.dumps({"_curate": {**orjson.loads(line)["_curate"], "record": "withheld"}})


def quarantine_line(entry: dict[str, Any], withhold: bool) -> bytes:
    """A quarantine.jsonl line; without the raw line in a redacting run."""
    if withhold:
        entry = {k: v for k, v in entry.items() if k not in ("raw", "raw_truncated")}
        entry["raw_withheld"] = True
    return orjson.dumps(entry)


def require_records(ledger: Ledger, input_path: str | Path) -> None:
    if ledger.records == 0:
        raise InputError(f"{input_path}: no records (the input is empty or only blank lines)")


def clean(
    input_path: str | Path | Any,
    out_dir: str | Path,
    rules: Rules | str | Path | None = None,
    *,
    progress: Progress | None = None,
    resume: bool = False,
    checkpoint_every: float = DEFAULT_EVERY,
    workers: int | None = None,
) -> CleanResult:
    """Clean one input with the given rules (a ``Rules``, a path, a bundled name or default).

    The input is a path or anything ``curate.sources.open_source`` accepts (a saved
    ``datasets`` folder, a ``datasets.Dataset``, a polars or pandas DataFrame, a list of dicts).
    With ``resume`` (a file input only), the run checkpoints every ``checkpoint_every``
    seconds and continues from the last checkpoint a killed run left (see curate.checkpoint).
    ``workers`` processes (default: one per core; 1 with ``resume``) share the per-record
    work of the leading steps; the outputs do not depend on how many.
    """
    out_dir = Path(out_dir)
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    data = open_source(input_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    with claim(out_dir, [*OUTPUT_FILES, "manifest.json"]):  # one run per folder
        ckpt = for_run(out_dir, "clean", rules, data, checkpoint_every) if resume else None
        return _clean(data, out_dir, rules, progress, ckpt, workers)


def _clean(
    data: Source,
    out_dir: Path,
    rules: Rules,
    progress: Progress | None,
    ckpt: Checkpointer | None,
    workers: int | None = None,
) -> CleanResult:
    source = data.label
    ledger = Ledger()
    writers: dict[str, Any] = {
        name: ckpt.writer(out_dir / name) if ckpt else AtomicWriter(out_dir / name)
        for name in OUTPUT_FILES
    }

    withhold = withholds_records(rules)

    def on_drop(frame: Any, count: StepCount) -> None:
        for line in dropped_lines(frame, count.id):
            writers["dropped.jsonl"].write_line(withheld_drop_line(line) if withhold else line)

    try:
        with tempfile.TemporaryDirectory(prefix=".work-", dir=out_dir) as work:
            steps = build_steps(rules)
            runners = [StepRunner(spec, step, ledger, on_drop) for spec, step in steps]
            if ckpt:
                ckpt.track("ledger", ledger)
                for runner in runners:
                    runner.count = ledger.steps[runner.spec.id]  # restored with the ledger
                    ckpt.track(f"step:{runner.spec.id}", runner.step)

            def frames() -> Any:
                done = 0
                for read in ckpt.reads(data.read(rules)) if ckpt else data.read(rules):
                    count_read(ledger, read)
                    for q in read.quarantined:
                        entry = quarantine_line(q.to_json(source), withhold)
                        writers["quarantine.jsonl"].write_line(entry)
                    done += read.bytes_read
                    if progress:
                        progress(read.frame.height + len(read.quarantined), done)
                    yield read.frame

            head = split_for_workers(rules, runners, [], workers, ckpt, data)
            for frame in chain(head(frames()), runners[len(head.runners) :], Path(work), ckpt):
                for line in kept_lines(frame):
                    writers["clean.jsonl"].write_line(line)
                upsampled = int(frame[B.UPSAMPLED].sum()) if B.UPSAMPLED in frame.columns else 0
                ledger.kept += frame.height - upsampled
                ledger.added += upsampled
            require_records(ledger, source)
            finish_summaries(runners)
            for _, step in steps:
                for cluster in getattr(step, "duplicate_clusters", lambda: [])():
                    writers["duplicates.jsonl"].write_line(orjson.dumps(cluster))
            ledger.check()
        manifest = {
            "command": "clean",
            **provenance(data, rules),
            "counts": ledger.to_json(),
            "steps": [c.to_json() for c in ledger.steps.values()],
            "outputs": {
                name: {"lines": w.lines, "sha256": w.sha256} for name, w in writers.items()
            },
        }
        # manifest.json is the mark of a complete run: it goes first and comes back last, so a
        # kill in between never leaves an old manifest next to new outputs.
        (out_dir / "manifest.json").unlink(missing_ok=True)
        for writer in writers.values():
            writer.commit()
        write_json(out_dir / "manifest.json", manifest)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    if ckpt:
        ckpt.finish()
    else:
        discard(out_dir, "clean")  # an older interrupted run's checkpoint is obsolete now
    return CleanResult(out_dir, manifest, ledger, ckpt.resumed_from if ckpt else None)
