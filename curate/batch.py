"""The reserved columns of a batch (a ``polars.DataFrame``) and helpers over them.

Beside the user's columns (id, label, sensitive attributes: as strings) a batch carries:

- ``_line``: 1-based line (JSONL) or row (CSV, Parquet) number in the input file
- ``_id``: the record id: the configured id field, else the line number, as a string
- ``_raw``: the original record (the JSONL line, or the row as JSON) written back unchanged
- ``_segments``: list of {path, role, text}: each piece of text with where it came from
  (``text``, ``messages/3/content``) and its chat role, so changes can be written back and
  findings reported per role
- ``_text``: the segments' texts joined: what steps and checks read
- ``_changed``: whether a step changed the text (then the record is re-serialised on output)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import polars as pl

LINE = "_line"
ID = "_id"
RAW = "_raw"
SEGMENTS = "_segments"
TEXT = "_text"
CHANGED = "_changed"
FLAGS = "_flags"

# Columns a step writes to mark rows; the runner consumes and removes them.
REASON = "_reason"
SCORE = "_score"
DUPLICATE_OF = "_duplicate_of"
CLUSTER = "_cluster"
#: Why a step marked a row, in the row's own values: a JSON object as text (``detail_json``),
#: e.g. ``{"language": "fr", "probability": 0.99}`` or ``{"metric": ..., "value": ...,
#: "threshold": ...}``. On a row the step did not mark it is an annotation (``NOTES``).
DETAIL = "_detail"
UPSAMPLED = "_upsampled"
MARK_COLUMNS = (REASON, SCORE, DUPLICATE_OF, CLUSTER, DETAIL)
#: Annotations of kept records (a step's ``DETAIL`` on a row it did not mark), in step order.
NOTES = "_notes"
#: A whole-dataset step's record number: 0-based, in input order, among the records that reach
#: the step. Engines add it before ``keys`` and ``mark`` (see ``curate.registry.GlobalStep``).
RANK = "_rank"
#: In a decision's marks: how many copies of the record to add after it (upsampling).
COPIES = "_copies"

SEGMENT_KEYS = ("path", "role", "text")
SEGMENT_DTYPE = pl.List(pl.Struct(dict.fromkeys(SEGMENT_KEYS, pl.String)))
FLAG_DTYPE = pl.List(
    pl.Struct(
        {
            "step": pl.String,
            "reason": pl.String,
            "score": pl.Float64,
            "duplicate_of": pl.String,
            "detail": pl.String,
        }
    )
)
NOTE_DTYPE = pl.List(pl.Struct({"step": pl.String, "detail": pl.String}))


def detail_json(**values: pl.Expr) -> pl.Expr:
    """A ``DETAIL`` value: the named expressions as one JSON object per row (NaN as null)."""
    return pl.struct(**values).struct.json_encode()


def update_text(
    batch: pl.DataFrame, transform: Callable[[pl.Series], pl.Series], join: str
) -> pl.DataFrame:
    """Apply ``transform`` (a Series of strings -> same length) to every segment's text.

    Segments are exploded into one flat column so the transform runs once per batch, then
    regrouped; ``_text`` is rebuilt and ``_changed`` set where any segment changed.
    """
    if batch.height == 0:
        return batch
    flat = (
        batch.select(pl.int_range(pl.len()).alias("_row"), pl.col(SEGMENTS))
        .explode(SEGMENTS)
        .unnest(SEGMENTS)
    )
    has_text = flat["text"].is_not_null()
    new_text = flat["text"].clone()
    if has_text.any():
        changed = transform(flat["text"].filter(has_text))
        new_text = new_text.scatter(has_text.arg_true(), changed)
    flat = flat.with_columns(new_text.alias("_new"))
    regrouped = (
        flat.group_by("_row", maintain_order=True)
        .agg(
            pl.struct(pl.col("path"), pl.col("role"), pl.col("_new").alias("text"))
            .filter(pl.col("path").is_not_null())
            .alias(SEGMENTS),
            (pl.col("text") != pl.col("_new")).fill_null(False).any().alias("_any"),
        )
        .sort("_row")
    )
    if regrouped.height != batch.height:  # rows without segments (a chat of tool calls only)
        regrouped = _every_row(regrouped, batch.height).with_columns(
            pl.col(SEGMENTS).fill_null(pl.lit([], SEGMENT_DTYPE)),
            pl.col("_any").fill_null(False),
        )
    segments = regrouped[SEGMENTS].cast(SEGMENT_DTYPE)
    return batch.with_columns(
        segments.alias(SEGMENTS),
        (pl.col(CHANGED) | regrouped["_any"]).alias(CHANGED),
    ).with_columns(joined_text(join).alias(TEXT))


def _every_row(grouped: pl.DataFrame, height: int) -> pl.DataFrame:
    """``grouped`` (a ``_row`` column and values) with a null row for each missing row."""
    rows = pl.DataFrame({"_row": pl.int_range(height, eager=True)})
    return rows.join(
        grouped.with_columns(pl.col("_row").cast(rows["_row"].dtype)),
        on="_row",
        how="left",
        maintain_order="left",
    )


def segment_lists(per_row: list[list[dict[str, str | None]]]) -> pl.Series:
    """The ``_segments`` column of these rows' segments. Built from three flat string columns
    grouped by row, because polars converts a list of lists of dicts one dict at a time
    (2.5 s per 100k records, the reader's largest cost)."""
    lengths = [len(segments) for segments in per_row]
    flat = [segment for segments in per_row for segment in segments]
    rows = pl.Series("_row", [row for row, n in enumerate(lengths) for _ in range(n)], pl.Int64)
    parts = pl.DataFrame(
        {"_row": rows}
        | {key: pl.Series([s.get(key) for s in flat], dtype=pl.String) for key in SEGMENT_KEYS}
    )
    grouped = parts.group_by("_row", maintain_order=True).agg(
        pl.struct(*SEGMENT_KEYS).alias(SEGMENTS)
    )
    if grouped.height != len(per_row):
        grouped = _every_row(grouped, len(per_row))
    return grouped[SEGMENTS].fill_null(pl.lit([], SEGMENT_DTYPE)).cast(SEGMENT_DTYPE)


def joined_text(join: str) -> pl.Expr:
    return pl.col(SEGMENTS).list.eval(pl.element().struct.field("text")).list.join(join)


def from_texts(
    texts: list[str], columns: dict[str, list[str | None]] | None = None, join: str = "\n\n"
) -> pl.DataFrame:
    """A batch from plain strings: handy for calling a step from Python or in tests."""
    import orjson

    n = len(texts)
    frame = pl.DataFrame(
        {
            LINE: pl.Series(range(1, n + 1), dtype=pl.Int64),
            ID: pl.Series([str(i) for i in range(1, n + 1)], dtype=pl.String),
            RAW: pl.Series([orjson.dumps({"text": t}).decode() for t in texts], dtype=pl.String),
            SEGMENTS: segment_lists([[{"path": "text", "role": None, "text": t}] for t in texts]),
            **{k: pl.Series(v, dtype=pl.String) for k, v in (columns or {}).items()},
        }
    )
    return frame.with_columns(joined_text(join).alias(TEXT), pl.lit(False).alias(CHANGED))


def ranked(frames: Iterable[pl.DataFrame], start: int = 0) -> Iterator[pl.DataFrame]:
    """The non-empty frames with each record's rank (``RANK``: from ``start``, in order)."""
    done = start
    for frame in frames:
        if frame.height:
            yield rank(frame, done)
            done += frame.height


def rank(frame: pl.DataFrame, start: int) -> pl.DataFrame:
    """``frame`` with each record's rank (``RANK``), from ``start``."""
    return frame.with_columns(pl.int_range(start, start + frame.height, dtype=pl.Int64).alias(RANK))


def copies(frame: pl.DataFrame) -> int:
    """How many of the rows are upsampled copies (``UPSAMPLED``)."""
    return int(frame[UPSAMPLED].sum()) if UPSAMPLED in frame.columns else 0


def unranked(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop(RANK, strict=False)
