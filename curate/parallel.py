"""Both cores for the per-record work: the leading steps that need nothing but their batch
(``Step.parallel_safe``), and the scans of the checks, run in worker processes.

The main process reads, keeps the order, runs what needs the whole dataset (deduplication) and
adds up what the workers counted. Each batch goes to one worker, which runs the same step
runners on it with a ledger of its own, then returns the batch with what each runner counted,
the totals each step keeps for its summary (``Step.totals``), the rows a step dropped, and,
when no later step changes the text, each check's scan as a column (``Check.scan_column``).
Results come back in input order, so outputs are byte-identical to a run in one process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curate.errors import EXIT_INTERNAL, CurateError
from curate.ledger import Ledger, StepCount
from curate.pipeline import StepRunner, build_checks, build_steps
from curate.registry import Check, Totals, load_plugins, plugin_modules
from curate.rules import Rules

#: Set in worker processes, so that a worker does not start helper processes of its own.
WORKER_ENV = "CURATE_WORKER"
#: Batches handed to each worker ahead of the one the main process waits for.
AHEAD = 2
#: Inputs smaller than this (bytes on disk) are done in the main process alone.
POOL_MIN_BYTES = 8_000_000
#: Seconds of work the main process does alone before it starts workers, when the size of
#: the input is not known.
INLINE_SECONDS = 2.0
#: How often a worker checks that the process that started it is still there.
PARENT_POLL_S = 0.5


def in_worker() -> bool:
    """True inside a ``curate.parallel`` worker process."""
    return os.environ.get(WORKER_ENV) == "1"


def exit_with_parent(parent: int) -> None:
    """End this process soon after ``parent`` (the process that started it) dies: a killed
    run must not leave workers waiting for work forever (holding its output pipes open)."""
    if os.getppid() != parent:  # it died while this process was starting
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="curate-parent-watch", daemon=True).start()


def default_workers() -> int:
    """One worker per core this process may use (1 inside a worker)."""
    if in_worker():
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class BatchResult:
    """What a worker sends back for one batch."""

    frame: pl.DataFrame
    counts: list[StepCount]
    totals: list[Totals]
    scan_totals: list[Totals]
    dropped: list[tuple[int, pl.DataFrame]]


class ParallelRunner:
    """Runs ``runners`` (a parallel-safe prefix of a run's steps) and the scans of ``scans``
    over a stream of batches in ``workers`` processes, yielding the batches in order.

    An input under ``POOL_MIN_BYTES`` (or, of unknown size, the first ``INLINE_SECONDS`` of
    work) runs here: a short run starts no process.
    """

    def __init__(
        self,
        rules: Rules,
        runners: list[StepRunner],
        scans: list[Check],
        workers: int,
        input_bytes: int | None = None,
    ) -> None:
        self.rules = rules
        self.input_bytes = input_bytes
        self.runners = runners
        self.scans = scans  # checks whose scans the workers make
        self.workers = max(1, workers)

    def __call__(self, frames: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        stream = iter(frames)
        # Starting a worker costs a second or two: a small input is done here (one batch at a
        # time: --resume saves between two reads), a large one goes to workers from its first
        # batch (so this process never loads what they use).
        if self.workers < 2 or (self.input_bytes is not None and self.input_bytes < POOL_MIN_BYTES):
            yield from map(self._here, stream)
            return
        if self.input_bytes is None:  # records in memory: the first INLINE_SECONDS done here
            started = time.perf_counter()
            for frame in stream:
                yield self._here(frame)
                if time.perf_counter() - started >= INLINE_SECONDS:
                    break
        following = next(stream, None)
        if following is not None:
            yield from self._pooled(itertools.chain([following], stream))

    def _here(self, frame: pl.DataFrame) -> pl.DataFrame:
        for runner in self.runners:
            frame = runner(frame)
        return frame

    def _pooled(self, frames: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        actions = [r.action for r in self.runners]
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.rules, actions, bool(self.scans), os.getpid(), plugin_modules()),
        )
        pending: deque[Future[BatchResult]] = deque()
        try:
            for frame in frames:
                pending.append(pool.submit(_run_batch, frame))
                while len(pending) > AHEAD * self.workers:
                    yield self._merge(_result(pending.popleft()))
            while pending:
                yield self._merge(_result(pending.popleft()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _merge(self, result: BatchResult) -> pl.DataFrame:
        for runner, count, totals in zip(self.runners, result.counts, result.totals, strict=True):
            runner.count.add(count)
            runner.step.add_totals(totals)
        for check, totals in zip(self.scans, result.scan_totals, strict=True):
            check.add_totals(totals)
        for index, dropped in result.dropped:
            runner = self.runners[index]
            runner.on_drop(dropped, runner.count)
        return result.frame


class WorkerDied(CurateError):
    """A worker process ended without an answer (killed, out of memory)."""

    exit_code = EXIT_INTERNAL


def _result(future: Future[BatchResult]) -> BatchResult:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise WorkerDied(f"a worker process died: {exc}") from None


# --- in the worker -----------------------------------------------------------------------


_RUNNERS: list[StepRunner] = []
_CHECKS: list[Check] = []
_DROPPED: list[tuple[int, pl.DataFrame]] = []  # (runner, rows) of the batch at hand


def _start_worker(
    rules: Rules, actions: list[str], scans: bool, parent: int, plugins: list[str]
) -> None:
    """Build the leading steps (with their ``actions``) and, with ``scans``, the checks, once
    per worker; ``parent`` is the main process, ``plugins`` the modules that registered the
    user's own steps and checks."""
    global _RUNNERS, _CHECKS
    exit_with_parent(parent)
    os.environ[WORKER_ENV] = "1"
    load_plugins(plugins)
    steps = zip(build_steps(rules), actions, strict=False)
    _RUNNERS = [
        StepRunner(spec, step, Ledger(), lambda rows, _, i=i: _DROPPED.append((i, rows)), action)
        for i, ((spec, step), action) in enumerate(steps)
    ]
    _CHECKS = [c for c in build_checks(rules) if c.scan_column] if scans else []


def _run_batch(frame: pl.DataFrame) -> BatchResult:
    _DROPPED.clear()
    for runner in _RUNNERS:
        runner.count = StepCount(runner.spec.id, runner.spec.step, runner.action)  # this batch's
        frame = runner(frame)
    if frame.height:
        frame = frame.with_columns(
            check.scan(frame).alias(str(check.scan_column)) for check in _CHECKS
        )
    return BatchResult(
        frame=frame,
        counts=[r.count for r in _RUNNERS],
        totals=[r.step.take_totals() for r in _RUNNERS],
        scan_totals=[check.take_totals() for check in _CHECKS],
        dropped=list(_DROPPED),
    )


def input_bytes(source: object) -> int | None:
    """Bytes on disk of a file or folder input; None for records in memory."""
    path = getattr(source, "path", None)
    if not isinstance(path, Path):
        return None
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return None


def split_for_workers(
    rules: Rules,
    runners: list[StepRunner],
    checks: list[Check],
    workers: int | None,
    resumable: bool = False,
    source: object | None = None,
) -> ParallelRunner:
    """The head of a run that worker processes share: the leading parallel-safe runners, and
    the checks' scans when no later step changes the text. With one worker, or ``resumable``
    (``--resume`` saves state between batches, so none may be in flight), it runs here."""
    if workers is not None and workers < 0:
        raise CurateError(f"workers must be 0 (one per core) or more, not {workers}")
    count = len(list(itertools.takewhile(lambda r: r.step.parallel_safe, runners)))
    later_changes_text = any(r.step.changes_text for r in runners[count:])
    scans = [] if later_changes_text else [c for c in checks if c.scan_column]
    processes = 1 if resumable or not (count or scans) else workers or default_workers()
    return ParallelRunner(rules, runners[:count], scans, processes, input_bytes(source))
