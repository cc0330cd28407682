"""``--engine ray``: the cleaning steps on a Ray cluster, with the local engine's results.

Records move as blocks (``curate.pipeline.Block``): a batch as the local reader makes it, with
what its steps counted, dropped and added up so far, held in Ray's object store in input order
(the driver holds references and live counts). A task advances a block as a local worker
process advances a batch (``Block.advance``: the local ``StepRunner``), so counts, dropped
rows and notes are the local ones. The last task of a block hands it to the run's ``output``
(a clean's ``CleanSink`` writing shards, an audit's sink) and returns its ledger and totals,
added up on the driver in block order: return values, not side effects, so a task that Ray
re-runs after a failure counts once.

The engine knows no step by name; it schedules what steps declare (``curate.registry``):
per-record steps (``parallel_safe``) run in the task holding the block, built in the worker
from the rules; a whole-dataset step (``GlobalStep``) runs its phases: ``keys`` per block
(ranked from the live counts), ``spread`` and ``reduce`` per value of ``partition_by`` (a Ray
Data shuffle), ``verify`` per pair of keys blocks (in tasks that read those blocks), ``decide``
on the driver (fetching only the keys rows it asks for), then ``mark`` per block. A step it
cannot run with the local results is refused (``check_supported``).
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.errors import RulesError
from curate.inputfile import ReadRecord
from curate.ledger import Ledger, StepCount
from curate.pipeline import Block
from curate.ray_io import (
    RayEngineError,
    ReadUnit,
    from_arrow,
    maybe_fail,
    plan_reads,
    ray_session,
    remote,
    to_arrow,
    worker_cached,
)
from curate.reader import read_batches, read_part
from curate.registry import Decision, GlobalStep, fetch_ranks
from curate.rules import Rules, StepSpec, build_step, build_steps
from curate.runner import count_read, finish_ledger, require_records
from curate.sources import Inputs, TaskRead, list_inputs, provenance

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# -- blocks and the tasks over them -----------------------------------------------------------


def _worker_step(rules: Rules, index: int) -> registry.Step[Any]:
    spec = rules.steps[index]
    return worker_cached(rules, ("step", index, spec.id), lambda: build_step(rules, spec))


@dataclass(frozen=True)
class Advance:
    """What a task does to a block: the steps ``items`` (by index; a whole-dataset step among
    them applies its decision). The block's ``last`` task then ends it: its ledger, with the
    records that reached the end, its totals, and what ``output(block)`` gives (a clean's
    shards, an audit's measures)."""

    rules: Rules
    items: tuple[int, ...]
    action: str | None
    labels: tuple[str, ...] | None
    last: bool
    output: Callable[[Block], Any] | None
    copies_are_added: bool

    def read(self, unit: ReadUnit) -> Iterator[Any]:
        """Ray task (a generator): the blocks of a file or part, advanced, then their live
        counts and the fingerprint of the bytes read (None for a part: the scan took it)."""
        record, path, lives = ReadRecord(), Path(unit.path), []
        if unit.part is None:
            batches = read_batches(path, self.rules, record)
        else:
            batches = read_part(path, unit.fmt, unit.part, self.rules)
        label = self.labels[unit.file] if self.labels else None
        for k, read in enumerate(batches):
            block = Block(read.frame, name=f"{unit.number:06d}-{k:06d}", label=label)
            count_read(block.ledger, read)
            block.quarantined = [q.to_json(unit.path) for q in read.quarantined]
            made, live = self(block)
            lives.append(live)
            yield made
            maybe_fail("read", f"{unit.number}-{k}")  # after a block: Ray re-runs the reader
        if unit.part is None and record.fingerprint is None:
            raise RayEngineError(f"the read of {path} recorded no digest (a bug)")
        fingerprint = record.fingerprint
        yield lives, fingerprint and TaskRead(fingerprint, socket.gethostname())

    def __call__(
        self, block: Block, decision: Decision | None = None, start: int = 0
    ) -> tuple[Any, int]:
        """Ray task after a decision (or part of a read task): the block advanced (or its
        partial result, finished), and its live records."""
        steps = [(i, self.rules.steps[i], _worker_step(self.rules, i)) for i in self.items]
        for _, _, step in steps:
            if isinstance(step, GlobalStep):
                step.decision = decision
        block.advance(steps, self.action, start)
        out: tuple[Any, int] = (block, block.frame.height)
        if self.last:
            block.ledger.count_out(block.frame, copies_are_added=self.copies_are_added)
            output = self.output(block) if self.output is not None else None
            maybe_fail("finish", block.name)
            out = (block.ledger, block.totals, output), 0
        if decision is not None:  # a task of its own (a read task's blocks have none)
            maybe_fail("stage", block.name)
        return out


class SinkBlocks:
    """``output`` for the last task of a block: a sink (``curate.pipeline.Sink`` with
    ``update``/``take``, e.g. ``audit.sink.AuditSink``), built once per worker, folds in a
    block's quarantined and kept records and hands over what it measured: (the lines
    ``update`` gave, ``take()``)."""

    def __init__(self, rules: Rules, sink_type: Callable[[Rules], Any]) -> None:
        self.rules = rules
        self.sink_type = sink_type

    def __call__(self, block: Block) -> tuple[list[bytes], Any]:
        key = ("sink", self.sink_type.__qualname__)
        sink = worker_cached(self.rules, key, lambda: self.sink_type(self.rules))
        sink.take()  # a task that failed in this process left totals behind
        sink.quarantined(block.quarantined)
        lines = sink.update(block.frame)
        return lines, sink.take()


# -- whole-dataset steps, in phases ------------------------------------------------------------

#: the verify phase's group of a pair row: (block of its first rank) * blocks + block of the
#: second; -1 for a row that names no pair
PAIR_GROUP = "_pair_group"


def _keys(block: Block, start: int, rules: Rules, index: int) -> pa.Table:
    """Ray task: the step's ``keys`` of a block's records, ranked from its offset."""
    step = _worker_step(rules, index)
    assert isinstance(step, GlobalStep)
    return to_arrow(step.keys(B.rank(block.frame, start)))


def _phase(table: pa.Table, *, rules: Rules, index: int, phase: str) -> pa.Table:
    """Ray task: the step's ``spread`` (a block of keys) or ``reduce`` (a partition)."""
    return to_arrow(getattr(_worker_step(rules, index), phase)(from_arrow(table)))


def _pair_groups(table: pa.Table, *, columns: tuple[str, str], starts: np.ndarray) -> pa.Table:
    """Ray task: each pair row's ``PAIR_GROUP``, from the first rank of every block."""
    frame = from_arrow(table)
    lo, hi = frame[columns[0]].to_numpy(), frame[columns[1]].to_numpy()
    block_lo = np.searchsorted(starts, lo, side="right") - 1
    block_hi = np.searchsorted(starts, hi, side="right") - 1
    group = np.where((lo >= 0) & (hi >= 0), block_lo * starts.size + block_hi, -1)
    return to_arrow(frame.with_columns(pl.Series(PAIR_GROUP, group, dtype=pl.Int64)))


def _verify(
    table: pa.Table, *, rules: Rules, index: int, blocks: list[Any], empty: pa.Table
) -> pa.Table:
    """Ray task (one ``PAIR_GROUP``): the step's ``verify`` with the keys blocks that hold
    the group's records, taken from the object store here."""
    import ray

    frame = from_arrow(table)
    group = int(frame[PAIR_GROUP][0]) if frame.height else -1
    wanted = sorted({group // len(blocks), group % len(blocks)}) if group >= 0 else []
    rows = [from_arrow(ray.get(blocks[i])) for i in wanted] or [from_arrow(empty)]
    step = _worker_step(rules, index)
    return to_arrow(step.verify(frame.drop(PAIR_GROUP), pl.concat(rows, how="vertical_relaxed")))


def _rows_of_ranks(table: pa.Table, ranks: np.ndarray) -> pa.Table:
    """Ray task: the keys rows of the given (sorted) ranks."""
    return to_arrow(fetch_ranks(from_arrow(table), ranks))


def _shuffle(
    ds: ray.data.Dataset, first: Any, before: dict[str, Any], by: str, then: Any, after: Any
) -> ray.data.Dataset:
    """``first`` per block, then ``then`` per value of the column ``by`` (a shuffle)."""
    mapped = ds.map_batches(first, fn_kwargs=before, batch_format="pyarrow", batch_size=None)
    import ray

    partitions = max(2, int(ray.cluster_resources().get("CPU", 2)))
    grouped = mapped.groupby(by, num_partitions=partitions)
    return grouped.map_groups(then, fn_kwargs=after, batch_format="pyarrow")


def decide(
    step: GlobalStep[Any], rules: Rules, index: int, blocks: list[Any], starts: np.ndarray
) -> Decision:
    """Schedule a whole-dataset step's phases over the blocks (``starts``: each block's first
    rank, then the total): keys per block, spread and reduce per partition, verify per pair
    of keys blocks, then its decision here; only what ``verify`` keeps and what ``decide``
    fetches come to the driver."""
    import ray
    import ray.data

    task = {"rules": rules, "index": index}
    keys = [
        remote(_keys).remote(b, int(s), rules, index)
        for b, s in zip(blocks, starts[:-1], strict=True)
    ]
    grouped = ray.data.from_arrow_refs(keys)
    empty = from_arrow(grouped.schema().base_schema.empty_table())  # type: ignore[union-attr]
    schema = empty.schema
    if step.partition_by is not None:
        spread, reduce = {**task, "phase": "spread"}, {**task, "phase": "reduce"}
        grouped = _shuffle(grouped, _phase, spread, step.partition_by, _phase, reduce)
        schema = step.reduce(step.spread(empty)).schema
    if step.partition_by is not None and step.pair_columns is not None:
        pairs = {"columns": step.pair_columns, "starts": starts[:-1]}
        verify = {**task, "blocks": keys, "empty": to_arrow(empty)}
        grouped = _shuffle(grouped, _pair_groups, pairs, PAIR_GROUP, _verify, verify)
        schema = step.verify(pl.DataFrame(schema=schema), empty).schema
    parts = [from_arrow(t) for t in grouped.iter_batches(batch_format="pyarrow", batch_size=None)]
    parts = [part for part in parts if part.height]
    reduced = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(schema=schema)

    def fetch(ranks: np.ndarray) -> pl.DataFrame:
        wanted = np.unique(np.asarray(ranks, dtype=np.int64))
        held = np.unique(np.searchsorted(starts[:-1], wanted, side="right") - 1)
        rows = ray.get([remote(_rows_of_ranks).remote(keys[i], wanted) for i in held])
        frames = [from_arrow(t) for t in rows]
        return pl.concat(frames, how="vertical_relaxed").sort(B.RANK) if frames else empty

    return step.decide(reduced, fetch, int(starts[-1]))


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
class PipelineRun:
    outputs: list[Any]  # what each block's ``Advance.output`` gave, in input order
    ledger: Ledger
    reads: list[TaskRead]  # per input file: what its read task (or scan) consumed
    info: dict[str, Any]  # the manifest's rules and input (``provenance`` of the reads)


def run_pipeline(
    inputs: Inputs,
    rules: Rules,
    steps: list[tuple[StepSpec, Any]],
    *,
    action: str | None,
    output: Callable[[Block], Any] | None,
    copies_are_added: bool,
    address: str | None = None,
    num_cpus: int | None = None,
) -> PipelineRun:
    """Read, run every step, finish every block, in a Ray session (``ray_session``); the
    ledger (checked), step summaries and the provenance of what was read.

    The steps are cut before each whole-dataset step: the read tasks run the first run of
    per-record steps, and a task per block and whole-dataset step runs its marks and the
    per-record steps after it; the last task of a block finishes it."""
    with ray_session(address, num_cpus):
        import ray

        cuts = [i for i, (_, step) in enumerate(steps) if isinstance(step, GlobalStep)]
        bounds = [0, *cuts, len(steps)]
        labels = None if inputs.single else [str(p.relative_to(inputs.root)) for p in inputs.files]
        advances = [
            Advance(
                rules, tuple(range(a, b)), action, labels, b == len(steps), output, copies_are_added
            )
            for a, b in itertools.pairwise(bounds)
        ]
        units, reads = plan_reads(inputs, rules)
        blocks: list[Any] = []
        lives: list[int] = []
        for unit, gen in [
            (u, remote(Advance.read, num_returns="streaming").remote(advances[0], u)) for u in units
        ]:
            refs = list(gen)
            got, read = ray.get(refs[-1])
            blocks += refs[:-1]
            lives += got
            if read is not None:
                reads[unit.file] = read
        if not blocks:
            require_records(Ledger(), inputs.root)
        for index, advance in zip(cuts, advances[1:], strict=True):
            starts = np.concatenate([[0], np.cumsum(lives, dtype=np.int64)])
            step = steps[index][1]
            step.decision = decide(step, rules, index, blocks, starts)
            decided = ray.put(step.decision)
            tasks = [
                remote(Advance.__call__, num_returns=2).remote(advance, b, decided, int(s))
                for b, s in zip(blocks, starts[:-1], strict=True)
            ]
            blocks = [t[0] for t in tasks]
            lives = ray.get([t[1] for t in tasks])
        ledger = Ledger()
        for spec, _ in steps:
            ledger.steps[spec.id] = StepCount(spec.id, spec.step, action or spec.action)
        outputs = []
        for counted, totals, output in ray.get(blocks):  # in block order, as the local engine
            ledger.add(counted)
            for index, part in totals.items():
                steps[index][1].add_totals(part)
            outputs.append(output)
        finish_ledger(ledger, steps, inputs.root)
        consumed = [reads[i] for i in range(len(inputs.files))]
        return PipelineRun(outputs, ledger, consumed, provenance(inputs, rules, consumed))


# -- the entry points' side (``curate.cleaning``, ``audit.run``) -------------------------------


def planned(
    input_path: str | Path, rules: Rules
) -> tuple[Inputs, Rules, list[tuple[StepSpec, Any]]]:
    """The arguments of ``run_pipeline`` (inputs, rules, steps), refused before any output
    is made if this engine cannot run them."""
    inputs = list_inputs(input_path, rules)
    steps = build_steps(rules)
    check_supported(rules, steps)
    return inputs, rules, steps


def read_shards(out_dir: str | Path, kind: str) -> Iterator[bytes]:
    """The lines of one output (clean, dropped, quarantine) in order, as the manifest lists
    its shards."""
    out_dir = Path(out_dir)
    manifest = orjson.loads((out_dir / "manifest.json").read_bytes())
    for shard in manifest["outputs"][kind]["shards"]:
        with open(out_dir / shard["path"], "rb") as handle:
            for line in handle:
                yield line.rstrip(b"\n")
