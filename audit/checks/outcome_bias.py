"""outcome_bias: does the label's positive rate differ between groups of a sensitive attribute?

For each sensitive column (e.g. ``sex``, ``race``) and each group in it: the number of labelled
records, the group's share of them, and the positive rate (selection rate) with a Wilson 95%
interval. The gap between groups is fairlearn's demographic parity: the difference (largest
minus smallest group rate) and the ratio (smallest over largest).

Choices, documented because they change the numbers:

- Columns: ``label`` and ``sensitive`` parameters; unset, the rules' ``fields.label`` and
  ``fields.sensitive`` (given to the check through ``bind_fields``).
- Binary or one-vs-rest: with ``positive_label`` set, that value is the positive outcome and
  every other value the negative one. Without it, a label with at most two values is binary and
  its positive value is inferred: the value that reads as true (``1``, ``1.0``, ``true``, ``t``,
  ``yes``, ``y``, ``positive``, ``pos``; case and surrounding spaces ignored) if exactly one
  does, else the less frequent value (ties: the later one in sorted order), which in practice
  is the "selected" outcome (approved, hired, >50K). A label with three or more values is
  one-vs-rest: every class is scored as the positive outcome in turn, and the metrics take the
  worst class.
- Missing values: a null attribute is its own group, ``__missing__`` (missingness that goes with
  the outcome is itself a bias signal). A record with a null label has no outcome: it is left
  out of every rate and share and counted in ``missing_label_rate``.
- Small groups: a group with fewer than ``min_group_size`` labelled records is reported (marked
  ``small``) but left out of every gated metric, including ``min_group_share``; the count of such
  groups is its own metric, ``small_groups``. A column with fewer than two large-enough groups
  compares nothing: its parity figures are ``None``.

Memory stays small for any number of rows: per batch only the contingency table (group, label,
count) of each sensitive column is kept. At the end fairlearn computes every rate and parity
figure from that table, each (group, label) row weighted by its count; the selection rate is
then (positives / records) exactly as on the raw rows, so the numbers are fairlearn's own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from curate.errors import RulesError
from curate.registry import Check, Params, Totals, register_check

MISSING_GROUP = "__missing__"
TRUTHY_LABELS = frozenset({"1", "1.0", "true", "t", "yes", "y", "positive", "pos"})
WILSON_Z = NormalDist().inv_cdf(0.975)


def wilson_interval(positives: int, total: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if total <= 0:
        return (math.nan, math.nan)
    p = positives / total
    z2n = z * z / total
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    # At 0 or n positives the bound is exactly 0 or 1; rounding would leave a 1e-17 residue.
    low = 0.0 if positives == 0 else max(0.0, centre - half)
    high = 1.0 if positives == total else min(1.0, centre + half)
    return (low, high)


def infer_positive_label(label_counts: dict[str, int]) -> tuple[str, str]:
    """The positive value of a binary label and the rule that chose it (see the module doc)."""
    values = sorted(label_counts)
    truthy = [v for v in values if v.strip().lower() in TRUTHY_LABELS]
    if len(values) == 1:
        return values[0], "only value"
    if len(truthy) == 1:
        return truthy[0], "reads as true"
    # Sorting by (count, reverse position) picks the rarer value, the later one on a tie.
    rarest = min(values, key=lambda v: (label_counts[v], -values.index(v)))
    return rarest, "less frequent value"


class OutcomeBiasParams(Params):
    label: str | None = Field(
        None, min_length=1, description="label column; unset: the rules' fields.label"
    )
    sensitive: list[str] = Field(
        default_factory=list,
        description="sensitive attribute columns; empty: the rules' fields.sensitive",
    )
    positive_label: str | None = Field(
        None,
        description="the positive (favourable) label value, scored against all others; "
        "unset: inferred for a two-valued label, one-vs-rest per class otherwise",
    )
    min_group_size: int = Field(
        30,
        ge=1,
        le=10**12,
        description="groups with fewer labelled records are reported but not gated",
    )


@dataclass
class OutcomeTotals(Totals):
    #: sensitive column -> (group, label, n) counts
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    records: int = 0
    missing_labels: int = 0

    def __add__(self, later: OutcomeTotals) -> OutcomeTotals:
        tables = dict(self.tables)
        for column, part in later.tables.items():
            if column in tables:
                part = (
                    pl.concat([tables[column], part])
                    .group_by("group", "label", maintain_order=True)
                    .agg(pl.col("n").sum())
                )
            tables[column] = part
        return OutcomeTotals(
            tables, self.records + later.records, self.missing_labels + later.missing_labels
        )


@register_check
class OutcomeBias(Check):
    """Demographic parity of the label across sensitive groups (fairlearn), with group sizes."""

    name = "outcome_bias"
    Params = OutcomeBiasParams
    metrics: ClassVar[dict[str, str]] = {
        "demographic_parity_difference": "largest gap in positive rate between groups "
        "(max over sensitive columns and classes; 0 = equal)",
        "demographic_parity_ratio": "smallest ratio of lowest to highest group positive rate "
        "(min over sensitive columns and classes; 1 = equal)",
        "min_group_share": "share of labelled records in the smallest gated group",
        "small_groups": "groups below min_group_size, left out of the metrics above",
        "missing_label_rate": "share of records with no label (left out of every rate)",
    }

    def __init__(self, params: OutcomeBiasParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self.params: OutcomeBiasParams = params
        self.label: str | None = params.label
        self.sensitive: list[str] = list(params.sensitive)
        # metrics and details, computed once per state of the totals
        self._computed: tuple[int, dict[str, Any], dict[str, Any]] | None = None

    totals_type = OutcomeTotals
    totals: OutcomeTotals

    def bind_fields(self, *, label: str | None, sensitive: Sequence[str]) -> None:
        """Take the rules' ``fields.label`` / ``fields.sensitive`` where params left them unset."""
        if self.label is None:
            self.label = label
        if not self.sensitive:
            self.sensitive = list(sensitive)

    def required_columns(self) -> list[str]:
        return [c for c in [self.label, *self.sensitive] if c]

    def _check_columns(self, batch: pl.DataFrame) -> str:
        if self.label is None:
            raise RulesError(
                "check 'outcome_bias' needs a label column: set fields.label in the rules "
                "or the check's 'label' parameter"
            )
        if not self.sensitive:
            raise RulesError(
                "check 'outcome_bias' needs sensitive attribute columns: set "
                "fields.sensitive in the rules or the check's 'sensitive' parameter"
            )
        for column in [self.label, *self.sensitive]:
            if column not in batch.columns:
                raise RulesError(
                    f"check 'outcome_bias': column {column!r} is not in the data read; "
                    "name it under fields.label / fields.sensitive in the rules"
                )
        return self.label

    def update(self, batch: pl.DataFrame) -> Iterable[dict[str, Any]] | None:
        label = self._check_columns(batch)
        self._computed = None
        tables = {
            column: batch.group_by(
                pl.col(column).cast(pl.String).fill_null(MISSING_GROUP).alias("group"),
                pl.col(label).cast(pl.String).alias("label"),
            ).agg(pl.len().cast(pl.Int64).alias("n"))
            for column in self.sensitive
        }
        self.totals += OutcomeTotals(tables, batch.height, batch[label].null_count())
        return None

    # -- computing ---------------------------------------------------------------------------

    def _classes(self) -> tuple[list[str], dict[str, Any]]:
        """The classes scored as 'positive' and how they were chosen."""
        first = next(iter(self.totals.tables.values()))
        label_counts = dict(
            first.drop_nulls("label").group_by("label").agg(pl.col("n").sum()).iter_rows()
        )
        if self.params.positive_label is not None:
            return [self.params.positive_label], {
                "mode": "binary",
                "positive_label": self.params.positive_label,
                "positive_label_rule": "parameter",
            }
        if len(label_counts) <= 2:
            positive, rule = infer_positive_label(label_counts)
            return [positive], {
                "mode": "binary",
                "positive_label": positive,
                "positive_label_rule": rule,
            }
        return sorted(label_counts), {"mode": "one_vs_rest", "positive_label": None}

    def _column(self, column: str, classes: list[str]) -> dict[str, Any]:
        from fairlearn.metrics import (
            MetricFrame,
            demographic_parity_difference,
            demographic_parity_ratio,
            selection_rate,
        )

        table = self.totals.tables[column].drop_nulls("label").sort("group", "label")
        unlabelled = dict(
            self.totals.tables[column]
            .filter(pl.col("label").is_null())
            .select("group", "n")
            .iter_rows()
        )
        sizes = dict(table.group_by("group").agg(pl.col("n").sum()).sort("group").iter_rows())
        labelled = sum(sizes.values())
        gated = {g for g, n in sizes.items() if n >= self.params.min_group_size}
        groups = table["group"].to_numpy()
        # fairlearn squeezes a one-element array of features to 0-d and fails; a list is safe.
        group_list = groups.tolist()
        weights = table["n"].to_numpy().astype(np.float64)
        is_gated = np.isin(groups, sorted(gated))
        by_class = []
        rates: dict[str, list[dict[str, Any]]] = {g: [] for g in sizes}
        for cls in classes:
            y = (table["label"] == cls).to_numpy().astype(np.int64)
            frame = MetricFrame(
                metrics=selection_rate,
                y_true=y,
                y_pred=y,
                sensitive_features=group_list,
                sample_params={"sample_weight": weights},
            )
            positives = dict(
                table.filter(pl.col("label") == cls)
                .group_by("group")
                .agg(pl.col("n").sum())
                .iter_rows()
            )
            for group, total in sizes.items():
                k = int(positives.get(group, 0))
                low, high = wilson_interval(k, total)
                rates[group].append(
                    {
                        "class": cls,
                        "positives": k,
                        "rate": float(frame.by_group.loc[group]),
                        "wilson_low": low,
                        "wilson_high": high,
                    }
                )
            difference = ratio = None
            if len(gated) >= 2:
                yg, gg, wg = y[is_gated], groups[is_gated].tolist(), weights[is_gated]
                difference = float(
                    demographic_parity_difference(yg, yg, sensitive_features=gg, sample_weight=wg)
                )
                ratio = float(
                    demographic_parity_ratio(yg, yg, sensitive_features=gg, sample_weight=wg)
                )
                if math.isnan(ratio):  # every gated rate is 0: 0/0, yet the groups are equal
                    ratio = 1.0
            by_class.append(
                {
                    "class": cls,
                    "demographic_parity_difference": difference,
                    "demographic_parity_ratio": ratio,
                }
            )
        differences = [c["demographic_parity_difference"] for c in by_class]
        ratios = [c["demographic_parity_ratio"] for c in by_class]
        return {
            "column": column,
            "labelled": labelled,
            "gated_groups": len(gated),
            "small_groups": len(sizes) - len(gated),
            "demographic_parity_difference": _worst(differences, max),
            "demographic_parity_ratio": _worst(ratios, min),
            "min_group_share": min((sizes[g] / labelled for g in gated), default=None),
            "by_class": by_class,
            "groups": [
                {
                    "group": group,
                    "count": total,
                    "share": total / labelled,
                    "small": group not in gated,
                    "unlabelled": int(unlabelled.get(group, 0)),
                    "rates": rates[group],
                }
                for group, total in sizes.items()
            ],
        }

    def _compute(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._computed is not None and self._computed[0] == id(self.totals):
            return self._computed[1], self._computed[2]
        missing_rate = (
            self.totals.missing_labels / self.totals.records if self.totals.records else None
        )
        metrics: dict[str, Any] = dict.fromkeys(self.metrics)
        metrics["missing_label_rate"] = missing_rate
        details: dict[str, Any] = {
            "label": self.label,
            "sensitive": self.sensitive,
            "min_group_size": self.params.min_group_size,
            "records": self.totals.records,
            "missing_labels": self.totals.missing_labels,
            "missing_group": MISSING_GROUP,
            "columns": [],
        }
        has_labels = self.totals.records > self.totals.missing_labels
        if self.totals.tables and has_labels:
            classes, how = self._classes()
            details.update(how, classes=classes)
            columns = [self._column(c, classes) for c in self.sensitive]
            details["columns"] = columns
            metrics["demographic_parity_difference"] = _worst(
                [c["demographic_parity_difference"] for c in columns], max
            )
            metrics["demographic_parity_ratio"] = _worst(
                [c["demographic_parity_ratio"] for c in columns], min
            )
            metrics["min_group_share"] = _worst([c["min_group_share"] for c in columns], min)
            metrics["small_groups"] = sum(c["small_groups"] for c in columns)
        self._computed = (id(self.totals), metrics, details)
        return metrics, details

    def result(self) -> dict[str, float | int | None]:
        return dict(self._compute()[0])

    def details(self) -> dict[str, Any]:
        return self._compute()[1]


def _worst(values: list[float | None], pick: Any) -> float | None:
    present = [v for v in values if v is not None]
    return pick(present) if present else None
