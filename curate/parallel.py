"""Both cores for the per-record work: the leading steps that need nothing but their batch
(``Step.parallel_safe``), and the scans of the checks, run in worker processes.

The main process reads, keeps the order, runs what needs the whole dataset (deduplication) and
adds up what the workers counted. Each batch goes to one worker, which advances it as a Ray
task advances a block (``curate.pipeline.Block``: the same step runners, with a ledger of its
own), then returns the block: what each step counted, the totals it keeps for its summary
(``Step.totals``), the rows it dropped, and, when no later step changes the text, each check's
scan as a column (``Check.scan_column``) with the checks' totals.
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
from typing import Any

import polars as pl

from curate.errors import EXIT_INTERNAL, CurateError
from curate.pipeline import Block, StepRunner
from curate.registry import Check, Step, Totals, load_plugins, plugin_modules
from curate.rules import Rules, StepSpec, build_checks, build_steps
from curate.sources import input_bytes

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


class ParallelRunner:
    """The head of a run that worker processes share: the leading parallel-safe ``runners``,
    and the scans of ``checks`` when no later step changes the text, over a stream of
    batches, yielding the batches in order. It runs here with one worker, or ``resumable``
    (``--resume`` saves state between batches, so none may be in flight), and so does an
    input under ``POOL_MIN_BYTES`` (or, of unknown size, the first ``INLINE_SECONDS`` of
    work): a short run starts no process.
    """

    def __init__(
        self,
        rules: Rules,
        runners: list[StepRunner],
        checks: list[Check],
        workers: int | None,
        resumable: bool,
        source: object,
        action: str | None,
    ) -> None:
        if workers is not None and workers < 0:
            raise CurateError(f"workers must be 0 (one per core) or more, not {workers}")
        count = len(list(itertools.takewhile(lambda r: r.step.parallel_safe, runners)))
        later_changes_text = any(r.step.changes_text for r in runners[count:])
        self.rules = rules
        self.runners = runners[:count]
        self.scans = [] if later_changes_text else [c for c in checks if c.scan_column]
        many = workers or default_workers()
        self.workers = 1 if resumable or not (count or self.scans) else many
        self.input_bytes = input_bytes(source)
        self.action = action  # the run's, over every step's (an audit flags)

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
        steps = len(self.runners)
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.rules, steps, bool(self.scans), os.getpid(), plugin_modules()),
        )
        pending: deque[Future[tuple[Block, list[Totals]]]] = deque()
        try:
            for frame in frames:
                pending.append(pool.submit(_run_batch, frame, self.action))
                while len(pending) > AHEAD * self.workers:
                    yield self._merge(*pending.popleft().result())
            while pending:
                yield self._merge(*pending.popleft().result())
        except BrokenProcessPool as exc:
            raise WorkerDied(f"a worker process died: {exc}") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _merge(self, block: Block, scan_totals: list[Totals]) -> pl.DataFrame:
        for index, runner in enumerate(self.runners):
            runner.count.add(block.ledger.steps[runner.spec.id])
            runner.step.add_totals(block.totals[index])
        for check, totals in zip(self.scans, scan_totals, strict=True):
            check.add_totals(totals)
        for step_id, rows in block.dropped:  # in the order the steps dropped them
            runner = next(r for r in self.runners if r.spec.id == step_id)
            runner.on_drop(rows, runner.count)
        return block.frame


class WorkerDied(CurateError):
    """A worker process ended without an answer (killed, out of memory)."""

    exit_code = EXIT_INTERNAL


# --- in the worker -----------------------------------------------------------------------


_STEPS: list[tuple[int, StepSpec, Step[Any]]] = []
_CHECKS: list[Check] = []


def _start_worker(rules: Rules, steps: int, scans: bool, parent: int, plugins: list[str]) -> None:
    """Build the leading ``steps`` and, with ``scans``, the checks, once per worker;
    ``parent`` is the main process, ``plugins`` the modules that registered the user's own
    steps and checks."""
    global _STEPS, _CHECKS
    exit_with_parent(parent)
    os.environ[WORKER_ENV] = "1"
    load_plugins(plugins)
    _STEPS = [(i, spec, step) for i, (spec, step) in enumerate(build_steps(rules)[:steps])]
    _CHECKS = [c for c in build_checks(rules) if c.scan_column] if scans else []


def _run_batch(frame: pl.DataFrame, action: str | None) -> tuple[Block, list[Totals]]:
    """A batch through the worker's steps, with the checks' scans as columns; the block and
    the scans' totals."""
    block = Block(frame)
    block.advance(_STEPS, action)
    if block.frame.height:
        block.frame = block.frame.with_columns(
            check.scan(block.frame).alias(str(check.scan_column)) for check in _CHECKS
        )
    return block, [check.take_totals() for check in _CHECKS]
