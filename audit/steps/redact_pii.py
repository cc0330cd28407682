"""redact_pii: replace detected PII in place (per segment), then scan again for what is left.

Each span becomes ``<ENTITY>`` (replace), ``****`` of the same length (mask) or
``<ENTITY:hash>`` (hash: HMAC-SHA256 keyed by ``CURATE_SIGNING_KEY`` or the variable
``salt_env`` names; refused without a key), per the entity's action. The redacted text is
scanned again; a record still holding a finding gets the reason ``pii_residual``, so with
``action: drop`` a record whose PII could not be removed is dropped rather than shipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from audit.pii import PiiEngine, PiiParams
from curate import batch as B
from curate.registry import Step, Totals, register_step, summed
from curate.steps.normalize import batch_separator


@dataclass
class RedactTotals(Totals):
    records: int = summed()
    records_redacted: int = summed()
    residual_records: int = summed()
    redacted: Counter[str] = summed(Counter)  # spans, per entity


@register_step
class RedactPii(Step[PiiParams]):
    """Replaces detected PII per entity action, re-scans, marks records still holding PII."""

    name = "redact_pii"
    #: the run then withholds record text from dropped.jsonl and quarantine.jsonl
    redacts = True
    Params = PiiParams
    parallel_safe = True
    changes_text = True
    totals_type = RedactTotals
    totals: RedactTotals

    def __init__(self, params: PiiParams, *, seed: int = 0, base_dir: str | None = None) -> None:
        super().__init__(params, seed=seed, base_dir=base_dir)
        self.engine = PiiEngine(params, seed=seed, base_dir=base_dir)
        self.engine.require_hash_key()

    def _redact(self, texts: pl.Series) -> pl.Series:
        values = texts.to_list()
        out: list[str | None] = []
        for text, spans in zip(values, self.engine.detect_many(values), strict=True):
            self.totals.redacted.update(s.entity for s in spans)
            out.append(self.engine.redact_text(text, spans) if spans else text)
        return pl.Series(out, dtype=pl.String)

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height == 0:
            return batch.with_columns(pl.lit(None, pl.String).alias(B.REASON))
        redacted = B.update_text(batch, self._redact, batch_separator(batch))
        # A record with nothing detected is unchanged and would scan the same: rescan the rest.
        changed = (redacted[B.TEXT] != batch[B.TEXT]).fill_null(False)
        positions = changed.arg_true()
        rescanned = self.engine.scan(redacted.filter(changed))["_row"].unique()
        residual = positions.gather(rescanned)
        is_residual = pl.int_range(batch.height, eager=True).is_in(residual.implode())
        self.totals += RedactTotals(batch.height, positions.len(), residual.len())
        return redacted.with_columns(
            pl.when(is_residual).then(pl.lit("pii_residual")).alias(B.REASON)
        )

    def summary(self) -> dict[str, Any]:
        t = self.totals
        return {
            "mode": self.engine.mode,
            "records": t.records,
            "records_redacted": t.records_redacted,
            "spans_redacted": sum(t.redacted.values()),
            "by_entity": dict(sorted(t.redacted.items())),
            "residual_records": t.residual_records,
            "residual_rate": t.residual_records / t.records if t.records else None,
        }
