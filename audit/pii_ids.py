"""Record ids as curate writes them: scanned like text, each detected value shown as
``<ENTITY>`` with the record's line beside it (an e-mail used as an id is personal data).

For writers that have no PII engine of their own (dropped.jsonl, duplicates.jsonl): ids that
cannot hold a pattern entity (``pii_shape.may_hold_pattern_pii``, one polars pass) are left
as they are; the others go through one pattern-mode engine per process, built on first use.
Findings mask their ids with the engine of the check that found them (``PiiEngine.mask_ids``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from audit.pii import PiiEngine, PiiParams
from audit.pii_shape import may_hold_pattern_pii


@functools.lru_cache(maxsize=1)
def id_engine() -> PiiEngine:
    return PiiEngine(PiiParams(mode="pattern", workers=1))


def mask_record_ids(
    ids: Sequence[str | None], lines: Sequence[int | None] | None = None
) -> list[str | None]:
    """``ids`` with detected values masked; ``lines`` (the records' input lines, when known)
    are appended to the ids that were changed so the records can still be found."""
    out = list(ids)
    picked = [i for i, candidate in enumerate(may_hold_pattern_pii(out)) if candidate]
    if not picked:
        return out
    where = [lines[i] if lines is not None else None for i in picked]
    masked = id_engine().mask_ids([out[i] for i in picked], where)
    for i, value in zip(picked, masked, strict=True):
        out[i] = value
    return out


def mask_record_id(record_id: str | None, line: int | None = None) -> str | None:
    """One id (see ``mask_record_ids``)."""
    return mask_record_ids([record_id], [line])[0]
