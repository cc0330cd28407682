"""The audit command end to end: verdicts, exit codes, report files that parse, tamper checks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from junitparser import JUnitXml

from curate.cli import run

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "audit" / "schema" / "audit.schema.json").read_text()
)

GATE = """
name: t
fields:
  text: text
steps:
  - step: dedupe_exact
gate:
  - metric: dataset.quarantined_rate
    op: "<="
    threshold: 0.0
  - metric: steps.dedupe_exact.flagged_rate
    op: "<="
    threshold: 0.1
    name: exact duplicates at most 10%
  - metric: dataset.mean_chars
    op: ">="
    threshold: 5
    severity: warn
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(GATE)
    return path


def write(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def test_clean_dataset_passes_and_every_report_parses(tmp_path: Path, rules: Path, cli) -> None:
    data = write(tmp_path / "ok.jsonl", [f"a distinct sentence number {i}" for i in range(20)])
    code, out, err = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep")
    assert code == 0, err
    assert "PASS" in out and "exact duplicates at most 10%" in out
    rep = tmp_path / "rep"
    audit = json.loads((rep / "audit.json").read_text())
    jsonschema.validate(audit, SCHEMA)
    assert audit["verdict"] == "pass"
    suites = JUnitXml.fromfile(str(rep / "junit.xml"))
    cases = [case for suite in suites for case in suite]
    assert len(cases) == 3
    assert all(case.is_passed for case in cases)
    assert (rep / "audit.md").read_text().startswith("# Data audit")
    html = (rep / "audit.html").read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_failing_dataset_exits_1_and_names_each_failing_check(
    tmp_path: Path, rules: Path, cli
) -> None:
    texts = ["the same text"] * 5 + [f"unique text {i}" for i in range(5)]
    data = write(tmp_path / "bad.jsonl", texts)
    with data.open("a") as handle:
        handle.write("{not json\n")
    code, out, _ = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep", "--json")
    assert code == 1
    summary = json.loads(out)
    failing = {c["name"] for c in summary["checks"] if c["status"] == "fail"}
    assert failing == {"dataset.quarantined_rate <= 0", "exact duplicates at most 10%"}
    suites = JUnitXml.fromfile(str(tmp_path / "rep" / "junit.xml"))
    failed_cases = {case.name for suite in suites for case in suite if not case.is_passed}
    assert failed_cases == failing
    md = (tmp_path / "rep" / "audit.md").read_text()
    assert "**Verdict: FAIL**" in md


def test_missing_metric_fails_a_fail_severity_check(tmp_path: Path, cli) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "gate:\n  - metric: dataset.label_imbalance_ratio\n    op: '<='\n    threshold: 3\n"
    )
    data = write(tmp_path / "d.jsonl", ["one", "two"])
    code, out, _ = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep", "--json")
    assert code == 1
    assert json.loads(out)["checks"][0]["status"] == "missing"


def test_report_rerenders_and_detects_tampering(tmp_path: Path, rules: Path, cli) -> None:
    data = write(tmp_path / "d.jsonl", ["x"] * 4)
    rep = tmp_path / "rep"
    assert cli("audit", data, "--rules", rules, "--report", rep)[0] == 1
    (rep / "audit.md").unlink()
    code, _, err = cli("report", rep)
    assert code == 0, err
    assert (rep / "audit.md").exists()
    assert cli("report", rep, "--verify")[0] == 0
    audit = json.loads((rep / "audit.json").read_text())
    audit["verdict"] = "pass"
    (rep / "audit.json").write_text(json.dumps(audit))
    code, _, err = cli("report", rep, "--verify")
    assert code == 1 and "digest mismatch" in err


def test_reruns_are_byte_identical_with_source_date_epoch(
    tmp_path: Path, rules: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    data = write(tmp_path / "d.jsonl", ["a b c", "a b c", "d e f"])
    for name in ("r1", "r2"):
        run(["audit", str(data), "--rules", str(rules), "--report", str(tmp_path / name), "-q"])
    for name in ("audit.json", "audit.md", "audit.html", "junit.xml", "findings.jsonl"):
        assert (tmp_path / "r1" / name).read_bytes() == (tmp_path / "r2" / name).read_bytes()


EXIT_PATHS = [
    ("no arguments", [], 2),
    ("unknown command", ["frobnicate"], 2),
    ("clean without --out", ["clean", "{data}"], 2),
    ("missing input", ["audit", "{tmp}/nope.jsonl", "--report", "{tmp}/r"], 2),
    ("unknown rules name", ["audit", "{data}", "--rules", "nosuchrules", "--report", "{tmp}/r"], 2),
    ("bad rules", ["audit", "{data}", "--rules", "{bad_rules}", "--report", "{tmp}/r"], 2),
    ("report of a folder without audit", ["report", "{tmp}"], 2),
    ("audit passes", ["audit", "{data}", "--report", "{tmp}/r"], 0),
    ("clean succeeds", ["clean", "{data}", "--out", "{tmp}/o"], 0),
    ("version", ["--version"], 0),
    ("help", ["--help"], 0),
]


@pytest.mark.parametrize(("label", "argv", "code"), EXIT_PATHS, ids=[e[0] for e in EXIT_PATHS])
def test_exit_codes(tmp_path: Path, cli, label: str, argv: list[str], code: int) -> None:
    data = write(tmp_path / "d.jsonl", ["hello there", "general kenobi"])
    bad_rules = tmp_path / "bad.yaml"
    bad_rules.write_text("stepz: []\n")
    args = [a.format(data=data, tmp=tmp_path, bad_rules=bad_rules) for a in argv]
    got, _, err = cli(*args)
    assert got == code, err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


def test_internal_error_is_exit_3_one_line_and_debug_shows_traceback(
    tmp_path: Path, cli, monkeypatch
) -> None:
    data = write(tmp_path / "d.jsonl", ["x"])

    def boom(*_a, **_k):
        raise RuntimeError("unexpected state")

    monkeypatch.setattr("curate.runner.build_steps", boom)
    code, _, err = cli("clean", data, "--out", tmp_path / "o")
    assert code == 3
    assert err.strip().splitlines() == [
        "curate: internal error: RuntimeError: unexpected state (run with --debug for the "
        "traceback; please report it)"
    ]
    code, _, err = cli("clean", data, "--out", tmp_path / "o", "--debug")
    assert code == 3 and "Traceback" in err
