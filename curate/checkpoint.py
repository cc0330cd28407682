"""Checkpoints for ``--resume``: a killed run continues from its last finished chunk.

A run without ``--resume`` takes the same path with saving off (a ``Checkpointer`` without a
key): its spools are temporary and its outputs plain atomic files.

A checkpoint, in ``<out>/.resume-<command>/``, holds each output written so far
(``<output>.part``, truncated on resumption to the length the checkpoint recorded), the spool
of the n-th ``needs_fit`` step (``spool-<n>/``, numbered Parquet files) and ``checkpoint.pkl``:
where the run stood, the parts' lengths, the spools' sizes and what every tracked object
declares (``saved_state``: the ledger, each step's and check's totals and decision, the sink's
totals), as plain data; machinery (models, compiled matchers) is rebuilt from the rules.

Where a run stands: the steps are split at each ``needs_fit`` step into segments. Segment 0
streams the input's chunks through the steps up to the first fit step; segment n streams the
n-th fit step's spool through that step and the ones after it. (segment, chunk) is saved only
at a chunk boundary, when every output of the chunks before it is written and no step has seen
the next one, and right after a fit (a fit may be long). A resumed run skips what is done (the
input's chunks are read again, not processed) and restores the state, so counts, summaries and
outputs are byte-identical to a run that was never interrupted.

A checkpoint is used only if the same command, curate, numpy and polars versions, rules and
input (sha256) made it and every file it names is there; otherwise the run starts over. Saving
is throttled (``every`` seconds, at most about a tenth of the run's time): state such as
``dedupe_exact``'s hash table grows with the input. The file is a pickle read with an
allow-list of data classes (``curate.safepickle``), so a tampered checkpoint cannot run code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import polars as pl

from curate import batch as B
from curate.atomic import AtomicWriter, atomic_open
from curate.outdir import claim, sweep_stale
from curate.safepickle import load_data

FORMAT = 2
CHECKPOINT_FILE = "checkpoint.pkl"
DEFAULT_EVERY = 30.0
# A checkpoint is skipped if the last one took more than this share of the time since it.
MAX_OVERHEAD = 0.1

T = TypeVar("T")


class Saved(Protocol):
    """What ``Checkpointer.track`` takes: an object that says what of it a checkpoint keeps."""

    def saved_state(self) -> Any: ...

    def restore_state(self, state: Any) -> None: ...


# --- the spool of a fit step --------------------------------------------------------------


class Spool:
    """Numbered Parquet files: what reached one ``needs_fit`` step; ``rows``: how many records
    the first ``count`` files hold (the next record's rank)."""

    def __init__(self, folder: Path, count: int, rows: int) -> None:
        self.folder, self.count, self.rows = folder, count, rows
        folder.mkdir(parents=True, exist_ok=True)
        self._unsynced: list[Path] = []
        for path in folder.glob("*.parquet"):  # written after the checkpoint: redone
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
            _fsync(path)
        self._unsynced.clear()


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

    return {
        "command": command,
        "curate": __version__,
        "numpy": np.__version__,
        "polars": pl.__version__,
        "rules_sha256": rules.sha256,
        "rules": hashlib.sha256(repr(rules.canonical()).encode()).hexdigest(),
        "input": {k: describe.get(k) for k in ("path", "format", "bytes", "sha256")},
    }


class Checkpointer:
    """Saves and restores where a run stands; see the module doc. Without a ``key`` nothing is
    saved or restored, and ``folder`` is a work folder that goes when the run ends, with
    ``obsolete`` (an older run's checkpoint) when it succeeds."""

    def __init__(
        self,
        folder: str | Path,
        key: dict[str, Any] | None = None,
        *,
        every: float = DEFAULT_EVERY,
        obsolete: Path | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.key = key
        self.every = every
        self.obsolete = obsolete
        self._tracked: dict[str, Saved] = {}
        self._writers: dict[str, AtomicWriter] = {}
        self._spools: dict[int, Spool] = {}
        self._last_save = time.monotonic()
        self._last_cost = 0.0
        saved = self._load() if key is not None else None
        self.folder.mkdir(parents=True, exist_ok=True)
        #: where this run stands; ``resumed_from`` is where it started (None: the beginning)
        self.position = Position(**saved["position"]) if saved else Position()
        self.resumed_from = self.position if saved else None
        self._saved = saved or {"writers": {}, "spools": {}, "state": {}}

    def _load(self) -> dict[str, Any] | None:
        """The checkpoint in the folder if it is usable; else None, and the folder emptied."""
        try:
            saved = load_data((self.folder / CHECKPOINT_FILE).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
            saved = None
        if not self._usable(saved):
            saved = None
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        sweep_stale(self.folder, [CHECKPOINT_FILE])  # a temp file a kill left
        return saved

    def _usable(self, saved: Any) -> bool:
        """Made for this run's key, in this format, with every part and spool file it names."""
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            return False
        parts = {self.folder / f"{n}.part": m["bytes"] for n, m in saved["writers"].items()}
        spools = [
            self.folder / f"spool-{segment}" / f"{i:08d}.parquet"
            for segment, (count, _rows) in saved["spools"].items()
            for i in range(count)
        ]
        return (
            saved.get("key") == self.key
            and all(p.is_file() and p.stat().st_size >= size for p, size in parts.items())
            and all(p.is_file() for p in spools)
        )

    # -- what is saved

    def writer(self, path: Path) -> AtomicWriter:
        """An output file; with a key, its part lives (and survives a kill) in the folder."""
        if self.key is None:
            writer = AtomicWriter(path)
        else:
            part = self.folder / f"{path.name}.part"
            writer = AtomicWriter(path, part, self._saved["writers"].get(path.name))
        self._writers[path.name] = writer
        return writer

    def track(self, name: str, obj: Saved) -> None:
        """Save ``obj``'s state at every checkpoint; restore it now if the run resumes."""
        self._tracked[name] = obj
        if name in self._saved["state"]:
            obj.restore_state(self._saved["state"][name])

    # -- where the run stands

    def boundary(
        self, segment: int, chunk: int, *, done: bool = False, force: bool = False
    ) -> None:
        """Chunks ``< chunk`` of ``segment`` are finished: save if it is time to."""
        if self.key is None:
            return
        self.position = Position(segment, chunk, done)
        now = time.monotonic()
        gap = max(self.every, self._last_cost / MAX_OVERHEAD) if self.every > 0 else 0.0
        if force or now - self._last_save >= gap:
            self.save()
            self._last_save = time.monotonic()
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
        with contextlib.suppress(OSError):  # not every platform can open a directory
            _fsync(self.folder)

    def reads(self, batches: Iterable[T]) -> Iterator[T]:
        """Segment 0's source: skip the chunks done, mark a boundary after each one."""
        if self.position.segment > 0 or self.position.done:
            return
        index = 0
        for index, batch in enumerate(batches, 1):
            if index > self.position.chunk:
                yield batch
                self.boundary(0, index)
        self.boundary(0, index, done=True)

    def fit_then_apply(
        self, runner: Any, upstream: Iterable[pl.DataFrame], segment: int
    ) -> Iterator[pl.DataFrame]:
        """Spool what reaches a ``needs_fit`` step (numbered by rank), fit it, then stream the
        spool through it: memory stays bounded by a batch plus the step's own state."""
        if segment not in self._spools:
            count, rows = self._saved["spools"].get(segment, (0, 0))
            self._spools[segment] = Spool(self.folder / f"spool-{segment}", count, rows)
        spool = self._spools[segment]
        if self.position.segment >= segment:  # fitted before the kill
            start = self.position.chunk if self.position.segment == segment else spool.count
        else:
            for frame in B.ranked(upstream, start=spool.rows):
                spool.write(frame)
            runner.step.fit(spool.read())
            self.boundary(segment, 0, force=True)
            start = 0
        for index, frame in enumerate(spool.read(start), start + 1):
            yield B.unranked(runner(frame))
            self.boundary(segment, index)
        if self.key is None:  # a temporary spool goes as soon as it is read
            shutil.rmtree(spool.folder, ignore_errors=True)

    def finish(self) -> None:
        """The run is complete and its outputs are in place: remove the checkpoint."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.obsolete is not None:
            shutil.rmtree(self.obsolete, ignore_errors=True)

    def close(self) -> None:
        """The run failed: keep a checkpoint for ``--resume``, release the files."""
        for writer in self._writers.values():
            writer.abort()
        if self.key is None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _unsaveable(states: dict[str, Any]) -> str:
    """Which tracked object's state does not pickle (a step that needs its own hooks)."""
    for name, state in states.items():
        try:
            pickle.dumps(state)
        except Exception:
            return f"the state of {name} (its totals must be plain data)"
    return "the checkpoint"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resume_folder(out_dir: str | Path, command: str) -> Path:
    return Path(out_dir) / f".resume-{command}"


@contextlib.contextmanager
def held_run(
    out_dir: Path,
    outputs: list[str],
    command: str,
    rules: Any,
    data: Any,
    every: float,
    resume: bool,
) -> Iterator[Checkpointer]:
    """Hold ``out_dir`` for one run of ``command`` (``claim``) with its checkpointer: with
    ``resume`` one that saves (a file input only, identified by sha256), else one with a work
    folder. A failure releases the files (keeping a checkpoint); success removes it."""
    from curate.errors import InputError
    from curate.sources import FileSource

    out_dir.mkdir(parents=True, exist_ok=True)
    with claim(out_dir, outputs):  # one run per folder; sweeps what killed runs left
        folder = resume_folder(out_dir, command)
        if not resume:
            ckpt = Checkpointer(tempfile.mkdtemp(prefix=".work-", dir=out_dir), obsolete=folder)
        elif not isinstance(data, FileSource):
            raise InputError(
                f"{data.label}: --resume needs an input file (to identify it by sha256)"
            )
        else:
            ckpt = Checkpointer(folder, run_key(command, rules, data.describe(rules)), every=every)
        try:
            yield ckpt
        except BaseException:
            ckpt.close()
            raise
        ckpt.finish()
