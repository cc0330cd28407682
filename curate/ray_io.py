"""Ray's side of reading: the session, objects cached per worker, and how the inputs (one
file, a saved ``datasets`` folder or a folder of shards: ``curate.sources.list_inputs``) are
cut into read tasks. The steps and the outputs are in ``curate.engine_ray``.

A plain JSONL or a Parquet file larger than ``CURATE_RAY_PART_BYTES`` (default 128 MiB) is
read in parts (``curate.reader.split_file``): byte ranges of lines, or runs of row groups, with
the line numbers of the whole file. Compressed files, CSV and saved datasets are one task each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from curate import registry
from curate.errors import CurateError
from curate.reader import FilePart, detect_format, split_file
from curate.rules import Rules
from curate.sources import Inputs, TaskRead

if TYPE_CHECKING:
    import pyarrow as pa

#: for tests only: while the folder this names holds a file ``armed`` (holding a number n),
#: the first n blocks of each kind of task die once, after their side effects and before
#: returning, so that Ray re-runs them
FAULT_ENV = "CURATE_RAY_FAULT_DIR"
#: files larger than this many bytes (plain JSONL, Parquet) are read by several tasks
PART_BYTES_ENV = "CURATE_RAY_PART_BYTES"


class RayEngineError(CurateError):
    """The Ray engine cannot reproduce the local result for this configuration."""


# -- session ---------------------------------------------------------------------------------


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Connect to ``address`` (an existing cluster, or ``auto``) or start a local Ray.

    A session already open in this process (a test, a notebook) is used as it is and left open.
    A CurateError raised in a task comes out as itself (exit 2 with its one line), not wrapped
    in Ray's exceptions (found among their causes).
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
        env = {"POLARS_MAX_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
        plugins = registry.plugin_modules()
        if plugins:  # the user's own steps and checks: every worker imports their modules
            env[registry.PLUGINS_ENV] = ",".join(plugins)
            if not address:  # a Ray started here: its workers find them where this process did
                env["PYTHONPATH"] = os.pathsep.join(_module_roots(plugins))
        # address "local": a new Ray, even if `ray start` runs a cluster here
        where = {"address": address} if address else {"address": "local", "num_cpus": num_cpus}
        if not address:
            where["include_dashboard"] = False
        ray.init(**where, runtime_env={"env_vars": env}, logging_level=logging.WARNING)
        started = True
    from ray.data.context import ShuffleStrategy

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # phases' outputs in input order
    # Task-based sort shuffle: the hash shuffle's actor pool costs seconds per shuffle to
    # start, which dominates for inputs below tens of GB (see the README's figures).
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield
    except Exception as exc:
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
        raise
    finally:
        if started:
            ray.shutdown()


def _module_roots(modules: Sequence[str]) -> list[str]:
    """The folders to put on a worker's path to import ``modules`` as this process did."""
    import sys

    roots = []
    for name in modules:
        where = getattr(sys.modules.get(name), "__file__", None)
        if where:  # the folder holding its top package
            roots.append(str(Path(where).resolve().parents[name.count(".")]))
    existing = os.environ.get("PYTHONPATH")
    return list(dict.fromkeys([*roots, *([existing] if existing else [])]))


def maybe_fail(where: str, key: object) -> None:
    folder = os.environ.get(FAULT_ENV)
    armed = Path(folder) / "armed" if folder else None
    if armed is None or not armed.exists():
        return
    marker = armed.parent / f"{where}-{key}"
    crashed = len(list(armed.parent.glob(f"{where}-*")))
    if not marker.exists() and crashed < int(armed.read_text() or 1):
        marker.touch()
        os._exit(1)  # a worker crash: Ray re-runs the task


_WORKER_CACHE: dict[tuple[Any, ...], Any] = {}


def worker_cached(rules: Rules, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Objects built once per worker process and rules (steps may load models or lexicons),
    with the plugins imported first (a worker gets the rules unpickled, not loaded)."""
    key = (*key, rules.sha256, str(rules.base_dir), rules.seed)
    if key not in _WORKER_CACHE:
        if len(_WORKER_CACHE) > 64:
            _WORKER_CACHE.clear()
        registry.load_plugins()
        _WORKER_CACHE[key] = build()
    return _WORKER_CACHE[key]


def remote(function: Callable[..., Any], **options: Any) -> Any:
    """``function`` as a Ray task (made once per function and options)."""
    key = (function, tuple(sorted(options.items())))
    if key not in _REMOTE:
        import ray

        _REMOTE[key] = ray.remote(function).options(**options)
    return _REMOTE[key]


_REMOTE: dict[tuple[Any, ...], Any] = {}


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    # the oldest Arrow layout (large_string, not string_view) that every Ray version reads
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def from_arrow(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


# -- read tasks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadUnit:
    """What one read task reads: a whole input file, or a part of it."""

    number: int  # in input order: names the blocks it makes
    file: int
    path: str
    fmt: str
    part: FilePart | None = None


def _scan(path: str, fmt: str, part_bytes: int) -> tuple[TaskRead, list[FilePart]]:
    """Ray task: a file's fingerprint and parts (``curate.reader.split_file``)."""
    fingerprint, parts = split_file(Path(path), fmt, part_bytes)
    return TaskRead(fingerprint, socket.gethostname()), parts


def plan_reads(inputs: Inputs, rules: Rules) -> tuple[list[ReadUnit], dict[int, TaskRead]]:
    """The read tasks, in input order; the fingerprints of the files read in parts (taken by
    the scan that cut them; the other files' come from their read task)."""
    import ray

    part_bytes = int(os.environ.get(PART_BYTES_ENV) or 128 << 20)
    formats = [detect_format(path, rules.read.format) for path in inputs.files]
    scans = {
        i: remote(_scan).remote(str(path), fmt, part_bytes)
        for i, (path, fmt) in enumerate(zip(inputs.files, formats, strict=True))
        if fmt in ("jsonl", "parquet")
        and not path.name.lower().endswith((".gz", ".zst", ".zstd"))
        and path.is_file()
        and path.stat().st_size > part_bytes
    }
    units: list[ReadUnit] = []
    reads: dict[int, TaskRead] = {}
    for i, (path, fmt) in enumerate(zip(inputs.files, formats, strict=True)):
        parts: list[FilePart | None] = [None]
        if i in scans:
            reads[i], parts = ray.get(scans[i])  # type: ignore[assignment]
        units += [ReadUnit(len(units) + k, i, str(path), fmt, p) for k, p in enumerate(parts)]
    return units, reads
