"""The step and check registries: YAML names -> small classes with validated parameters.

A *step* (cleaner) maps a batch to the same batch with some rows marked (reason code) and maybe
its text changed. A *check* (auditor) reads batches and returns metrics. Both declare their
parameters as a pydantic model so that rules are validated before any data is read, and so that
``curate rules show`` can print every parameter with its default and doc.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict

# Optional modules that register more steps or checks; the core never imports them statically.
PLUGIN_MODULES = ("curate.steps", "audit.checks", "audit.steps")


class Params(BaseModel):
    """Base for step and check parameters: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)


class RunningTotals:
    """Totals an object keeps across batches that another process may keep part of."""

    #: attribute -> how two processes' values combine: "sum" (numbers, Counters), "min", "max".
    running: ClassVar[dict[str, str]] = {}

    def take_running(self) -> dict[str, Any]:
        """The ``running`` totals since the last call, which start again from nothing."""
        taken = {name: getattr(self, name) for name in self.running}
        for name, how in self.running.items():
            value = taken[name]
            fresh = None if how != "sum" or value is None else type(value)()
            setattr(self, name, fresh)  # 0, an empty Counter, or None for a min / max
        return taken

    def add_running(self, totals: dict[str, Any]) -> None:
        """Adds totals another process took with ``take_running``."""
        for name, value in totals.items():
            mine = getattr(self, name)
            if value is None or mine is None:
                setattr(self, name, mine if value is None else value)
            elif self.running[name] == "min":
                setattr(self, name, min(mine, value))
            elif self.running[name] == "max":
                setattr(self, name, max(mine, value))
            else:
                setattr(self, name, mine + value)


class Step(RunningTotals, Generic[P]):
    """A cleaner. Subclasses set ``name``, ``Params`` and implement ``apply``.

    ``apply`` returns the batch with a ``_reason`` column (null = keep) and optionally
    ``_score``, ``_duplicate_of`` and ``_cluster``; the runner turns marked rows into dropped
    records (``action: drop``) or annotations (``action: flag``). Steps that need the whole
    dataset set ``needs_fit`` and get every live batch through ``fit`` before ``apply``.
    """

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    needs_fit: ClassVar[bool] = False
    changes_text: ClassVar[bool] = False
    #: ``apply`` depends on nothing but the batch, so batches may run in other processes
    #: (``curate.parallel``); the totals it keeps for ``summary`` are listed in ``running``.
    parallel_safe: ClassVar[bool] = False

    def __init__(self, params: P, *, seed: int = 0, base_dir: str | None = None) -> None:
        self.params = params
        self.seed = seed
        self.base_dir = base_dir

    def fit(self, batches: Iterable[pl.DataFrame]) -> None:  # pragma: no cover - optional
        for _ in batches:
            pass

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Extra figures for the manifest (e.g. a class distribution before and after)."""
        return {}

    def required_columns(self) -> list[str]:
        """User columns (beyond the text) that this step reads, e.g. a label column."""
        return []


class Check(RunningTotals):
    """An auditor. ``update`` sees every batch of valid records (and may return finding dicts,
    one per line of ``findings.jsonl``, never holding a detected value in clear); ``result``
    returns the flat metrics ``{name: number}`` declared in ``metrics``, which the gate may
    name as ``<check>.<metric>``; ``details`` returns JSON-ready tables for the reports."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    #: metric name -> one-line description; the gate may only name these.
    metrics: ClassVar[dict[str, str]] = {}

    def __init__(self, params: Params, *, seed: int = 0, base_dir: str | None = None) -> None:
        self.params = params
        self.seed = seed
        self.base_dir = base_dir

    #: Set by a check whose costly per-record work is ``scan``: a column ``update`` reads
    #: instead of scanning, so that other processes can scan batches (``curate.parallel``).
    scan_column: ClassVar[str | None] = None

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


def load_plugins() -> None:
    """Import the modules that register steps and checks (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
