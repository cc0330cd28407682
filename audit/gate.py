"""The gate: metrics + the rules' thresholds -> checks with a status -> a verdict.

A check whose metric could not be computed (e.g. a label metric without a label column) is
``missing``; with severity ``fail`` that fails the gate, since a gate that cannot measure must
not pass silently. A metric its check left out because the data holds too little evidence
(e.g. a handful of group mentions) is ``not_enough_evidence``: neither a pass, nor a warning,
nor a failure.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from curate.rules import GateRule

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


NO_EVIDENCE = "not_enough_evidence"


def status_label(status: str) -> str:
    """A status as reports print it: ``NOT ENOUGH EVIDENCE``, ``PASS``."""
    return status.replace("_", " ").upper()


def evaluate(
    rules: list[GateRule], metrics: dict[str, Any], without_evidence: set[str] | None = None
) -> list[dict[str, Any]]:
    checks = []
    for rule in rules:
        value = metrics.get(rule.metric)
        if value is None and rule.metric in (without_evidence or set()):
            status = NO_EVIDENCE
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            status = "missing"
        else:
            ok = OPS[rule.op](float(value), rule.threshold)
            status = "pass" if ok else ("fail" if rule.severity == "fail" else "warn")
        if status == "missing" and rule.severity == "warn":
            status = "warn"
        checks.append(
            {
                "name": rule.name or f"{rule.metric} {rule.op} {rule.threshold:g}",
                "metric": rule.metric,
                "value": value,
                "op": rule.op,
                "threshold": rule.threshold,
                "severity": rule.severity,
                "status": status,
            }
        )
    return checks


#: Counts (check, key in its details) that say a measurement gave up: findings may be missing,
#: so the gate cannot pass, whatever thresholds the rules set.
INCOMPLETE = {
    ("pii", "regex_timeouts"): "a custom PII regex ran out of time on some texts (findings "
    "may be missing): fix the pattern",
}


def integrity_checks(details: dict[str, Any]) -> list[dict[str, Any]]:
    """Checks that hold whatever the rules say: an incomplete measurement fails the gate."""
    checks = []
    for (check, key), why in INCOMPLETE.items():
        value = (details.get(check) or {}).get(key)
        if value:
            checks.append(
                {
                    "name": f"{check}.{key} == 0: {why}",
                    "metric": f"{check}.{key}",
                    "value": value,
                    "op": "==",
                    "threshold": 0.0,
                    "severity": "fail",
                    "status": "fail",
                }
            )
    return checks


def verdict(checks: list[dict[str, Any]]) -> str:
    failed = any(c["severity"] == "fail" and c["status"] in ("fail", "missing") for c in checks)
    return "fail" if failed else "pass"
