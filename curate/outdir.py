"""An output folder held by one run at a time, and swept of what killed runs left behind.

A run killed with SIGKILL cannot remove its temporary files: ``.<output>.XXXXXXXX.tmp`` files
not yet renamed into place and ``.work-XXXXXXXX`` folders (with their Parquet spools, i.e. the
data as read). They are never read under a final name, but they take space and hold data. The
next run into the same folder removes them (for the output names it writes, nothing else); it
may do so only because it holds the folder's lock, so no live run is writing them.
A second run into a folder that another run holds is refused rather than allowed to mix files.

The lock is an advisory ``flock`` on ``.curate.lock``: the kernel releases it when its holder
dies, however it dies, so a killed run never leaves the folder locked. The lock file is removed
when the run ends, so a finished folder holds only outputs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from curate.errors import CurateError, InputError

LOCK_NAME = ".curate.lock"
# Names made by tempfile.mkstemp / mkdtemp (8 characters from [a-z0-9_]) with the prefixes and
# suffixes curate.atomic and the runners use.
_RANDOM = "[a-z0-9_]{8}"
_STALE_DIR = re.compile(rf"^\.work-{_RANDOM}$")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, no sweep
    fcntl = None  # type: ignore[assignment]


class FolderBusyError(CurateError):
    """Another curate run is writing into the same output folder."""


def sweep_stale(folder: Path, outputs: Iterable[str]) -> list[str]:
    """Remove the temp files of ``outputs`` and the work folders that dead runs left."""
    names = "|".join(re.escape(name) for name in outputs) or "(?!)"
    stale_file = re.compile(rf"^\.({names})\.{_RANDOM}\.tmp$")
    removed = []
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False) and _STALE_DIR.match(entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)
        elif entry.is_file(follow_symlinks=False) and stale_file.match(entry.name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
        else:
            continue
        removed.append(entry.name)
    return removed


def _lock(path: Path) -> int | None:
    """An fd holding an exclusive lock on ``path``; None where locks are not available."""
    # O_NOFOLLOW: a symlink planted under the lock's name must not make the run create or
    # truncate a file elsewhere (the lock is created as whoever runs curate).
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise CurateError(
                    f"{path}: is a symbolic link; curate will not follow it (remove it)"
                ) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise FolderBusyError(
                    f"{path.parent}: another curate run is writing into this folder "
                    "(use another output folder, or wait for it to finish)"
                ) from None
            return None  # a file system without flock (some network mounts): no lock, no sweep
        # The previous holder may have unlinked the file between our open and our flock: then
        # we locked an orphan inode, and must lock the file that is there now instead.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def claim(folder: str | Path, outputs: Iterable[str] = ()) -> Iterator[None]:
    """Hold ``folder`` for one run writing ``outputs``: refuse a concurrent run into it, and
    sweep what dead runs left."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = _lock(folder / LOCK_NAME) if fcntl is not None else None
    try:
        if fd is not None:
            sweep_stale(folder, outputs)
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / LOCK_NAME)
            os.close(fd)


_SHARD = re.compile(r"^part-[^/]*\.jsonl$")
# a shard's temp file, left when a Ray task was killed while writing it (Ray ran it again)
_STALE_SHARD = re.compile(rf"^\.part-[^/]*\.jsonl\.{_RANDOM}\.tmp$")


def replace_dir(source: Path, target: Path) -> None:
    """Put the shard folder ``source`` in place of ``target`` (an older run's shards). Temp
    files of shards that killed tasks left are removed from both: every task has ended."""
    for folder in (source, target):
        if folder.is_dir():
            for stale in folder.iterdir():
                if _STALE_SHARD.match(stale.name) and stale.is_file():
                    stale.unlink()
    if target.exists():
        if not target.is_dir() or any(not _SHARD.match(p.name) for p in target.iterdir()):
            raise InputError(f"{target}: exists and holds other files than output shards")
        shutil.rmtree(target)
    os.replace(source, target)
