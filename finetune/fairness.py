"""Disaggregated test results per sensitive group, with seeded bootstrap intervals.

Classification: per group accuracy and macro F1, and for the positive outcome the selection
rate, false positive rate and false negative rate, with the equalized odds difference and the
demographic parity difference between groups. A binary label's positive value is
``positive_label`` or inferred as the audit's ``outcome_bias`` check does; a label with three or
more values is scored one-vs-rest for every class and the headline gaps take the worst class.
Causal LM: per group token perplexity. Sensitive values never reach the model: they are kept
beside the test predictions and joined back here by row. A null value is its own group.

Intervals are percentile bootstrap intervals over test records (``fairness_bootstrap``
resamples, seeded); they are wide on small test sets, which the model card says.

Small groups follow the data audit's rule (``outcome_bias``'s ``min_group_size``): a group with
fewer test records than ``min_group_size`` is reported, marked ``small``, and left out of the
gaps (a parity gap between groups of 1-5 records measures chance, not the model).

The classification figures are fairlearn's: those of ``MetricFrame`` with scikit-learn's
``accuracy_score`` and macro ``f1_score`` and fairlearn's ``selection_rate``,
``false_positive_rate`` and ``false_negative_rate`` (bootstrap: ``n_boot`` resamples,
``random_state=seed``), and of ``equalized_odds_difference`` / ``demographic_parity_difference``,
to the last bit (the tests compare them). They are computed here from per-group confusion
counts, one ``bincount`` for all resamples, rather than by fairlearn's pandas loop of metric
calls per resample and group, which took seconds to minutes; the resampled rows are the ones
fairlearn draws.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from audit.checks.outcome_bias import infer_positive_label

CI = (0.025, 0.975)
# Resampled row indices held in memory at once (int64): bounds memory on large test sets.
BOOTSTRAP_CHUNK = 2_000_000
Intervals = dict[str, list[list[float | None]]]  # figure -> per group [lower, upper]


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _bootstrap_rows(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of each resample, in chunks of shape (resamples, n): fairlearn's draws (a
    uint32 seed per resample from ``default_rng(seed)``, then pandas'
    ``sample(frac=1, replace=True, random_state=s)``, which is ``RandomState(s).randint(0, n, n)``).
    """
    seeds = np.random.default_rng(seed).integers(
        low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32
    )
    per_chunk = max(1, BOOTSTRAP_CHUNK // max(n, 1))
    for start in range(0, n_boot, per_chunk):
        chunk = seeds[start : start + per_chunk]
        yield np.stack([np.random.RandomState(s).randint(0, n, size=n) for s in chunk])


def _confusion(
    rows: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    k: int,
) -> np.ndarray:
    """Counts of shape (samples, groups, k, k) indexed [sample, group, true, predicted], from
    ``rows`` (samples, records) of row indices."""
    sample = np.arange(rows.shape[0])[:, None]
    key = ((sample * n_groups + group[rows]) * k + y_true[rows]) * k + y_pred[rows]
    cells = rows.shape[0] * n_groups * k * k
    return np.bincount(key.ravel(), minlength=cells).reshape(rows.shape[0], n_groups, k, k)


def _divide(num: np.ndarray, den: np.ndarray, when_zero: float) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, when_zero, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0, casting="unsafe")
    return out


def _scores(counts: np.ndarray, positive: int | None) -> dict[str, np.ndarray]:
    """Per-group figures from confusion counts [..., true, predicted]; NaN for a group without
    records (in a resample fairlearn leaves such a group out).

    ``positive`` None: accuracy, and macro F1 over every class (scikit-learn's
    2 tp / (true + predicted) per class, 0 for a class neither true nor predicted). Otherwise
    ``positive`` against the rest: selection rate, false positive and false negative rate and
    the true positive rate (0 without negatives / positives, as the row-normalised confusion
    matrix fairlearn reads them from gives)."""
    total = counts.sum(axis=(-2, -1))
    tp = np.diagonal(counts, axis1=-2, axis2=-1)
    true_sum, pred_sum = counts.sum(axis=-1), counts.sum(axis=-2)
    if positive is None:
        out = {
            "accuracy": _divide(tp.sum(axis=-1), total, np.nan),
            "f1_macro": _divide(2.0 * tp, 1.0 * true_sum + pred_sum, 0.0).mean(axis=-1),
        }
    else:
        hits = tp[..., positive]
        positives, selected = true_sum[..., positive], pred_sum[..., positive]
        out = {
            "selection_rate": _divide(selected, total, np.nan),
            "false_positive_rate": _divide(selected - hits, total - positives, 0.0),
            "false_negative_rate": _divide(positives - hits, positives, 0.0),
            "true_positive_rate": _divide(hits, positives, 0.0),
        }
    for values in out.values():
        values[total == 0] = np.nan
    return out


def _intervals(scores: dict[str, np.ndarray]) -> Intervals:
    """[lower, upper] percentile bounds per group from (resamples, groups) figures."""
    out: Intervals = {}
    for figure, values in scores.items():
        low, high = np.nanquantile(values, CI, axis=0)
        out[figure] = [[_num(lo), _num(hi)] for lo, hi in zip(low, high, strict=True)]
    return out


def _group_rows(
    names: np.ndarray,
    records: np.ndarray,
    point: dict[str, np.ndarray],
    cis: Intervals | None,
    figures: tuple[str, ...],
    min_group_size: int,
) -> list[dict[str, Any]]:
    rows = []
    for i, name in enumerate(names):
        row: dict[str, Any] = {
            "group": str(name),
            "records": int(records[i]),
            "small": bool(records[i] < min_group_size),
        }
        for figure in figures:
            row[figure] = _num(point[figure][i])
            if cis is not None:
                row[f"{figure}_ci"] = cis[figure][i]
        rows.append(row)
    return rows


def _gap(values: np.ndarray, gated: np.ndarray) -> float | None:
    """Largest minus smallest value over the ``gated`` groups (fairlearn's ``between_groups``
    difference); None with fewer than two groups large enough (no gap to measure)."""
    if gated.sum() < 2:
        return None
    return float(np.nanmax(values[gated]) - np.nanmin(values[gated]))


def _max_gap(*gaps: float | None) -> float | None:
    present = [g for g in gaps if g is not None]
    return max(present) if present else None


OVERALL = ("accuracy", "f1_macro")
OUTCOME = ("selection_rate", "false_positive_rate", "false_negative_rate")


def classification_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: list[str],
    sensitive: dict[str, list[str]],
    *,
    positive_label: str | None,
    n_boot: int,
    seed: int,
    min_group_size: int = 1,
) -> dict[str, Any]:
    if positive_label is not None:
        if positive_label not in class_names:
            raise ValueError(f"positive_label {positive_label!r} is not a label value")
        positives, how = [positive_label], "positive_label"
    elif len(class_names) == 2:
        counts = Counter(class_names[i] for i in y_true)
        chosen, how = infer_positive_label({c: counts.get(c, 0) for c in class_names})
        positives = [chosen]
    else:
        positives, how = list(class_names), "one-vs-rest (every class)"
    indices = [class_names.index(positive) for positive in positives]
    k = len(class_names)
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    everyone = np.arange(len(y_true))[None, :]

    columns = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a group missing from every resample: null bounds
        for column, values in sensitive.items():
            names, group = np.unique(
                np.asarray(values, dtype=object).astype(str), return_inverse=True
            )
            point = _confusion(everyone, y_true, y_pred, group, len(names), k)[0]
            records = point.sum(axis=(-2, -1))
            gated = records >= min_group_size
            boot = (
                np.concatenate(
                    [
                        _confusion(rows, y_true, y_pred, group, len(names), k)
                        for rows in _bootstrap_rows(len(y_true), n_boot, seed)
                    ]
                )
                if n_boot
                else None
            )
            by_outcome = []
            for positive, index in zip(positives, indices, strict=True):
                rates = _scores(point, index)
                cis = _intervals(_scores(boot, index)) if boot is not None else None
                by_outcome.append(
                    {
                        "positive_label": positive,
                        "groups": _group_rows(names, records, rates, cis, OUTCOME, min_group_size),
                        "equalized_odds_difference": _max_gap(
                            _gap(rates["true_positive_rate"], gated),
                            _gap(rates["false_positive_rate"], gated),
                        ),
                        "demographic_parity_difference": _gap(rates["selection_rate"], gated),
                    }
                )
            cis = _intervals(_scores(boot, None)) if boot is not None else None
            columns.append(
                {
                    "column": column,
                    "groups": _group_rows(
                        names, records, _scores(point, None), cis, OVERALL, min_group_size
                    ),
                    "small_groups": [str(n) for n, ok in zip(names, gated, strict=True) if not ok],
                    "by_outcome": by_outcome,
                    "equalized_odds_difference": _worst(
                        [o["equalized_odds_difference"] for o in by_outcome]
                    ),
                    "demographic_parity_difference": _worst(
                        [o["demographic_parity_difference"] for o in by_outcome]
                    ),
                }
            )
    return {
        "task": "classification",
        "positive_labels": positives,
        "positive_label_rule": how,
        "bootstrap": {"resamples": n_boot, "quantiles": list(CI), "seed": seed},
        "min_group_size": min_group_size,
        "columns": columns,
        "equalized_odds_difference": _worst([c["equalized_odds_difference"] for c in columns]),
        "demographic_parity_difference": _worst(
            [c["demographic_parity_difference"] for c in columns]
        ),
    }


def group_size_rule(rules: Any, configured: int | None) -> int:
    """The small-group threshold: the setting, else the data audit's (outcome_bias)."""
    from audit.checks.outcome_bias import OutcomeBiasParams

    if configured is not None:
        return configured
    for spec in rules.checks:
        if spec.check == "outcome_bias":
            return int(spec.params.min_group_size)
    return int(OutcomeBiasParams.model_fields["min_group_size"].default)


def _perplexity(nll: np.ndarray) -> float | None:
    tokens = nll[:, 1].sum()
    return _num(math.exp(min(nll[:, 0].sum() / tokens, 700))) if tokens else None


def causal_fairness(
    nll: np.ndarray,
    sensitive: dict[str, list[str]],
    *,
    n_boot: int,
    seed: int,
    min_group_size: int = 1,
) -> dict[str, Any]:
    """Per-group token perplexity; the gap is the largest over smallest group perplexity
    (groups of at least ``min_group_size`` records)."""
    rng = np.random.default_rng(seed)
    columns = []
    for column, values in sensitive.items():
        groups = np.asarray(values, dtype=object)
        rows = []
        for group in sorted({str(g) for g in groups}):
            part = nll[groups == group]
            row: dict[str, Any] = {
                "group": group,
                "records": len(part),
                "tokens": int(part[:, 1].sum()),
                "perplexity": _perplexity(part),
                "small": len(part) < min_group_size,
            }
            if n_boot and len(part):
                draws = [
                    _perplexity(part[rng.integers(0, len(part), len(part))]) for _ in range(n_boot)
                ]
                present = np.array([d for d in draws if d is not None], dtype=float)
                row["perplexity_ci"] = (
                    [float(np.quantile(present, q)) for q in CI] if present.size else None
                )
            rows.append(row)
        values_present = [
            r["perplexity"] for r in rows if r["perplexity"] is not None and not r["small"]
        ]
        columns.append(
            {
                "column": column,
                "groups": rows,
                "small_groups": [r["group"] for r in rows if r["small"]],
                "perplexity_ratio": max(values_present) / min(values_present)
                if len(values_present) > 1 and min(values_present) > 0
                else None,
            }
        )
    return {
        "task": "causal-lm",
        "bootstrap": {"resamples": n_boot, "quantiles": list(CI), "seed": seed},
        "min_group_size": min_group_size,
        "columns": columns,
    }


def _worst(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
