"""An input file read once: its sha256 taken from the very bytes the reader consumed.

Provenance binds an audit to a sha256. Hashing by reopening the file after the read lets a file
swapped (``mv``) or truncated during the run be recorded instead of what was read, so the digest
is computed in the same pass as the read: ``HashingReader`` sits under the decompressor and the
line reader and hashes every byte they pull, then ``finish`` reads whatever the decoder left (a
trailing gzip member, padding) so the digest always covers the whole file.

A file that changes while it is read is an error, not a warning: the bytes read must be as many
as the file held when it was opened, and its identity (device, inode, size, mtime) must be the
same at the end of the read and when the run describes its input afterwards.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.errors import InputError

CHUNK = 1 << 20

#: (device, inode, size, mtime in ns) of one file
Stamp = tuple[int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class Fingerprint:
    """What was read: its size, its sha256 and the identity of the file(s) it came from."""

    bytes: int
    sha256: str
    stamps: tuple[Stamp, ...]


@dataclass
class ReadRecord:
    """Filled in by ``read_batches`` when a read finishes: the fingerprint of the bytes read."""

    fingerprint: Fingerprint | None = None


def changed_error(path: Path, what: str) -> InputError:
    return InputError(
        f"{path}: the input changed during the run ({what}); run again on a stable file"
    )


def check_unchanged(paths: Sequence[Path], fingerprint: Fingerprint) -> None:
    """Raise ``InputError`` if a file now at ``paths`` is not the one that was read."""
    for path, before in zip(paths, fingerprint.stamps, strict=True):
        try:
            now = stamp_of(os.stat(path))
        except FileNotFoundError:
            raise changed_error(path, "it was removed") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        if now[:2] != before[:2]:
            raise changed_error(path, "it was replaced by another file")
        if now != before:
            raise changed_error(path, "it was modified")


class HashingReader(io.RawIOBase):
    """A raw binary reader of one file that hashes and counts every byte it returns."""

    def __init__(self, path: Path, digest: Any = None) -> None:
        super().__init__()
        self.path = path
        try:
            self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by release()
        except FileNotFoundError:
            raise InputError(f"{path}: input file not found") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        self.opened = stamp_of(os.fstat(self._file.fileno()))
        # A shared digest hashes several files as one stream (a saved dataset's shards).
        self._digest = digest if digest is not None else hashlib.sha256()
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._file.readinto(buffer)
        if n:
            self._digest.update(memoryview(buffer)[:n])
            self.consumed += n
        return n or 0

    def release(self) -> None:
        """Close the file. ``close`` does not: the decoders stacked on this reader close it
        when they end (a text wrapper when it is collected), before ``finish`` has run."""
        self._file.close()
        self.close()

    def finish(self) -> Fingerprint:
        """Hash the rest of the file, then check it is still the file that was opened."""
        while chunk := self._file.read(CHUNK):
            self._digest.update(chunk)
            self.consumed += len(chunk)
        end = stamp_of(os.fstat(self._file.fileno()))
        if self.consumed != self.opened[2] or end != self.opened:
            raise changed_error(
                self.path, f"{self.opened[2]} bytes when opened, {self.consumed} read"
            )
        fingerprint = Fingerprint(self.consumed, self._digest.hexdigest(), (self.opened,))
        check_unchanged([self.path], fingerprint)
        return fingerprint


def fingerprint_files(paths: Sequence[Path]) -> Fingerprint:
    """Hash files (in order, as one stream) for when no reader consumes them."""
    digest = hashlib.sha256()
    stamps: list[Stamp] = []
    total = 0
    for path in paths:
        reader = HashingReader(path, digest)
        try:
            one = reader.finish()
        finally:
            reader.release()
        stamps.extend(one.stamps)
        total += one.bytes
    return Fingerprint(total, digest.hexdigest(), tuple(stamps))
