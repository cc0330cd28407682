"""rebalance: even out the classes of a label (or group) column by dropping or copying records.

Modes:

- ``downsample``: every class is capped at ``max_ratio`` x the smallest class; the surplus is
  dropped (reason ``rebalance_downsampled``).
- ``upsample``: records of small classes are copied (drawn with replacement) until every class
  holds at least ``min_ratio`` x the largest class. A copy is inserted right after its original,
  with ``_upsampled`` = True (originals: False), so the output order does not depend on the
  batch size; the writer marks copies with ``"_curate": {"upsampled": true}``.
- ``target``: classes are downsampled to match ``target`` shares as closely as the data allows
  (never copied). Classes the target does not name are left alone; named classes absent from
  the data are ignored and the other shares renormalised.

Records whose column is null or missing form the class ``__missing__`` (``missing: group``, the
default) or are left alone and take no part in the balancing (``missing: keep``).

Which records go is decided over every record's class and rank (0-based order in the input
among the records reaching the step; ``curate.registry.GlobalStep``), with one generator per
class seeded by ``(seed, hash of the class name)``: the choice depends on neither the batch
boundaries, nor the engine, nor the other classes. The marks are then applied by rank.

Put this step last: copies keep their original's ``_id``, ``_line`` and text, so later steps
would judge each copy again (and a copy dropped by a later step is not yet counted right by
the ledger).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import polars as pl
import xxhash
from pydantic import Field, field_validator, model_validator

from curate import batch as B
from curate.errors import RulesError
from curate.records import column_value
from curate.registry import Decision, Fetch, GlobalStep, Params, marks_frame, register_step

MISSING = "__missing__"
REASON_DOWNSAMPLED = "rebalance_downsampled"
CLASS = "_class"
_EPS = 1e-9  # so that ratio x count products such as 1.5 x 10 are not floored to 14


class RebalanceParams(Params):
    column: str = Field(
        "",
        description="label or group column to balance (list it in fields.label or fields.columns)",
    )
    mode: Literal["downsample", "upsample", "target"] = Field(
        "downsample",
        description="downsample: cap classes; upsample: copy small classes; target: match shares",
    )
    max_ratio: float = Field(
        1.0, ge=1.0, description="downsample: a class keeps at most this x the smallest class"
    )
    min_ratio: float = Field(
        1.0, gt=0.0, le=1.0, description="upsample: every class reaches this x the largest class"
    )
    target: dict[str, float] = Field(
        default_factory=dict,
        description="target: share per class (normalised to sum 1; __missing__ names nulls)",
    )
    missing: Literal["group", "keep"] = Field(
        "group",
        description="null/missing values: group: their own class __missing__; keep: left alone",
    )

    @field_validator("target", mode="before")
    @classmethod
    def _keys_as_column_values(cls, value: Any) -> Any:
        # YAML reads `target: {0: 0.3, 1: 0.7}` with int keys; the column holds "0" and "1"
        if isinstance(value, dict):
            return {column_value(k) if k is not None else MISSING: v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _target_is_usable(self) -> RebalanceParams:
        if any(not math.isfinite(s) or s < 0 for s in self.target.values()):
            raise ValueError("target: shares must be finite and >= 0")
        if self.mode == "target" and not any(s > 0 for s in self.target.values()):
            raise ValueError("mode 'target' needs target: {class: share, ...} with a share > 0")
        return self


def _class_rng(seed: int, name: str | None) -> np.random.Generator:
    key = b"\x00missing" if name is None else name.encode("utf-8", "surrogatepass")
    return np.random.default_rng([seed, xxhash.xxh3_64_intdigest(key)])


def _shares(counts: dict[str, int]) -> dict[str, dict[str, float | int]]:
    total = sum(counts.values())
    return {
        name: {"count": n, "share": round(n / total, 6) if total else 0.0}
        for name, n in sorted(counts.items())
    }


def _target_keep(
    counts: dict[str, int], target: dict[str, float]
) -> tuple[dict[str, int], dict[str, Any]]:
    """How many records each named class keeps: the largest total whose split by the target
    shares fits in every class, rounded to whole records (so each is within 1 of its share)."""
    named = {k: s for k, s in target.items() if k in counts}
    absent = sorted(k for k in target if k not in counts)
    weight = sum(named.values())
    notes: dict[str, Any] = {
        "target_absent": absent,
        "not_in_target": sorted(k for k in counts if k not in target),
    }
    if weight <= 0:
        return {}, notes
    shares = {k: s / weight for k, s in named.items()}
    notes["target_shares"] = {k: round(s, 6) for k, s in sorted(shares.items())}
    total = min(counts[k] / s for k, s in shares.items() if s > 0)
    keep = {k: min(counts[k], math.floor(total * s + 0.5 + _EPS)) for k, s in shares.items()}
    return keep, notes


@register_step
class Rebalance(GlobalStep[RebalanceParams]):
    """Balances the classes of one column; selection is seeded and independent of batching."""

    name = "rebalance"
    Params = RebalanceParams

    def __init__(self, params: RebalanceParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        if not params.column:
            raise ValueError(
                "step 'rebalance': 'column' is required: the label or group column to balance "
                "(it must also be listed in the rules' fields.label or fields.columns)"
            )

    @property
    def adds_records(self) -> bool:  # type: ignore[override]
        return self.params.mode == "upsample"

    def required_columns(self) -> list[str]:
        return [self.params.column]

    def keys(self, batch: pl.DataFrame) -> pl.DataFrame:
        column = self.params.column
        if column not in batch.columns:
            # the step never sees the rules: this is the first point where the gap shows
            raise RulesError(
                f"step 'rebalance': column {column!r} is not in the records: list it in the "
                "rules' fields.label or fields.columns"
            )
        return batch.select(B.RANK, pl.col(column).cast(pl.String).alias(CLASS))

    def decide(self, reduced: pl.DataFrame, fetch: Fetch, records: int) -> Decision:
        """Per class (first seen first), the same seeded draws over the class's records in
        input order: which to drop, which to copy."""
        p = self.params
        ranks: dict[str | None, np.ndarray] = {}
        keys = reduced.sort(B.RANK)
        for (value,), part in keys.group_by(CLASS, maintain_order=True):
            ranks[value] = part[B.RANK].to_numpy()
        left_alone = len(ranks.pop(None, ())) if p.missing == "keep" else 0
        name_of = {value: MISSING if value is None else value for value in ranks}
        before = {name_of[v]: len(r) for v, r in ranks.items()}
        after = dict(before)
        notes: dict[str, Any] = {}
        keep: dict[str, int] = {}
        drop: list[np.ndarray] = []
        copy: list[np.ndarray] = []
        by_name = {name_of[v]: v for v in ranks}
        if before and p.mode == "downsample":
            notes["cap"] = math.floor(p.max_ratio * min(before.values()) + _EPS)
            keep = {k: min(n, notes["cap"]) for k, n in before.items()}
        elif before and p.mode == "target":
            keep, notes = _target_keep(before, p.target)
        elif before and p.mode == "upsample":
            goal = math.ceil(p.min_ratio * max(before.values()) - _EPS)
            notes["goal"] = goal
            for name in sorted(before):
                need = goal - before[name]
                if need > 0:
                    rng = _class_rng(self.seed, by_name[name])
                    copy.append(rng.choice(ranks[by_name[name]], size=need, replace=True))
                    after[name] = goal
        for name in sorted(keep):
            if keep[name] < before[name]:
                rng = _class_rng(self.seed, by_name[name])
                drop.append(rng.permutation(ranks[by_name[name]])[keep[name] :])
                after[name] = keep[name]
        dropped = np.sort(np.concatenate(drop)) if drop else np.zeros(0, dtype=np.int64)
        copied = np.concatenate(copy) if copy else np.zeros(0, dtype=np.int64)
        marks = marks_frame(dropped, REASON_DOWNSAMPLED)
        if p.mode == "upsample":
            copied_ranks, copies = np.unique(copied, return_counts=True)
            marks = pl.DataFrame(
                {B.RANK: copied_ranks.astype(np.int64), B.COPIES: copies.astype(np.int64)}
            )
        summary = {
            "column": p.column,
            "mode": p.mode,
            "classes": len(before),
            "before": _shares(before),
            "after": _shares(after),
            "dropped": int(dropped.size),
            "copies": int(copied.size),
            "left_alone": left_alone,
            **notes,
        }
        return Decision(marks, summary, records=records)
