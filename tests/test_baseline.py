"""Baseline comparison: regressions against the last accepted audit fail the gate."""

from __future__ import annotations

import json
from pathlib import Path

RULES = """
fields:
  text: text
  label: label
steps:
  - step: dedupe_exact
gate:
  - metric: dataset.quarantined_rate
    op: "<="
    threshold: 0.5
baseline:
  max_group_share_shift: 0.1
"""


def _data(path: Path, labels: dict[str, int], dupes: int = 0, broken: int = 0) -> Path:
    lines = []
    n = 0
    for label, count in labels.items():
        for _ in range(count):
            n += 1
            lines.append(json.dumps({"text": f"distinct text {n}", "label": label}))
    lines += [json.dumps({"text": "distinct text 1", "label": "a"})] * dupes
    lines += ["{broken"] * broken
    path.write_text("\n".join(lines) + "\n")
    return path


def test_unchanged_data_passes_against_its_baseline(tmp_path: Path, cli) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    data = _data(tmp_path / "v1.jsonl", {"a": 50, "b": 50})
    assert cli("audit", data, "--rules", rules, "--report", tmp_path / "old", "-q")[0] == 0
    code, out, err = cli(
        "audit",
        data,
        "--rules",
        rules,
        "--report",
        tmp_path / "new",
        "--baseline",
        tmp_path / "old",
        "--json",
    )
    assert code == 0, err
    checks = [c for c in json.loads(out)["checks"] if c["metric"].startswith("baseline.")]
    assert {c["metric"] for c in checks} == {
        "baseline.dataset.quarantined_rate.increase",
        "baseline.steps.dedupe_exact.flagged_rate.increase",
        "baseline.max_group_share_shift",
    }
    assert all(c["status"] == "pass" and c["value"] == 0 for c in checks)
    new = json.loads((tmp_path / "new" / "audit.json").read_text())
    assert (
        new["baseline"]["digest"]
        == json.loads((tmp_path / "old" / "audit.json").read_text())["digest"]["value"]
    )


def test_regressions_fail_and_diff_names_them(tmp_path: Path, cli) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    v1 = _data(tmp_path / "v1.jsonl", {"a": 50, "b": 50})
    v2 = _data(tmp_path / "v2.jsonl", {"a": 80, "b": 20}, dupes=10, broken=3)
    cli("audit", v1, "--rules", rules, "--report", tmp_path / "old", "-q")
    code, out, _ = cli(
        "audit",
        v2,
        "--rules",
        rules,
        "--report",
        tmp_path / "new",
        "--baseline",
        tmp_path / "old",
        "--json",
    )
    assert code == 1
    failed = {c["metric"]: c for c in json.loads(out)["checks"] if c["status"] == "fail"}
    assert set(failed) == {
        "baseline.dataset.quarantined_rate.increase",
        "baseline.steps.dedupe_exact.flagged_rate.increase",
        "baseline.max_group_share_shift",
    }
    shift = failed["baseline.max_group_share_shift"]
    assert abs(shift["value"] - 0.3) < 0.02 and "dataset/label/" in shift["name"]
    # `curate diff` reaches the same judgement from the two reports alone.
    code, out, _ = cli("diff", tmp_path / "old", tmp_path / "new", "--rules", rules, "--json")
    assert code == 1
    diff = json.loads(out)
    assert diff["regressions"] == 3
    quarantined = next(r for r in diff["metrics"] if r["metric"] == "dataset.quarantined")
    assert (quarantined["old"], quarantined["new"], quarantined["delta"]) == (0, 3, 3.0)
    code, out, _ = cli("diff", tmp_path / "old", tmp_path / "old", "--rules", rules)
    assert code == 0 and "curate diff" in out


def test_tampered_baseline_is_refused(tmp_path: Path, cli) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    data = _data(tmp_path / "v1.jsonl", {"a": 5, "b": 5})
    cli("audit", data, "--rules", rules, "--report", tmp_path / "old", "-q")
    audit = json.loads((tmp_path / "old" / "audit.json").read_text())
    audit["metrics"]["dataset.quarantined_rate"] = 0.9
    (tmp_path / "old" / "audit.json").write_text(json.dumps(audit))
    code, _, err = cli(
        "audit",
        data,
        "--rules",
        rules,
        "--report",
        tmp_path / "new",
        "--baseline",
        tmp_path / "old",
    )
    assert code == 1 and "digest mismatch" in err


def test_diff_hides_unchanged_metrics_and_float_noise(tmp_path: Path, cli) -> None:
    from audit.signing import content_digest

    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    cli("audit", _data(tmp_path / "v1.jsonl", {"a": 5, "b": 5}), "--rules", rules,
        "--report", tmp_path / "old", "-q")  # fmt: skip
    audit = json.loads((tmp_path / "old" / "audit.json").read_text())
    metrics = audit["metrics"]
    metrics["dataset.mean_chars"] = metrics["dataset.mean_chars"] + 3.0
    noisy = "steps.dedupe_exact.flagged_rate"
    metrics[noisy] = metrics[noisy] - 5.551e-17
    audit["digest"]["value"] = content_digest(audit)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "audit.json").write_text(json.dumps(audit))
    code, out, err = cli("diff", tmp_path / "old", tmp_path / "new", "--rules", rules)
    assert code == 0, err
    assert "metrics that changed" in out and "regression checks (old → new)" in out
    assert "curate audit: regressions" not in out
    assert "dataset.mean_chars" in out and "+3" in out
    assert noisy not in out.split("regression checks")[0]  # noise is no change
    assert "e-17" not in out
    assert "dataset.records" not in out  # unchanged rows hidden
    code, out, _ = cli("diff", tmp_path / "old", tmp_path / "new", "--rules", rules, "--all")
    assert "dataset.records" in out and "every metric" in out
