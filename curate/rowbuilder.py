"""Records into batches: the columns of one ``ReadBatch`` and the quarantine beside them.

Every reader (JSONL, CSV, Parquet, a saved ``datasets`` folder, rows from memory) hands its
records to a ``BatchBuilder``, so a record becomes a batch row or a quarantine entry the same
way whatever it came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from curate import batch as B
from curate.records import Extractor, RecordProblem

RAW_KEEP = 64 << 10  # how much of an over-long line the quarantine keeps
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


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


class BatchBuilder:
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
                B.SEGMENTS: B.segment_lists(self.segments),
                **{name: pl.Series(v, dtype=pl.String) for name, v in self.columns.items()},
            }
        ).with_columns(
            B.joined_text(self.join).alias(B.TEXT),
            pl.lit(False).alias(B.CHANGED),
        )
        out = ReadBatch(frame, self.quarantined, self.blank_lines, self.bytes_read)
        self.reset()
        return out


class RowDigest:
    """sha256 and size of rows' JSON lines, as they are read."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def add(self, raw: bytes) -> None:
        self.sha256.update(raw)
        self.sha256.update(b"\n")
        self.bytes += len(raw) + 1


def dumps_row(record: Any) -> bytes:
    """A row as JSON; values JSON has no type for (dates, decimals, bytes) as their str()."""
    return orjson.dumps(record, default=str, option=_JSON_OPTIONS)


def _shown(record: Any) -> str:
    """The row for the quarantine file, with what JSON cannot hold escaped."""
    try:
        return json.dumps(record, default=str, ensure_ascii=True)
    except (TypeError, ValueError):
        return repr(record).encode("utf-8", "backslashreplace").decode()


def fill(
    builder: BatchBuilder,
    chunks: Iterable[list[Any]],
    batch_size: int,
    digest: RowDigest | None,
) -> Iterator[ReadBatch]:
    """Rows (dicts) into batches; a row that cannot be written as JSON is quarantined."""
    row = 0
    for chunk in chunks:
        for record in chunk:
            row += 1
            try:
                raw = dumps_row(record)
            except orjson.JSONEncodeError as exc:
                # A lone surrogate ("\ud800") has no UTF-8 form: the JSONL reader quarantines
                # such a line as invalid UTF-8, so rows from memory do the same.
                reason = "invalid_utf8" if "surrogate" in str(exc) else "invalid_record"
                builder.quarantine(row, reason, f"cannot be written as JSON: {exc}", _shown(record))
                if len(builder) >= batch_size:
                    yield builder.build()
                continue
            if digest is not None:
                digest.add(raw)
            builder.bytes_read += len(raw) + 1
            builder.add(row, record, raw.decode())
            if len(builder) >= batch_size:
                yield builder.build()
    if len(builder):
        yield builder.build()
