"""What an audit measures on the records that leave the steps: dataset statistics, every
check, and the same checks on the data without duplicates.

One ``AuditSink`` folds batches in place (``update``) wherever the records are: in the run's
own process, or in a Ray worker, which then hands its totals over (``take``) for the driver to
add up in input order (``add``). Both engines therefore run the same code, and a ``--resume``
checkpoint keeps the same totals (``saved_state``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from audit.stats import DatasetStats
from curate import batch as B
from curate import registry
from curate.atomic import LineWriter
from curate.registry import Totals
from curate.rules import Rules, build_checks

QUARANTINE_EXAMPLES = 20


def is_duplicate(frame: pl.DataFrame, step_ids: list[str]) -> pl.Series:
    """Rows a step that marks duplicates flagged (the audit runs every step in flag mode)."""
    if B.FLAGS not in frame.columns or not step_ids:
        return pl.Series([False] * frame.height)
    steps = frame[B.FLAGS].list.eval(pl.element().struct.field("step"))
    return steps.list.eval(pl.element().is_in(step_ids)).list.any().fill_null(False)


@dataclass
class AuditShare:
    """What a part of the input added: statistics, each check's totals, the collapsed view's
    records and totals, the first quarantined lines (where and why only); ``AuditSink.add``
    adds it, and a ``--resume`` checkpoint saves it."""

    stats: Totals | None = None
    checks: list[Totals] = field(default_factory=list)
    collapsed_records: int = 0
    collapsed: list[Totals] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)


class AuditSink:
    """Statistics and checks over the kept records; see the module doc. As a run's sink
    (``curate.pipeline.Sink``), it writes findings to ``findings`` and drops nothing."""

    def __init__(self, rules: Rules, findings: LineWriter | None = None) -> None:
        self.findings = findings
        self.stats = DatasetStats(label=rules.fields.label)
        self.checks = build_checks(rules)
        # The same checks on the data as it would be after duplicate removal: a value repeated
        # in a thousand copies is one problem, not a thousand.
        registry.load_plugins()
        marking = [s for s in rules.steps if registry.STEPS[s.step].marks_duplicates]
        self.duplicate_steps = [s.id for s in marking]
        collapse = rules.collapsed_metrics and self.duplicate_steps
        self.collapsed_checks = build_checks(rules) if collapse else []
        self.collapsed_records = 0
        self.examples: list[dict[str, Any]] = []

    def quarantined(self, entries: list[dict[str, Any]]) -> None:
        """Keep the first quarantined lines as examples: only where and why (the raw line may
        hold personal data)."""
        for entry in entries[: QUARANTINE_EXAMPLES - len(self.examples)]:
            self.examples.append({k: entry[k] for k in ("line", "reason", "error")})

    def dropped(self, frame: pl.DataFrame, count: Any) -> None:
        pass  # an audit only flags

    def kept(self, frame: pl.DataFrame) -> None:
        assert self.findings is not None
        for line in self.update(frame):
            self.findings.write_line(line)

    def update(self, frame: pl.DataFrame) -> list[bytes]:
        """Fold a batch of kept records in; the findings.jsonl lines it gives, in order."""
        if frame.height == 0:  # no check ever sees an empty batch
            return []
        self.stats.update(frame)
        # each check's costly per-record work once, as a column both passes read (workers may
        # have added it already); the collapsed pass would otherwise scan the records again
        unscanned = [c for c in self.checks if c.scan_column and c.scan_column not in frame.columns]
        if unscanned and self.collapsed_checks:
            frame = frame.with_columns(c.scan(frame).alias(str(c.scan_column)) for c in unscanned)
        lines = [
            orjson.dumps(finding) for check in self.checks for finding in check.update(frame) or ()
        ]
        if self.collapsed_checks:
            unique = frame.filter(~is_duplicate(frame, self.duplicate_steps))
            self.collapsed_records += unique.height
            for check in self.collapsed_checks:
                for _ in check.update(unique) or ():
                    pass  # the findings were written by the raw pass
        return lines

    def saved_state(self) -> AuditShare:
        """What this sink has folded in, as data (a ``--resume`` checkpoint keeps it)."""
        return AuditShare(
            self.stats.totals,
            [c.totals for c in self.checks],
            self.collapsed_records,
            [c.totals for c in self.collapsed_checks],
            list(self.examples),
        )

    def take(self) -> AuditShare:
        """What was folded in since the last call; this sink starts again from nothing."""
        share = self.saved_state()
        for part in (self.stats, *self.checks, *self.collapsed_checks):
            part.take_totals()
        self.collapsed_records, self.examples = 0, []
        return share

    def add(self, share: AuditShare) -> None:
        """Add what another process folded in, for input after what this sink has seen."""
        if share.stats is not None:
            self.stats.add_totals(share.stats)
        for check, totals in zip(self.checks, share.checks, strict=False):
            check.add_totals(totals)
        for check, totals in zip(self.collapsed_checks, share.collapsed, strict=False):
            check.add_totals(totals)
        self.collapsed_records += share.collapsed_records
        room = QUARANTINE_EXAMPLES - len(self.examples)
        self.examples += share.examples[: max(0, room)]

    def restore_state(self, state: AuditShare) -> None:
        self.take()
        self.add(state)
