"""Serialising batches back to JSONL: unchanged records byte for byte, changed ones re-encoded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.records import set_path


def _curate_meta(row: dict[str, Any]) -> dict[str, Any] | None:
    meta: dict[str, Any] = {}
    flags = row.get(B.FLAGS)
    if flags:
        meta["flags"] = [{k: v for k, v in f.items() if v is not None} for f in flags]
    if row.get(B.UPSAMPLED):
        meta["upsampled"] = True
    return meta or None


def kept_lines(frame: pl.DataFrame) -> list[bytes]:
    """One output line per row: the raw record, with changed text and annotations applied."""
    needs_rewrite = frame[B.CHANGED]
    if B.FLAGS in frame.columns:
        needs_rewrite = needs_rewrite | (frame[B.FLAGS].list.len().fill_null(0) > 0)
    if B.UPSAMPLED in frame.columns:
        needs_rewrite = needs_rewrite | frame[B.UPSAMPLED]
    raws = frame[B.RAW].to_list()
    if not needs_rewrite.any():
        return [r.encode() for r in raws]
    cols = [c for c in (B.SEGMENTS, B.CHANGED, B.FLAGS, B.UPSAMPLED) if c in frame.columns]
    out: list[bytes] = []
    rows = frame.select(cols).iter_rows(named=True)
    for raw, rewrite, row in zip(raws, needs_rewrite, rows, strict=True):
        if not rewrite:
            out.append(raw.encode())
            continue
        record = orjson.loads(raw)
        if row[B.CHANGED]:
            for seg in row[B.SEGMENTS]:
                set_path(record, seg["path"], seg["text"])
        meta = _curate_meta(row)
        if meta:
            record["_curate"] = meta
        out.append(orjson.dumps(record))
    return out


IdMasker = Callable[[Sequence[str | None], Sequence[int | None] | None], list[str | None]]


def id_masker() -> IdMasker:
    """The PII check's id masker (``audit.pii_ids.mask_record_ids``), found through the plugin
    registry as the auditors' other services are (curate's core imports no auditor module)."""
    registry.load_plugins()
    masker: IdMasker | None = getattr(registry.CHECKS.get("pii"), "mask_record_ids", None)
    if masker is None:
        raise RuntimeError("the pii check is not registered: record ids cannot be masked")
    return masker


def dropped_lines(frame: pl.DataFrame, step_id: str) -> list[bytes]:
    """Each dropped record as it was read, plus ``_curate``: step, reason and evidence."""
    extra = [c for c in (B.SCORE, B.DUPLICATE_OF, B.CLUSTER) if c in frame.columns]
    flags = [B.UPSAMPLED] if B.UPSAMPLED in frame.columns else []
    out: list[bytes] = []
    # Ids are written where the record may not be (a redacting run withholds it): an id that
    # holds personal data is masked, with the line that finds the record.
    mask = id_masker()
    masked = {B.ID: mask(frame[B.ID].to_list(), frame[B.LINE].to_list())}
    for col in (B.DUPLICATE_OF, B.CLUSTER):
        if col in extra:
            masked[col] = mask(frame[col].to_list(), None)
    rows = frame.select(B.RAW, B.LINE, B.REASON, *extra, *flags).iter_rows(named=True)
    for n, row in enumerate(rows):
        record = orjson.loads(row[B.RAW])
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
        if row.get(B.UPSAMPLED):
            meta["upsampled"] = True
        record["_curate"] = meta
        out.append(orjson.dumps(record))
    return out


def cluster_line(cluster: dict[str, Any]) -> bytes:
    """A duplicates.jsonl line with the record ids in it masked (``kept``, ``members`` and the
    ``cluster`` name, which holds the kept id): an id may be an e-mail address."""
    mask = id_masker()
    out = dict(cluster)
    for key in ("kept", "cluster"):
        if isinstance(out.get(key), str):
            out[key] = mask([out[key]], None)[0]
    if isinstance(out.get("members"), list):
        out["members"] = mask(out["members"], None)
    return orjson.dumps(out)
