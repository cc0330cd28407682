"""The ledger: every input record is counted as kept, dropped (step, reason) or quarantined.

``check()`` is called before any output is renamed into place; if the counts do not add up the
run fails with exit code 3 and writes nothing under a final name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from curate import batch as B
from curate.errors import LedgerError


@dataclass
class StepCount:
    id: str
    step: str
    action: str
    seen: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    changed: int = 0
    added: int = 0
    #: upsampled copies among the dropped: they were never input records, so the ledger's
    #: ``dropped`` does not count them (a later step may drop a copy a rebalance made).
    dropped_copies: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    def add(self, other: StepCount) -> None:
        """Adds what the same step counted elsewhere (another process's batches)."""
        self.seen += other.seen
        self.changed += other.changed
        self.added += other.added
        self.dropped_copies += other.dropped_copies
        self.dropped.update(other.dropped)
        self.flagged.update(other.flagged)

    def to_json(self) -> dict[str, Any]:
        n_dropped = sum(self.dropped.values())
        return {
            "id": self.id,
            "step": self.step,
            "action": self.action,
            "in": self.seen,
            "out": self.seen - n_dropped + self.added,
            "dropped": n_dropped,
            "dropped_by_reason": dict(sorted(self.dropped.items())),
            "flagged": sum(self.flagged.values()),
            "flagged_by_reason": dict(sorted(self.flagged.items())),
            "changed": self.changed,
            "added": self.added,
            "dropped_copies": self.dropped_copies,
            "summary": self.summary,
        }


@dataclass
class Ledger:
    records: int = 0
    quarantined: int = 0
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    blank_lines: int = 0
    kept: int = 0
    added: int = 0
    steps: dict[str, StepCount] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        return sum(sum(s.dropped.values()) - s.dropped_copies for s in self.steps.values())

    def manifest(
        self, command: str, provenance: dict[str, Any], outputs: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """manifest.json of a run (either engine): where it read, what it counted, what it
        wrote."""
        return {
            "command": command,
            **extra,
            **provenance,
            "counts": self.to_json(),
            "steps": [c.to_json() for c in self.steps.values()],
            "outputs": outputs,
        }

    def count_out(self, frame: pl.DataFrame, *, copies_are_added: bool) -> None:
        """Rows that reached the end of the steps; their upsampled copies are added records
        when the run writes them (a clean), else kept ones (an audit)."""
        copies = B.copies(frame) if copies_are_added else 0
        self.kept += frame.height - copies
        self.added += copies

    def add(self, other: Ledger) -> None:
        """Adds what another process counted of other records (its steps are among ours)."""
        self.records += other.records
        self.quarantined += other.quarantined
        self.quarantine_reasons.update(other.quarantine_reasons)
        self.blank_lines += other.blank_lines
        self.kept += other.kept
        self.added += other.added
        for name, count in other.steps.items():
            self.steps[name].add(count)

    def saved_state(self) -> Ledger:
        return self

    def restore_state(self, state: Ledger) -> None:
        """Take a saved ledger's counts in place (the runners hold its step counts)."""
        for name in (
            "records",
            "quarantined",
            "quarantine_reasons",
            "blank_lines",
            "kept",
            "added",
        ):
            setattr(self, name, getattr(state, name))
        self.steps.clear()
        self.steps.update(state.steps)

    def check(self) -> None:
        total = self.kept + self.dropped + self.quarantined
        if total != self.records:
            raise LedgerError(
                f"ledger does not add up: {self.records} records read but kept {self.kept} + "
                f"dropped {self.dropped} + quarantined {self.quarantined} = {total} (a bug)"
            )
        valid = self.records - self.quarantined
        flow = valid
        for step in self.steps.values():
            if step.seen != flow:
                raise LedgerError(
                    f"ledger does not add up at step {step.id!r}: it saw {step.seen} records, "
                    f"{flow} reached it (a bug)"
                )
            flow = step.seen - sum(step.dropped.values()) + step.added
        if flow != self.kept + self.added:
            raise LedgerError(
                f"ledger does not add up: {flow} records left the last step, "
                f"{self.kept + self.added} were written (a bug)"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "kept": self.kept,
            "dropped": self.dropped,
            "quarantined": self.quarantined,
            "quarantined_by_reason": dict(sorted(self.quarantine_reasons.items())),
            "blank_lines_skipped": self.blank_lines,
            "upsampled_copies": self.added,
            "written": self.kept + self.added,
            "invariant": {
                "equation": "records = kept + dropped + quarantined",
                "holds": self.records == self.kept + self.dropped + self.quarantined,
            },
        }
