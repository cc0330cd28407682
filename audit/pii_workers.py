"""Helper processes for the PII fast path: the pool and the functions a helper runs.

A helper is spawned (fork is unsafe under polars' threads) and builds its own detector with
``build(*args)``, a function the engine names (``PiiEngine.helper_detector``): spawning
pickles it by reference, so the helper imports the engine's module, which loads no presidio
until the detector is built, and the engine can first keep presidio from importing what a
helper does not need. This module imports neither the engine nor presidio: the engine
(``audit.pii``) and the fast path (``audit.pii_fast``) both use it, and it uses neither.
"""

from __future__ import annotations

import multiprocessing
import os
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol


class TaskRunner(Protocol):
    def run_task(self, task: tuple[str, Any]) -> Any: ...


Build = Callable[..., TaskRunner]

_RUNNER: TaskRunner | None = None


def start_helper(build: Build, args: tuple[Any, ...], parent: int | None = None) -> None:
    """A helper's initializer: end with the parent, build the detector now (ready means ready)."""
    global _RUNNER
    from curate.parallel import exit_with_parent

    if parent is not None:
        exit_with_parent(parent)
    _RUNNER = build(*args)


def helper_ready() -> bool:
    return _RUNNER is not None


def helper_task(task: tuple[str, Any]) -> Any:
    if _RUNNER is None:
        raise RuntimeError("PII helper process started without a detector")
    return _RUNNER.run_task(task)


class HelperPool:
    """``count`` spawned processes with a detector each; started at once, used once they answer."""

    IN_HAND = 2  # tasks queued per helper, so none waits between two

    def __init__(self, count: int, build: Build, args: tuple[Any, ...]) -> None:
        context = multiprocessing.get_context("spawn")
        self.count = count
        self.pool = ProcessPoolExecutor(
            max_workers=count,
            mp_context=context,
            initializer=start_helper,
            initargs=(build, args, os.getpid()),
        )
        self.used = 0
        self.warm = [self.pool.submit(helper_ready) for _ in range(count)]
        self._finalizer = weakref.finalize(self, self.pool.shutdown, wait=False)

    def ready(self) -> bool:
        return all(f.done() for f in self.warm)

    def wait_ready(self) -> None:
        for future in self.warm:
            future.result()

    def share(self, tasks: list[tuple[str, Any]], run_here: Callable[[Any], Any]) -> list[Any]:
        """Results of ``tasks`` in order: this process takes the next task whenever the
        helpers have ``IN_HAND`` each in hand (or are not ready yet)."""
        results: list[Any] = [None] * len(tasks)
        pending: dict[Future[Any], int] = {}
        next_task = 0

        def collect(done: Iterable[Future[Any]]) -> None:
            for future in done:
                results[pending.pop(future)] = future.result()
                self.used += 1

        while next_task < len(tasks) or pending:
            if self.ready():
                while next_task < len(tasks) and len(pending) < self.IN_HAND * self.count:
                    pending[self.pool.submit(helper_task, tasks[next_task])] = next_task
                    next_task += 1
            if next_task < len(tasks):
                results[next_task] = run_here(tasks[next_task])
                next_task += 1
                collect([f for f in pending if f.done()])
            else:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                collect(done)
        return results

    def close(self) -> None:
        """Stops the helpers and waits for them (at garbage collection: without waiting)."""
        if self._finalizer.detach() is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
