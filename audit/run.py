"""``curate audit``: measure a dataset against the rules and decide pass or fail.

The cleaning steps run in score-only mode (every step flags, nothing is removed), the checks read
every batch, the gate turns metrics and thresholds into checks and a verdict, and the reports
render one data structure: the audit result written as ``audit.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audit.result import AuditResult, audit_result  # AuditResult: also imported from here
from audit.signing import check_keys, load_audit  # load_audit: also imported from here
from audit.sink import AuditSink
from curate.atomic import write_json
from curate.checkpoint import DEFAULT_EVERY, held_run
from curate.cleaning import provenance
from curate.progress import start_phase
from curate.rules import Rules, load_rules
from curate.runner import Progress, check_engine, run_local
from curate.sources import open_source

#: What an audit writes into its folder (a killed run's temp files of these are swept).
REPORT_FILES = (
    "findings.jsonl",
    "audit.md",
    "audit.html",
    "junit.xml",
    "audit.sarif",
    "audit.json",
)


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
            output = R.SinkBlocks(rules, AuditSink)
            options = {"action": "flag", "copies_are_added": False, "num_cpus": num_cpus}
            run = R.run_pipeline(*plan, address=address, output=output, **options)
            ledger, info = run.ledger, run.info
            for lines, share in run.outputs:
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
