"""The audit result: audit.json's content from what a run measured (statistics, step counts,
each check's metrics and details, the gate's checks and verdict, the baseline comparison, the
digest and signature), and ``AuditResult``, what ``run_audit`` returns with it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import gate
from audit.baseline import compare
from audit.signing import content_digest, signature_for
from audit.sink import AuditSink
from curate.atomic import LineWriter
from curate.checkpoint import Position
from curate.errors import EXIT_GATE_FAILED
from curate.ledger import Ledger
from curate.rules import Rules

SCHEMA_VERSION = 1


@dataclass
class AuditResult:
    """What an audit decided; ``data`` is audit.json, the reports are in ``report_dir``."""

    report_dir: Path
    data: dict[str, Any]
    #: where a ``resume`` run took over from a killed one (None: it started from the beginning)
    resumed_from: Position | None = None

    @property
    def verdict(self) -> str:
        return str(self.data["verdict"])

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this verdict: 0 pass, 1 gate failed."""
        return 0 if self.passed else EXIT_GATE_FAILED

    @property
    def checks(self) -> list[dict[str, Any]]:
        return list(self.data["checks"])

    @property
    def failures(self) -> list[dict[str, Any]]:
        """The gate checks that make the verdict fail (warnings excluded)."""
        return [
            c
            for c in self.data["checks"]
            if c["status"] in ("fail", "missing") and c["severity"] == "fail"
        ]

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.data["metrics"])

    def path(self, name: str) -> Path:
        """A report file by name: audit.json, audit.md, audit.html, audit.sarif, junit.xml..."""
        return self.report_dir / name


def _created() -> str:
    """Creation time; SOURCE_DATE_EPOCH pins it so reruns can be byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def audit_result(
    rules: Rules,
    provenance_info: dict[str, Any],
    ledger: Ledger,
    sink: AuditSink,
    findings: LineWriter,
    old: dict[str, Any] | None,
    baseline: str | Path | None,
) -> dict[str, Any]:
    """audit.json's content from what a run measured (either engine)."""
    stats = sink.stats
    metrics: dict[str, Any] = {
        f"dataset.{k}": v for k, v in stats.metrics(ledger.records, ledger.quarantined).items()
    }
    valid = max(1, ledger.records - ledger.quarantined)
    for count in ledger.steps.values():
        flagged = sum(count.flagged.values())
        metrics[f"steps.{count.id}.flagged"] = flagged
        metrics[f"steps.{count.id}.flagged_rate"] = flagged / valid
        metrics[f"steps.{count.id}.changed_rate"] = count.changed / valid
    details: dict[str, Any] = {"dataset": stats.details()}
    details["dataset"]["quarantine_examples"] = sink.examples
    details["dataset"]["quarantined_by_reason"] = dict(sorted(ledger.quarantine_reasons.items()))
    details["steps"] = [c.to_json() for c in ledger.steps.values()]
    by_metric, by_check, without_evidence = measured(sink, rules)
    metrics.update(by_metric)
    details.update(by_check)
    gate_checks = gate.evaluate(rules.gate, metrics, without_evidence)
    gate_checks += gate.integrity_checks(details)
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "curate-audit",
        "created": _created(),
        **provenance_info,
        "verdict": gate.verdict(gate_checks),
        "checks": gate_checks,
        "metrics": metrics,
        "details": details,
        "counts": ledger.to_json(),
        "rules_config": rules.canonical(),
        "outputs": {"findings.jsonl": {"lines": findings.lines, "sha256": findings.sha256}},
    }
    result = json.loads(json.dumps(result, default=_jsonable))
    if old is not None:
        result["checks"] += compare(old, result, rules.baseline)
        result["verdict"] = gate.verdict(result["checks"])
        result["baseline"] = {
            "path": str(baseline),
            "input_sha256": old["input"]["sha256"],
            "digest": old["digest"]["value"],
            "created": old["created"],
        }
    result["digest"] = {"algorithm": "sha256", "value": content_digest(result)}
    signature = signature_for(result["digest"]["value"])
    if signature is not None:
        result["signature"] = signature
    return result


def measured(sink: AuditSink, rules: Rules) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """The checks' metrics (``<check>.<metric>``), details, and the metrics they left
    without evidence (the gate then says so instead of failing them), for audit.json."""
    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {}
    unmeasured: set[str] = set()
    for spec, check in zip(rules.checks, sink.checks, strict=True):
        metrics.update({f"{spec.check}.{k}": v for k, v in check.result().items()})
        details[spec.check] = check.details()
        unmeasured |= {f"{spec.check}.{name}" for name in check.without_evidence()}
    if sink.collapsed_checks:
        details["collapsed"] = {"records": sink.collapsed_records, "checks": {}}
        for spec, check in zip(rules.checks, sink.collapsed_checks, strict=True):
            result = check.result()
            metrics.update({f"collapsed.{spec.check}.{k}": v for k, v in result.items()})
            details["collapsed"]["checks"][spec.check] = result
            unmeasured |= {f"collapsed.{spec.check}.{n}" for n in check.without_evidence()}
    return metrics, details, unmeasured


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)
