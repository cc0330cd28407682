"""``curate audit``: measure a dataset against the rules and decide pass or fail.

The cleaning steps run in score-only mode (every step flags, nothing is removed), the checks read
every batch, the gate turns metrics and thresholds into checks and a verdict, and the reports
render one data structure: the audit result written as ``audit.json``.
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
from audit.signing import (  # TamperedError, content_digest, load_audit: also imported from here
    TamperedError,  # noqa: F401
    check_keys,
    content_digest,
    load_audit,
    signature_for,
)
from audit.sink import AuditSink
from curate.atomic import LineWriter, write_json
from curate.checkpoint import DEFAULT_EVERY, Position, held_run
from curate.cleaning import provenance
from curate.errors import EXIT_GATE_FAILED
from curate.ledger import Ledger
from curate.progress import start_phase
from curate.rules import Rules, load_rules
from curate.runner import Progress, check_engine, run_local
from curate.sources import open_source

SCHEMA_VERSION = 1
#: What an audit writes into its folder (a killed run's temp files of these are swept).
REPORT_FILES = (
    "findings.jsonl",
    "audit.md",
    "audit.html",
    "junit.xml",
    "audit.sarif",
    "audit.json",
)


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


def run_audit(
    data_path: str | Path | Any,
    report_dir: str | Path,
    rules: Rules | str | Path | None = None,
    *,
    progress: Progress | None = None,
    baseline: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: float = DEFAULT_EVERY,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
) -> AuditResult:
    """Audit one input; writes audit.json, findings.jsonl and the rendered reports.

    The input is a path or anything ``curate.sources.open_source`` accepts (a saved
    ``datasets`` folder, a ``datasets.Dataset``, a polars or pandas DataFrame, a list of dicts).

    With ``baseline`` (an earlier audit.json or its folder), regressions against it are added
    to the gate checks. The engine options are ``curate.runner.check_engine``'s.
    """
    report_dir = Path(report_dir)
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    check_engine(engine, resume=resume, workers=workers)
    check_keys()
    old = load_audit(baseline, verify=True) if baseline is not None else None
    if engine == "ray":
        from curate import engine_ray as R

        plan = R.planned(data_path, rules)
    data = open_source(data_path) if engine == "local" else data_path
    files = list(REPORT_FILES)
    with held_run(report_dir, files, "audit", rules, data, checkpoint_every, resume) as ckpt:
        findings = ckpt.writer(report_dir / "findings.jsonl")
        sink = AuditSink(rules, findings)
        if engine == "ray":
            # each block is measured by an AuditSink in a worker (``SinkBlocks``); this one
            # adds their totals up and writes their findings, in input order
            extras = R.SinkBlocks(rules, AuditSink)
            options = {"action": "flag", "work": None, "copies_are_added": False}
            run, info = R.run_on_ray(plan, rules, address, num_cpus, extras=extras, **options)
            ledger = run.ledger
            for partial in run.partials:
                lines, share = partial["extras"]
                sink.add(share)
                for line in lines:
                    findings.write_line(line)
        else:
            ledger, _ = run_local(
                data,
                rules,
                sink,
                ckpt,
                action="flag",
                scans=sink.checks,
                progress=progress,
                workers=workers,
                copies_are_added=False,
            )
            info = provenance(data, rules)
        result = audit_result(rules, info, ledger, sink, findings, old, baseline)
        start_phase(progress, "reports")
        publish(result, report_dir, findings)
    return AuditResult(report_dir, result, ckpt.resumed_from)


def publish(result: dict[str, Any], report_dir: Path, findings: Any) -> None:
    """Put a finished audit in place: findings, the rendered reports, then audit.json.

    audit.json is the mark of a complete run: it goes first and comes back last, so a kill
    never leaves an old one next to new reports. Every other old report goes with it, and a
    failure while publishing (a full disk) removes what was written of the new set: the folder
    then holds no report at all, never new reports beside an old one.
    """
    from audit.report import render_all

    for name in ("audit.json", *REPORT_FILES):
        (report_dir / name).unlink(missing_ok=True)
    try:
        findings.commit()
        render_all(result, report_dir)
        write_json(report_dir / "audit.json", result)
    except BaseException:
        for name in REPORT_FILES:
            (report_dir / name).unlink(missing_ok=True)
        raise


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
    measured, by_check, without_evidence = sink.measured(rules)
    metrics.update(measured)
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


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)
