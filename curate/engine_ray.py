"""``--engine ray``: the cleaning steps on a Ray cluster, through Ray Data, with the local results.

Every input record becomes one row of a Ray dataset and stays one row to the end: a step that
drops a record only marks it (``_dropped_at``: the step's index, plus its reason and evidence),
later steps skip marked rows, and the last pass (``curate.ray_finish``) writes kept, dropped
and quarantined rows to their shards and counts them. The ledger is computed from that final
dataset, never from side effects of tasks, so a task that Ray re-runs after a failure counts
once.

Rows carry their global position ``_pos = file index << 40 | line``: inputs are ordered by path,
so the order of ``_pos`` is the order in which the local engine would read the same files one
after the other. Every rule that depends on order uses it.

The engine knows no step by name; it schedules what steps declare (``curate.registry``):

- Per-record steps (``parallel_safe``) run as ``map_batches`` over Arrow blocks; the step
  objects are built in the workers from the validated rules, once per worker process. Their
  totals (the figures the manifest shows) and every step's counts of the block (the local
  ``StepRunner``'s) come back per block as a *state row* and are added up on the driver, in
  block order.
- Whole-dataset steps (``GlobalStep``) run in phases: ``keys`` per block (records ranked from
  the blocks' offsets), ``spread`` rows grouped by the step's ``partition_by`` column (the
  shuffle) and ``reduce`` per group, ``verify`` (steps with ``pair_columns``) per pair of keys
  blocks, in tasks that read those blocks, then ``decide`` on the driver, which fetches only the
  keys rows it asks for; each block then applies the decision's marks by rank.

A step that keeps state across batches without a distributed form, or a whole-dataset step
after one that adds records, is refused with a rules error rather than run with different
results.
"""

from __future__ import annotations

import itertools
import os
import pickle
import shutil
import tempfile
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
from curate.pipeline import StepRunner, build_step, build_steps
from curate.ray_finish import SinkBlocks, build_ledger, finish
from curate.ray_io import (
    BORN,
    DROPPED_AT,
    FAULT_ENV,
    KIND,
    MARKS_OF_DROPPED,
    ORDER,
    OUTPUT_KINDS,
    POS,
    STATE,
    STATE_BLOB,
    Inputs,
    RayEngineError,
    TaskRead,
    complete_columns,
    first_pos,
    from_arrow,
    list_inputs,
    live_mask,
    maybe_fail,
    partitions,
    provenance,
    ray_session,
    read_dataset,
    read_fingerprints,
    rules_key,
    surfacing_curate_errors,
    to_arrow,
    worker_cached,
)
from curate.registry import Decision, GlobalStep, Totals, apply_marks, fetch_ranks
from curate.rules import Rules, StepSpec, load_rules
from curate.runner import require_records
from curate.writer import cluster_line

# re-exported: the engine's public names, as before the split into ray_io and ray_finish
__all__ = ["FAULT_ENV", "SinkBlocks"]

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# -- steps in workers ----------------------------------------------------------------------


def _worker_step(rules: Rules, index: int) -> registry.Step[Any]:
    spec = rules.steps[index]

    def build() -> registry.Step[Any]:
        registry.load_plugins()
        return build_step(rules, spec)

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
) -> tuple[pl.DataFrame, StepCount]:
    """The step over the live rows, through the local runner (which counts them as it does
    locally); dropped rows stay, marked."""
    captured: list[pl.DataFrame] = []
    runner = StepRunner(spec, step, Ledger(), lambda f, _c: captured.append(f), action=action)
    kept = runner(live)
    parts = [kept, *(_mark_dropped(f, index) for f in captured)]
    return pl.concat(parts, how="diagonal_relaxed").sort(ORDER, maintain_order=True), runner.count


def run_stage(
    table: pa.Table, *, rules: Rules, items: Sequence[StageItem], action: str | None
) -> pa.Table:
    """Ray task: a run of steps over one block; marked rows stay, with their fate. A state
    row carries each step's counts of the block and its totals (None for a decided step):
    data of the block, so that a task Ray re-runs counts once."""
    frame = from_arrow(table).with_row_index(ORDER)
    is_live = live_mask(frame)
    live = frame.filter(is_live)
    parts = [frame.filter(~is_live)]
    states: dict[int, tuple[StepCount, Totals | None]] = {}
    for item in items:
        spec = rules.steps[item.index]
        if item.decided is not None:
            live, count = _apply_step(live, item.index, spec, item.decided, action or spec.action)
            states[item.index] = (count, None)
        else:
            step = _worker_step(rules, item.index)
            step.take_totals()  # a task that failed in this process left totals behind
            live, count = _apply_step(live, item.index, spec, step, action or spec.action)
            states[item.index] = (count, step.take_totals())
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
    maybe_fail("stage", first_pos(frame))
    return to_arrow(complete_columns(out))


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


#: the verify phase's group of a pair row: (block of its first rank) * blocks + block of the
#: second; -1 for a row that names no pair
PAIR_GROUP = "_pair_group"


def rank_span(table: pa.Table) -> tuple[int, int, int]:
    """Ray task: the smallest and largest rank of a block of keys, and its rows."""
    frame = from_arrow(table)
    if not frame.height:
        return (0, -1, 0)
    ranks = frame[B.RANK]
    return (int(ranks.min()), int(ranks.max()), frame.height)  # type: ignore[arg-type]


def pair_groups(table: pa.Table, *, columns: tuple[str, str], starts: np.ndarray) -> pa.Table:
    """Ray task: each pair row's ``PAIR_GROUP``, from the first rank of every keys block."""
    frame = from_arrow(table)
    lo, hi = frame[columns[0]].to_numpy(), frame[columns[1]].to_numpy()
    block_lo = np.searchsorted(starts, lo, side="right") - 1
    block_hi = np.searchsorted(starts, hi, side="right") - 1
    group = np.where((lo >= 0) & (hi >= 0), block_lo * starts.size + block_hi, -1)
    return to_arrow(frame.with_columns(pl.Series(PAIR_GROUP, group, dtype=pl.Int64)))


def global_verify(
    table: pa.Table, *, rules: Rules, index: int, blocks: list[Any], empty: pa.Table
) -> pa.Table:
    """Ray task (one ``PAIR_GROUP``): the step's ``verify`` with the keys blocks that hold
    the group's records, taken from the object store here."""
    import ray

    frame = from_arrow(table)
    group = int(frame[PAIR_GROUP][0]) if frame.height else -1
    wanted = sorted({group // len(blocks), group % len(blocks)}) if group >= 0 else []
    rows = [from_arrow(ray.get(blocks[i])) for i in wanted]
    keys = pl.concat(rows, how="vertical_relaxed") if rows else from_arrow(empty)
    step = _worker_step(rules, index)
    assert isinstance(step, GlobalStep)
    return to_arrow(step.verify(frame.drop(PAIR_GROUP), keys))


def _verified(
    pairs: ray.data.Dataset,
    keys: ray.data.Dataset,
    step: GlobalStep[Any],
    task: dict[str, Any],
    empty: pl.DataFrame,
) -> ray.data.Dataset:
    """The verify phase: pair rows grouped by the keys blocks holding their two ranks, each
    group checked in a task that reads those blocks (candidate pairs and their keys rows
    never come to the driver)."""
    import ray

    assert step.pair_columns is not None
    refs = keys.to_arrow_refs()
    spans = ray.get([ray.remote(rank_span).remote(ref) for ref in refs])
    order = sorted((s for s in range(len(refs)) if spans[s][2]), key=lambda s: spans[s][0])
    for before, after in itertools.pairwise(order):
        if spans[before][1] >= spans[after][0]:
            raise RayEngineError("keys blocks overlap in rank order (a bug)")
    starts = np.array([spans[s][0] for s in order], dtype=np.int64)
    grouped = pairs.map_batches(
        pair_groups,
        fn_kwargs={"columns": step.pair_columns, "starts": starts},
        batch_format="pyarrow",
        batch_size=None,
    )
    return grouped.groupby(PAIR_GROUP, num_partitions=partitions()).map_groups(
        global_verify,
        fn_kwargs={**task, "blocks": [refs[s] for s in order], "empty": to_arrow(empty)},
        batch_format="pyarrow",
    )


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
    partition, verify per pair of keys blocks, then its decision here; only what ``verify``
    keeps and what ``decide`` fetches come to the driver."""
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
        schema = step.reduce(step.spread(empty)).schema
        if step.pair_columns is not None:
            grouped = _verified(grouped, keys, step, task, empty)
            schema = step.verify(pl.DataFrame(schema=schema), empty).schema
        reduced = _collect(grouped, schema)

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
            for index, (_, totals) in pickle.loads(blob).items():
                if totals is not None:
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
    require_records(ledger, inputs.root)
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
        manifest = run.ledger.manifest(
            "clean", provenance(inputs, rules, run.reads), outputs, engine="ray"
        )
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
