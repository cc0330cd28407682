"""Reading back findings.jsonl for the renderers that show findings by file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def iter_findings(report_dir: str | Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    path = Path(report_dir) / "findings.jsonl"
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                return
            if line.strip():
                yield json.loads(line)


def describe(finding: dict[str, Any], *, excerpt: bool = True) -> str:
    """One line about a finding; only masked material (the excerpt is masked at the source).

    ``excerpt=False`` for what leaves the machine (SARIF, GitHub annotations): where and what
    kind, no text around it at all."""
    kind = finding.get("entity") or finding.get("kind") or finding.get("check") or "finding"
    where = finding.get("field") or finding.get("path") or ""
    role = finding.get("role")
    place = f" in {where}" + (f" ({role})" if role else "") if where else ""
    shown = finding.get("excerpt") if excerpt else None
    return f"{kind}{place}" + (f": {shown}" if shown else "")
