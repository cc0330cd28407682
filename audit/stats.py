"""Dataset statistics every audit computes: counts, lengths, labels, languages.

Memory stays bounded: lengths are tallied by value (exact quantiles; the number of distinct
lengths is at most the longest text) and a fixed log-scale histogram for the chart. Everything
is kept in ``StatsTotals``, which add up across processes and blocks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from curate import batch as B
from curate.registry import Stateful, Totals, highest, lowest, summed

# Histogram edges in characters: 0, 1, 2, 4, ... 2**20, then everything longer.
EDGES = np.array([0] + [2**k for k in range(21)], dtype=np.int64)
QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)


def _histogram() -> np.ndarray:
    return np.zeros(len(EDGES), dtype=np.int64)


@dataclass
class StatsTotals(Totals):
    valid: int = summed()
    empty: int = summed()
    total_chars: int = summed()
    min_chars: int | None = lowest()
    max_chars: int | None = highest()
    histogram: np.ndarray = summed(_histogram)
    #: text length -> records: exact quantiles, bounded by the number of distinct lengths
    lengths: dict[int, int] = summed(dict)
    labels: Counter[str] = summed(Counter)
    languages: Counter[str] = summed(Counter)
    roles: Counter[str] = summed(Counter)


def quantile(counts: dict[int, int], q: float) -> float:
    """``numpy.quantile(values, q)`` (linear) of the values ``counts`` tallies."""
    values = np.array(sorted(counts), dtype=np.int64)
    ends = np.cumsum([counts[int(v)] for v in values])
    position = (int(ends[-1]) - 1) * q
    below = int(np.floor(position))

    def at(index: int) -> int:
        return int(values[np.searchsorted(ends, index, side="right")])

    low = at(below)
    if position == below:
        return float(low)
    return float(low + (position - below) * (at(below + 1) - low))


class DatasetStats(Stateful):
    totals_type = StatsTotals
    totals: StatsTotals

    def __init__(self, *, label: str | None, lang_column: str = "lang") -> None:
        self.label = label
        self.lang_column = lang_column
        self.totals = self.new_totals()

    def update(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        lengths = frame[B.TEXT].str.len_chars().to_numpy().astype(np.int64)
        values, counts = np.unique(lengths, return_counts=True)
        part = StatsTotals(
            valid=frame.height,
            empty=int(frame[B.TEXT].str.strip_chars().str.len_chars().eq(0).sum()),
            total_chars=int(lengths.sum()),
            min_chars=int(lengths.min()),
            max_chars=int(lengths.max()),
            histogram=np.bincount(
                np.searchsorted(EDGES, lengths, side="right") - 1, minlength=len(EDGES)
            )[: len(EDGES)],
            lengths=dict(zip(values.tolist(), counts.tolist(), strict=True)),
        )
        if self.label and self.label in frame.columns:
            part.labels.update(frame[self.label].fill_null("__missing__").to_list())
        if self.lang_column in frame.columns:
            part.languages.update(frame[self.lang_column].fill_null("unknown").to_list())
        roles = frame[B.SEGMENTS].list.eval(pl.element().struct.field("role")).explode()
        part.roles.update(r for r in roles.drop_nulls().to_list())
        self.totals += part

    def metrics(self, records: int, quarantined: int) -> dict[str, float | int | None]:
        t = self.totals
        valid = t.valid
        out: dict[str, float | int | None] = {
            "records": records,
            "valid_records": valid,
            "quarantined": quarantined,
            "quarantined_rate": quarantined / records if records else 0.0,
            "empty_text_rate": t.empty / valid if valid else 0.0,
            "mean_chars": t.total_chars / valid if valid else 0.0,
            "label_classes": len(t.labels) if t.labels else None,
            "label_imbalance_ratio": None,
            "min_label_share": None,
        }
        if t.labels:
            counts = sorted(t.labels.values())
            out["label_imbalance_ratio"] = counts[-1] / counts[0]
            out["min_label_share"] = counts[0] / valid
        return out

    def details(self) -> dict[str, Any]:
        t = self.totals
        quantiles = {}
        if t.lengths:
            for q in QUANTILES:
                quantiles[f"p{int(q * 100)}"] = quantile(t.lengths, q)
        bins = [
            {
                "from": int(EDGES[i]),
                "to": int(EDGES[i + 1]) if i + 1 < len(EDGES) else None,
                "count": int(c),
            }
            for i, c in enumerate(t.histogram)
            if c
        ]
        return {
            "length_chars": {
                "min": t.min_chars,
                "max": t.max_chars or 0,
                "mean": t.total_chars / t.valid if t.valid else 0.0,
                "quantiles": quantiles,
                "quantiles_from": "exact",
                "histogram": bins,
            },
            "labels": dict(sorted(t.labels.items())),
            "languages": dict(t.languages.most_common()),
            "roles": dict(sorted(t.roles.items())),
        }
