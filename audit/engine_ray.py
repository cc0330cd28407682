"""``curate audit --engine ray``: the steps (flag mode), the statistics and the checks on Ray.

The steps run as in ``curate.engine_ray`` with every action set to flag. In the last pass each
block computes, in the worker, its share of the dataset statistics and of every check: the
check objects are built once per worker from the rules and their totals are taken per block.
The driver adds the totals up in block order, which is the input order, so the result is the
local one: counts add, ``Counter`` keys keep their first-seen order, the findings are written in
the same order, and each check computes its metrics (fairlearn's, for ``outcome_bias``) once,
on the driver, from the added totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from audit.run import (
    QUARANTINE_EXAMPLES,
    AuditResult,
    audit_result,
    dedupe_step_ids,
    is_duplicate,
    load_audit,
    publish,
)
from audit.stats import DatasetStats
from curate import batch as B
from curate import engine_ray as R
from curate import registry
from curate.atomic import AtomicWriter
from curate.errors import CurateError
from curate.pipeline import build_checks, build_steps
from curate.registry import Totals
from curate.rules import Rules, load_rules

# Bookkeeping columns the local engine's frames do not have; checks see the frame without them.
_HIDDEN = [c for c in R.FATE_SCHEMA if c not in (B.FLAGS, B.UPSAMPLED)]


def _collapse(rules: Rules) -> bool:
    return rules.collapsed_metrics and bool(dedupe_step_ids(rules))


def _worker_checks(rules: Rules, role: str) -> list[Any]:
    def build() -> list[Any]:
        registry.load_plugins()  # a worker gets the rules unpickled, not loaded
        return build_checks(rules)

    return R.worker_cached(("checks", role, *R.rules_key(rules)), build)


def _stats_share(frame: pl.DataFrame, rules: Rules) -> Totals:
    stats = DatasetStats(label=rules.fields.label)
    stats.update(frame)
    return stats.totals


def _checks_share(
    frame: pl.DataFrame, checks: list[Any], keep_findings: bool
) -> tuple[list[Totals], list[bytes]]:
    totals: list[Totals] = []
    findings: list[bytes] = []
    for check in checks:
        check.take_totals()  # a task that failed in this process left totals behind
        for finding in check.update(frame) or ():
            if keep_findings:
                findings.append(orjson.dumps(finding))
        totals.append(check.take_totals())
    return totals, findings


class AuditBlock:
    """``extras`` for the last pass: a block's share of statistics, checks and examples."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def __call__(self, frame: pl.DataFrame) -> dict[str, Any]:
        records = frame.filter(R.live_mask(frame))
        view = records.drop(_HIDDEN)
        if not view[B.UPSAMPLED].any():
            view = view.drop(B.UPSAMPLED)  # as locally, where only upsampling adds it
        share: dict[str, Any] = {"records": view.height, "examples": []}
        for payload in frame.filter(pl.col(R.KIND) == R.QUARANTINED)[R.PAYLOAD].head(
            QUARANTINE_EXAMPLES
        ):
            entry = orjson.loads(payload)  # only where and why: the raw line may be personal
            share["examples"].append(
                {"line": entry["line"], "reason": entry["reason"], "error": entry["error"]}
            )
        if view.height == 0:  # the local engine never shows checks an empty frame
            return share
        share["stats"] = _stats_share(view, self.rules)
        share["checks"], share["findings"] = _checks_share(
            view, _worker_checks(self.rules, "raw"), keep_findings=True
        )
        if _collapse(self.rules):
            unique = view.filter(~is_duplicate(view, dedupe_step_ids(self.rules)))
            share["collapsed_records"] = unique.height
            share["collapsed"], _ = _checks_share(
                unique, _worker_checks(self.rules, "collapsed"), keep_findings=False
            )
        return share


def _add_totals(checks: Sequence[Any], totals: Sequence[Totals]) -> None:
    for check, part in zip(checks, totals, strict=True):
        check.add_totals(part)


def run_audit_ray(
    data_path: str | Path,
    report_dir: str | Path,
    rules: Rules | str | Path | None = None,
    *,
    baseline: str | Path | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> AuditResult:
    """``curate audit`` on Ray: the same audit.json, findings.jsonl and reports as locally."""
    from curate.outdir import claim

    report_dir = Path(report_dir)
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    inputs = R.list_inputs(data_path, rules)
    old = load_audit(baseline, verify=True) if baseline is not None else None
    steps = build_steps(rules)
    R.check_supported(rules, steps)
    report_dir.mkdir(parents=True, exist_ok=True)
    with claim(report_dir), R.ray_session(address, num_cpus):
        try:
            return _audit(inputs, report_dir, rules, steps, old, baseline)
        except CurateError:
            raise
        except Exception as exc:
            R.reraise_curate(exc)
            raise


def _audit(
    inputs: R.Inputs,
    report_dir: Path,
    rules: Rules,
    steps: list[tuple[Any, Any]],
    old: dict[str, Any] | None,
    baseline: str | Path | None,
) -> AuditResult:
    stats = DatasetStats(label=rules.fields.label)
    checks = build_checks(rules)
    collapsed_checks = build_checks(rules) if _collapse(rules) else []
    findings = AtomicWriter(report_dir / "findings.jsonl")
    try:
        run = R.run_pipeline(
            inputs,
            rules,
            steps,
            action="flag",
            work=None,
            extras=AuditBlock(rules),
            copies_are_added=False,
        )
        examples: list[dict[str, Any]] = []
        collapsed_records = 0
        for partial in run.partials:
            share = partial["extras"]
            examples += share["examples"][: QUARANTINE_EXAMPLES - len(examples)]
            if "stats" not in share:
                continue
            stats.add_totals(share["stats"])
            _add_totals(checks, share["checks"])
            for line in share["findings"]:
                findings.write_line(line)
            if collapsed_checks:
                collapsed_records += share["collapsed_records"]
                _add_totals(collapsed_checks, share["collapsed"])
        result = audit_result(
            rules=rules,
            provenance_info=R.provenance(inputs, rules),
            ledger=run.ledger,
            stats=stats,
            checks=checks,
            collapsed_checks=collapsed_checks,
            collapsed_records=collapsed_records,
            quarantine_examples=examples,
            findings_output={"lines": findings.lines, "sha256": findings.sha256},
            old=old,
            baseline=baseline,
        )
        publish(result, report_dir, findings)
    except BaseException:
        findings.abort()
        raise
    return AuditResult(report_dir, result)
