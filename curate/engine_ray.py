"""``--engine ray``: the cleaning steps on a Ray cluster, through Ray Data, with the local results.

Every input record becomes one row of a Ray dataset and stays one row to the end: a step that
drops a record only marks it (``_dropped_at``: the step's index, plus its reason and evidence),
later steps skip marked rows, and the last pass writes kept, dropped and quarantined rows to
their shards and counts them. The ledger is computed from that final dataset, never from side
effects of tasks, so a task that Ray re-runs after a failure counts once.

Rows carry their global position ``_pos = file index << 40 | line``: inputs are ordered by path,
so the order of ``_pos`` is the order in which the local engine would read the same files one
after the other. Every rule that depends on order uses it.

The engine knows no step by name; it schedules what steps declare (``curate.registry``):

- Per-record steps (``parallel_safe``) run as ``map_batches`` over Arrow blocks; the step
  objects are built in the workers from the validated rules, once per worker process. Their
  totals (the figures the manifest shows) come back per block as a *state row* and are added
  up on the driver, in block order.
- Whole-dataset steps (``GlobalStep``) run in phases: ``keys`` per block (records ranked from
  the blocks' offsets), ``spread`` rows grouped by the step's ``partition_by`` column (the
  shuffle) and ``reduce`` per group, then ``decide`` on the driver, which fetches only the keys
  rows it asks for; each block then applies the decision's marks by rank.

A step that keeps state across batches without a distributed form, or a whole-dataset step
after one that adds records, is refused with a rules error rather than run with different
results.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.atomic import AtomicWriter, write_json
from curate.errors import InputError, RulesError
from curate.ledger import Ledger, StepCount
from curate.pipeline import StepRunner, build_steps
from curate.ray_io import (  # noqa: F401  (the engine's public names, as before the split)
    BLANK_LINES,
    BORN,
    CHANGED_BY,
    CHANGED_DTYPE,
    COUNT,
    DROP_REASON,
    DROPPED_AT,
    FATE_SCHEMA,
    FAULT_ENV,
    FILE,
    FILE_SHIFT,
    KIND,
    MARKS_OF_DROPPED,
    ORDER,
    OUTPUT_KINDS,
    PAYLOAD,
    POS,
    QREASON,
    QUARANTINED,
    RECORD,
    STATE,
    STATE_BLOB,
    Inputs,
    RayEngineError,
    TaskRead,
    block_reads,
    complete_columns,
    from_arrow,
    list_inputs,
    live_mask,
    maybe_fail,
    partitions,
    provenance,
    ray_session,
    read_dataset,
    read_fingerprints,
    surfacing_curate_errors,
    to_arrow,
)
from curate.registry import Decision, GlobalStep, Totals, apply_marks, fetch_ranks
from curate.rules import Rules, StepSpec, load_rules
from curate.writer import cluster_line, dropped_lines, kept_lines

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# -- steps in workers ----------------------------------------------------------------------

_WORKER_CACHE: dict[tuple[Any, ...], Any] = {}


def worker_cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Objects built once per worker process (steps may load models or lexicons)."""
    if key not in _WORKER_CACHE:
        if len(_WORKER_CACHE) > 64:
            _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = build()
    return _WORKER_CACHE[key]


def rules_key(rules: Rules) -> tuple[Any, ...]:
    return (rules.sha256, str(rules.base_dir), rules.seed)


def _worker_step(rules: Rules, index: int) -> registry.Step[Any]:
    spec = rules.steps[index]

    def build() -> registry.Step[Any]:
        registry.load_plugins()
        return registry.STEPS[spec.step](spec.params, seed=rules.seed, base_dir=rules.base_dir)

    return worker_cached(("step", *rules_key(rules), index, spec.id), build)


@dataclass(frozen=True)
class StageItem:
    """A step of a stage: built in the worker from the rules, or decided on the driver."""

    index: int
    decided: Any = None


def _mark_dropped(frame: pl.DataFrame, index: int) -> pl.DataFrame:
    present = {k: v for k, v in MARKS_OF_DROPPED.items() if k in frame.columns}
    return (
        frame.drop([c for c in MARKS_OF_DROPPED.values() if c in frame.columns])
        .rename(present)
        .with_columns(pl.lit(index, pl.Int16).alias(DROPPED_AT))
    )


def _apply_step(
    live: pl.DataFrame, index: int, spec: StepSpec, step: Any, action: str
) -> pl.DataFrame:
    """The step over the live rows, through the local runner; dropped rows stay, marked."""
    captured: list[pl.DataFrame] = []
    runner = StepRunner(spec, step, Ledger(), lambda f, _c: captured.append(f), action=action)
    before = live[B.TEXT] if step.changes_text else None
    kept = runner(live)
    parts = [kept, *(_mark_dropped(f, index) for f in captured)]
    out = pl.concat(parts, how="diagonal_relaxed").sort(ORDER, maintain_order=True)
    if before is not None and out.height == live.height:
        changed = (out[B.TEXT] != before).fill_null(False)
        out = out.with_columns(
            pl.when(changed)
            .then(
                pl.concat_list(
                    pl.col(CHANGED_BY).fill_null(pl.lit([], CHANGED_DTYPE)),
                    pl.lit(index, pl.Int16),
                )
            )
            .otherwise(pl.col(CHANGED_BY))
            .cast(CHANGED_DTYPE)
            .alias(CHANGED_BY)
        )
    return out


def run_stage(
    table: pa.Table, *, rules: Rules, items: Sequence[StageItem], action: str | None
) -> pa.Table:
    """Ray task: a run of steps over one block; marked rows stay, with their fate."""
    frame = from_arrow(table).with_row_index(ORDER)
    is_live = live_mask(frame)
    live = frame.filter(is_live)
    parts = [frame.filter(~is_live)]
    states: dict[int, Totals] = {}
    for item in items:
        spec = rules.steps[item.index]
        if item.decided is not None:
            live = _apply_step(live, item.index, spec, item.decided, action or spec.action)
        else:
            step = _worker_step(rules, item.index)
            step.take_totals()  # a task that failed in this process left totals behind
            live = _apply_step(live, item.index, spec, step, action or spec.action)
            states[item.index] = step.take_totals()
        gone = live[DROPPED_AT].is_not_null()
        parts.append(live.filter(gone))
        live = live.filter(~gone)
    parts.append(live)
    out = pl.concat(parts, how="diagonal_relaxed").sort(ORDER, maintain_order=True).drop(ORDER)
    if states:
        state = pl.DataFrame(
            {KIND: [STATE], STATE_BLOB: [pickle.dumps(states)]},
            schema={KIND: pl.Int8, STATE_BLOB: pl.Binary},
        )
        out = pl.concat([out, state], how="diagonal_relaxed")
    maybe_fail("stage", _first_pos(frame))
    return to_arrow(complete_columns(out))


def _first_pos(frame: pl.DataFrame) -> int | None:
    positions = frame[POS].drop_nulls()
    return int(positions[0]) if positions.len() else None


# -- decided steps: the apply half of a global step -------------------------------------------


class MarkByRank:
    """A whole-dataset step's decision applied to a block: ranks from the block's offsets,
    then the generic marks (``curate.registry.apply_marks``); copies are born at ``index``."""

    changes_text = False
    needs_fit = False

    def __init__(self, decision: Decision, ranks: dict[int, int], index: int) -> None:
        self.marks = decision.marks
        self.ranks = ranks  # first live _pos of a block -> rank of its first live record
        self.index = index

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height == 0:
            return batch.with_columns(pl.lit(None, pl.String).alias(B.REASON))
        first = int(batch[POS][0])
        if first not in self.ranks:
            raise RayEngineError("a block changed between the two passes (a bug)")
        start = self.ranks[first]
        ranked = batch.with_columns(
            pl.int_range(start, start + batch.height, dtype=pl.Int64).alias(B.RANK)
        )
        out = apply_marks(ranked, self.marks)
        if out.height > batch.height:  # copies follow their original, with its rank
            is_copy = (pl.col(B.RANK) == pl.col(B.RANK).shift(1)).fill_null(False)
            out = out.with_columns(
                pl.when(is_copy)
                .then(pl.lit(self.index, pl.Int16))
                .otherwise(pl.col(BORN))
                .alias(BORN)
            )
        return out.drop(B.RANK)


# -- block summaries: ranks and class ordinals -------------------------------------------------


def block_summary(table: pa.Table) -> pa.Table:
    """Ray task: first and last live ``_pos`` of a block, and its live count."""
    import pyarrow as pa

    frame = from_arrow(table)
    live = frame.filter(live_mask(frame))
    summary = {
        "first": int(live[POS][0]) if live.height else None,
        "last": int(live[POS][-1]) if live.height else None,
        "live": live.height,
    }
    return pa.table({"summary": [pickle.dumps(summary)]})


@dataclass
class BlockOffsets:
    total: int
    live: dict[int, int]  # first live _pos of a block -> rank of its first live record


def block_offsets(ds: ray.data.Dataset) -> BlockOffsets:
    """Prefix sums of live records over the blocks of a materialised dataset, in ``_pos``
    order: each block's first rank."""
    summaries = [
        pickle.loads(row["summary"])
        for row in ds.map_batches(block_summary, batch_format="pyarrow", batch_size=None).take_all()
    ]
    summaries = sorted((s for s in summaries if s["live"]), key=lambda s: s["first"])
    live: dict[int, int] = {}
    done = 0
    last = -1
    for s in summaries:
        if s["first"] <= last:
            raise RayEngineError("blocks overlap in position order (a bug)")
        last = s["last"]
        live[s["first"]] = done
        done += s["live"]
    return BlockOffsets(done, live)


# -- whole-dataset steps, in phases ------------------------------------------------------------


def _collect(ds: ray.data.Dataset, schema: pl.Schema) -> pl.DataFrame:
    frames = [from_arrow(t) for t in ds.iter_batches(batch_format="pyarrow", batch_size=None)]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, how="vertical_relaxed")


def global_keys(table: pa.Table, *, rules: Rules, index: int, ranks: dict[int, int]) -> pa.Table:
    """Ray task: the step's ``keys`` of a block's live records, ranked from the offsets."""
    frame = from_arrow(table)
    live = frame.filter(live_mask(frame))
    start = ranks.get(int(live[POS][0]), 0) if live.height else 0
    if live.height and int(live[POS][0]) not in ranks:
        raise RayEngineError("a block changed between the two passes (a bug)")
    ranked = live.with_columns(
        pl.int_range(start, start + live.height, dtype=pl.Int64).alias(B.RANK)
    )
    return to_arrow(_worker_step(rules, index).keys(ranked))


def global_spread(table: pa.Table, *, rules: Rules, index: int) -> pa.Table:
    """Ray task: the step's ``spread`` of a block of keys."""
    step = _worker_step(rules, index)
    assert isinstance(step, GlobalStep)
    return to_arrow(step.spread(from_arrow(table)))


def global_reduce(table: pa.Table, *, rules: Rules, index: int) -> pa.Table:
    """Ray task (one value of ``partition_by``): the step's ``reduce``."""
    step = _worker_step(rules, index)
    assert isinstance(step, GlobalStep)
    return to_arrow(step.reduce(from_arrow(table)))


def rows_of_ranks(table: pa.Table, *, ranks: np.ndarray) -> pa.Table:
    """Ray task: the keys rows of the given (sorted) ranks."""
    frame = from_arrow(table)
    return to_arrow(fetch_ranks(frame, ranks))


@dataclass
class Fitted:
    """What a global step decided, and the stage item that applies it."""

    decided: MarkByRank
    summary: dict[str, Any]
    clusters: list[dict[str, Any]] = field(default_factory=list)


def _empty_keys(ds: ray.data.Dataset, step: GlobalStep[Any]) -> pl.DataFrame:
    """The step's keys of no records: the schema of what its phases return."""
    schema = ds.schema(fetch_if_missing=True)
    empty = from_arrow(schema.base_schema.empty_table())  # type: ignore[union-attr]
    return step.keys(empty.with_columns(pl.lit(None, pl.Int64).alias(B.RANK)).clear())


def fit_global(ds: ray.data.Dataset, rules: Rules, index: int, step: GlobalStep[Any]) -> Fitted:
    """Schedule a whole-dataset step's phases: keys per block, spread and reduce per
    partition, then its decision here; only what ``decide`` fetches comes to the driver."""
    offsets = block_offsets(ds)
    task = {"rules": rules, "index": index}
    keys = ds.map_batches(
        global_keys,
        fn_kwargs={**task, "ranks": offsets.live},
        batch_format="pyarrow",
        batch_size=None,
    ).materialize()
    empty = _empty_keys(ds, step)
    if step.partition_by is None:
        reduced = _collect(keys, empty.schema)
    else:
        spread = keys.map_batches(
            global_spread, fn_kwargs=task, batch_format="pyarrow", batch_size=None
        )
        grouped = spread.groupby(step.partition_by, num_partitions=partitions()).map_groups(
            global_reduce, fn_kwargs=task, batch_format="pyarrow"
        )
        reduced = _collect(grouped, step.reduce(step.spread(empty)).schema)

    def fetch(ranks: np.ndarray) -> pl.DataFrame:
        if np.asarray(ranks).size == 0:
            return empty
        wanted = np.unique(np.asarray(ranks, dtype=np.int64))
        rows = keys.map_batches(
            rows_of_ranks, fn_kwargs={"ranks": wanted}, batch_format="pyarrow", batch_size=None
        )
        return _collect(rows, empty.schema).sort(B.RANK)

    decision = step.decide(reduced, fetch, offsets.total)
    return Fitted(MarkByRank(decision, offsets.live, index), decision.summary, decision.clusters)


# -- planning and running the steps ------------------------------------------------------------


def check_supported(rules: Rules, steps: Sequence[tuple[StepSpec, Any]]) -> None:
    """Refuse, by what steps declare, what this engine cannot run with the local results."""
    adds_at: str | None = None
    for spec, step in steps:
        is_global = isinstance(step, GlobalStep)
        if not is_global and (step.needs_fit or not step.parallel_safe):
            raise RulesError(
                f"{spec.where}: step {spec.id!r} ({spec.step}) keeps state across the whole "
                "dataset and has no distributed form: use --engine local"
            )
        if is_global and adds_at is not None:
            raise RulesError(
                f"{spec.where}: step {spec.id!r} follows step {adds_at!r}, which adds records: "
                "on Ray, put it last (a rebalance with mode upsample last)"
            )
        if step.adds_records:
            adds_at = spec.id


@dataclass
class StepsRun:
    """The dataset after every step (lazy), and what the global steps decided."""

    dataset: ray.data.Dataset
    fitted: dict[int, Fitted]


def run_steps(
    ds: ray.data.Dataset,
    rules: Rules,
    steps: Sequence[tuple[StepSpec, Any]],
    action: str | None,
) -> StepsRun:
    """Chain the stages lazily; each global step materialises what reaches it, fits, and
    starts the next stage with its decision."""
    fitted: dict[int, Fitted] = {}
    pending: list[StageItem] = []

    def flush(dataset: ray.data.Dataset) -> ray.data.Dataset:
        if not pending:
            return dataset
        items = list(pending)
        pending.clear()
        return dataset.map_batches(
            run_stage,
            fn_kwargs={"rules": rules, "items": items, "action": action},
            batch_format="pyarrow",
            batch_size=None,
        )

    for index, (_, step) in enumerate(steps):
        if not isinstance(step, GlobalStep):
            pending.append(StageItem(index))
            continue
        ds = flush(ds).materialize()
        fit = fit_global(ds, rules, index, step)
        fitted[index] = fit
        pending.append(StageItem(index, fit.decided))
    return StepsRun(flush(ds), fitted)


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
    gone = records.filter(pl.col(DROPPED_AT).is_not_null())
    live = records.filter(pl.col(DROPPED_AT).is_null())
    flags = (
        records.select(BORN, B.FLAGS)
        .explode(B.FLAGS)
        .drop_nulls(B.FLAGS)
        .select(BORN, pl.col(B.FLAGS).struct.field("step"), pl.col(B.FLAGS).struct.field("reason"))
    )
    changed = records.select(BORN, CHANGED_BY).explode(CHANGED_BY).drop_nulls(CHANGED_BY)
    quarantined = frame.filter(pl.col(KIND) == QUARANTINED)
    return {
        "fates": records.group_by(BORN, DROPPED_AT).len().rows(),
        "drops": gone.group_by(DROPPED_AT, DROP_REASON).len().rows(),
        "dropped_copies": gone.filter(pl.col(B.UPSAMPLED)).group_by(DROPPED_AT).len().rows(),
        "flags": flags.group_by(BORN, "step", "reason").len().rows(),
        "changed": changed.group_by(BORN, CHANGED_BY).len().rows(),
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
    maybe_fail("finish", _first_pos(frame))
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
    """The ledger from the final dataset's counts: a step saw every row made before it and
    not dropped before it; flags and text changes count on rows that existed at that step."""
    fates: Counter[tuple[int, int | None]] = Counter()
    drops: Counter[tuple[int, str]] = Counter()
    dropped_copies: Counter[int] = Counter()
    flags: Counter[tuple[int, str, str]] = Counter()
    changed: Counter[tuple[int, int]] = Counter()
    ledger = Ledger()
    live = live_copies = 0
    for partial in partials:
        counts = partial["counts"]
        for born, at, n in counts["fates"]:
            fates[(born, at)] += n
        for at, reason, n in counts["drops"]:
            drops[(at, reason)] += n
        for at, n in counts["dropped_copies"]:
            dropped_copies[at] += n
        for born, step_id, reason, n in counts["flags"]:
            flags[(born, step_id, reason)] += n
        for born, at, n in counts["changed"]:
            changed[(born, at)] += n
        for reason, n in counts["quarantined"]:
            ledger.quarantine_reasons[reason] += n
            ledger.quarantined += n
        ledger.blank_lines += counts["blank_lines"]
        live += counts["live"]
        live_copies += counts["live_copies"]
    ledger.records = sum(n for (born, _), n in fates.items() if born < 0) + ledger.quarantined
    index_of = {spec.id: i for i, spec in enumerate(specs)}
    for index, (spec, action) in enumerate(zip(specs, actions, strict=True)):
        count = StepCount(spec.id, spec.step, action)
        count.seen = sum(
            n for (born, at), n in fates.items() if born < index and (at is None or at >= index)
        )
        count.added = sum(n for (born, _), n in fates.items() if born == index)
        for (at, reason), n in sorted(drops.items()):
            if at == index:
                count.dropped[reason] += n
        count.dropped_copies = dropped_copies[index]
        for (born, step_id, reason), n in sorted(flags.items()):
            if index_of.get(step_id) == index and born < index:
                count.flagged[reason] += n
        count.changed = sum(n for (born, at), n in changed.items() if at == index and born < index)
        ledger.steps[spec.id] = count
    if copies_are_added:
        ledger.kept, ledger.added = live - live_copies, live_copies
    else:
        ledger.kept = live
    return ledger


def step_summaries(
    partials: Sequence[dict[str, Any]],
    steps: Sequence[tuple[StepSpec, Any]],
    fitted: dict[int, Fitted],
    ledger: Ledger,
) -> None:
    """Add up the per-block totals of per-record steps, in block order, into the driver's step
    objects; global steps have their decision's summary."""
    for partial in partials:
        for blob in partial["states"]:
            for index, totals in pickle.loads(blob).items():
                steps[index][1].add_totals(totals)
    for index, (spec, step) in enumerate(steps):
        summary = fitted[index].summary if index in fitted else step.summary()
        ledger.steps[spec.id].summary = summary


# -- curate clean --engine ray ---------------------------------------------------------------


@dataclass
class RayCleanResult:
    out_dir: Path
    manifest: dict[str, Any]
    ledger: Ledger
    resumed_from: None = None  # as CleanResult; Ray re-runs failed tasks instead


def _replace_dir(source: Path, target: Path) -> None:
    if target.exists():
        if not target.is_dir() or any(
            not (p.name.startswith("part-") and p.suffix == ".jsonl") for p in target.iterdir()
        ):
            raise InputError(f"{target}: exists and holds other files than output shards")
        shutil.rmtree(target)
    os.replace(source, target)


def clean_ray(
    input_path: str | Path,
    out_dir: str | Path,
    rules: Rules | str | Path | None = None,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
) -> RayCleanResult:
    """``curate clean`` on Ray: shards under out_dir/{clean,dropped,quarantine}/ in input
    order, duplicates.jsonl and one manifest.json (written last)."""
    from curate.outdir import claim

    out_dir = Path(out_dir)
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    inputs = list_inputs(input_path, rules)
    steps = build_steps(rules)
    check_supported(rules, steps)
    out_dir.mkdir(parents=True, exist_ok=True)
    with claim(out_dir), ray_session(address, num_cpus), surfacing_curate_errors():
        return _clean(inputs, out_dir, rules, steps)


@dataclass
class PipelineRun:
    partials: list[dict[str, Any]]
    ledger: Ledger
    fitted: dict[int, Fitted]
    reads: list[TaskRead]  # per input file: what its read task consumed


def run_pipeline(
    inputs: Inputs,
    rules: Rules,
    steps: list[tuple[StepSpec, Any]],
    *,
    action: str | None,
    work: Path | None,
    extras: Callable[[pl.DataFrame], Any] | None,
    copies_are_added: bool,
) -> PipelineRun:
    """Read, run every step, finish every block; the ledger (checked) and step summaries."""
    read = read_dataset(inputs, rules)
    if len(inputs.files) < partitions():
        # Ray fuses reading a file with the maps after it into one task: fewer files than
        # CPUs would leave CPUs idle, so the blocks are stored first and then spread.
        read = read.materialize()
    run = run_steps(read, rules, steps, action)
    labels = None if inputs.single else [str(p.relative_to(inputs.root)) for p in inputs.files]
    step_ids = [spec.id for spec, _ in steps]
    partials = finish(run.dataset, work=work, step_ids=step_ids, labels=labels, extras=extras)
    specs = [spec for spec, _ in steps]
    actions = [action or spec.action for spec in specs]
    ledger = build_ledger(partials, specs, actions, copies_are_added=copies_are_added)
    if ledger.records == 0:
        raise InputError(f"{inputs.root}: no records (the input is empty or only blank lines)")
    step_summaries(partials, steps, run.fitted, ledger)
    ledger.check()
    return PipelineRun(partials, ledger, run.fitted, read_fingerprints(partials, inputs))


def _clean(
    inputs: Inputs, out_dir: Path, rules: Rules, steps: list[tuple[StepSpec, Any]]
) -> RayCleanResult:
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=out_dir))
    duplicates = AtomicWriter(out_dir / "duplicates.jsonl")
    try:
        for kind in OUTPUT_KINDS:
            (work / kind).mkdir()
        run = run_pipeline(
            inputs, rules, steps, action=None, work=work, extras=None, copies_are_added=True
        )
        for index in sorted(run.fitted):
            for cluster in run.fitted[index].clusters:
                duplicates.write_line(cluster_line(cluster))
        outputs: dict[str, Any] = {}
        for kind in OUTPUT_KINDS:
            shards = [p["shards"][kind] for p in run.partials if p["shards"].get(kind)]
            outputs[kind] = {"lines": sum(s["lines"] for s in shards), "shards": shards}
        outputs["duplicates.jsonl"] = {"lines": duplicates.lines, "sha256": duplicates.sha256}
        manifest = {
            "command": "clean",
            "engine": "ray",
            **provenance(inputs, rules, run.reads),
            "counts": run.ledger.to_json(),
            "steps": [c.to_json() for c in run.ledger.steps.values()],
            "outputs": outputs,
        }
        # manifest.json marks a complete run: it goes first and comes back last
        (out_dir / "manifest.json").unlink(missing_ok=True)
        for kind in OUTPUT_KINDS:
            _replace_dir(work / kind, out_dir / kind)
        duplicates.commit()
        write_json(out_dir / "manifest.json", manifest)
    except BaseException:
        duplicates.abort()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RayCleanResult(out_dir, manifest, run.ledger)


def read_shards(out_dir: str | Path, kind: str) -> Iterator[bytes]:
    """The lines of one output (clean, dropped, quarantine) in order, as the manifest lists
    its shards."""
    out_dir = Path(out_dir)
    manifest = orjson.loads((out_dir / "manifest.json").read_bytes())
    for shard in manifest["outputs"][kind]["shards"]:
        with open(out_dir / shard["path"], "rb") as handle:
            for line in handle:
                yield line.rstrip(b"\n")
