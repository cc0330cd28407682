"""Checkpoints for ``--resume``: a killed run continues from its last finished chunk.

What a checkpoint holds, in ``<out>/.resume-<command>/`` next to the outputs:

- ``<output>.part``: each output file as written so far. The checkpoint records every part's
  length and line count; a resumed run truncates the part to that length (dropping what was
  written after the checkpoint) and appends. On success each part is renamed into place.
- ``spool-<n>/``: the Parquet spool of the n-th ``needs_fit`` step (what reached it), kept
  instead of a temporary folder so that a resumed run need not read it again.
- ``checkpoint.pkl``: where the run stood (segment, chunk), the parts' lengths, the spools'
  sizes, and the state of every tracked object (ledger, step counts, steps, checks, stats).

Where a run stands. The steps are split at each ``needs_fit`` step into segments: segment 0
streams the input's chunks through the steps up to the first fit step (or to the end);
segment n streams the n-th fit step's spool through that step and the steps after it. The
position (segment, chunk) is saved only at a chunk boundary, when every output of the chunks
before it has been written and no step has seen the next chunk. A resumed run skips the input
chunks (segment 0: they are read and parsed again, not processed) or spool files already done,
and restores the state, so counts, summaries and outputs are byte-identical to a run that was
never interrupted.

What state is saved: what each tracked object declares (``saved_state``): a step's or check's
totals and, for a whole-dataset step, its decision (``curate.registry``), the ledger, the
dataset statistics. It is plain data: numbers, strings, containers, numpy arrays, polars
frames and dataclasses of curate's own packages. Machinery (parameters, models, compiled
matchers) is rebuilt from the rules. Whole-dataset steps are supported: their decision is
saved after ``fit``, so a run killed after the fit resumes without fitting again; a run killed
while spooling resumes the spooling.

A checkpoint is used only if it was made by the same command, curate, numpy and polars
versions, rules and input (sha256); otherwise, or if a part or spool file is missing or short,
the run starts from the beginning. Saving is throttled (``every`` seconds, and never more than
about a tenth of the run's time) because step state such as ``dedupe_exact``'s hash table grows
with the input. The file is a pickle read with an allow-list of classes (the data types above),
so a tampered checkpoint cannot run code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

import numpy as np
import polars as pl

from curate import batch as B
from curate.atomic import atomic_open, umask_mode
from curate.outdir import sweep_stale
from curate.registry import Decision, Totals

FORMAT = 2
CHECKPOINT_FILE = "checkpoint.pkl"
DEFAULT_EVERY = 30.0
# A checkpoint is skipped if the last one took more than this share of the time since it.
MAX_OVERHEAD = 0.1

T = TypeVar("T")


# --- what state is saved -----------------------------------------------------------------


class Saved(Protocol):
    """What ``Checkpointer.track`` takes: an object that says what of it a checkpoint keeps
    (steps and checks: their totals and decisions; see ``curate.registry``)."""

    def saved_state(self) -> Any: ...

    def restore_state(self, state: Any) -> None: ...


class Held:
    """A value a run keeps across batches (a list, a dict), as something ``track`` takes."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def saved_state(self) -> Any:
        return self.value

    def restore_state(self, state: Any) -> None:
        self.value = state


_OWN_PACKAGES = ("curate", "audit", "finetune")


def _own_dataclass(cls: Any) -> bool:
    return (
        isinstance(cls, type)
        and dataclasses.is_dataclass(cls)
        and cls.__module__.split(".")[0] in _OWN_PACKAGES
    )


# --- a pickle that can only build data ----------------------------------------------------

_ALLOWED = {
    ("builtins", "complex"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "str"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("collections", "Counter"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("polars.series.series", "Series"),
    ("polars.dataframe.frame", "DataFrame"),
}
_BIT_GENERATORS = {"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = (module, name) in _ALLOWED or (
            module.startswith("numpy.random._") and name in _BIT_GENERATORS
        )
        if allowed:
            return super().find_class(module, name)
        if module.split(".")[0] in _OWN_PACKAGES:
            found = super().find_class(module, name)
            if _own_dataclass(found):
                return found
        # A plugin's totals: a dataclass of ``Totals`` from a module this run imported already
        # (a checkpoint never makes a module be imported).
        found = getattr(sys.modules.get(module), name, None)
        is_data = isinstance(found, type) and dataclasses.is_dataclass(found)
        if is_data and issubclass(found, (Totals, Decision)):  # type: ignore[arg-type]
            return found
        raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}: not data")


def _load(path: Path) -> Any:
    return _DataUnpickler(io.BytesIO(path.read_bytes())).load()


# --- outputs that survive a kill ----------------------------------------------------------


class ResumableWriter:
    """A line writer (as ``AtomicWriter``) whose part file lives in the checkpoint folder.

    ``mark()`` makes what was written durable and returns its length; a writer reopened with
    a mark truncates its part to it. ``commit()`` renames the part to the final name.
    """

    def __init__(self, path: Path, part: Path, mark: dict[str, int] | None) -> None:
        self.path = path
        self.part = part
        self.lines = 0
        if mark is None:
            self._handle: IO[bytes] | None = open(part, "wb", buffering=1 << 20)  # noqa: SIM115
        else:
            self._handle = open(part, "r+b", buffering=1 << 20)  # noqa: SIM115
            self._handle.truncate(mark["bytes"])
            self._handle.seek(mark["bytes"])
            self.lines = mark["lines"]
        self._sha256: str | None = None

    def write_line(self, line: bytes) -> None:
        assert self._handle is not None
        self._handle.write(line)
        self._handle.write(b"\n")
        self.lines += 1
        self._sha256 = None

    def mark(self) -> dict[str, int]:
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return {"bytes": self._handle.tell(), "lines": self.lines}

    @property
    def sha256(self) -> str:
        # hashlib state cannot be saved in a checkpoint: hash the part file instead.
        if self._sha256 is None:
            if self._handle is not None:
                self._handle.flush()
            digest = hashlib.sha256()
            with open(self.part, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256

    def commit(self) -> None:
        self.mark()
        self.close()
        os.chmod(self.part, umask_mode())
        os.replace(self.part, self.path)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def abort(self) -> None:
        """Close, keeping the part: a later ``--resume`` run continues from the checkpoint."""
        self.close()


# --- the spool of a fit step --------------------------------------------------------------


class Spool:
    """Numbered Parquet files: what reached one ``needs_fit`` step."""

    def __init__(self, folder: Path, count: int, rows: int = 0) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = count
        self.rows = rows  # records in the first ``count`` files: the next record's rank
        self._unsynced: list[Path] = []
        for path in self.folder.glob("*.parquet"):  # written after the checkpoint: redone
            if int(path.stem) >= count:
                path.unlink()

    def path(self, index: int) -> Path:
        return self.folder / f"{index:08d}.parquet"

    def write(self, frame: pl.DataFrame) -> None:
        path = self.path(self.count)
        frame.write_parquet(path, compression="lz4")
        self._unsynced.append(path)
        self.count += 1
        self.rows += frame.height

    def read(self, start: int = 0) -> Iterator[pl.DataFrame]:
        for index in range(start, self.count):
            yield pl.read_parquet(self.path(index), glob=False)

    def sync(self) -> None:
        for path in self._unsynced:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._unsynced.clear()

    def complete(self) -> bool:
        return all(self.path(i).is_file() for i in range(self.count))


# --- the checkpointer ---------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Position:
    """Chunks ``< chunk`` of ``segment`` are done (all of it if ``done``); earlier segments too."""

    segment: int = 0
    chunk: int = 0
    done: bool = False


def run_key(command: str, rules: Any, describe: dict[str, Any]) -> dict[str, Any]:
    """What must not change between a killed run and its resumption."""
    from curate.version import __version__

    canonical = rules.canonical() if hasattr(rules, "canonical") else None
    return {
        "command": command,
        "curate": __version__,
        "numpy": np.__version__,
        "polars": pl.__version__,
        "rules_sha256": rules.sha256,
        "rules": hashlib.sha256(repr(canonical).encode()).hexdigest(),
        "input": {k: describe.get(k) for k in ("path", "format", "bytes", "sha256")},
    }


class Checkpointer:
    """Saves and restores where a run stands; see the module doc."""

    def __init__(
        self,
        folder: str | Path,
        key: dict[str, Any],
        *,
        every: float = DEFAULT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.key = key
        self.every = every
        self._clock = clock
        self._tracked: dict[str, Saved] = {}
        self._writers: dict[str, ResumableWriter] = {}
        self._spools: dict[int, Spool] = {}
        self._last_save = clock()
        self._last_cost = 0.0
        self.saves = 0
        saved = self._load()
        #: where this run stands; ``resumed_from`` is where it started (None: the beginning)
        self.position = Position(**saved["position"]) if saved else Position()
        self.resumed_from = self.position if saved else None
        self._saved = saved or {"writers": {}, "spools": {}, "state": {}}

    def _load(self) -> dict[str, Any] | None:
        path = self.folder / CHECKPOINT_FILE
        saved: dict[str, Any] | None = None
        if path.is_file():
            try:
                saved = _load(path)
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
                saved = None
        if saved is not None and not self._usable(saved):
            saved = None
        if saved is None:  # start from the beginning with an empty folder
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        sweep_stale(self.folder, [CHECKPOINT_FILE])  # a temp file a kill left
        return saved

    def _usable(self, saved: Any) -> bool:
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            return False
        if saved.get("key") != self.key:
            return False
        for name, mark in saved["writers"].items():
            part = self.folder / f"{name}.part"
            if not part.is_file() or part.stat().st_size < mark["bytes"]:
                return False
        for segment, (count, _rows) in saved["spools"].items():
            folder = self.folder / f"spool-{segment}"
            if not all((folder / f"{i:08d}.parquet").is_file() for i in range(count)):
                return False
        return True

    # -- what is saved

    def writer(self, path: str | Path) -> ResumableWriter:
        path = Path(path)
        name = path.name
        writer = ResumableWriter(
            path, self.folder / f"{name}.part", self._saved["writers"].get(name)
        )
        self._writers[name] = writer
        return writer

    def track(self, name: str, obj: Saved) -> None:
        """Save ``obj``'s state at every checkpoint; restore it now if the run resumes."""
        self._tracked[name] = obj
        if name in self._saved["state"]:
            obj.restore_state(self._saved["state"][name])

    def spool(self, segment: int) -> Spool:
        if segment not in self._spools:
            count, rows = self._saved["spools"].get(segment, (0, 0))
            self._spools[segment] = Spool(self.folder / f"spool-{segment}", count, rows)
        return self._spools[segment]

    # -- where the run stands

    def reached(self, segment: int) -> bool:
        """Whether the checkpoint is at or past the start of ``segment``."""
        return self.position.segment >= segment

    def boundary(
        self, segment: int, chunk: int, *, done: bool = False, force: bool = False
    ) -> None:
        """Chunks ``< chunk`` of ``segment`` are finished: save if it is time to."""
        self.position = Position(segment, chunk, done)
        now = self._clock()
        gap = max(self.every, self._last_cost / MAX_OVERHEAD) if self.every > 0 else 0.0
        if force or now - self._last_save >= gap:
            self.save()
            self._last_save = self._clock()
            self._last_cost = self._last_save - now

    def save(self) -> None:
        writers = {name: w.mark() for name, w in self._writers.items()}
        for spool in self._spools.values():
            spool.sync()
        data = {
            "format": FORMAT,
            "key": self.key,
            "position": asdict(self.position),
            "writers": writers,
            "spools": {segment: (s.count, s.rows) for segment, s in self._spools.items()},
            "state": {name: obj.saved_state() for name, obj in self._tracked.items()},
        }
        try:
            blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise RuntimeError(f"--resume cannot save {_unsaveable(data['state'])}: {exc}") from exc
        with atomic_open(self.folder / CHECKPOINT_FILE, "wb") as handle:
            handle.write(blob)
        _fsync_dir(self.folder)
        self.saves += 1

    def reads(self, batches: Iterable[T]) -> Iterator[T]:
        """Segment 0's source: skip the chunks done, mark a boundary after each one."""
        if self.reached(1) or (self.position.segment == 0 and self.position.done):
            return
        skip = self.position.chunk
        index = 0
        for batch in batches:
            index += 1
            if index <= skip:
                continue
            yield batch
            self.boundary(0, index)
        self.boundary(0, index, done=True)

    def fit_then_apply(
        self, runner: Any, upstream: Iterable[pl.DataFrame], segment: int
    ) -> Iterator[pl.DataFrame]:
        """``pipeline._fit_then_apply`` with a spool and a fitted state that outlive a kill."""
        spool = self.spool(segment)
        if self.reached(segment):
            start = self.position.chunk if self.position.segment == segment else spool.count
        else:
            for frame in B.ranked(upstream, start=spool.rows):
                spool.write(frame)
            runner.step.fit(spool.read())
            self.boundary(segment, 0, force=True)  # a fit may be long: keep it
            start = 0
        for index, frame in enumerate(spool.read(start), start + 1):
            yield B.unranked(runner(frame))
            self.boundary(segment, index)

    def finish(self) -> None:
        """The run is complete and its outputs are in place: remove the checkpoint."""
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def close(self) -> None:
        """The run failed: keep the checkpoint for ``--resume``, release the files."""
        for writer in self._writers.values():
            writer.abort()


def _unsaveable(states: dict[str, Any]) -> str:
    """Which tracked object's state does not pickle (a step that needs its own hooks)."""
    for name, state in states.items():
        try:
            pickle.dumps(state)
        except Exception:
            return f"the state of {name} (its totals must be plain data)"
    return "the checkpoint"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def resume_folder(out_dir: str | Path, command: str) -> Path:
    return Path(out_dir) / f".resume-{command}"


def for_run(
    out_dir: str | Path, command: str, rules: Any, source: Any, every: float = DEFAULT_EVERY
) -> Checkpointer:
    """The checkpointer of a ``--resume`` run of ``command`` writing into ``out_dir``."""
    from curate.errors import InputError
    from curate.sources import FileSource

    if not isinstance(source, FileSource):
        raise InputError(f"{source.label}: --resume needs an input file (to identify it by sha256)")
    key = run_key(command, rules, source.describe(rules))
    return Checkpointer(resume_folder(out_dir, command), key, every=every)


def discard(out_dir: str | Path, command: str) -> None:
    """Remove a checkpoint a finished run has made obsolete."""
    shutil.rmtree(resume_folder(out_dir, command), ignore_errors=True)
