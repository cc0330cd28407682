"""SARIF 2.1.0: failing gate checks and findings as results by file and line.

Code-scanning tools (GitHub code scanning, IDE viewers) then show a dataset's problems where
they are. A SARIF file is uploaded off the machine: findings say where and what kind, never
the text around them (findings.jsonl keeps the masked excerpts), and record ids come masked
from findings.jsonl. Findings are capped (``MAX_FINDINGS``) so a dirty corpus cannot produce a
file too large to upload; the run's properties say how many were left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from audit.report.document import fmt
from audit.report.findings import describe, iter_findings

MAX_FINDINGS = 5000
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def artifact_uri(path: str) -> str:
    """A path as a SARIF ``uri`` reference: percent-encoded (``my data#1.jsonl`` ->
    ``my%20data%231.jsonl``), since a bare ``#`` or ``?`` would cut the file name short."""
    return quote(path.replace("\\", "/"), safe="/")


def _rule_id(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text).strip("-")


def render(result: dict[str, Any], report_dir: str | Path) -> str:
    uri = artifact_uri(result["input"]["path"])
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for check in result["checks"]:
        if check["status"] in ("pass", "not_enough_evidence"):
            continue
        rule_id = f"gate/{_rule_id(check['metric'])}"
        rules.setdefault(
            rule_id,
            {
                "id": rule_id,
                "name": _rule_id(check["name"]),
                "shortDescription": {"text": f"gate check on {check['metric']}"},
            },
        )
        level = "error" if check["severity"] == "fail" else "warning"
        results.append(
            {
                "ruleId": rule_id,
                "level": level,
                "message": {
                    "text": f"{check['name']}: {check['metric']} = {fmt(check['value'])}, "
                    f"required {check['op']} {fmt(check['threshold'])}"
                },
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
            }
        )
    for example in result["details"]["dataset"].get("quarantine_examples", []):
        rules.setdefault(
            "input/quarantined",
            {
                "id": "input/quarantined",
                "shortDescription": {"text": "a malformed record was quarantined"},
            },
        )
        results.append(
            {
                "ruleId": "input/quarantined",
                "level": "note",
                "message": {"text": f"{example['reason']}: {example['error']}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri},
                            "region": {"startLine": example["line"]},
                        }
                    }
                ],
            }
        )
    total = 0
    for finding in iter_findings(report_dir):
        total += 1
        if total > MAX_FINDINGS:
            continue
        kind = str(finding.get("entity") or finding.get("kind") or "finding")
        rule_id = f"finding/{_rule_id(kind)}"
        rules.setdefault(
            rule_id,
            {
                "id": rule_id,
                "shortDescription": {"text": f"{kind} detected in a record"},
            },
        )
        location: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if isinstance(finding.get("line"), int):
            location["region"] = {"startLine": finding["line"]}
        results.append(
            {
                "ruleId": rule_id,
                "level": "warning",
                "message": {
                    "text": f"record {finding.get('id', '?')}: {describe(finding, excerpt=False)}"
                },
                "locations": [{"physicalLocation": location}],
            }
        )
    sarif = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "curate",
                        "version": result["tool"]["version"],
                        "informationUri": "https://pypi.org/project/curate/",
                        "rules": sorted(rules.values(), key=lambda r: r["id"]),
                    }
                },
                "results": results,
                "properties": {
                    "verdict": result["verdict"],
                    "findings_total": total,
                    "findings_omitted": max(0, total - MAX_FINDINGS),
                },
            }
        ],
    }
    return json.dumps(sarif, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
