"""Progress the long commands report, and the terminal display the CLI gives it.

The library reports through a small protocol; nothing here is required (``None`` reports
nothing):

- ``progress(records, done_bytes)``: a batch was read (the reading bar of clean and audit);
- ``progress.phase(name, total=None)``: a new phase starts (``dedup``, ``checks``,
  ``reports``; a fine-tune's ``audit``, ``split``, ``encode``, ``train``, ``evaluate``,
  ``report``), with a step count if it has one;
- ``progress.update(completed, **fields)``: within a phase with a total (training: the
  optimizer step, with ``loss``).

``TerminalProgress`` draws it with rich on stderr (only when stderr is a terminal: logs get
no bars). When reading reaches the end of the input, it switches by itself to a "whole-dataset
steps" phase, so the display never sits at "5.5/5.4 MB" while deduplication runs.
"""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    def __call__(self, records: int, done_bytes: int) -> None: ...

    def phase(self, name: str, total: int | None = None) -> None: ...

    def update(self, completed: int, **fields: Any) -> None: ...


def start_phase(progress: Any, name: str, total: int | None = None) -> None:
    """``progress.phase(...)`` for a reporter that has phases (a plain callable has not)."""
    phase = getattr(progress, "phase", None)
    if phase is not None:
        phase(name, total)


class TerminalProgress:
    """A rich display: a reading bar (bytes, records, rate), then one line per phase."""

    def __init__(self, label: str, total_bytes: int | None, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            SpinnerColumn(finished_text="✓"),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.label = label
        self.total_bytes = total_bytes
        self.records = 0
        self.task: Any = None
        self.reading = True
        self.phases: list[str] = []

    def __enter__(self) -> TerminalProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self.bar.stop()

    def _finish(self) -> None:
        if self.task is not None:
            task = self.bar.tasks[self.task]
            self.bar.update(self.task, total=task.total or 1, completed=task.total or 1)
            self.bar.stop_task(self.task)
            self.task = None

    def __call__(self, records: int, done_bytes: int) -> None:
        if not self.reading:
            return
        if self.task is None:
            self.task = self.bar.add_task(
                f"{self.label}: reading", total=self.total_bytes, detail=""
            )
        self.records += records
        elapsed = self.bar.tasks[self.task].elapsed or 1e-9
        self.bar.update(
            self.task,
            completed=done_bytes,
            detail=f"{done_bytes / 1e6:.1f} MB, {self.records:,} records "
            f"({self.records / elapsed:,.0f}/s)",
        )
        if self.total_bytes and done_bytes >= self.total_bytes:
            # The input is read: what follows needs the whole dataset and has no byte count.
            self.phase("whole-dataset steps (dedup, checks, reports)")

    def phase(self, name: str, total: int | None = None) -> None:
        self.reading = False
        self._finish()
        self.phases.append(name)
        self.task = self.bar.add_task(f"{self.label}: {name}", total=total, detail="")

    def update(self, completed: int, **fields: Any) -> None:
        if self.task is None:
            return
        detail = " ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()
        )
        task = self.bar.tasks[self.task]
        step = f"step {completed}/{int(task.total)}" if task.total else f"step {completed}"
        self.bar.update(self.task, completed=completed, detail=f"{step} {detail}".strip())
