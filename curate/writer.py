"""Serialising batches back to JSONL: every record as it was read, but for what curate changed.

An unchanged record is its raw line. In a changed or annotated one only the changed text values
and the ``_curate`` key are rewritten, in the raw text (``curate.jsonsplice``): the other values,
numbers above all (big integers, ``1E2``, ``1e999``), stay byte for byte as written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.idmask import mask_unconfirmed
from curate.jsonsplice import SpliceError, splice
from curate.records import path_parts, set_path


def with_detail(entry: dict[str, Any], detail: str | None) -> dict[str, Any]:
    """``entry`` (step, reason, ...) with the values of a step's detail (``B.DETAIL``) after
    its own keys; a detail never overwrites them."""
    if not detail:
        return entry
    return {**entry, **{k: v for k, v in orjson.loads(detail).items() if k not in entry}}


def _line_of_duplicated(detail: str | None) -> int | None:
    """The line of the record a duplicate repeats, when the step's detail gives it: a masked
    ``duplicate_of`` then says it, so that the record can be found."""
    if not detail:
        return None
    line = orjson.loads(detail).get("duplicate_of_line")
    return line if isinstance(line, int) else None


def _flag(flag: dict[str, Any], masked_of: str | None) -> dict[str, Any]:
    entry = {k: v for k, v in flag.items() if v is not None and k != "detail"}
    if masked_of is not None:
        entry["duplicate_of"] = masked_of
    return with_detail(entry, flag.get("detail"))


def _annotations(notes: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [with_detail({"step": n["step"]}, n["detail"]) for n in notes or ()]


def _curate_meta(row: dict[str, Any], masked_of: list[str | None]) -> dict[str, Any] | None:
    """A kept record's ``_curate``: its flags (``masked_of``: each flag's duplicate_of with
    ids masked), annotations and whether it is an upsampled copy."""
    meta: dict[str, Any] = {}
    flags = row.get(B.FLAGS)
    if flags:
        meta["flags"] = [_flag(f, m) for f, m in zip(flags, masked_of, strict=True)]
    if row.get(B.NOTES):
        meta["annotations"] = _annotations(row[B.NOTES])
    if row.get(B.UPSAMPLED):
        meta["upsampled"] = True
    return meta or None


def _masked_duplicate_of(frame: pl.DataFrame) -> list[list[str | None]]:
    """Per row, each flag's duplicate_of masked (ids may be e-mail addresses), one call to
    the id masker for the whole batch."""
    if B.FLAGS not in frame.columns:
        return [[] for _ in range(frame.height)]
    per_row = [[f["duplicate_of"] for f in flags or ()] for flags in frame[B.FLAGS].to_list()]
    flat = [of for row in per_row for of in row]
    if all(of is None for of in flat):
        return per_row
    lines = [
        _line_of_duplicated(f["detail"]) for flags in frame[B.FLAGS].to_list() for f in flags or ()
    ]
    masked = iter(registry.id_masker()(flat, lines))
    return [[next(masked) for _ in row] for row in per_row]


def kept_lines(frame: pl.DataFrame) -> list[bytes]:
    """One output line per row: the raw record, with changed text and annotations applied."""
    needs_rewrite = frame[B.CHANGED]
    for column in (B.FLAGS, B.NOTES):
        if column in frame.columns:
            needs_rewrite = needs_rewrite | (frame[column].list.len().fill_null(0) > 0)
    if B.UPSAMPLED in frame.columns:
        needs_rewrite = needs_rewrite | frame[B.UPSAMPLED].fill_null(False)
    raws = frame[B.RAW].to_list()
    if not needs_rewrite.any():
        return [r.encode() for r in raws]
    cols = [c for c in (B.SEGMENTS, B.CHANGED, B.FLAGS, B.NOTES, B.UPSAMPLED) if c in frame.columns]
    masked_of = _masked_duplicate_of(frame)
    out: list[bytes] = []
    rows = frame.select(cols).iter_rows(named=True)
    for raw, rewrite, row, of in zip(raws, needs_rewrite, rows, masked_of, strict=True):
        if not rewrite:
            out.append(raw.encode())
            continue
        texts = [(s["path"], s["text"]) for s in row[B.SEGMENTS]] if row[B.CHANGED] else []
        out.append(_rewrite(raw, texts, _curate_meta(row, of)))
    return out


def with_text_in_raw(frame: pl.DataFrame) -> pl.DataFrame:
    """The batch with each changed record's ``_raw`` holding its current texts: what a
    redacting run may keep on disk while it works (spools), instead of the record as read."""
    changed = frame[B.CHANGED]
    if not changed.any():
        return frame
    raws: list[str] = []
    rows = frame.select(B.RAW, B.CHANGED, B.SEGMENTS).iter_rows(named=True)
    for row in rows:
        if row[B.CHANGED]:
            texts = [(s["path"], s["text"]) for s in row[B.SEGMENTS]]
            raws.append(_rewrite(row[B.RAW], texts, None).decode())
        else:
            raws.append(row[B.RAW])
    # The texts are in _raw now: the writer need not put them in again.
    return frame.with_columns(
        pl.Series(B.RAW, raws, dtype=pl.String), pl.lit(False).alias(B.CHANGED)
    )


def _rewrite(raw: str, texts: list[tuple[str, str]], meta: dict[str, Any] | None) -> bytes:
    """``raw`` with new texts at their segment paths and ``_curate`` set (when ``meta``)."""
    encoded = raw.encode()
    try:
        record = orjson.loads(encoded)
        # Fast path: a record orjson writes back byte for byte (compact, as curate and most
        # JSON writers emit it) keeps every other value's bytes through a parse and dump.
        faithful = orjson.dumps(record) == encoded
    except orjson.JSONDecodeError:  # 1e999: valid JSON orjson refuses
        record, faithful = None, False
    if not faithful:
        top = {"_curate": meta} if meta else None
        try:
            return splice(raw, [(path_parts(p), t) for p, t in texts], top).encode()
        except (SpliceError, IndexError, ValueError):
            # Not reachable for records the reader accepted; kept so that a surprise costs
            # the fidelity of numbers, not the run.
            record = orjson.loads(raw) if record is None else record
    for path, text in texts:
        set_path(record, path, text)
    if meta:
        record["_curate"] = meta
    return orjson.dumps(record)


def dropped_lines(frame: pl.DataFrame, step_id: str, file: str | None = None) -> list[bytes]:
    """Each dropped record as it was read, plus ``_curate``: step, reason and evidence, and
    the input ``file`` it is in when there are several."""
    extra = [c for c in (B.SCORE, B.DUPLICATE_OF, B.CLUSTER) if c in frame.columns]
    flags = [c for c in (B.DETAIL, B.NOTES, B.UPSAMPLED) if c in frame.columns]
    out: list[bytes] = []
    # Ids are written where the record may not be (a redacting run withholds it): an id that
    # holds personal data is masked, with the line that finds the record.
    mask = registry.id_masker()
    masked = {B.ID: mask(frame[B.ID].to_list(), frame[B.LINE].to_list())}
    details = frame[B.DETAIL].to_list() if B.DETAIL in frame.columns else [None] * frame.height
    for col in (B.DUPLICATE_OF, B.CLUSTER):
        if col in extra:
            lines = [_line_of_duplicated(d) for d in details] if col == B.DUPLICATE_OF else None
            masked[col] = mask(frame[col].to_list(), lines)
    rows = frame.select(B.RAW, B.LINE, B.REASON, *extra, *flags).iter_rows(named=True)
    for n, row in enumerate(rows):
        meta: dict[str, Any] = {
            "step": step_id,
            "reason": row[B.REASON],
            "line": row[B.LINE],
            "id": masked[B.ID][n],
        }
        for col in extra:
            value = masked[col][n] if col in masked else row[col]
            if value is not None:
                meta[col.lstrip("_")] = value
        meta = with_detail(meta, row.get(B.DETAIL))
        if row.get(B.NOTES):
            meta["annotations"] = _annotations(row[B.NOTES])
        if row.get(B.UPSAMPLED):
            meta["upsampled"] = True
        if file is not None:
            meta["file"] = file
        out.append(_rewrite(row[B.RAW], [], meta))
    return out


def jsonl_to_parquet(jsonl: Path, parquet: Path, like: Path | None = None) -> int:
    """Write the records of ``jsonl`` as Parquet (atomically); returns the row count.

    With ``like`` (the Parquet file the records were read from), its columns keep their types:
    the JSONL round trip would otherwise turn e.g. int32 into int64. Columns curate added
    (``_curate``) keep the types polars infers over the whole file.
    """
    if jsonl.stat().st_size == 0:
        frame = pl.DataFrame()
    else:
        frame = pl.read_ndjson(jsonl, infer_schema_length=None)
    if like is not None:
        schema = pl.read_parquet_schema(like)
        frame = frame.with_columns(
            pl.col(name).cast(dtype, strict=False)
            for name, dtype in schema.items()
            if name in frame.columns
        )
    handle, tmp = tempfile.mkstemp(prefix=f".{parquet.name}.", dir=parquet.parent)
    os.close(handle)
    try:
        frame.write_parquet(tmp)
        os.replace(tmp, parquet)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return frame.height


def cluster_lines(clusters: Iterable[dict[str, Any]], withhold: bool = False) -> list[bytes]:
    """duplicates.jsonl lines with the record ids in them masked (``kept``, ``members`` and the
    ``cluster`` name, which holds the kept id): an id may be an e-mail address. With
    ``withhold`` (a redacting run) also where they could hold a value the detector missed.
    All ids go through the masker in one call: one call per cluster cost ~9 s per 10k clusters."""
    clusters = list(clusters)
    slots: list[tuple[int, str, int | None]] = []  # (cluster, key, index in members or None)
    ids: list[str | None] = []
    for at, cluster in enumerate(clusters):
        for key in ("kept", "cluster"):
            if isinstance(cluster.get(key), str):
                slots.append((at, key, None))
                ids.append(cluster[key])
        if isinstance(cluster.get("members"), list):
            for index, member in enumerate(cluster["members"]):
                slots.append((at, "members", index))
                ids.append(member)
    shown = registry.id_masker(unconfirmed=withhold)(ids, None) if ids else []
    out = [dict(cluster) for cluster in clusters]
    for cluster in out:
        if isinstance(cluster.get("members"), list):
            cluster["members"] = list(cluster["members"])
    for (at, key, index), value in zip(slots, shown, strict=True):
        if index is None:
            out[at][key] = value
        else:
            out[at][key][index] = value
    return [orjson.dumps(cluster) for cluster in out]


# --- a run that redacts personal data ---------------------------------------------------------


def withholds_record_text(step_names: Iterable[str]) -> bool:
    """Whether a run of these steps redacts personal data: its record text then goes into the
    clean output alone, redacted; dropped and quarantine files say where and why, never the
    record as read (the same on every engine)."""
    registry.load_plugins()
    return any(registry.STEPS[name].redacts for name in step_names)


def with_masked_ids(frame: pl.DataFrame, lines: list[bytes], id_field: str) -> list[bytes]:
    """The kept ``lines`` of ``frame`` with each record id that holds a detected value written
    masked, as dropped.jsonl shows it (``<EMAIL_ADDRESS> (line 12)``): a run that redacts
    personal data must not keep it in the id field of its clean output. Only detected values
    are masked here, not every long digit run (``curate.idmask``): ordinary ids ("doc-0045123",
    UUIDs) stay as written, so the clean output still joins back to its source."""
    ids = frame[B.ID].to_list()
    masked = registry.id_masker()(ids, frame[B.LINE].to_list())
    path = id_field.replace("~", "~0").replace("/", "~1")
    out = list(lines)
    for i, (old, new) in enumerate(zip(ids, masked, strict=True)):
        if new != old:
            out[i] = _rewrite(out[i].decode(), [(path, new)], None)
    return out


def quarantine_output(entry: dict[str, Any], withhold: bool) -> bytes:
    """A quarantine line; with ``withhold``, without the raw line."""
    if withhold:
        entry = {k: v for k, v in entry.items() if k not in ("raw", "raw_truncated")}
        entry["raw_withheld"] = True
    return orjson.dumps(entry)


def dropped_output(line: bytes, withhold: bool) -> bytes:
    """A dropped line; with ``withhold``, its ``_curate`` metadata without the record, and its
    ids masked where they could hold a value the detector missed (``curate.idmask``)."""
    if not withhold:
        return line
    meta = orjson.loads(line)["_curate"]
    meta["id"] = mask_unconfirmed(meta.get("id"), meta.get("line"))
    for key, line_key in (("duplicate_of", "duplicate_of_line"), ("cluster", None)):
        if isinstance(meta.get(key), str):
            meta[key] = mask_unconfirmed(meta[key], meta.get(line_key) if line_key else None)
    return orjson.dumps({"_curate": {**meta, "record": "withheld"}})
