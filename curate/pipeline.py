"""Running steps over a stream of batches, with the ledger counting every row.

Steps are chained as lazy generators. A step that needs the whole dataset (``needs_fit``)
sees what reaches it twice, from a spool (``curate.checkpoint``): once in ``fit``, then again
through ``apply``, so memory stays bounded by the batch size plus the step's own state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from curate import batch as B
from curate import registry
from curate.checkpoint import Checkpointer, Saved
from curate.ledger import Ledger, StepCount
from curate.rules import StepSpec

DropSink = Callable[[pl.DataFrame, StepCount], None]


class Sink(Saved, Protocol):
    """Where the records of a run go; what of it a ``--resume`` checkpoint keeps."""

    def quarantined(self, entries: list[dict[str, Any]]) -> None:
        """Quarantine entries (``Quarantined.to_json``: line, reason, error, raw)."""

    def dropped(self, frame: pl.DataFrame, count: StepCount) -> None: ...

    def kept(self, frame: pl.DataFrame) -> None: ...


class StepRunner:
    """Applies one configured step to a batch: drops or flags marked rows, counts them."""

    def __init__(
        self,
        spec: StepSpec,
        step: registry.Step[Any],
        ledger: Ledger,
        on_drop: DropSink,
        action: str | None = None,
    ) -> None:
        self.spec = spec
        self.step = step
        self.action = action or spec.action
        self.count = StepCount(spec.id, spec.step, self.action)
        ledger.steps[spec.id] = self.count
        self.on_drop = on_drop

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        self.count.seen += frame.height
        before = frame[B.TEXT] if self.step.changes_text else None
        marked = self.step.apply(frame)
        if before is not None and marked.height == frame.height:
            changed = (marked[B.TEXT] != before).fill_null(False)
            self.count.changed += int(changed.sum())
            if self.action == "flag" and self.step.redacts:
                marked = _as_read(frame, marked, changed)
        if B.UPSAMPLED in marked.columns:
            self.count.added += B.copies(marked) - B.copies(frame)
        if B.REASON not in marked.columns:
            return marked
        marked = self._annotate(marked)
        is_marked = marked[B.REASON].is_not_null()
        if not is_marked.any():
            return marked.drop([c for c in B.MARK_COLUMNS if c in marked.columns])
        reasons = marked[B.REASON].filter(is_marked).value_counts()
        counter = self.count.dropped if self.action == "drop" else self.count.flagged
        for reason, n in reasons.iter_rows():
            counter[reason] += n
        if self.action == "drop":
            if B.UPSAMPLED in marked.columns:
                self.count.dropped_copies += int(marked[B.UPSAMPLED].filter(is_marked).sum())
            self.on_drop(marked.filter(is_marked), self.count)
            kept = marked.filter(~is_marked)
        else:
            # a step that gives no score (its own, a plugin's) flags with a null score
            flag = pl.struct(
                pl.lit(self.spec.id).alias("step"),
                pl.col(B.REASON).alias("reason"),
                _mark(marked, B.SCORE, pl.Float64).alias("score"),
                _mark(marked, B.DUPLICATE_OF, pl.String).alias("duplicate_of"),
                _mark(marked, B.DETAIL, pl.String).alias("detail"),
            )
            flagged = pl.col(B.REASON).is_not_null()
            kept = marked.with_columns(_appended(marked, B.FLAGS, B.FLAG_DTYPE, flagged, flag))
        return kept.drop([c for c in B.MARK_COLUMNS if c in kept.columns])

    def _annotate(self, marked: pl.DataFrame) -> pl.DataFrame:
        """A step's detail on rows it did not mark becomes an annotation (``B.NOTES``)."""
        if B.DETAIL not in marked.columns:
            return marked
        noted = pl.col(B.REASON).is_null() & pl.col(B.DETAIL).is_not_null()
        if not marked.select(noted.any()).item():
            return marked
        note = pl.struct(pl.lit(self.spec.id).alias("step"), pl.col(B.DETAIL).alias("detail"))
        return marked.with_columns(_appended(marked, B.NOTES, B.NOTE_DTYPE, noted, note))


def _appended(
    frame: pl.DataFrame, column: str, dtype: pl.DataType, where: pl.Expr, entry: pl.Expr
) -> pl.Expr:
    """``column`` (a list per row, flags or notes) with ``entry`` appended on ``where`` rows."""
    existing = pl.col(column) if column in frame.columns else pl.lit(None, dtype)
    added = pl.when(where).then(pl.concat_list(entry))
    empty = pl.lit([], dtype)
    return (
        pl.concat_list(existing.fill_null(empty), added.fill_null(empty)).cast(dtype).alias(column)
    )


def _mark(frame: pl.DataFrame, column: str, dtype: pl.DataType) -> pl.Expr:
    """A mark column as a flag field (null when the step gives none)."""
    return pl.col(column).cast(dtype) if column in frame.columns else pl.lit(None, dtype)


#: What a redacting step flags in an audit: a record it would change.
REDACTABLE = "pii_redactable"


def _as_read(frame: pl.DataFrame, marked: pl.DataFrame, changed: pl.Series) -> pl.DataFrame:
    """A redacting step in an audit leaves the text as read and flags what it would redact.

    An audit measures the data as training will read it: ``curate finetune`` trains on the
    file as it is, so the gated figures (the pii check's) must not be taken after a
    redaction that only the audit made. The step's own summary (its residual) says what a
    ``curate clean`` would leave; train on that cleaned output, and audit it, to use it."""
    reason = pl.col(B.REASON) if B.REASON in marked.columns else pl.lit(None, pl.String)
    return marked.with_columns(
        frame[B.SEGMENTS],
        frame[B.TEXT],
        frame[B.CHANGED],
        pl.when(reason.is_null() & changed)
        .then(pl.lit(REDACTABLE))
        .otherwise(reason)
        .alias(B.REASON),
    )


@dataclass
class Block:
    """A batch and what the steps did to it, held apart from the run (in a worker process, a
    Ray task): what they counted (``ledger``), the rows each dropped (with its step's id) and
    each step's totals (by the step's index), for the run to add up in input order. On Ray a
    block also says where it comes from: ``name`` names its shards, ``label`` its input file
    (when there are several), ``quarantined`` holds the entries of its read."""

    frame: pl.DataFrame
    ledger: Ledger = field(default_factory=Ledger)
    dropped: list[tuple[str, pl.DataFrame]] = field(default_factory=list)
    totals: dict[int, registry.Totals] = field(default_factory=dict)
    name: str = ""
    label: str | None = None
    quarantined: list[dict[str, Any]] = field(default_factory=list)

    def drop(self, rows: pl.DataFrame, count: StepCount) -> None:
        self.dropped.append((count.id, rows))

    def advance(
        self,
        steps: Iterable[tuple[int, StepSpec, registry.Step[Any]]],
        action: str | None,
        start: int = 0,
    ) -> None:
        """Run ``steps`` (each with its index in the rules) over the batch; a decided
        whole-dataset step marks it by rank, counted from ``start`` (the batch's first)."""
        for index, spec, step in steps:
            step.take_totals()  # a task that failed in this process left totals behind
            runs: Any = step
            frame = self.frame
            if isinstance(step, registry.GlobalStep):
                frame, runs = B.rank(frame, start), _Marking(step)
            self.frame = B.unranked(StepRunner(spec, runs, self.ledger, self.drop, action)(frame))
            self.totals[index] = step.take_totals()

    def into(self, sink: Sink) -> None:
        """Hand the records to a run's sink, as the run in one process does."""
        sink.quarantined(self.quarantined)
        for step_id, rows in self.dropped:
            sink.dropped(rows, self.ledger.steps[step_id])
        sink.kept(self.frame)


class _Marking:
    """A decided whole-dataset step as ``StepRunner`` runs it: its generic ``mark`` (one
    process may ``apply`` otherwise, e.g. fold batch by batch)."""

    changes_text = redacts = False

    def __init__(self, step: registry.GlobalStep[Any]) -> None:
        self.apply = step.mark


def chain(
    frames: Iterable[pl.DataFrame],
    runners: list[StepRunner],
    checkpoint: Checkpointer,
    scrub: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> Iterator[pl.DataFrame]:
    """Pass frames through every runner lazily; a fit step spools what reaches it and sees it
    twice (``Checkpointer.fit_then_apply``: a ``--resume`` run keeps the spool). ``scrub`` is
    applied to what is spooled (a redacting run keeps no raw text on disk)."""
    stream: Iterable[pl.DataFrame] = frames
    fit_steps = 0
    for runner in runners:
        if runner.step.needs_fit:
            fit_steps += 1
            spooled = map(scrub, stream) if scrub is not None else stream
            stream = checkpoint.fit_then_apply(runner, spooled, fit_steps)
        else:
            # map, not a generator expression: that would look ``runner`` up late and run the
            # last step once per configured step
            stream = map(runner, stream)
    for frame in stream:
        if frame.height:
            yield frame
