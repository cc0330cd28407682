"""``--engine ray``: the cleaning steps on a Ray cluster, through Ray Data, with the local results.

Every input record becomes one row of a Ray dataset and stays one row to the end: a step that
drops a record only marks it (``_dropped_at``: the step's index, plus its reason and evidence),
later steps skip marked rows, and the last pass writes kept, dropped and quarantined rows to
their shards and counts them. The ledger is computed from that final dataset, never from side
effects of tasks, so a task that Ray re-runs after a failure counts once.

Rows carry their global position ``_pos = file index << 40 | line``: inputs are ordered by path,
so the order of ``_pos`` is the order in which the local engine would read the same files one
after the other. Every rule that depends on order uses it.

- Per-record steps (normalize, quality, language, length, decontaminate, redact_pii, ...) run
  as ``map_batches`` over Arrow blocks; the step objects are built in the workers from the
  validated rules, once per worker process. Their summary counters (the figures the manifest
  shows) are collected per block as a *state row* and merged on the driver, in block order.
- ``dedupe_exact``: a hash per record, grouped by hash bucket (a shuffle of 40 bytes per row);
  the first record of each text (smallest ``_pos``) is kept.
- ``dedupe_near``: signatures and band keys per block, rows grouped by band-key bucket (the
  shuffle), candidate pairs per bucket with the local window rule; the candidates' shingle sets
  are fetched to the driver, which verifies Jaccard, joins clusters and applies the keep rule
  (only records in a candidate pair travel to the driver).
- ``rebalance``: class counts per block, summed on the driver, which draws the same seeded
  choices as the local step; each block then finds its records by ordinal within the class.

A stateful step this module does not know (``needs_fit`` or otherwise order-dependent) is
refused with a rules error rather than run with different results.

Accumulator convention for merging step and check state across workers: attributes that are
numbers, ``Counter``/dicts of numbers (nested), lists, or polars frames with a count column
``n`` are merged; a number whose name says ``min``/``smallest`` (``max``/``largest``) takes the
minimum (maximum), lists named ``*example*`` keep the first distinct values up to
``params.max_examples``. Any other attribute that changes while a batch is processed makes the
run fail loudly (use ``--engine local``).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import math
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
import xxhash

from curate import batch as B
from curate import registry
from curate.atomic import AtomicWriter, write_json
from curate.errors import CurateError, InputError, RulesError
from curate.ledger import Ledger, StepCount
from curate.lsh import SetTable, candidate_pairs, connected_components, exact_jaccard
from curate.minhash import EMPTY, ShingleOptions, Signer, estimated_jaccard, iter_shingle_groups
from curate.minhash import set_values as shingle_set_values
from curate.pipeline import StepRunner, build_steps
from curate.reader import ReadBatch, detect_format, file_sha256, read_batches
from curate.rules import Rules, StepSpec, load_rules
from curate.steps.dedupe_exact import normalized
from curate.steps.dedupe_near import PAIR_CHUNK, PREFILTER_SIGMAS
from curate.steps.rebalance import (
    _EPS,
    MISSING,
    REASON_DOWNSAMPLED,
    _class_rng,
    _Plan,
    _target_keep,
)
from curate.writer import dropped_lines, kept_lines

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# -- row layout ------------------------------------------------------------------------------

KIND = "_kind"  # what a row is: one of the four below
RECORD, QUARANTINED, BLANK_LINES, STATE = 0, 1, 2, 3
FILE = "_file"
POS = "_pos"
PAYLOAD = "_payload"  # a quarantine entry, as written to quarantine.jsonl
QREASON = "_qreason"
COUNT = "_count"  # blank lines skipped (BLANK_LINES rows)
STATE_BLOB = "_state"  # pickled summary state of the steps that processed a block
BORN = "_born"  # index of the step that made this row (an upsampled copy); -1: read
DROPPED_AT = "_dropped_at"
DROP_REASON, DROP_SCORE, DROP_DUP, DROP_CLUSTER = "_d_reason", "_d_score", "_d_dup", "_d_cluster"
CHANGED_BY = "_changed_by"  # indices of the steps that changed the text
ORDER = "_order"  # row order inside a block while a stage runs

FILE_SHIFT = 40  # lines per file < 2**40, files < 2**23
CHANGED_DTYPE = pl.List(pl.Int16)
FATE_SCHEMA: dict[str, pl.DataType] = {
    KIND: pl.Int8(),
    FILE: pl.Int32(),
    POS: pl.Int64(),
    PAYLOAD: pl.String(),
    QREASON: pl.String(),
    COUNT: pl.Int64(),
    STATE_BLOB: pl.Binary(),
    BORN: pl.Int16(),
    DROPPED_AT: pl.Int16(),
    DROP_REASON: pl.String(),
    DROP_SCORE: pl.Float64(),
    DROP_DUP: pl.String(),
    DROP_CLUSTER: pl.String(),
    CHANGED_BY: CHANGED_DTYPE,
    B.UPSAMPLED: pl.Boolean(),
    B.FLAGS: B.FLAG_DTYPE,
}
MARKS_OF_DROPPED = {
    B.REASON: DROP_REASON,
    B.SCORE: DROP_SCORE,
    B.DUPLICATE_OF: DROP_DUP,
    B.CLUSTER: DROP_CLUSTER,
}
# Steps with state across records that this engine runs as distributed global steps.
GLOBAL_STEPS = ("dedupe_exact", "dedupe_near", "rebalance")
#: for tests only: while the folder this names holds a file ``armed`` (holding a number n),
#: the first n blocks of each kind of map task die once, after their side effects and before
#: returning, so that Ray re-runs them
FAULT_ENV = "CURATE_RAY_FAULT_DIR"
OUTPUT_KINDS = ("clean", "dropped", "quarantine")


class RayEngineError(CurateError):
    """The Ray engine cannot reproduce the local result for this configuration."""


# -- session ---------------------------------------------------------------------------------


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Connect to ``address`` (an existing cluster, or ``auto``) or start a local Ray.

    A session already open in this process (a test, a notebook) is used as it is and left open.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayEngineError(
            "--engine ray needs Ray Data: pip install 'ray[data]' (or curate[ray])"
        ) from None
    started = False
    if not ray.is_initialized():
        # Ray runs one task per CPU: polars in a task gets one thread, not one per core.
        job = {"env_vars": {"POLARS_MAX_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}}
        if address:
            ray.init(address=address, runtime_env=job, logging_level=logging.WARNING)
        else:
            ray.init(
                address="local",  # a new Ray, even if `ray start` runs a cluster here
                num_cpus=num_cpus,
                runtime_env=job,
                include_dashboard=False,
                logging_level=logging.WARNING,
            )
        started = True
    from ray.data.context import ShuffleStrategy

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # blocks keep the order of _pos
    # Task-based sort shuffle: the hash shuffle's actor pool costs seconds per shuffle to
    # start, which dominates for inputs below tens of GB (see the README's figures).
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _partitions() -> int:
    import ray

    return max(2, int(ray.cluster_resources().get("CPU", 2)))


def reraise_curate(exc: BaseException) -> None:
    """Ray wraps an exception raised in a task; surface a CurateError under it as itself."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CurateError):
            raise current from None
        todo += [current.__cause__, current.__context__, getattr(current, "cause", None)]


def _maybe_fail(where: str, key: object) -> None:
    folder = os.environ.get(FAULT_ENV)
    armed = Path(folder) / "armed" if folder else None
    if armed is None or not armed.exists():
        return
    marker = armed.parent / f"{where}-{key}"
    crashed = len(list(armed.parent.glob(f"{where}-*")))
    if not marker.exists() and crashed < int(armed.read_text() or 1):
        marker.touch()
        os._exit(1)  # a worker crash: Ray re-runs the task


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The files to read, in the order that defines positions."""

    root: Path
    files: tuple[Path, ...]

    @property
    def single(self) -> bool:
        return len(self.files) == 1 and self.files[0] == self.root

    def label(self, index: int) -> str:
        return str(self.files[index])


def list_inputs(path: str | Path, rules: Rules) -> Inputs:
    """One file, a saved ``datasets`` folder, or a folder of shards (read in path order).

    In a folder, hidden files and names starting with ``_`` (``_SUCCESS``) are skipped, and so
    are files whose format is not recognised.
    """
    from curate.sources import is_saved_dataset

    root = Path(path)
    if not root.exists():
        raise InputError(f"{root}: input file not found")
    if root.is_file() or is_saved_dataset(root):
        return Inputs(root, (root,))
    files = []
    for candidate in sorted(root.rglob("*")):
        parts = candidate.relative_to(root).parts
        if any(p.startswith((".", "_")) for p in parts) or not candidate.is_file():
            continue
        try:
            detect_format(candidate, rules.read.format)
        except InputError:
            continue
        files.append(candidate)
    if not files:
        raise InputError(
            f"{root}: no data files in this folder (.jsonl, .jsonl.gz, .jsonl.zst, .csv, .parquet)"
        )
    if len(files) >= 1 << (63 - FILE_SHIFT):
        raise InputError(f"{root}: too many files ({len(files)})")
    return Inputs(root, tuple(files))


def _hash_file(row: dict[str, Any]) -> dict[str, Any]:
    path = Path(row["path"])
    return {**row, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def describe_inputs(inputs: Inputs, rules: Rules) -> dict[str, Any]:
    """The ``input`` block of the manifest: as the local engine's for one file; for shards,
    each file, and a sha256 over the list of (relative path, sha256)."""
    if inputs.single:
        from curate.sources import open_source

        return open_source(inputs.root).describe(rules)
    import ray.data

    rows = [{"index": i, "path": str(p)} for i, p in enumerate(inputs.files)]
    hashed = ray.data.from_items(rows, override_num_blocks=min(len(rows), 64)).map(_hash_file)
    described = sorted(hashed.take_all(), key=lambda r: r["index"])
    files = [
        {
            "path": str(Path(r["path"]).relative_to(inputs.root)),
            "format": detect_format(Path(r["path"]), rules.read.format),
            "bytes": r["bytes"],
            "sha256": r["sha256"],
        }
        for r in described
    ]
    listing = "".join(f"{f['path']}\t{f['sha256']}\n" for f in files)
    return {
        "path": str(inputs.root),
        "format": "shards",
        "bytes": sum(f["bytes"] for f in files),
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
        "files": files,
    }


def provenance(inputs: Inputs, rules: Rules) -> dict[str, Any]:
    from curate.cleaning import provenance_of

    return provenance_of(describe_inputs(inputs, rules), rules)


# -- frames <-> Arrow --------------------------------------------------------------------------


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    # the oldest Arrow layout (large_string, not string_view) that every Ray version reads
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def from_arrow(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _complete(frame: pl.DataFrame) -> pl.DataFrame:
    """Every block has every bookkeeping column, typed alike, whatever rows it holds."""
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in FATE_SCHEMA.items() if c not in frame]
    return frame.with_columns(missing) if missing else frame


def _read_frame(read: ReadBatch, file_index: int, source: str) -> pl.DataFrame:
    base = file_index << FILE_SHIFT
    parts = [
        read.frame.with_columns(
            pl.lit(RECORD, pl.Int8).alias(KIND),
            pl.lit(file_index, pl.Int32).alias(FILE),
            (pl.col(B.LINE) + base).alias(POS),
            pl.lit(-1, pl.Int16).alias(BORN),
            pl.lit(False).alias(B.UPSAMPLED),
        )
    ]
    if read.quarantined:
        parts.append(
            pl.DataFrame(
                {
                    KIND: [QUARANTINED] * len(read.quarantined),
                    FILE: [file_index] * len(read.quarantined),
                    B.LINE: [q.line for q in read.quarantined],
                    POS: [base + q.line for q in read.quarantined],
                    PAYLOAD: [orjson.dumps(q.to_json(source)).decode() for q in read.quarantined],
                    QREASON: [q.reason for q in read.quarantined],
                },
                schema={
                    KIND: pl.Int8,
                    FILE: pl.Int32,
                    B.LINE: pl.Int64,
                    POS: pl.Int64,
                    PAYLOAD: pl.String,
                    QREASON: pl.String,
                },
            )
        )
    if read.blank_lines:
        parts.append(
            pl.DataFrame(
                {KIND: [BLANK_LINES], FILE: [file_index], COUNT: [read.blank_lines]},
                schema={KIND: pl.Int8, FILE: pl.Int32, COUNT: pl.Int64},
            )
        )
    return _complete(pl.concat(parts, how="diagonal_relaxed"))


def read_files(table: pa.Table, *, rules: Rules, labels: Sequence[str]) -> Iterator[pa.Table]:
    """Ray task: read the files listed in ``table`` into blocks (records, quarantine, blanks)."""
    for file_index, path in zip(table["index"].to_pylist(), table["path"].to_pylist(), strict=True):
        for read in read_batches(path, rules):
            yield to_arrow(_read_frame(read, file_index, labels[file_index]))


def live_mask(frame: pl.DataFrame) -> pl.Series:
    return (frame[KIND] == RECORD) & frame[DROPPED_AT].is_null()


# -- merging state across workers -----------------------------------------------------------

_STATE_TYPES = (int, float, Counter, dict, list, pl.DataFrame, type(None))
_NOT_STATE = frozenset({"params", "seed", "base_dir"})


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, pl.DataFrame):
        return a.equals(b)
    try:
        return bool(a == b)
    except Exception:
        return False


def state_template(obj: Any) -> dict[str, Any]:
    """Copies of the attributes of a fresh step or check that may accumulate."""
    template: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if name in _NOT_STATE or isinstance(value, bool) or not isinstance(value, _STATE_TYPES):
            continue
        try:
            initial = copy.deepcopy(value)
        except Exception:
            continue
        if _same(value, initial):  # values that cannot be compared are configuration
            template[name] = initial
    return template


def take_state(obj: Any, template: dict[str, Any]) -> dict[str, Any]:
    """The attributes that changed since ``template``; each is reset to its template value."""
    changed: dict[str, Any] = {}
    for name, initial in template.items():
        value = getattr(obj, name, initial)
        if _same(value, initial):
            continue
        changed[name] = value
        setattr(obj, name, copy.deepcopy(initial))
    return changed


def _reduction(name: str) -> str:
    words = set(name.lower().strip("_").split("_"))
    if words & {"min", "smallest", "lowest"}:
        return "min"
    if words & {"max", "largest", "highest"}:
        return "max"
    return "sum"


def _merge_value(name: str, acc: Any, part: Any, base: Any, limit: int | None) -> Any:
    if part is None:
        return acc
    if isinstance(part, (int, float)) and not isinstance(part, bool):
        how = _reduction(name)
        if acc is None:
            return part if how != "sum" else part - (base or 0)
        if how == "min":
            return min(acc, part)
        if how == "max":
            return max(acc, part)
        return acc + part - (base or 0)
    if isinstance(part, dict):
        out = acc if acc is not None else type(part)()
        base = base or {}
        for key, value in part.items():
            out[key] = _merge_value(name, out.get(key), value, base.get(key), limit)
        return out
    if isinstance(part, list):
        out = list(acc or [])
        if "example" not in name.lower():
            return out + part
        for value in part:
            if (limit is None or len(out) < limit) and value not in out:
                out.append(value)
        return out
    if isinstance(part, pl.DataFrame):
        if acc is None or acc.is_empty():
            return part
        merged = pl.concat([acc, part], how="vertical_relaxed")
        if "n" in merged.columns:
            keys = [c for c in merged.columns if c != "n"]
            merged = merged.group_by(keys, maintain_order=True).agg(pl.col("n").sum())
        return merged
    raise RayEngineError(
        f"cannot merge {name!r} ({type(part).__name__}) across Ray workers: "
        "run this step or check with --engine local"
    )


def merge_state(obj: Any, template: dict[str, Any], changed: dict[str, Any]) -> None:
    """Fold one block's state (from ``take_state``) into ``obj`` on the driver."""
    params = getattr(obj, "params", None)
    limit = getattr(params, "max_examples", None)
    for name, value in changed.items():
        current = getattr(obj, name, None)
        setattr(obj, name, _merge_value(name, current, value, template.get(name), limit))


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


def _worker_step(rules: Rules, index: int) -> tuple[registry.Step[Any], dict[str, Any]]:
    spec = rules.steps[index]

    def build() -> tuple[registry.Step[Any], dict[str, Any]]:
        registry.load_plugins()
        step = registry.STEPS[spec.step](spec.params, seed=rules.seed, base_dir=rules.base_dir)
        return step, state_template(step)

    step, template = worker_cached(("step", *rules_key(rules), index, spec.id), build)
    return step, template


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
    states: dict[int, dict[str, Any]] = {}
    for item in items:
        spec = rules.steps[item.index]
        if item.decided is not None:
            step, template = item.decided, None
        else:
            step, template = _worker_step(rules, item.index)
            take_state(step, template)  # a task that failed in this process left state behind
        live = _apply_step(live, item.index, spec, step, action or spec.action)
        if template is not None:
            states[item.index] = take_state(step, template)
        gone = live[DROPPED_AT].is_not_null()
        parts.append(live.filter(gone))
        live = live.filter(~gone)
    parts.append(live)
    out = pl.concat(parts, how="diagonal_relaxed").sort(ORDER, maintain_order=True).drop(ORDER)
    if any(states.values()):
        state = pl.DataFrame(
            {KIND: [STATE], STATE_BLOB: [pickle.dumps(states)]},
            schema={KIND: pl.Int8, STATE_BLOB: pl.Binary},
        )
        out = pl.concat([out, state], how="diagonal_relaxed")
    _maybe_fail("stage", _first_pos(frame))
    return to_arrow(_complete(out))


def _first_pos(frame: pl.DataFrame) -> int | None:
    positions = frame[POS].drop_nulls()
    return int(positions[0]) if positions.len() else None


# -- decided steps: the apply half of a global step -------------------------------------------


class MarkByPosition:
    """Marks the records the driver decided on, found by ``_pos``."""

    changes_text = False
    needs_fit = False

    def __init__(self, marks: pl.DataFrame) -> None:
        # columns: _pos, _reason, _score, _duplicate_of, _cluster
        self.marks = marks

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        return batch.join(self.marks, on=POS, how="left", maintain_order="left")


class RebalanceByOrdinal:
    """Rebalance's apply: a record is known by its class and its ordinal in the class (stream
    order), counted from the offsets of its block (blocks are found by their first live
    ``_pos``; the materialised dataset keeps its blocks between the two passes)."""

    changes_text = False
    needs_fit = False

    def __init__(
        self,
        index: int,
        column: str,
        keep_missing: bool,
        offsets: dict[int, dict[str | None, int]],
        drop: dict[str | None, np.ndarray],
        copies: dict[str | None, np.ndarray],
    ) -> None:
        self.index = index
        self.column = column
        self.keep_missing = keep_missing
        self.offsets = offsets
        self.drop = drop
        self.copies = copies

    def _ordinals(self, batch: pl.DataFrame) -> np.ndarray:
        first = int(batch[POS][0])
        if first not in self.offsets:
            raise RayEngineError("rebalance: a block changed between the two passes (a bug)")
        offsets = self.offsets[first]
        start = np.array([offsets.get(v, 0) for v in batch[self.column].to_list()], np.int64)
        within = batch.select(pl.int_range(pl.len()).over(self.column)).to_series().to_numpy()
        return start + within

    def _rows_of(self, batch: pl.DataFrame, value: str | None) -> np.ndarray:
        column = batch[self.column]
        mask = column.is_null() if value is None else (column == value).fill_null(False)
        return np.flatnonzero(mask.to_numpy())

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height == 0:
            return batch.with_columns(pl.lit(None, pl.String).alias(B.REASON))
        ordinals = self._ordinals(batch)
        if not self.copies:
            dropped = np.zeros(batch.height, dtype=bool)
            for value, chosen in self.drop.items():
                rows = self._rows_of(batch, value)
                dropped[rows] = np.isin(ordinals[rows], chosen)
            return batch.with_columns(
                pl.when(pl.Series(dropped)).then(pl.lit(REASON_DOWNSAMPLED)).alias(B.REASON)
            )
        extra = np.zeros(batch.height, dtype=np.int64)
        for value, chosen in self.copies.items():
            rows = self._rows_of(batch, value)
            lo = np.searchsorted(chosen, ordinals[rows], side="left")
            hi = np.searchsorted(chosen, ordinals[rows], side="right")
            extra[rows] = hi - lo
        rows = np.repeat(np.arange(batch.height), 1 + extra)
        is_copy = np.ones(rows.size, dtype=bool)
        is_copy[np.cumsum(1 + extra) - (1 + extra)] = False  # the first of each run: original
        out = batch[rows]
        earlier = out[B.UPSAMPLED].fill_null(False).to_numpy().astype(bool)
        return out.with_columns(
            pl.Series(B.UPSAMPLED, is_copy | earlier, dtype=pl.Boolean),
            pl.when(pl.Series(is_copy))
            .then(pl.lit(self.index, pl.Int16))
            .otherwise(pl.col(BORN))
            .alias(BORN),
            pl.lit(None, pl.String).alias(B.REASON),
        )


# -- block summaries: ranks and class ordinals -------------------------------------------------


def block_summary(table: pa.Table, *, column: str | None) -> pa.Table:
    """Ray task: first and last live ``_pos`` of a block, its live count, class counts."""
    import pyarrow as pa

    frame = from_arrow(table)
    live = frame.filter(live_mask(frame))
    classes: dict[str | None, int] = {}
    if column is not None and live.height:
        for value, n in live.group_by(column, maintain_order=True).len().iter_rows():
            classes[value] = n
    summary = {
        "first": int(live[POS][0]) if live.height else None,
        "last": int(live[POS][-1]) if live.height else None,
        "live": live.height,
        "classes": classes,
    }
    return pa.table({"summary": [pickle.dumps(summary)]})


@dataclass
class BlockOffsets:
    total: int
    live: dict[int, int]  # first live _pos of a block -> rank of its first live record
    classes: dict[int, dict[str | None, int]]  # ... -> ordinal of its first record per class
    class_totals: dict[str | None, int]


def block_offsets(ds: ray.data.Dataset, column: str | None) -> BlockOffsets:
    """Prefix sums over the blocks of a materialised dataset, in ``_pos`` order."""
    summaries = [
        pickle.loads(row["summary"])
        for row in ds.map_batches(
            block_summary, fn_kwargs={"column": column}, batch_format="pyarrow", batch_size=None
        ).take_all()
    ]
    summaries = sorted((s for s in summaries if s["live"]), key=lambda s: s["first"])
    live: dict[int, int] = {}
    classes: dict[int, dict[str | None, int]] = {}
    totals: Counter[str | None] = Counter()
    done = 0
    last = -1
    for s in summaries:
        if s["first"] <= last:
            raise RayEngineError("blocks overlap in position order (a bug)")
        last = s["last"]
        live[s["first"]] = done
        classes[s["first"]] = dict(totals)
        done += s["live"]
        totals.update(s["classes"])
    return BlockOffsets(done, live, classes, dict(totals))


# -- dedupe_exact ----------------------------------------------------------------------------

H1, H2, BUCKET, KEPT_ID = "_h1", "_h2", "_bucket", "_kept_id"


def exact_keys(table: pa.Table, *, how: str, min_chars: int, partitions: int) -> pa.Table:
    """Ray task: the 128-bit hash of each live record's normalised text (as the local step)."""
    frame = from_arrow(table)
    live = frame.filter(live_mask(frame))
    texts = live.select(normalized(pl.col(B.TEXT), how)).to_series().to_list()
    high: list[int] = []
    low: list[int] = []
    keep: list[bool] = []
    for text in texts:
        if len(text) < min_chars:
            keep.append(False)
            high.append(0)
            low.append(0)
            continue
        digest = xxhash.xxh3_128_digest(text.encode("utf-8", "surrogatepass"))
        keep.append(True)
        high.append(int.from_bytes(digest[:8], "big"))
        low.append(int.from_bytes(digest[8:], "big"))
    keys = pl.DataFrame(
        {
            H1: pl.Series(high, dtype=pl.UInt64),
            H2: pl.Series(low, dtype=pl.UInt64),
            POS: live[POS],
            B.ID: live[B.ID],
        }
    ).filter(pl.Series(keep, dtype=pl.Boolean))
    keys = keys.with_columns((pl.col(H1) % partitions).cast(pl.Int64).alias(BUCKET))
    return to_arrow(keys)


def exact_duplicates(table: pa.Table) -> pa.Table:
    """Ray task (one hash bucket): every record after the first of its text, with the first's
    id. As locally, a record whose id equals the first's is not marked."""
    frame = from_arrow(table).sort(POS)
    first_id = pl.col(B.ID).first().over(H1, H2)
    first_pos = pl.col(POS).first().over(H1, H2)
    dups = frame.with_columns(first_id.alias(KEPT_ID), first_pos.alias("_first")).filter(
        (pl.col(POS) != pl.col("_first")) & (pl.col(B.ID) != pl.col(KEPT_ID))
    )
    return to_arrow(dups.select(POS, B.ID, KEPT_ID))


def _collect(ds: ray.data.Dataset, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    frames = [from_arrow(t) for t in ds.iter_batches(batch_format="pyarrow", batch_size=None)]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, how="vertical_relaxed")


@dataclass
class Fitted:
    """What a global step decided: the step that applies it, the summary, the clusters."""

    decided: Any
    summary: dict[str, Any]
    clusters: list[dict[str, Any]] = field(default_factory=list)


def _marks(
    positions: pl.Series,
    reason: str,
    score: pl.Series,
    duplicate_of: pl.Series,
    cluster: pl.Series,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            POS: positions.cast(pl.Int64),
            B.REASON: pl.Series([reason] * positions.len(), dtype=pl.String),
            B.SCORE: score.cast(pl.Float64),
            B.DUPLICATE_OF: duplicate_of.cast(pl.String),
            B.CLUSTER: cluster.cast(pl.String),
        }
    ).sort(POS)


def fit_exact(ds: ray.data.Dataset, step: Any) -> Fitted:
    partitions = _partitions()
    keys = ds.map_batches(
        exact_keys,
        fn_kwargs={
            "how": step.params.normalize,
            "min_chars": step.params.min_chars,
            "partitions": partitions,
        },
        batch_format="pyarrow",
        batch_size=None,
    ).materialize()
    candidates = keys.count()
    schema = {POS: pl.Int64(), B.ID: pl.String(), KEPT_ID: pl.String()}
    if candidates:
        grouped = keys.groupby(BUCKET, num_partitions=partitions).map_groups(
            exact_duplicates, batch_format="pyarrow"
        )
        dups = _collect(grouped, schema).sort(POS)
    else:
        dups = pl.DataFrame(schema=schema)
    members: dict[str, list[str]] = {}
    for record_id, kept in zip(dups[B.ID].to_list(), dups[KEPT_ID].to_list(), strict=True):
        members.setdefault(kept, [kept]).append(record_id)
    clusters = [
        {
            "cluster": f"exact:{kept}",
            "step": step.name,
            "kept": kept,
            "members": group,
            "size": len(group),
            "similarity": 1.0,
        }
        for kept, group in members.items()
    ]
    marks = _marks(
        dups[POS],
        "exact_duplicate",
        pl.Series([1.0] * dups.height, dtype=pl.Float64),
        dups[KEPT_ID],
        dups.select(pl.lit("exact:") + pl.col(KEPT_ID)).to_series(),
    )
    summary = {"clusters": len(members), "unique_texts": candidates - dups.height}
    return Fitted(MarkByPosition(marks), summary, clusters)


# -- dedupe_near -----------------------------------------------------------------------------

RANK, LENGTH, SHINGLES, SIGNATURE, BANDS, NO_SHINGLES = (
    "_rank",
    "_len",
    "_nsh",
    "_sig",
    "_keys",
    "_empty",
)
SETS = "_sets"
BAND, KEY, LO, HI = "_band", "_key", "_lo", "_hi"


def _segment_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    first = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - first, lengths)


def near_signatures(table: pa.Table, *, params: Any, seed: int, ranks: dict[int, int]) -> pa.Table:
    """Ray task: rank, signature, band keys and shingle set of each live record of a block."""
    import pyarrow as pa

    from curate.lsh import band_keys

    frame = from_arrow(table)
    live = frame.filter(live_mask(frame))
    count = live.height
    bands, rows = params.bands_rows()
    k = params.num_perm
    signatures = np.full((count, k), EMPTY, dtype=np.uint32)
    sizes = np.zeros(count, dtype=np.int64)
    starts = np.zeros(count, dtype=np.int64)
    chunks: list[np.ndarray] = []
    stored = 0
    options = ShingleOptions(params.shingle, params.ngram, params.char_ngram)
    signer = worker_cached(
        ("signer", k, params.signature, seed), lambda: Signer(k, params.signature, seed)
    )
    for group in iter_shingle_groups(live[B.TEXT].to_list(), options):
        signatures[group.docs] = signer.sign(group)
        sizes[group.docs] = group.counts
        if params.verify:
            values = shingle_set_values(group.hashes)
            chunks.append(values)
            starts[group.docs] = stored + group.offsets[:-1]
            stored += values.size
    keys = band_keys(signatures, bands, rows)
    first = int(live[POS][0]) if count else 0
    if count and first not in ranks:
        raise RayEngineError("dedupe_near: a block changed between the two passes (a bug)")
    rank = ranks.get(first, 0) + np.arange(count, dtype=np.int64)
    columns: dict[str, Any] = {
        POS: pa.array(live[POS].to_numpy(), pa.int64()),
        RANK: pa.array(rank, pa.int64()),
        B.ID: pa.array(live[B.ID].to_list(), pa.large_string()),
        LENGTH: pa.array(
            live[B.TEXT].str.len_chars().fill_null(0).cast(pl.Int64).to_numpy(), pa.int64()
        ),
        SHINGLES: pa.array(sizes, pa.int64()),
        NO_SHINGLES: pa.array((sizes == 0).astype(np.int64), pa.int64()),
        SIGNATURE: pa.FixedSizeListArray.from_arrays(pa.array(signatures.ravel()), k),
        BANDS: pa.FixedSizeListArray.from_arrays(pa.array(keys.ravel()), bands),
    }
    if params.verify:
        flat = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.uint32)
        in_order = flat[_segment_index(starts, sizes)]
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        columns[SETS] = pa.LargeListArray.from_arrays(
            pa.array(offsets), pa.array(in_order, pa.uint32())
        )
    return pa.table(columns)


def _fixed(table: pa.Table, column: str, width: int, dtype: Any) -> np.ndarray:
    array = table[column].combine_chunks()
    return np.asarray(array.flatten().to_numpy(zero_copy_only=False), dtype=dtype).reshape(
        -1, width
    )


def near_band_rows(table: pa.Table, *, bands: int, partitions: int) -> pa.Table:
    """Ray task: one row per (record with shingles, band): the shuffle's input."""
    import pyarrow as pa

    valid = table[SHINGLES].to_numpy() > 0
    keys = _fixed(table, BANDS, bands, np.uint64)[valid]
    ranks = table[RANK].to_numpy()[valid]
    flat = keys.ravel()
    return pa.table(
        {
            BUCKET: pa.array((flat % np.uint64(partitions)).astype(np.int64)),
            BAND: pa.array(np.tile(np.arange(bands, dtype=np.int16), ranks.size)),
            KEY: pa.array(flat),
            RANK: pa.array(np.repeat(ranks, bands)),
        }
    )


def near_bucket_pairs(table: pa.Table) -> pa.Table:
    """Ray task (one bucket of band keys): candidate pairs by the local rule, per band."""
    import pyarrow as pa

    frame = from_arrow(table).sort(BAND, RANK)
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    for part in frame.partition_by(BAND, maintain_order=True):
        ranks = part[RANK].to_numpy()
        lo, hi = candidate_pairs(part[KEY].to_numpy()[:, None])
        lows.append(ranks[lo])
        highs.append(ranks[hi])
    lo_all = np.concatenate(lows) if lows else np.empty(0, dtype=np.int64)
    hi_all = np.concatenate(highs) if highs else np.empty(0, dtype=np.int64)
    return pa.table({LO: pa.array(lo_all, pa.int64()), HI: pa.array(hi_all, pa.int64())})


def near_fetch(table: pa.Table, *, involved: np.ndarray) -> pa.Table:
    """Ray task: the rows of records that are in some candidate pair."""
    ranks = table[RANK].to_numpy()
    at = np.minimum(np.searchsorted(involved, ranks), max(involved.size - 1, 0))
    wanted = involved[at] == ranks if involved.size else np.zeros(ranks.size, dtype=bool)
    import pyarrow as pa

    return table.filter(pa.array(wanted)).drop_columns([BANDS, NO_SHINGLES])


def _estimates(signatures: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    out = np.empty(left.size, dtype=np.float64)
    for i in range(0, left.size, PAIR_CHUNK):
        out[i : i + PAIR_CHUNK] = estimated_jaccard(
            signatures[left[i : i + PAIR_CHUNK]], signatures[right[i : i + PAIR_CHUNK]]
        )
    return out


def fit_near(ds: ray.data.Dataset, step: Any, seed: int) -> Fitted:
    params = step.params
    bands, rows = params.bands_rows()
    offsets = block_offsets(ds, None)
    signed = ds.map_batches(
        near_signatures,
        fn_kwargs={"params": params, "seed": seed, "ranks": offsets.live},
        batch_format="pyarrow",
        batch_size=None,
    ).materialize()
    total = offsets.total
    without_shingles = int(signed.sum(NO_SHINGLES) or 0) if total else 0
    partitions = _partitions()
    pair_schema = {LO: pl.Int64(), HI: pl.Int64()}
    if total:
        band_rows = signed.map_batches(
            near_band_rows,
            fn_kwargs={"bands": bands, "partitions": partitions},
            batch_format="pyarrow",
            batch_size=None,
        )
        grouped = band_rows.groupby(BUCKET, num_partitions=partitions).map_groups(
            near_bucket_pairs, batch_format="pyarrow"
        )
        pairs = _collect(grouped, pair_schema)
    else:
        pairs = pl.DataFrame(schema=pair_schema)
    codes = np.unique(pairs[LO].to_numpy() * max(total, 1) + pairs[HI].to_numpy())
    lo, hi = codes // max(total, 1), codes % max(total, 1)
    involved = np.unique(np.concatenate((lo, hi)))
    if involved.size:
        fetched = signed.map_batches(
            near_fetch, fn_kwargs={"involved": involved}, batch_format="pyarrow", batch_size=None
        )
        import pyarrow as pa

        parts = [t for t in fetched.iter_batches(batch_format="pyarrow", batch_size=None)]
        table = pa.concat_tables([t for t in parts if t.num_rows]).sort_by(RANK)
    else:
        table = None
    return _resolve_near(step, total, without_shingles, lo, hi, table, bands, rows)


def _resolve_near(
    step: Any,
    total: int,
    without_shingles: int,
    lo: np.ndarray,
    hi: np.ndarray,
    table: pa.Table | None,
    bands: int,
    rows: int,
) -> Fitted:
    """The local step's resolution, on the records of candidate pairs only (local indices
    follow rank order, so 'smallest index' is still 'first in the stream')."""
    params = step.params
    threshold = params.threshold
    if table is None:
        ranks = np.empty(0, dtype=np.int64)
        positions = np.empty(0, dtype=np.int64)
        ids: list[str] = []
        lengths = np.empty(0, dtype=np.int64)
        signatures = np.empty((0, params.num_perm), dtype=np.uint32)
    else:
        ranks = table[RANK].to_numpy()
        positions = table[POS].to_numpy()
        ids = table[B.ID].to_pylist()
        lengths = table[LENGTH].to_numpy()
        signatures = _fixed(table, SIGNATURE, params.num_perm, np.uint32)
    left, right = np.searchsorted(ranks, lo), np.searchsorted(ranks, hi)
    similarity = _estimates(signatures, left, right)
    sets: SetTable | None = None
    if params.verify and table is not None:
        column = table[SETS].combine_chunks()
        values = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.uint32)
        offsets = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
        sets = SetTable.from_segments(values, offsets[:-1], np.diff(offsets))
    if sets is not None:
        spread = np.sqrt(threshold * (1 - threshold) / params.num_perm)
        plausible = np.flatnonzero(similarity >= threshold - PREFILTER_SIGMAS * spread)
        similarity[:] = 0.0
        similarity[plausible] = exact_jaccard(sets, left[plausible], right[plausible])
    linked = similarity >= threshold
    labels = connected_components(ranks.size, left[linked], right[linked])
    members = np.unique(np.concatenate((left[linked], right[linked])))
    kept = step._kept_of(members, labels, lengths)
    dropped = members[members != kept]
    kept_of_dropped = kept[members != kept]
    if sets is not None:
        score = exact_jaccard(sets, dropped, kept_of_dropped)
    else:
        score = _estimates(signatures, dropped, kept_of_dropped)
    summary = {
        "docs": total,
        "without_shingles": without_shingles,
        "candidate_pairs": int(lo.size),
        "verified_pairs": int(linked.sum()),
        "clusters": int(np.unique(kept).size),
        "removed": int(dropped.size),
        "bands": bands,
        "rows": rows,
        "verify": params.verify,
    }
    kept_rank = ranks[kept_of_dropped]
    id_array = np.array(ids, dtype=object)
    marks = _marks(
        pl.Series(positions[dropped]),
        "near_duplicate",
        pl.Series(score, dtype=pl.Float64),
        pl.Series(id_array[kept_of_dropped].tolist(), dtype=pl.String),
        pl.Series([f"near:{r}" for r in kept_rank.tolist()], dtype=pl.String),
    )
    clusters: list[dict[str, Any]] = []
    if dropped.size:
        order = np.lexsort((ranks[dropped], kept_rank))
        d_local, k_local, d_score = dropped[order], kept_of_dropped[order], score[order]
        bounds = np.flatnonzero(np.concatenate(([True], k_local[1:] != k_local[:-1], [True])))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            keeper = int(k_local[a])
            group = [keeper, *d_local[a:b].tolist()]
            clusters.append(
                {
                    "cluster": f"near:{int(ranks[keeper])}",
                    "step": step.name,
                    "kept": ids[keeper],
                    "members": [ids[m] for m in group],
                    "size": len(group),
                    "similarity": float(d_score[a:b].min()),
                }
            )
    return Fitted(MarkByPosition(marks), summary, clusters)


# -- rebalance -------------------------------------------------------------------------------


def fit_rebalance(ds: ray.data.Dataset, step: Any, index: int) -> Fitted:
    """The local step's decision from class counts alone: per class, the same seeded draws
    pick ordinals (k-th record of the class in stream order) instead of positions."""
    p = step.params
    offsets = block_offsets(ds, p.column)
    before: dict[str, int] = {}
    label: dict[str, str | None] = {}
    key_of: dict[str, str | None] = {}
    left_alone = 0
    for value, n in offsets.class_totals.items():
        if value is None and p.missing == "keep":
            left_alone = n
            continue
        name = MISSING if value is None else value
        before[name] = n
        label[name] = value
        key_of[name] = value
    after = dict(before)
    notes: dict[str, Any] = {}
    keep: dict[str, int] = {}
    drop: dict[str | None, np.ndarray] = {}
    copies: dict[str | None, np.ndarray] = {}
    if before and p.mode == "downsample":
        notes["cap"] = math.floor(p.max_ratio * min(before.values()) + _EPS)
        keep = {k: min(n, notes["cap"]) for k, n in before.items()}
    elif before and p.mode == "target":
        keep, notes = _target_keep(before, p.target)
    elif before and p.mode == "upsample":
        goal = math.ceil(p.min_ratio * max(before.values()) - _EPS)
        notes["goal"] = goal
        for name in sorted(before):
            need = goal - before[name]
            if need > 0:
                rng = _class_rng(step.seed, label[name])
                population = np.arange(before[name], dtype=np.int64)
                copies[key_of[name]] = np.sort(rng.choice(population, size=need, replace=True))
                after[name] = goal
    for name in sorted(keep):
        if keep[name] < before[name]:
            rng = _class_rng(step.seed, label[name])
            population = np.arange(before[name], dtype=np.int64)
            drop[key_of[name]] = np.sort(rng.permutation(population)[keep[name] :])
            after[name] = keep[name]
    no_rows = np.zeros(0, dtype=np.int64)
    step._plan = _Plan(
        names=[],
        codes=no_rows,
        drop=np.concatenate(list(drop.values())) if drop else no_rows,
        copy=np.concatenate(list(copies.values())) if copies else no_rows,
        before=before,
        after=after,
        left_alone=left_alone,
        notes=notes,
    )
    decided = RebalanceByOrdinal(
        index, p.column, p.missing == "keep", offsets.classes, drop, copies
    )
    return Fitted(decided, step.summary())


# -- planning and running the steps ------------------------------------------------------------


def check_supported(rules: Rules, steps: Sequence[tuple[StepSpec, Any]]) -> None:
    upsampled_at: str | None = None
    for spec, step in steps:
        is_global = spec.step in GLOBAL_STEPS
        if step.needs_fit and not is_global:
            raise RulesError(
                f"{spec.where}: step {spec.id!r} ({spec.step}) needs the whole dataset and has "
                "no distributed form: use --engine local"
            )
        if is_global and upsampled_at is not None:
            raise RulesError(
                f"{spec.where}: step {spec.id!r} follows the upsampling rebalance "
                f"{upsampled_at!r}: on Ray, put rebalance with mode upsample last"
            )
        if spec.step == "rebalance" and step.params.mode == "upsample":
            upsampled_at = spec.id


def read_dataset(inputs: Inputs, rules: Rules) -> ray.data.Dataset:
    import ray.data

    rows = [{"index": i, "path": str(p)} for i, p in enumerate(inputs.files)]
    labels = [inputs.label(i) for i in range(len(inputs.files))]
    read = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        read_files,
        fn_kwargs={"rules": rules, "labels": labels},
        batch_format="pyarrow",
        batch_size=1,
    )
    # Ray merges what a task yields into blocks of up to 128 MB; blocks of read.batch_size
    # records let the steps spread over the cluster even when there are few input files.
    return read.repartition(target_num_rows_per_block=rules.read.batch_size)


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

    for index, (spec, step) in enumerate(steps):
        if spec.step not in GLOBAL_STEPS:
            pending.append(StageItem(index))
            continue
        ds = flush(ds).materialize()
        if spec.step == "dedupe_exact":
            fit = fit_exact(ds, step)
        elif spec.step == "dedupe_near":
            fit = fit_near(ds, step, rules.seed)
        else:
            fit = fit_rebalance(ds, step, index)
        fitted[index] = fit
        pending.append(StageItem(index, fit.decided))
    return StepsRun(flush(ds), fitted)


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
    _maybe_fail("finish", _first_pos(frame))
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
    """Merge the per-block state of per-record steps, in block order, into the driver's step
    objects; global steps already have theirs."""
    templates = {i: state_template(step) for i, (_, step) in enumerate(steps)}
    for partial in partials:
        for blob in partial["states"]:
            for index, changed in pickle.loads(blob).items():
                merge_state(steps[index][1], templates[index], changed)
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
    with claim(out_dir), ray_session(address, num_cpus):
        try:
            return _clean(inputs, out_dir, rules, steps)
        except CurateError:
            raise
        except Exception as exc:
            reraise_curate(exc)
            raise


@dataclass
class PipelineRun:
    partials: list[dict[str, Any]]
    ledger: Ledger
    fitted: dict[int, Fitted]


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
    if len(inputs.files) < _partitions():
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
    return PipelineRun(partials, ledger, run.fitted)


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
                duplicates.write_line(orjson.dumps(cluster))
        outputs: dict[str, Any] = {}
        for kind in OUTPUT_KINDS:
            shards = [p["shards"][kind] for p in run.partials if p["shards"].get(kind)]
            outputs[kind] = {"lines": sum(s["lines"] for s in shards), "shards": shards}
        outputs["duplicates.jsonl"] = {"lines": duplicates.lines, "sha256": duplicates.sha256}
        manifest = {
            "command": "clean",
            "engine": "ray",
            **provenance(inputs, rules),
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
