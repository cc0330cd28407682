"""Reading JSONL (.gz, .zst), CSV, Parquet and saved `datasets` folders in batches, losing nothing.

Every record becomes a row of a batch or a quarantine entry with its line number, raw text
and the reason. Memory is bounded by the batch size and ``max_line_bytes``, not the file size.
CSV is read with Python's ``csv`` module rather than polars so that a ragged row or an invalid
byte quarantines that row (with its line) instead of failing the whole file, and so that no
value is retyped by inference.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl

from curate import batch as B
from curate.errors import InputError
from curate.records import Extractor, RecordProblem
from curate.rules import Rules

RAW_KEEP = 64 << 10  # how much of an over-long line the quarantine keeps


@dataclass(frozen=True)
class Quarantined:
    line: int
    reason: str
    error: str
    raw: str
    truncated: bool = False

    def to_json(self, source: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "reason": self.reason,
            "error": f"{source}:{self.line}: {self.error}",
            "raw": self.raw,
        }
        if self.truncated:
            out["raw_truncated"] = True
        return out


@dataclass
class ReadBatch:
    frame: pl.DataFrame
    quarantined: list[Quarantined] = field(default_factory=list)
    blank_lines: int = 0
    bytes_read: int = 0


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


def file_sha256(path: str | Path) -> str:
    if Path(path).is_dir():
        from curate.sources import saved_dataset_sha256

        return saved_dataset_sha256(Path(path))
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _open_binary(path: Path) -> IO[bytes]:
    name = path.name.lower()
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the wrapper
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if name.endswith((".zst", ".zstd")):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)  # type: ignore[arg-type]
    return raw


class _Builder:
    """Accumulates the columns of one batch."""

    def __init__(self, extractor: Extractor, join: str) -> None:
        self.extractor = extractor
        self.join = join
        self.reset()

    def reset(self) -> None:
        self.lines: list[int] = []
        self.ids: list[str] = []
        self.raws: list[str] = []
        self.segments: list[list[dict[str, str | None]]] = []
        self.columns: dict[str, list[str | None]] = {c: [] for c in self.extractor.columns}
        self.quarantined: list[Quarantined] = []
        self.blank_lines = 0
        self.bytes_read = 0

    def __len__(self) -> int:
        return len(self.lines) + len(self.quarantined)

    def add(self, line: int, record: Any, raw: str) -> None:
        try:
            got = self.extractor.extract(record)
        except RecordProblem as problem:
            self.quarantine(line, problem.reason, problem.message, raw)
            return
        self.lines.append(line)
        self.ids.append(got.record_id if got.record_id is not None else str(line))
        self.raws.append(raw)
        self.segments.append(got.segments)
        for name, value in got.columns.items():
            self.columns[name].append(value)

    def quarantine(self, line: int, reason: str, error: str, raw: str) -> None:
        truncated = len(raw) > RAW_KEEP
        self.quarantined.append(
            Quarantined(line, reason, error, raw[:RAW_KEEP] if truncated else raw, truncated)
        )

    def build(self) -> ReadBatch:
        frame = pl.DataFrame(
            {
                B.LINE: pl.Series(self.lines, dtype=pl.Int64),
                B.ID: pl.Series(self.ids, dtype=pl.String),
                B.RAW: pl.Series(self.raws, dtype=pl.String),
                B.SEGMENTS: pl.Series(self.segments, dtype=B.SEGMENT_DTYPE),
                **{name: pl.Series(v, dtype=pl.String) for name, v in self.columns.items()},
            }
        ).with_columns(
            B.joined_text(self.join).alias(B.TEXT),
            pl.lit(False).alias(B.CHANGED),
        )
        out = ReadBatch(frame, self.quarantined, self.blank_lines, self.bytes_read)
        self.reset()
        return out


def _describe_json_error(exc: orjson.JSONDecodeError) -> str:
    return f"invalid JSON: {exc.msg} at column {exc.colno}"


def _read_jsonl(path: Path, builder: _Builder, rules: Rules) -> Iterator[ReadBatch]:
    limit = rules.read.max_line_bytes
    size = rules.read.batch_size
    with _open_binary(path) as handle:
        line_no = 0
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
                        record = orjson.loads(text)
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


def _read_csv(path: Path, builder: _Builder, rules: Rules) -> Iterator[ReadBatch]:
    csv.field_size_limit(rules.read.max_line_bytes)
    with _open_binary(path) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        first = text.readline()
        delimiter = csv_delimiter(path, rules.read.delimiter, first)
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}:1: cannot read the CSV header: {exc}") from None
        if len(set(header)) != len(header):
            raise InputError(f"{path}:1: CSV header repeats a column name")
        last_line = reader.line_num
        while True:
            start = last_line + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                last_line = reader.line_num
                builder.quarantine(start, "invalid_csv", f"invalid CSV: {exc}", "")
                continue
            last_line = reader.line_num
            raw_row = "\x1f".join(row)
            builder.bytes_read += len(raw_row) + len(row)
            if not row or (len(row) == 1 and not row[0].strip()):
                builder.blank_lines += 1
                continue
            joined = ",".join(row)
            if any("\udc80" <= ch <= "\udcff" for ch in joined):
                shown = joined.encode("utf-8", "surrogateescape").decode(
                    "utf-8", "backslashreplace"
                )
                builder.quarantine(start, "invalid_utf8", "invalid UTF-8 in this row", shown)
                continue
            if len(row) != len(header):
                builder.quarantine(
                    start,
                    "invalid_csv",
                    f"expected {len(header)} fields, got {len(row)}",
                    joined,
                )
                continue
            record = dict(zip(header, row, strict=True))
            builder.add(start, record, orjson.dumps(record).decode())
            if len(builder) >= rules.read.batch_size:
                yield builder.build()
    if len(builder) or builder.blank_lines:
        yield builder.build()


def _read_parquet(path: Path, builder: _Builder, rules: Rules) -> Iterator[ReadBatch]:
    try:
        batches = pl.scan_parquet(path).collect_batches(chunk_size=rules.read.batch_size)
        row = 0
        for frame in batches:
            for record in frame.iter_rows(named=True):
                row += 1
                raw = orjson.dumps(record, default=str).decode()
                builder.bytes_read += len(raw)
                builder.add(row, record, raw)
                if len(builder) >= rules.read.batch_size:
                    yield builder.build()
    except (pl.exceptions.ComputeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read Parquet: {first}") from None
    if len(builder):
        yield builder.build()


def _read_saved_dataset(path: Path, builder: _Builder, rules: Rules) -> Iterator[ReadBatch]:
    from curate.sources import read_saved_dataset  # it imports this module

    return read_saved_dataset(path, builder, rules)


READERS = {
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "parquet": _read_parquet,
    "datasets": _read_saved_dataset,
}


def read_batches(path: str | Path, rules: Rules) -> Iterator[ReadBatch]:
    """Yield batches of valid records (and the quarantined ones) from one input file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: input file not found")
    fmt = detect_format(path, rules.read.format)
    if not path.is_file() and not (fmt == "datasets" and path.is_dir()):
        raise InputError(f"{path}: not a file")
    builder = _Builder(Extractor(rules.fields, rules.required_columns()), rules.fields.join)
    try:
        yield from READERS[fmt](path, builder, rules)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise InputError(f"{path}: corrupt gzip stream: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:  # zstandard raises its own error type
        if type(exc).__module__.startswith("zstandard") or "zstd" in type(exc).__name__.lower():
            raise InputError(f"{path}: corrupt zstd stream: {exc}") from None
        raise
