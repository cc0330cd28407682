"""Comparing an audit with the last accepted one: regressions become gate checks.

A data gate in CI should not only hold absolute thresholds but also catch drift: a PII rate
that rises, a new kind of personal data, a group whose share moves, a duplicate rate that grows.
"""

from __future__ import annotations

import fnmatch
import math
from typing import Any

from curate.rules import BaselineRules


def _entities(audit: dict[str, Any]) -> set[str]:
    pii = audit.get("details", {}).get("pii") or {}
    return {row["entity"] for row in pii.get("by_entity", []) if row.get("findings")}


def group_shares(audit: dict[str, Any]) -> dict[str, float]:
    """Every group share the audit measured, keyed ``check/axis-or-column/group``."""
    shares: dict[str, float] = {}
    details = audit.get("details", {})
    for axis in (details.get("representation") or {}).get("axes", []):
        for group in axis.get("groups", []):
            if group.get("share") is not None:
                shares[f"representation/{axis['axis']}/{group['group']}"] = group["share"]
    for column in (details.get("outcome_bias") or {}).get("columns", []):
        for group in column.get("groups", []):
            shares[f"outcome_bias/{column['column']}/{group['group']}"] = group["share"]
    labels = (details.get("dataset") or {}).get("labels") or {}
    total = sum(labels.values())
    for label, count in labels.items():
        shares[f"dataset/label/{label}"] = count / total
    return shares


def difference(before: Any, after: Any) -> float:
    """``after - before``, with floating-point noise (``-5.551e-17``) as exactly 0."""
    delta = float(after) - float(before)
    scale = max(1.0, abs(float(before)), abs(float(after)))
    return 0.0 if math.isclose(delta, 0.0, abs_tol=1e-12 * scale) else delta


def _shown(value: float) -> str:
    return f"{0.0 if abs(value) < 1e-12 else value:.4g}"  # no -5.551e-17 in a check's name


def _check(name: str, metric: str, value: float, threshold: float, severity: str) -> dict[str, Any]:
    ok = value <= threshold
    return {
        "name": name,
        "metric": metric,
        "value": value,
        "op": "<=",
        "threshold": threshold,
        "severity": severity,
        "status": "pass" if ok else ("fail" if severity == "fail" else "warn"),
    }


def compare(old: dict[str, Any], new: dict[str, Any], rules: BaselineRules) -> list[dict[str, Any]]:
    """Regression checks of ``new`` against ``old`` (both audit results)."""
    checks = []
    old_metrics, new_metrics = old.get("metrics", {}), new.get("metrics", {})
    for metric in sorted(new_metrics):
        limits = [tol for pattern, tol in rules.metrics.items() if fnmatch.fnmatch(metric, pattern)]
        before, after = old_metrics.get(metric), new_metrics.get(metric)
        if not limits or before is None or after is None:
            continue
        rise = difference(before, after)
        checks.append(
            _check(
                f"baseline: {metric} rose at most {min(limits):g} "
                f"(was {_shown(before)}, now {_shown(after)})",
                f"baseline.{metric}.increase",
                rise,
                min(limits),
                rules.severity,
            )
        )
    if rules.new_entity_types and "pii" in new.get("details", {}):
        appeared = sorted(_entities(new) - _entities(old))
        label = ", ".join(appeared) if appeared else "none"
        checks.append(
            _check(
                f"baseline: no new PII entity types (new: {label})",
                "baseline.pii.new_entity_types",
                float(len(appeared)),
                0.0,
                rules.severity,
            )
        )
    before_shares, after_shares = group_shares(old), group_shares(new)
    common = sorted(set(before_shares) | set(after_shares))
    if common:
        moves = {k: abs(after_shares.get(k, 0.0) - before_shares.get(k, 0.0)) for k in common}
        worst = max(moves, key=lambda k: (moves[k], k))
        checks.append(
            _check(
                f"baseline: group shares moved at most {rules.max_group_share_shift:g} "
                f"(largest: {worst})",
                "baseline.max_group_share_shift",
                moves[worst],
                rules.max_group_share_shift,
                rules.severity,
            )
        )
    return checks


def metric_deltas(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric in either audit with its old and new value (for ``curate diff``).

    ``changed`` is false when both values are equal up to floating-point noise (or both
    missing); ``delta`` is None when either is missing.
    """
    rows = []
    old_metrics, new_metrics = old.get("metrics", {}), new.get("metrics", {})
    for metric in sorted(set(old_metrics) | set(new_metrics)):
        before, after = old_metrics.get(metric), new_metrics.get(metric)
        numeric = all(isinstance(v, (int, float)) for v in (before, after))
        delta = difference(before, after) if numeric else None
        changed = delta != 0 if numeric else before != after
        rows.append(
            {"metric": metric, "old": before, "new": after, "delta": delta, "changed": changed}
        )
    return rows
