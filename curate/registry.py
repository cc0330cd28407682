"""The step and check registries: YAML names -> small classes with validated parameters.

A *step* (cleaner) maps a batch to the same batch with some rows marked (reason code) and maybe
its text changed. A *check* (auditor) reads batches and returns metrics. Both declare their
parameters as a pydantic model so that rules are validated before any data is read, and so that
``curate rules show`` can print every parameter with its default and doc.

The contract every engine (one process, worker processes, ``--resume``, Ray) runs, without
knowing any step or check by name:

- **Totals.** What a step or check keeps across batches lives in one attribute, ``totals``: a
  small dataclass that adds up (``a + b``, a before b in input order). It is what a worker
  returns for its batches, what Ray reduces over blocks and what ``--resume`` saves. Nothing
  else on a step or check changes while batches go by.
- **Per-record steps** (``Step``): ``apply(batch) -> batch`` needs nothing but the batch and
  ``totals``; they may run in any process (``parallel_safe``).
- **Whole-dataset steps** (``GlobalStep``): ``keys(batch)`` per block -> optional ``spread`` and
  ``reduce`` per partition -> ``decide(...)`` once -> a ``Decision`` whose marks ``mark(batch)``
  applies by record rank (``curate.batch.RANK``). Engines assign ranks; the step never sees
  batch boundaries, so every engine decides the same.
- **Checks** (``Check``): an optional per-record ``scan`` that may run anywhere, then ``update``
  that folds a batch into ``totals``; ``result``/``details`` read the totals.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from curate import batch as B
from curate.idmask import mask_unconfirmed

# Optional modules that register more steps or checks; the core never imports them statically.
PLUGIN_MODULES = ("curate.steps", "audit.checks", "audit.steps")
#: Entry-point group under which installed packages register steps and checks.
PLUGIN_GROUP = "curate.plugins"
#: Environment variable naming more modules to import (comma-separated).
PLUGINS_ENV = "CURATE_PLUGINS"


class ParamsError(ValueError):
    """Parameters that do not fit the rules they are in; ``key`` is the parameter (a name, or
    a tuple of name and list index) the rules loader points at."""

    def __init__(self, key: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.key = key if isinstance(key, tuple) else (key,)


class Params(BaseModel):
    """Base for step and check parameters: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def for_fields(self, fields: Any) -> Params:
        """These parameters checked against the rules' ``fields`` section (a
        ``curate.rules.Fields``) and completed from it, when the rules are loaded; raises
        ``ParamsError`` when they do not fit. Default: unchanged."""
        return self


P = TypeVar("P", bound=Params)
T = TypeVar("T", bound="Totals")


# --- totals ---------------------------------------------------------------------------------


def lowest() -> Any:
    """A totals field that keeps the smallest value seen (None: nothing seen yet)."""
    return field(default=None, metadata={"merge": "min"})


def highest() -> Any:
    """A totals field that keeps the largest value seen (None: nothing seen yet)."""
    return field(default=None, metadata={"merge": "max"})


def summed(factory: Callable[[], Any] = int) -> Any:
    """A totals field that adds up: a number, a Counter or dict of numbers (nested), an array."""
    return field(default_factory=factory, metadata={"merge": "sum"})


def add_values(a: Any, b: Any) -> Any:
    """``a + b`` for numbers and arrays; for dicts key by key, keeping a's keys first (so that
    first-seen order is the input order whatever the split)."""
    if isinstance(a, dict):
        out = type(a)(a)
        for key, value in b.items():
            out[key] = add_values(out[key], value) if key in out else value
        return out
    return a + b


def _merge(how: str, a: Any, b: Any) -> Any:
    if how == "sum":
        return add_values(a, b)
    if a is None or b is None:
        return b if a is None else a
    return min(a, b) if how == "min" else max(a, b)


@dataclass
class Totals:
    """Base of what a step or check keeps across batches. Subclasses are dataclasses whose
    fields each declare how two values combine (``summed``, ``lowest``, ``highest``); a class
    with other needs overrides ``__add__``. ``__add__`` must be associative and take ``self``
    as the earlier part of the input."""

    def __add__(self: T, other: T) -> T:
        if type(other) is not type(self):
            raise TypeError(f"cannot add {type(other).__name__} to {type(self).__name__}")
        merged = {
            f.name: _merge(
                f.metadata.get("merge", "sum"), getattr(self, f.name), getattr(other, f.name)
            )
            for f in dataclasses.fields(self)
        }
        return type(self)(**merged)


@dataclass
class NoTotals(Totals):
    """For steps and checks that keep nothing across batches."""


class Stateful:
    """Holds ``totals``; engines take them from one process and add them up in another."""

    def bind_record_shape(self, fields: Any) -> None:  # curate.rules.Fields (imports this)
        """The rules' ``fields`` (chat or text fields, optional ones, the join), for steps and
        checks that look at a record's structure or render it as training will."""

    #: the dataclass of this object's totals
    totals_type: ClassVar[type[Totals]] = NoTotals
    totals: Totals

    def new_totals(self) -> Totals:
        """Empty totals (a check whose totals need its parameters overrides this)."""
        return self.totals_type()

    def take_totals(self) -> Totals:
        """The totals since the last call; they start again from nothing."""
        taken, self.totals = self.totals, self.new_totals()
        return taken

    def add_totals(self, later: Totals) -> None:
        """Add totals of input that comes after what this object has counted."""
        self.totals = self.totals + later

    def saved_state(self) -> Any:
        """Everything a ``--resume`` checkpoint keeps of this object: plain data."""
        return self.totals

    def restore_state(self, state: Any) -> None:
        self.totals = state


# --- steps ----------------------------------------------------------------------------------


class Step(Stateful, Generic[P]):
    """A cleaner. Subclasses set ``name``, ``Params`` and implement ``apply``.

    ``apply`` returns the batch with a ``_reason`` column (null = keep) and optionally
    ``_score``, ``_duplicate_of``, ``_cluster`` and ``_detail`` (why, in the record's values:
    ``curate.batch.detail_json``); the runner turns marked rows into dropped records
    (``action: drop``) or flags (``action: flag``), each carrying its detail, and the detail
    of a row the step did not mark into an annotation of the kept record. Steps that need the whole
    dataset set ``needs_fit`` and get every live batch through ``fit`` before ``apply``.
    """

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    needs_fit: ClassVar[bool] = False
    changes_text: ClassVar[bool] = False
    #: the step removes personal data from the text: the run then withholds record text from
    #: dropped.jsonl and quarantine.jsonl (they hold records as read)
    redacts: ClassVar[bool] = False
    #: the step marks duplicates: an audit measures the checks again without them
    marks_duplicates: ClassVar[bool] = False
    #: its duplicate marks (``_duplicate_of``, ``_cluster``) join near copies, not only equal
    #: texts: a train/evaluation split runs it (the rules' parameters, else its defaults) and
    #: keeps each of its clusters on one side (``finetune.data``)
    groups_near_copies: ClassVar[bool] = False
    #: the step may add records (upsampled copies)
    adds_records: ClassVar[bool] = False
    #: ``apply`` depends on nothing but the batch (and adds to ``totals``), so batches may
    #: run in other processes (``curate.parallel``, Ray).
    parallel_safe: ClassVar[bool] = False

    def __init__(self, params: P, *, seed: int = 0, base_dir: str | None = None) -> None:
        self.params = params
        self.seed = seed
        self.base_dir = base_dir
        self.totals = self.new_totals()

    def fit(self, batches: Iterable[pl.DataFrame]) -> None:  # pragma: no cover - optional
        for _ in batches:
            pass

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Extra figures for the manifest (e.g. a class distribution before and after)."""
        return {}

    def duplicate_clusters(self) -> list[dict[str, Any]]:
        """Clusters for duplicates.jsonl (steps that mark duplicates)."""
        return []

    def required_columns(self) -> list[str]:
        """User columns (beyond the text) that this step reads, e.g. a label column."""
        return []


@dataclass
class Decision:
    """What a whole-dataset step decided: marks by rank, the manifest summary, clusters.

    ``marks`` has a ``curate.batch.RANK`` column and any of ``_reason``, ``_score``,
    ``_duplicate_of``, ``_cluster``, ``_detail`` and ``_copies`` (copies to add after the
    record)."""

    marks: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0


Fetch = Callable[[np.ndarray], pl.DataFrame]


class GlobalStep(Step[P]):
    """A step that decides over the whole dataset, in phases any engine can schedule:

    1. ``keys(batch)`` per block: the figures the decision needs, one frame (the batch has a
       ``RANK`` column: the record's 0-based number among those reaching this step);
    2. ``spread(keys)`` per block (optional): rows to group by ``partition_by``;
    3. ``reduce(part)`` per value of ``partition_by`` (default: nothing to reduce);
    3b. ``verify(pairs, rows)`` per group of ``reduce``'s rows (only with ``pair_columns``):
       ``rows`` holds the ``keys`` rows of the two ranks each pair row names, so that pairs are
       checked where their records are and ``decide`` gets what survives;
    4. ``decide(reduced, fetch, records)`` once: ``fetch(ranks)`` returns the ``keys`` rows of
       those ranks; ``records`` is how many records reached the step;
    5. ``mark(batch)`` per block: the decision's marks joined by rank (generic).

    ``fit``/``apply`` run the phases in this process, for the local engines and direct use.
    """

    needs_fit = True
    #: a column of ``spread``'s rows: ``reduce`` runs once per value (None: no reduce phase)
    partition_by: ClassVar[str | None] = None
    #: two int columns of ``reduce``'s rows naming ranks (a pair of records): the engine
    #: brings each row's two ``keys`` rows to ``verify`` (None: no verify phase; a row with a
    #: negative rank is not a pair and goes to ``verify`` with the rest)
    pair_columns: ClassVar[tuple[str, str] | None] = None

    def __init__(self, params: P, *, seed: int = 0, base_dir: str | None = None) -> None:
        super().__init__(params, seed=seed, base_dir=base_dir)
        self.decision: Decision | None = None
        self._next_rank = 0  # direct use: batches without a RANK column are numbered here

    # -- the phases ----------------------------------------------------------------------

    def keys(self, batch: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def spread(self, keys: pl.DataFrame) -> pl.DataFrame:
        return keys

    def reduce(self, part: pl.DataFrame) -> pl.DataFrame:
        return part

    def verify(self, pairs: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
        """Pairs of ``reduce`` checked against ``rows``, which hold (at least) the ``keys``
        rows of every rank they name; the rows ``decide`` reads."""
        return pairs

    def decide(self, reduced: pl.DataFrame, fetch: Fetch, records: int) -> Decision:
        raise NotImplementedError

    def mark(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The decision's marks on a batch with a ``RANK`` column (rows copied as decided)."""
        if self.decision is None:
            raise RuntimeError(f"step {self.name!r}: apply() called before fit()")
        if batch.height and int(batch[B.RANK].max()) >= self.decision.records:  # type: ignore[arg-type]
            raise RuntimeError(
                f"step {self.name!r}: apply() saw more records than fit() "
                f"({self.decision.records}): the runner must replay the same batches"
            )
        return apply_marks(batch, self.decision.marks)

    # -- in this process -------------------------------------------------------------------

    def fit(self, batches: Iterable[pl.DataFrame]) -> None:
        parts = [self.keys(frame) for frame in self._ranked(batches, reset=True)]
        keys = pl.concat(parts, how="vertical_relaxed") if parts else self.keys(_empty_batch())
        records = self._next_rank
        if self.partition_by is None:
            reduced = keys
        else:
            spread = self.spread(keys)
            reduced = pl.concat(
                [
                    self.reduce(p)
                    for p in spread.partition_by(self.partition_by, maintain_order=True)
                ]
                or [self.reduce(spread.clear())],
                how="vertical_relaxed",
            )
            if self.pair_columns is not None:
                reduced = self.verify(reduced, keys)
        self.decision = self.decide(reduced, lambda ranks: fetch_ranks(keys, ranks), records)
        self._next_rank = 0

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        (ranked,) = self._ranked([batch], reset=False)
        out = self.mark(ranked)
        return out if B.RANK in batch.columns else out.drop(B.RANK)

    def _ranked(self, batches: Iterable[pl.DataFrame], *, reset: bool) -> Iterator[pl.DataFrame]:
        if reset:
            self._next_rank = 0
        for frame in batches:
            if B.RANK not in frame.columns:
                start = self._next_rank
                frame = frame.with_columns(
                    pl.int_range(start, start + frame.height, dtype=pl.Int64).alias(B.RANK)
                )
            self._next_rank += frame.height
            yield frame

    def summary(self) -> dict[str, Any]:
        return dict(self.decision.summary) if self.decision is not None else {}

    def duplicate_clusters(self) -> list[dict[str, Any]]:
        return list(self.decision.clusters) if self.decision is not None else []

    def saved_state(self) -> Any:
        return (self.totals, self.decision)

    def restore_state(self, state: Any) -> None:
        self.totals, self.decision = state


def _empty_batch() -> pl.DataFrame:
    return B.from_texts([]).with_columns(pl.lit(None, pl.Int64).alias(B.RANK)).clear()


def fetch_ranks(keys: pl.DataFrame, ranks: np.ndarray) -> pl.DataFrame:
    """The rows of ``keys`` whose rank is in ``ranks``, in rank order."""
    wanted = pl.Series(B.RANK, np.asarray(ranks, dtype=np.int64))
    return keys.filter(pl.col(B.RANK).is_in(wanted.implode())).sort(B.RANK)


def apply_marks(batch: pl.DataFrame, marks: pl.DataFrame) -> pl.DataFrame:
    """Joins ``marks`` to ``batch`` by rank; a ``_copies`` mark repeats its row that many more
    times right after it, the copies marked ``_upsampled`` (marks with a ``_copies`` column
    give every batch that column, so that batches keep one schema)."""
    joined = batch.join(marks, on=B.RANK, how="left", maintain_order="left")
    if B.REASON not in joined.columns:
        joined = joined.with_columns(pl.lit(None, pl.String).alias(B.REASON))
    if B.COPIES not in joined.columns:
        return joined
    extra = joined[B.COPIES].fill_null(0).cast(pl.Int64).to_numpy()
    joined = joined.drop(B.COPIES)
    rows = np.repeat(np.arange(joined.height), 1 + extra)
    is_copy = np.ones(rows.size, dtype=bool)
    is_copy[np.cumsum(1 + extra) - (1 + extra)] = False  # the first of each run: the original
    out = joined[rows] if extra.any() else joined
    if B.UPSAMPLED in out.columns:  # an earlier step already made copies
        is_copy |= out[B.UPSAMPLED].fill_null(False).to_numpy().astype(bool)
    return out.with_columns(pl.Series(B.UPSAMPLED, is_copy, dtype=pl.Boolean))


def marks_frame(
    ranks: np.ndarray,
    reason: str,
    score: np.ndarray | None = None,
    duplicate_of: list[str] | None = None,
    cluster: list[str] | None = None,
    detail: list[str | None] | None = None,
) -> pl.DataFrame:
    """A decision's marks: one row per marked record, sorted by rank; ``detail`` says why in
    the record's own values (``curate.batch.DETAIL``: a JSON object per record)."""
    n = len(ranks)
    columns: dict[str, pl.Series] = {
        B.RANK: pl.Series(B.RANK, np.asarray(ranks, dtype=np.int64)),
        B.REASON: pl.Series(B.REASON, [reason] * n, dtype=pl.String),
        B.SCORE: pl.Series(
            B.SCORE, np.full(n, np.nan) if score is None else score, dtype=pl.Float64
        ).fill_nan(None),
        B.DUPLICATE_OF: pl.Series(B.DUPLICATE_OF, duplicate_of or [None] * n, dtype=pl.String),
        B.CLUSTER: pl.Series(B.CLUSTER, cluster or [None] * n, dtype=pl.String),
        B.DETAIL: pl.Series(B.DETAIL, detail or [None] * n, dtype=pl.String),
    }
    return pl.DataFrame(columns).sort(B.RANK)


# --- checks ---------------------------------------------------------------------------------


class Check(Stateful):
    """An auditor. ``update`` folds every batch of valid records into ``totals`` (and may
    return finding dicts, one per line of ``findings.jsonl``, never holding a detected value
    in clear); ``result`` returns the flat metrics ``{name: number}`` declared in ``metrics``,
    which the gate may name as ``<check>.<metric>``; ``details`` returns JSON-ready tables for
    the reports. Both read nothing but ``totals`` and the configuration."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    #: metric name -> one-line description; the gate may only name these.
    metrics: ClassVar[dict[str, str]] = {}
    #: Set by a check that reports malformed chat structure itself: with it in the rules, chat
    #: records with a bad role, message or content reach the checks instead of the quarantine.
    checks_structure: ClassVar[bool] = False

    def __init__(self, params: Params, *, seed: int = 0, base_dir: str | None = None) -> None:
        self.params = params
        self.seed = seed
        self.base_dir = base_dir
        self.totals = self.new_totals()

    #: Set by a check whose costly per-record work is ``scan``: a column ``update`` reads
    #: instead of scanning, so that other processes can scan batches (``curate.parallel``).
    scan_column: ClassVar[str | None] = None

    def bind_fields(self, *, label: str | None, sensitive: list[str]) -> None:
        """The rules' ``fields.label`` / ``fields.sensitive``, for checks that default to them."""

    def scan(self, batch: pl.DataFrame) -> pl.Series:
        """This check's per-record work on a batch (one value per row, named ``scan_column``)."""
        raise NotImplementedError

    def update(self, batch: pl.DataFrame) -> Iterable[dict[str, Any]] | None:
        raise NotImplementedError

    def result(self) -> dict[str, float | int | None]:
        raise NotImplementedError

    def details(self) -> dict[str, Any]:
        return {}

    def without_evidence(self) -> set[str]:
        """Metrics ``result`` left at None because the data holds too little to judge them (the
        gate says "not enough evidence" for these instead of failing as unmeasured)."""
        return set()

    def required_columns(self) -> list[str]:
        return []


STEPS: dict[str, type[Step[Any]]] = {}
CHECKS: dict[str, type[Check]] = {}
_loaded = False


def register_step(cls: type[Step[Any]]) -> type[Step[Any]]:
    if cls.name in STEPS:
        raise ValueError(f"step {cls.name!r} registered twice")
    STEPS[cls.name] = cls
    return cls


def register_check(cls: type[Check]) -> type[Check]:
    if cls.name in CHECKS:
        raise ValueError(f"check {cls.name!r} registered twice")
    CHECKS[cls.name] = cls
    return cls


#: Masks record ids that hold personal data (ids, line numbers or None) -> shown ids.
IdMasker = Callable[[Sequence[str | None], Sequence[int | None] | None], list[str | None]]
_id_masker: IdMasker | None = None


def register_id_masker(masker: IdMasker) -> None:
    """The auditors' id masker (``audit.pii_ids.mask_record_ids``), registered by the module
    that defines it, so that curate's writers mask ids without importing an auditor."""
    global _id_masker
    _id_masker = masker


def id_masker(unconfirmed: bool = False) -> IdMasker:
    """The registered id masker; refuses to go on without one (ids may be e-mail addresses).

    With ``unconfirmed`` (ids shown in a report, which leaves the machine: findings, examples)
    the parts of an id that could hold a value the detector missed are masked too, each id
    then naming its line (``curate.idmask``)."""
    load_plugins()
    if _id_masker is None:
        raise RuntimeError("no id masker is registered (audit.checks): ids cannot be masked")
    if not unconfirmed:
        return _id_masker
    detected = _id_masker

    def for_report(
        ids: Sequence[str | None], lines: Sequence[int | None] | None
    ) -> list[str | None]:
        known = list(lines) if lines is not None else [None] * len(ids)
        shown = detected(ids, lines)
        return [mask_unconfirmed(i, line) for i, line in zip(shown, known, strict=True)]

    return for_report


def plugin_modules() -> list[str]:
    """The modules outside curate's own packages that registered a step or check: what a
    worker process or a Ray worker must import to know them (see ``load_plugins``)."""
    classes = [*STEPS.values(), *CHECKS.values()]
    own = tuple(f"{package}." for package in ("curate", "audit", "finetune"))
    return sorted({c.__module__ for c in classes if not c.__module__.startswith(own)})


def load_plugins(extra: Iterable[str] = ()) -> None:
    """Import the modules that register steps and checks: curate's own (once), the modules
    named in ``extra`` and in the environment variable ``CURATE_PLUGINS`` (comma-separated,
    e.g. ``CURATE_PLUGINS=my_steps``: how the CLI and every worker learn of a user's own
    steps and checks), and those that packages declare under the entry-point group
    ``curate.plugins``."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PLUGIN_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        for entry in entry_points(group=PLUGIN_GROUP):
            entry.load()
    named = os.environ.get(PLUGINS_ENV, "").split(",")
    for module in [*named, *extra]:
        if module.strip() and module.strip() not in sys.modules:
            importlib.import_module(module.strip())
