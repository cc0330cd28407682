"""Atomic output files: written under a temporary name in the target folder, then renamed.

A reader never sees a half-written file under its final name, even if the process is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol


def umask_mode() -> int:
    """Permissions a plain ``open()`` would give (mkstemp's are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open ``path`` for writing; the file appears under its name only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json(path: str | Path, data: Any) -> None:
    """Pretty, key-sorted JSON so that the same data gives the same bytes."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


class LineWriter(Protocol):
    """An output file written line by line and put in place at the end (``commit``), or not
    at all (``abort``): ``AtomicWriter``."""

    lines: int

    @property
    def sha256(self) -> str: ...

    def write_line(self, line: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class AtomicWriter:
    """A line writer whose file is renamed into place only by ``commit()``.

    It writes a temporary file next to ``path``, or, for ``--resume``, ``part`` (in the
    checkpoint's folder): ``mark()`` makes what was written durable and says how much, and a
    writer opened again with that ``mark`` truncates the part to it and appends. ``abort()``
    removes a temporary file but keeps a part, for a later ``--resume`` to continue.
    """

    def __init__(
        self, path: str | Path, part: Path | None = None, mark: dict[str, int] | None = None
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._keep = part is not None
        if part is None:
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
            os.close(fd)
            part = Path(tmp)
        self._tmp = part
        mode = "r+b" if mark else "wb"
        self._handle: IO[bytes] | None = open(part, mode, buffering=1 << 20)  # noqa: SIM115
        self.lines = mark["lines"] if mark else 0
        self._digest = hashlib.sha256()
        if mark:  # a hash's state cannot be saved in a checkpoint: hash the part's kept bytes
            self._handle.truncate(mark["bytes"])
            while chunk := self._handle.read(1 << 20):
                self._digest.update(chunk)

    def write_line(self, line: bytes) -> None:
        assert self._handle is not None
        self._handle.write(line)
        self._handle.write(b"\n")
        self._digest.update(line)
        self._digest.update(b"\n")
        self.lines += 1

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def mark(self) -> dict[str, int]:
        """Make what was written durable; its length and lines, for a checkpoint."""
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return {"bytes": self._handle.tell(), "lines": self.lines}

    def commit(self) -> None:
        self.mark()
        self._close()
        os.chmod(self._tmp, umask_mode())
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._close()
        if not self._keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
