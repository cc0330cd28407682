"""Reading JSONL (.gz, .zst), CSV, Parquet and saved `datasets` folders in batches, losing nothing.

Every record becomes a row of a batch or a quarantine entry with its line number, raw text
and the reason. Memory is bounded by the batch size and ``max_line_bytes``, not the file size.
CSV is read with Python's ``csv`` module rather than polars so that a ragged row or an invalid
byte quarantines that row (with its line) instead of failing the whole file, and so that no
value is retyped by inference.

The input's sha256 is taken from the bytes the read consumes (``curate.inputfile``), and a
file that changes while it is read is an ``InputError``. Paths are names, never patterns.
"""

from __future__ import annotations

import csv
import errno
import gzip
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl

from curate.datasets_folder import read_saved_dataset, saved_dataset_fingerprint
from curate.errors import InputError
from curate.inputfile import (
    CHUNK,
    Fingerprint,
    HashingReader,
    ReadRecord,
    Stamp,
    changed_error,
    check_unchanged,
    stamp_of,
)
from curate.records import Extractor
from curate.rowbuilder import BatchBuilder, Quarantined, ReadBatch
from curate.rules import Rules

__all__ = ["Quarantined", "ReadBatch", "detect_format", "file_sha256", "read_batches"]

#: compressed bytes fed to the zstd decoder at a time: bounds what one call can expand to
_ZSTD_IN = 4 << 10


def detect_format(path: Path, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    if path.is_dir():  # a Hugging Face Dataset.save_to_disk folder (see curate.sources)
        return "datasets"
    name = path.name.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputError(
        f"{path}: unknown input format (expected .jsonl, .jsonl.gz, .jsonl.zst, .csv or "
        ".parquet; or set read.format in the rules)"
    )


def file_fingerprint(path: str | Path) -> Fingerprint:
    """sha256, size and identity of a file (or saved ``datasets`` folder), in a pass of its own.

    For a file no reader consumes (the fine-tune gate's check, a checkpoint key); a read
    records the fingerprint of what it consumed through ``read_batches(..., seen=...)``.
    """
    path = Path(path)
    if path.is_dir():
        return saved_dataset_fingerprint(path)
    reader = HashingReader(path)
    try:
        return reader.finish()
    finally:
        reader.release()


def file_sha256(path: str | Path) -> str:
    return file_fingerprint(path).sha256


class _ZstdStream(io.RawIOBase):
    """Decompressed zstd frames, one after the other, that fails on a truncated frame.

    zstandard's stream reader ends quietly where a cut file ends; a gzip stream raises there,
    and so must this: part of the data read as if it were all of it passes a gate.
    """

    def __init__(self, source: IO[bytes], path: Path) -> None:
        import zstandard

        super().__init__()
        self._new = zstandard.ZstdDecompressor().decompressobj
        self._source = source
        self._path = path
        self._obj = self._new()
        self._started = False  # the current frame has input
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _refill(self) -> None:
        while not len(self._pending):
            if self._obj.eof:
                rest = self._obj.unused_data
                self._obj = self._new()
                self._started = bool(rest)
                if rest:
                    self._pending = memoryview(self._obj.decompress(rest))
                    continue
            data = self._source.read(_ZSTD_IN)
            if not data:
                if self._started and not self._obj.eof:
                    raise InputError(f"{self._path}: corrupt zstd stream: the file ends mid-frame")
                return
            self._started = True
            self._pending = memoryview(self._obj.decompress(data))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._refill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _decoded(raw: HashingReader, path: Path) -> IO[bytes]:
    """The decompressed bytes of ``raw`` (gzip, zstd or plain), buffered for readline."""
    name = path.name.lower()
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    if name.endswith((".zst", ".zstd")):
        return io.BufferedReader(_ZstdStream(buffered, path), buffer_size=1 << 20)
    return buffered


def _describe_json_error(exc: orjson.JSONDecodeError) -> str:
    return f"invalid JSON: {exc.msg} at column {exc.colno}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Parse one JSON line: orjson, or the standard parser for what orjson refuses but is JSON.

    orjson refuses numbers outside a double's range (``1e999``), which RFC 8259 allows; such a
    record is valid and is kept (its raw text, numbers included, is what gets written back).
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        try:
            record = json.loads(text, parse_constant=_reject_constant)
            orjson.dumps(record)  # refuses lone surrogates, as orjson.loads did
        except (ValueError, TypeError, RecursionError):
            raise exc from None
        return record


def _read_jsonl(
    handle: IO[bytes], path: Path, builder: BatchBuilder, rules: Rules, line_no: int = 0
) -> Iterator[ReadBatch]:
    limit = rules.read.max_line_bytes
    size = rules.read.batch_size
    while True:
        line = handle.readline(limit + 1)
        if not line:
            break
        line_no += 1
        builder.bytes_read += len(line)
        if len(line) > limit and not line.endswith(b"\n"):
            rest = 0
            while True:  # skip the remainder of an over-long line without holding it
                chunk = handle.readline(1 << 20)
                rest += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            builder.bytes_read += rest
            builder.quarantine(
                line_no,
                "line_too_long",
                f"line is {len(line) + rest} bytes, over read.max_line_bytes={limit}",
                line.decode("utf-8", "backslashreplace"),
            )
        else:
            if line_no == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            line = line.rstrip(b"\r\n")
            if not line.strip():
                builder.blank_lines += 1
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                builder.quarantine(
                    line_no,
                    "invalid_utf8",
                    f"invalid UTF-8 at byte {exc.start}",
                    line.decode("utf-8", "backslashreplace"),
                )
            else:
                try:
                    record = _loads(text)
                except orjson.JSONDecodeError as exc:
                    builder.quarantine(line_no, "invalid_json", _describe_json_error(exc), text)
                else:
                    builder.add(line_no, record, text)
        if len(builder) >= size:
            yield builder.build()
    if len(builder) or builder.blank_lines:
        yield builder.build()


CSV_DELIMITERS = (",", ";", "\t", "|")


def csv_delimiter(path: Path, setting: str, header_line: str) -> str:
    """The configured separator, or: tab for .tsv, else the candidate that splits the header
    line into the most columns (a comma on a tie): semicolon CSV from spreadsheets works."""
    if setting != "auto":
        return setting
    if path.name.lower().removesuffix(".gz").endswith(".tsv"):
        return "\t"
    widths = {d: len(next(csv.reader([header_line], delimiter=d), [])) for d in CSV_DELIMITERS}
    return max(CSV_DELIMITERS, key=lambda d: (widths[d], d == ","))


class _Lines:
    """The text lines the csv module reads, counted, so a bad record can be skipped whole."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.count = 0
        self.record: list[str] = []  # lines of the record being parsed
        self.pending: list[str] = []  # lines read ahead (the header, to find the separator)

    def peek(self) -> str:
        """The next line, left to be read again."""
        if not self.pending:
            self.pending.append(self.text.readline())
        return self.pending[0]

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.pending.pop(0) if self.pending else self.text.readline()
        if not line:
            raise StopIteration
        self.count += 1
        self.record.append(line)
        return line

    def skip_open_field(self) -> None:
        """After a csv error inside a quoted field, skip to the line that closes it.

        Quotes inside a quoted field are doubled, so while the record's quote count is odd a
        field is still open: without this the csv module would start the next record inside
        the field and invent records from its lines (and lose the real next one).
        """
        quotes = sum(line.count('"') for line in self.record)
        while quotes % 2:
            line = self.text.readline()
            if not line:
                return
            self.count += 1
            quotes += line.count('"')


def _read_csv(
    handle: IO[bytes], path: Path, builder: BatchBuilder, rules: Rules
) -> Iterator[ReadBatch]:
    csv.field_size_limit(rules.read.max_line_bytes)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    lines = _Lines(text)
    delimiter = csv_delimiter(path, rules.read.delimiter, lines.peek())
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(f"{path}:1: cannot read the CSV header: {exc}") from None
    if len(set(header)) != len(header):
        raise InputError(f"{path}:1: CSV header repeats a column name")
    while True:
        start = lines.count + 1
        lines.record = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            lines.skip_open_field()
            builder.quarantine(start, "invalid_csv", f"invalid CSV: {exc}", "")
            reader = csv.reader(lines, delimiter=delimiter)  # a fresh parser state
            continue
        raw_row = "\x1f".join(row)
        builder.bytes_read += len(raw_row) + len(row)
        if not row or (len(row) == 1 and not row[0].strip()):
            builder.blank_lines += 1
            continue
        joined = ",".join(row)
        if any("\udc80" <= ch <= "\udcff" for ch in joined):
            shown = joined.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            builder.quarantine(start, "invalid_utf8", "invalid UTF-8 in this row", shown)
            continue
        if len(row) != len(header):
            builder.quarantine(
                start, "invalid_csv", f"expected {len(header)} fields, got {len(row)}", joined
            )
            continue
        record = dict(zip(header, row, strict=True))
        builder.add(start, record, orjson.dumps(record).decode())
        if len(builder) >= rules.read.batch_size:
            yield builder.build()
    if len(builder) or builder.blank_lines:
        yield builder.build()


def _read_parquet(
    path: Path, builder: BatchBuilder, rules: Rules, rows: tuple[int, int] | None = None
) -> Iterator[ReadBatch]:
    # glob=False: a user's path is a name, never a pattern (``d[12].parquet`` would read
    # d1.parquet and d2.parquet while the file hashed is the literal one).
    scan = pl.scan_parquet(path, glob=False)
    row = 0 if rows is None else rows[0]
    if rows is not None:
        scan = scan.slice(rows[0], rows[1] - rows[0])
    batches = scan.collect_batches(chunk_size=rules.read.batch_size)
    try:
        for frame in batches:
            for record in frame.iter_rows(named=True):
                row += 1
                raw = orjson.dumps(record, default=str).decode()
                builder.bytes_read += len(raw)
                builder.add(row, record, raw)
                if len(builder) >= rules.read.batch_size:
                    yield builder.build()
    except pl.exceptions.ComputeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read Parquet: {first}") from None
    if len(builder):
        yield builder.build()


def _read_file(
    path: Path, fmt: str, builder: BatchBuilder, rules: Rules, seen: list[Fingerprint]
) -> Iterator[ReadBatch]:
    """Read one file through a hashing reader; ``seen`` receives what was consumed."""
    raw = HashingReader(path)
    try:
        if fmt == "parquet":
            # Parquet is read by seeking (footer first), not as a stream: hash it whole on the
            # descriptor opened first, then read it and check it is still that file.
            fingerprint = raw.finish()
            yield from _read_parquet(path, builder, rules)
            check_unchanged([path], fingerprint)
        else:
            with _decoded(raw, path) as handle:
                reader = _read_jsonl if fmt == "jsonl" else _read_csv
                yield from reader(handle, path, builder, rules)
                fingerprint = raw.finish()
    finally:
        raw.release()
    seen.append(fingerprint)


# -- parts of one file, each read by its own task (``--engine ray``) ---------------------------


@dataclass(frozen=True)
class FilePart:
    """Bytes [start, end) of a plain JSONL file (the lines that start there) or rows
    [start, end) of a Parquet file; ``lines`` records come before it (newlines before
    ``start``, for JSONL); ``sha256``: from the scan, of every byte the part's task consumes:
    from ``start`` through the first newline at or after ``end - 1`` (the crossing line)."""

    start: int
    end: int
    lines: int
    stamp: Stamp
    sha256: str = ""


def split_file(path: Path, fmt: str, part_bytes: int) -> tuple[Fingerprint, list[FilePart]]:
    """One pass over a file: its fingerprint (as ``read_batches`` takes it) and its parts.

    A part's first line number needs the newlines before it, so the parts cannot start before
    this scan ends; in the same pass it hashes what each JSONL part's task will consume, which
    that task checks: the file's digest is then of the very bytes the parts parsed."""
    raw = HashingReader(path)
    try:
        size, parts = raw.opened[2], []
        if fmt == "parquet":  # parts of whole row groups, as local reading checks the stamp
            import pyarrow.parquet as pq

            meta, start, rows, weight = pq.ParquetFile(path).metadata, 0, 0, 0
            for i in range(meta.num_row_groups):
                rows += meta.row_group(i).num_rows
                weight += meta.row_group(i).total_byte_size
                if weight >= part_bytes or i == meta.num_row_groups - 1:
                    parts.append(FilePart(start, rows, start, raw.opened))
                    start, weight = rows, 0
            return raw.finish(), parts
        found: list[tuple[int, int, int, Any]] = []  # start, end, newlines before, digest
        waiting: list[Any] = []  # digests of parts whose crossing line has not ended yet
        newlines = 0
        for start in range(0, size, part_bytes):
            end, chunk = min(start + part_bytes, size), b""
            found.append((start, end, newlines, hashlib.sha256()))
            while piece := raw.read(min(CHUNK, end - raw.consumed)):
                cut = piece.find(b"\n") + 1 or len(piece)
                for digest in waiting:
                    digest.update(piece[:cut])
                waiting = waiting if piece[cut - 1 : cut] != b"\n" else []
                found[-1][3].update(piece)
                newlines += piece.count(b"\n")
                chunk = piece
            if not chunk.endswith(b"\n"):
                waiting.append(found[-1][3])
        fingerprint = raw.finish()
        return fingerprint, [FilePart(a, b, n, raw.opened, d.hexdigest()) for a, b, n, d in found]
    finally:
        raw.release()


class _PartReader(io.RawIOBase):
    """The bytes of a part's lines: from the first line start at or after ``start`` through
    the line that crosses ``end``; hashes every byte it consumes (``FilePart.sha256``)."""

    def __init__(self, path: Path, part: FilePart) -> None:
        super().__init__()
        self.path, self.part, self.digest = path, part, hashlib.sha256()
        self.fd = os.open(path, os.O_RDONLY)
        self.pos, self.done = part.start, part.start >= part.end
        self.skipped = part.start > 0 and os.pread(self.fd, 1, part.start - 1) != b"\n"
        self.skipping = self.skipped

    def readable(self) -> bool:
        return True

    def _next(self, size: int) -> bytes:
        """The next bytes consumed: at most through the newline at or after ``end - 1``
        (``done`` then), and while skipping the line begun before, through its end."""
        chunk = os.pread(self.fd, min(size, CHUNK), self.pos)
        ends = chunk.find(b"\n", max(0, self.part.end - 1 - self.pos))
        self.done, last = ends >= 0 or not chunk, ends + 1 if ends >= 0 else len(chunk)
        if self.skipping and (first := chunk.find(b"\n")) >= 0:  # consumed, not parsed
            self.skipping, self.done, last = False, first == ends, first + 1
        self.digest.update(chunk[:last])
        self.pos += last
        return chunk[:last]

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self.skipping and not self.done:
            self._next(CHUNK)
        chunk = b"" if self.done else self._next(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def finish(self) -> None:
        """The bytes consumed are those the scan hashed for this part, from the same file."""
        while not self.done:  # a part with no line start: its bytes, all the same
            self._next(CHUNK)
        if self.digest.hexdigest() != self.part.sha256:
            raise changed_error(self.path, f"bytes from {self.part.start} differ")
        check_stamp(self.path, self.part.stamp)

    def release(self) -> None:
        os.close(self.fd)
        self.close()


def check_stamp(path: Path, stamp: Stamp) -> None:
    """Size and mtime as ``stamp`` (taken on another node, maybe: device and inode differ
    between the nodes that share a file system)."""
    try:
        now = stamp_of(os.stat(path))
    except FileNotFoundError:
        raise changed_error(path, "it was removed") from None
    if now[2:] != stamp[2:]:
        raise changed_error(path, "it was modified")


def read_part(path: Path, fmt: str, part: FilePart, rules: Rules) -> Iterator[ReadBatch]:
    """The records of one part of a file (``split_file``), numbered as in the whole file."""
    builder = BatchBuilder(
        Extractor(rules.fields, rules.required_columns(), lenient_chat=rules.structure_checked()),
        rules.fields.join,
    )
    if fmt == "parquet":
        check_stamp(path, part.stamp)
        yield from _read_parquet(path, builder, rules, (part.start, part.end))
        check_stamp(path, part.stamp)
        return
    try:
        raw = _PartReader(path, part)
        try:
            handle = io.BufferedReader(raw, buffer_size=1 << 20)
            yield from _read_jsonl(handle, path, builder, rules, part.lines + raw.skipped)
            raw.finish()
        finally:
            raw.release()
    except OSError as exc:
        raise _environment_error(path, exc) from None


def _environment_error(path: Path, exc: OSError) -> InputError:
    if exc.errno == errno.ENOENT:
        return InputError(f"{path}: the input was removed during the run")
    return InputError(f"{path}: cannot read: {exc.strerror or exc}")


def read_batches(
    path: str | Path, rules: Rules, seen: ReadRecord | None = None
) -> Iterator[ReadBatch]:
    """Yield batches of valid records (and the quarantined ones) from one input file.

    The file's sha256 is taken from the bytes this read consumes; when the read ends it is put
    in ``seen.fingerprint``. A file that changes while it is read raises ``InputError``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: input file not found")
    fmt = detect_format(path, rules.read.format)
    if not path.is_file() and not (fmt == "datasets" and path.is_dir()):
        raise InputError(f"{path}: not a file")
    builder = BatchBuilder(
        Extractor(rules.fields, rules.required_columns(), lenient_chat=rules.structure_checked()),
        rules.fields.join,
    )
    got: list[Fingerprint] = []
    try:
        if fmt == "datasets":
            yield from read_saved_dataset(path, builder, rules.read.batch_size, got)
        else:
            yield from _read_file(path, fmt, builder, rules, got)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise InputError(f"{path}: corrupt gzip stream: {exc}") from None
    except OSError as exc:
        raise _environment_error(path, exc) from None
    except Exception as exc:  # zstandard raises its own error type
        if type(exc).__module__.startswith("zstandard") or "zstd" in type(exc).__name__.lower():
            raise InputError(f"{path}: corrupt zstd stream: {exc}") from None
        raise
    if seen is not None and got:
        seen.fingerprint = got[0]
