"""GitHub Actions workflow commands: failing checks and findings as annotations.

Annotations are shown off the machine (the job log, the pull request): a finding says where
and what kind, never the text around it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audit.report.document import fmt
from audit.report.findings import describe, iter_findings

MAX_ANNOTATIONS = 50


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: dict[str, Any], report_dir: str | Path) -> str:
    path = _escape_property(result["input"]["path"])
    lines = []
    for check in result["checks"]:
        if check["status"] in ("pass", "not_enough_evidence"):
            continue
        command = "error" if check["severity"] == "fail" else "warning"
        title = _escape_property(f"curate gate: {check['name']}")
        message = (
            f"{check['metric']} = {fmt(check['value'])}, required {check['op']} "
            f"{fmt(check['threshold'])} ({check['status']})"
        )
        lines.append(f"::{command} file={path},title={title}::{_escape_data(message)}")
    for finding in iter_findings(report_dir, limit=MAX_ANNOTATIONS):
        line = finding.get("line")
        where = f"file={path}" + (f",line={line}" if isinstance(line, int) else "")
        message = _escape_data(describe(finding, excerpt=False))
        lines.append(f"::warning {where},title=curate finding::{message}")
    verdict = result["verdict"].upper()
    # The file name is data: escaped, a newline in it cannot start a workflow command.
    shown = _escape_data(f"{verdict} ({result['input']['path']})")
    lines.append(f"::notice title=curate verdict::{shown}")
    return "\n".join(lines) + "\n"
