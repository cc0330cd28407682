"""Representation is gated only on enough mentions; below that it says so, without a warning."""

from __future__ import annotations

import json
from pathlib import Path

RULES = """\
name: t
fields: {text: text}
checks:
  - check: representation
    axes: [gender]
    targets: []
gate:
  - metric: representation.max_representation_score
    threshold: 0.3
    severity: fail
    name: gender skew at most 0.3
  - metric: representation.gender_representation_score
    threshold: 0.3
    severity: warn
"""


def _audit(tmp_path: Path, cli, texts: list[str]) -> tuple[int, dict, str]:
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    (tmp_path / "r.yaml").write_text(RULES)
    code, out, err = cli(
        "audit", data, "--rules", tmp_path / "r.yaml", "--report", tmp_path / "rep", "--json"
    )
    assert code in (0, 1), err
    return code, json.loads(out), (tmp_path / "rep" / "audit.md").read_text()


def test_a_few_mentions_are_not_enough_evidence_not_a_warning(tmp_path: Path, cli) -> None:
    texts = ["He called about his order."] * 3 + ["The parcel arrived late."] * 20
    code, summary, md = _audit(tmp_path, cli, texts)
    assert code == 0 and summary["verdict"] == "pass"  # a fail-severity rule did not fail
    statuses = {c["metric"]: c["status"] for c in summary["checks"]}
    assert set(statuses.values()) == {"not_enough_evidence"}
    assert "| NOT ENOUGH EVIDENCE |" in md
    assert "0 warnings, 2 without enough evidence to judge (not gated)" in md
    assert "Axes with fewer than 30 mentions are not scored" in md


def test_no_mentions_at_all_is_not_enough_evidence(tmp_path: Path, cli) -> None:
    code, summary, _ = _audit(tmp_path, cli, ["The parcel arrived late."] * 5)
    assert code == 0
    assert {c["status"] for c in summary["checks"]} == {"not_enough_evidence"}


def test_enough_skewed_mentions_are_gated(tmp_path: Path, cli) -> None:
    texts = ["He called and he wrote."] * 20  # 40 mentions, one group
    code, summary, _ = _audit(tmp_path, cli, texts)
    assert code == 1
    statuses = {c["name"]: c["status"] for c in summary["checks"]}
    assert statuses["gender skew at most 0.3"] == "fail"
    assert statuses["representation.gender_representation_score <= 0.3"] == "warn"
