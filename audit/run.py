"""``curate audit``: measure a dataset against the rules and decide pass or fail.

The cleaning steps run in score-only mode (every step flags, nothing is removed), the checks read
every batch, the gate turns metrics and thresholds into checks and a verdict, and the reports
render one data structure: the audit result written as ``audit.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from audit import gate
from audit.baseline import compare
from audit.signing import check_signature, signature_for
from audit.stats import DatasetStats
from curate import batch as B
from curate.atomic import AtomicWriter, write_json
from curate.checkpoint import DEFAULT_EVERY, Checkpointer, Position, discard, for_run
from curate.cleaning import count_read, provenance, require_records
from curate.errors import EXIT_GATE_FAILED, CurateError, InputError
from curate.ledger import Ledger
from curate.outdir import claim
from curate.parallel import split_for_workers
from curate.pipeline import StepRunner, build_checks, build_steps, chain, finish_summaries
from curate.rules import Rules, load_rules
from curate.sources import Source, open_source

SCHEMA_VERSION = 1
DEDUPE_STEPS = {"dedupe_exact", "dedupe_near"}
DUPLICATE_REASONS = ["exact_duplicate", "near_duplicate"]
QUARANTINE_EXAMPLES = 20
#: What an audit writes into its folder (a killed run's temp files of these are swept).
REPORT_FILES = (
    "findings.jsonl",
    "audit.md",
    "audit.html",
    "junit.xml",
    "audit.sarif",
    "audit.json",
)
Progress = Callable[[int, int], None]


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


def content_digest(data: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of the audit result, without the digest and signature."""
    body = {k: v for k, v in data.items() if k not in ("digest", "signature")}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


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
) -> AuditResult:
    """Audit one input; writes audit.json, findings.jsonl and the rendered reports.

    The input is a path or anything ``curate.sources.open_source`` accepts (a saved
    ``datasets`` folder, a ``datasets.Dataset``, a polars or pandas DataFrame, a list of dicts).

    With ``baseline`` (an earlier audit.json or its folder), regressions against it are added
    to the gate checks. With ``resume`` (a file input only), the run checkpoints every
    ``checkpoint_every`` seconds and continues from the last checkpoint a killed run left.
    ``workers`` processes (default: one per core; 1 with ``resume``) share the per-record
    work; the results do not depend on how many.
    """
    report_dir = Path(report_dir)
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    data = open_source(data_path)
    old = load_audit(baseline, verify=True) if baseline is not None else None
    report_dir.mkdir(parents=True, exist_ok=True)
    with claim(report_dir, REPORT_FILES):  # one run per folder; sweeps what killed runs left
        ckpt = for_run(report_dir, "audit", rules, data, checkpoint_every) if resume else None
        return _run_audit(data, report_dir, rules, progress, baseline, old, ckpt, workers)


def _run_audit(
    data: Source,
    report_dir: Path,
    rules: Rules,
    progress: Progress | None,
    baseline: str | Path | None,
    old: dict[str, Any] | None,
    ckpt: Checkpointer | None,
    workers: int | None = None,
) -> AuditResult:
    source = data.label
    ledger = Ledger()
    stats = DatasetStats(seed=rules.seed, label=rules.fields.label)
    checks = build_checks(rules)
    # The same checks on the data as it would be after duplicate removal: a value repeated in
    # a thousand copies is one problem, not a thousand.
    dedupes = any(s.step in DEDUPE_STEPS for s in rules.steps)
    collapsed_checks = build_checks(rules) if rules.collapsed_metrics and dedupes else []
    collapsed = {"records": 0}
    quarantine_examples: list[dict[str, Any]] = []
    findings: Any = (
        ckpt.writer(report_dir / "findings.jsonl")
        if ckpt
        else AtomicWriter(report_dir / "findings.jsonl")
    )
    try:
        with tempfile.TemporaryDirectory(prefix=".work-", dir=report_dir) as work:
            steps = build_steps(rules)
            runners = [
                StepRunner(spec, step, ledger, on_drop=lambda *_: None, action="flag")
                for spec, step in steps
            ]
            if ckpt:
                ckpt.track("ledger", ledger)
                ckpt.track("stats", stats)
                ckpt.track("quarantine_examples", quarantine_examples)
                ckpt.track("collapsed", collapsed)
                for runner in runners:
                    runner.count = ledger.steps[runner.spec.id]  # restored with the ledger
                    ckpt.track(f"step:{runner.spec.id}", runner.step)
                for i, check in enumerate(checks):
                    ckpt.track(f"check:{i}", check)
                for i, check in enumerate(collapsed_checks):
                    ckpt.track(f"collapsed_check:{i}", check)

            def frames() -> Any:
                done = 0
                for read in ckpt.reads(data.read(rules)) if ckpt else data.read(rules):
                    count_read(ledger, read)
                    for q in read.quarantined[: QUARANTINE_EXAMPLES - len(quarantine_examples)]:
                        # Only where and why: the raw line may hold personal data.
                        quarantine_examples.append(
                            {
                                "line": q.line,
                                "reason": q.reason,
                                "error": f"{source}:{q.line}: {q.error}",
                            }
                        )
                    done += read.bytes_read
                    if progress:
                        progress(read.frame.height + len(read.quarantined), done)
                    yield read.frame

            head = split_for_workers(rules, runners, checks, workers, ckpt, data)
            for frame in chain(head(frames()), runners[len(head.runners) :], Path(work), ckpt):
                ledger.kept += frame.height
                stats.update(frame)
                for check in checks:
                    for finding in check.update(frame) or ():
                        findings.write_line(orjson.dumps(finding))
                if collapsed_checks:
                    unique = frame.filter(~is_duplicate(frame))
                    collapsed["records"] += unique.height
                    for check in collapsed_checks:
                        for _ in check.update(unique) or ():
                            pass  # the findings were written by the raw pass
            require_records(ledger, source)
            finish_summaries(runners)
            ledger.check()

        result = audit_result(
            rules=rules,
            provenance_info=provenance(data, rules),
            ledger=ledger,
            stats=stats,
            checks=checks,
            collapsed_checks=collapsed_checks,
            collapsed_records=collapsed["records"],
            quarantine_examples=quarantine_examples,
            findings_output={"lines": findings.lines, "sha256": findings.sha256},
            old=old,
            baseline=baseline,
        )
        publish(result, report_dir, findings)
    except BaseException:
        findings.abort()
        raise
    if ckpt:
        ckpt.finish()
    else:
        discard(report_dir, "audit")  # an older interrupted run's checkpoint is obsolete now
    return AuditResult(report_dir, result, ckpt.resumed_from if ckpt else None)


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
    *,
    rules: Rules,
    provenance_info: dict[str, Any],
    ledger: Ledger,
    stats: DatasetStats,
    checks: list[Any],
    collapsed_checks: list[Any],
    collapsed_records: int,
    quarantine_examples: list[dict[str, Any]],
    findings_output: dict[str, Any],
    old: dict[str, Any] | None,
    baseline: str | Path | None,
) -> dict[str, Any]:
    """audit.json's content from what a run measured (shared by the local and Ray engines)."""
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
    details["dataset"]["quarantine_examples"] = quarantine_examples
    details["dataset"]["quarantined_by_reason"] = dict(sorted(ledger.quarantine_reasons.items()))
    details["steps"] = [c.to_json() for c in ledger.steps.values()]
    for spec, check in zip(rules.checks, checks, strict=True):
        metrics.update({f"{spec.check}.{k}": v for k, v in check.result().items()})
        details[spec.check] = check.details()
    if collapsed_checks:
        details["collapsed"] = {"records": collapsed_records, "checks": {}}
        for spec, check in zip(rules.checks, collapsed_checks, strict=True):
            result_ = check.result()
            metrics.update({f"collapsed.{spec.check}.{k}": v for k, v in result_.items()})
            details["collapsed"]["checks"][spec.check] = result_

    gate_checks = gate.evaluate(rules.gate, metrics) + gate.integrity_checks(details)
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
        "outputs": {"findings.jsonl": findings_output},
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


def is_duplicate(frame: pl.DataFrame) -> pl.Series:
    """Rows a dedupe step flagged (the audit runs every step in flag mode)."""
    if B.FLAGS not in frame.columns:
        return pl.Series([False] * frame.height)
    reasons = frame[B.FLAGS].list.eval(pl.element().struct.field("reason"))
    return reasons.list.eval(pl.element().is_in(DUPLICATE_REASONS)).list.any().fill_null(False)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def load_audit(
    path: str | Path, *, verify: bool = True, require_signed: bool = False
) -> dict[str, Any]:
    """Read an audit.json (or its folder); with ``verify``, refuse one whose digest differs.

    With ``verify``, the signature is checked too when ``CURATE_SIGNING_KEY`` is set (see
    ``audit.signing``); ``require_signed`` refuses an audit whose signature was not verified.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "audit.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: audit file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid audit.json: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict) or data.get("kind") != "curate-audit":
        raise InputError(f"{path}: not a curate audit result")
    if verify:
        recorded = (data.get("digest") or {}).get("value")
        if recorded != content_digest(data):
            raise TamperedError(
                f"{path}: digest mismatch: the audit result was edited after it was written"
            )
        check_signature(data, str(path), required=require_signed)
    elif require_signed:
        raise TamperedError(f"{path}: a signed audit was required but not verified")
    return data


class TamperedError(CurateError):
    """An audit result whose content no longer matches its digest."""

    exit_code = EXIT_GATE_FAILED
