"""``--engine ray``'s last pass: every block of the final dataset writes its shards (kept,
dropped, quarantined, in input order), counts the fates of its rows and hands over the steps'
state rows and what a sink measured of it; the driver builds the ledger from those counts
alone, so that a task Ray re-runs after a failure counts once.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.ledger import Ledger, StepCount
from curate.ray_io import (
    BLANK_LINES,
    BORN,
    COUNT,
    DROPPED_AT,
    FATE_SCHEMA,
    FILE,
    FILE_SHIFT,
    KIND,
    MARKS_OF_DROPPED,
    ORDER,
    PAYLOAD,
    POS,
    QREASON,
    QUARANTINED,
    RECORD,
    STATE,
    STATE_BLOB,
    block_reads,
    first_pos,
    from_arrow,
    live_mask,
    maybe_fail,
    rules_key,
    worker_cached,
)
from curate.rules import Rules, StepSpec
from curate.writer import dropped_lines, kept_lines

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# -- a sink per block -------------------------------------------------------------------------

# Bookkeeping columns the local engine's frames do not have; sinks see the frame without them.
_HIDDEN = [c for c in FATE_SCHEMA if c not in (B.FLAGS, B.UPSAMPLED)]


class SinkBlocks:
    """``extras`` for the last pass: a sink (``curate.runner.Sink`` with ``update``/``take``,
    e.g. ``audit.sink.AuditSink``), built once per worker, folds in a block's quarantined and
    kept records and hands over what it measured: (the lines ``update`` gave, ``take()``)."""

    def __init__(self, rules: Rules, sink_type: Callable[[Rules], Any]) -> None:
        self.rules = rules
        self.sink_type = sink_type

    def __call__(self, frame: pl.DataFrame) -> tuple[list[bytes], Any]:
        def build() -> Any:
            registry.load_plugins()  # a worker gets the rules unpickled, not loaded
            return self.sink_type(self.rules)

        key = ("sink", self.sink_type.__qualname__, *rules_key(self.rules))
        sink = worker_cached(key, build)
        sink.take()  # a task that failed in this process left totals behind
        payloads = frame.filter(pl.col(KIND) == QUARANTINED)[PAYLOAD].to_list()
        sink.quarantined([orjson.loads(p) for p in payloads])
        view = frame.filter(live_mask(frame)).drop(_HIDDEN)
        if not view[B.UPSAMPLED].any():
            view = view.drop(B.UPSAMPLED)  # as locally, where only upsampling adds it
        lines = sink.update(view)
        return lines, sink.take()


# -- the last pass: counts, state, shards ----------------------------------------------------


def _count_block(frame: pl.DataFrame) -> dict[str, Any]:
    records = frame.filter(pl.col(KIND) == RECORD)
    live = records.filter(pl.col(DROPPED_AT).is_null())
    quarantined = frame.filter(pl.col(KIND) == QUARANTINED)
    return {
        "read": records.filter(pl.col(BORN) < 0).height,
        "live": live.height,
        "live_copies": int(live[B.UPSAMPLED].fill_null(False).sum()),
        "quarantined": quarantined.group_by(QREASON).len().rows(),
        "blank_lines": int(frame.filter(pl.col(KIND) == BLANK_LINES)[COUNT].sum() or 0),
        "reads": block_reads(frame),
    }


def _write_shard(folder: Path, name: str, lines: list[bytes]) -> dict[str, Any] | None:
    if not lines:
        return None
    body = b"".join(line + b"\n" for line in lines)
    target = folder / name
    temporary = folder / f".{name}.{os.getpid()}.part"
    temporary.write_bytes(body)
    os.replace(temporary, target)  # a retried task writes the same bytes again
    return {
        "path": f"{folder.name}/{name}",
        "lines": len(lines),
        "sha256": hashlib.sha256(body).hexdigest(),
    }


def _dropped_block_lines(
    gone: pl.DataFrame, step_ids: Sequence[str], labels: Sequence[str] | None
) -> list[bytes]:
    ordered: list[tuple[int, bytes]] = []
    restore = {v: k for k, v in MARKS_OF_DROPPED.items()}
    indexed = gone.with_row_index(ORDER)
    for (index,), part in indexed.group_by([DROPPED_AT], maintain_order=True):
        frame = part.rename(restore)
        lines = dropped_lines(frame, step_ids[int(index)])
        if labels is not None:  # several input files: say which one the line is in
            lines = [
                _with_file(line, labels[f]) for line, f in zip(lines, frame[FILE], strict=True)
            ]
        ordered += zip(frame[ORDER].to_list(), lines, strict=True)
    return [line for _, line in sorted(ordered, key=lambda item: item[0])]


def _with_file(line: bytes, label: str) -> bytes:
    record = orjson.loads(line)
    record["_curate"]["file"] = label
    return orjson.dumps(record)


def _shard_name(frame: pl.DataFrame) -> str:
    positions = frame[POS].drop_nulls()
    first = int(positions[0]) if positions.len() else 0
    digest = hashlib.sha256(frame[POS].to_numpy().tobytes() + frame[BORN].to_numpy().tobytes())
    return (
        f"part-{first >> FILE_SHIFT:06d}-{first & ((1 << FILE_SHIFT) - 1):012d}-"
        f"{digest.hexdigest()[:8]}.jsonl"
    )


def finish_block(
    table: pa.Table,
    *,
    work: str | None,
    step_ids: Sequence[str],
    labels: Sequence[str] | None,
    extras: Callable[[pl.DataFrame], Any] | None,
) -> pa.Table:
    """Ray task: write a block's shards (when ``work`` is set) and return its partial counts,
    the steps' state rows and ``extras(frame)``, as one row."""
    import pyarrow as pa

    frame = from_arrow(table)
    partial: dict[str, Any] = {
        "counts": _count_block(frame),
        "states": frame.filter(pl.col(KIND) == STATE)[STATE_BLOB].to_list(),
        "shards": {},
        "extras": extras(frame) if extras is not None else None,
    }
    if work is not None:
        folder = Path(work)
        name = _shard_name(frame)
        records = frame.filter(pl.col(KIND) == RECORD)
        live = records.filter(pl.col(DROPPED_AT).is_null())
        gone = records.filter(pl.col(DROPPED_AT).is_not_null())
        quarantined = frame.filter(pl.col(KIND) == QUARANTINED)[PAYLOAD].to_list()
        outputs = {
            "clean": kept_lines(live) if live.height else [],
            "dropped": _dropped_block_lines(gone, step_ids, labels) if gone.height else [],
            "quarantine": [p.encode() for p in quarantined],
        }
        for kind, lines in outputs.items():
            partial["shards"][kind] = _write_shard(folder / kind, name, lines)
    maybe_fail("finish", first_pos(frame))
    return pa.table({"partial": [pickle.dumps(partial)]})


def finish(
    ds: ray.data.Dataset,
    *,
    work: Path | None,
    step_ids: Sequence[str],
    labels: Sequence[str] | None,
    extras: Callable[[pl.DataFrame], Any] | None = None,
) -> list[dict[str, Any]]:
    """The last pass; partial results come back in block (``_pos``) order."""
    done = ds.map_batches(
        finish_block,
        fn_kwargs={
            "work": str(work) if work is not None else None,
            "step_ids": list(step_ids),
            "labels": list(labels) if labels is not None else None,
            "extras": extras,
        },
        batch_format="pyarrow",
        batch_size=None,
    )
    return [pickle.loads(row["partial"]) for row in done.iter_rows()]


def build_ledger(
    partials: Sequence[dict[str, Any]],
    specs: Sequence[StepSpec],
    actions: Sequence[str],
    *,
    copies_are_added: bool,
) -> Ledger:
    """The ledger from the final dataset: its rows' fates, and the step counts that each
    block's state rows carry (counted by the same ``StepRunner`` as locally)."""
    ledger = Ledger()
    for spec, action in zip(specs, actions, strict=True):
        ledger.steps[spec.id] = StepCount(spec.id, spec.step, action)
    live = live_copies = 0
    for partial in partials:
        counts = partial["counts"]
        for reason, n in counts["quarantined"]:
            ledger.quarantine_reasons[reason] += n
            ledger.quarantined += n
        ledger.records += counts["read"]
        ledger.blank_lines += counts["blank_lines"]
        live += counts["live"]
        live_copies += counts["live_copies"]
        for blob in partial["states"]:
            for index, (count, _) in pickle.loads(blob).items():
                ledger.steps[specs[index].id].add(count)
    ledger.records += ledger.quarantined
    ledger.count_out(live, live_copies, copies_are_added=copies_are_added)
    return ledger
