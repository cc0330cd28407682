"""Issue 15 items 5, 8, 9 (CLI): exit codes tell the truth, signals clean up, names are text."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FAIL_RULES = """
fields:
  text: text
steps:
  - step: dedupe_exact
gate:
  - metric: steps.dedupe_exact.flagged_rate
    op: "<="
    threshold: 0.0
"""


def curate(*args: object, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", "from curate.cli import main; main()", *map(str, args)]
    return subprocess.Popen(cmd, env=env, **kw)


@pytest.fixture
def failing(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(FAIL_RULES)
    data = tmp_path / "fail.jsonl"
    data.write_text("".join(json.dumps({"text": "same"}) + "\n" for _ in range(50)))
    return data, rules


@pytest.mark.parametrize("fmt", [["--json"], ["--format", "github"]])
def test_failed_gate_exits_1_when_the_reader_closes_stdout(
    tmp_path: Path, failing, fmt: list[str]
) -> None:
    """`set -o pipefail; curate audit fail.jsonl --json | true` must exit 1, not 0."""
    data, rules = failing
    proc = curate(
        "audit", data, "--rules", rules, "--report", tmp_path / "rep", "--workers", "1", *fmt,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before curate writes: every write gets EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_output_path_that_is_a_file_exits_2(tmp_path: Path, failing, cli) -> None:
    data, rules = failing
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    code, _, err = cli("audit", data, "--rules", rules, "--report", taken, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "internal" not in err
    code, _, err = cli("clean", data, "--rules", rules, "--out", taken / "sub", "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "internal" not in err


def test_disk_full_while_publishing_leaves_no_mixed_reports(
    tmp_path: Path, failing, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, rules = failing
    report = tmp_path / "rep"
    assert cli("audit", data, "--rules", rules, "--report", report, "-q")[0] == 1
    assert (report / "audit.sarif").exists() and (report / "audit.json").exists()

    from audit.report import sarif

    def full(*_a: object, **_k: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", str(report / "audit.sarif"))

    monkeypatch.setattr(sarif, "render", full)
    code, _, err = cli("audit", data, "--rules", rules, "--report", report, "-q")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "No space left" in err
    left = {p.name for p in report.iterdir()}
    assert not left & {"audit.json", "audit.sarif", "audit.md", "audit.html", "junit.xml"}
    assert not [n for n in left if n.endswith(".tmp") or n.startswith(".work-")]


def test_environment_errors_from_anywhere_are_exit_2(
    tmp_path: Path, failing, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, rules = failing
    import audit.run

    for code_ in (errno.EROFS, errno.EACCES, errno.ENOSPC):

        def fail(*_a: object, _c: int = code_, **_k: object) -> None:
            raise OSError(_c, os.strerror(_c), str(tmp_path / "rep" / "audit.json"))

        monkeypatch.setattr(audit.run, "write_json", fail)
        code, _, err = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep", "-q")
        assert code == 2 and os.strerror(code_) in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_signal_mid_run_cleans_up_and_exits_128_plus_signal(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    data = tmp_path / "big.jsonl"
    with open(data, "w") as handle:
        for i in range(150_000):
            handle.write(json.dumps({"text": f"record {i} with some words in it {i % 977}"}) + "\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text("fields:\n  text: text\nsteps:\n  - step: dedupe_near\n")
    report = tmp_path / "rep"
    proc = curate(
        "audit", data, "--rules", rules, "--report", report, "--workers", "1", "-q",
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if report.is_dir() and any(p.name.startswith(".work-") for p in report.iterdir()):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the run never started its work folder")
    time.sleep(0.3)
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == code
    assert proc.stderr is not None and word in proc.stderr.read().decode()
    left = [p.name for p in report.iterdir()]
    assert not [n for n in left if n.startswith(".work-") or n.endswith(".tmp")], left
    assert ".curate.lock" not in left and "audit.json" not in left


def test_brackets_in_paths_and_check_names_print(tmp_path: Path, cli) -> None:
    """Rich markup: a check named "[/]" or a path with "[/]" crashed the table (exit 3)."""
    folder = tmp_path / "in[" / "]d["  # the path holds "[/]" twice
    folder.mkdir(parents=True)
    data = folder / "].jsonl"
    data.write_text("".join(json.dumps({"text": f"text {i}"}) + "\n" for i in range(5)))
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields:\n  text: text\ngate:\n  - metric: dataset.quarantined_rate\n"
        "    threshold: 0\n    name: '[/] [bold]x'\n"
    )
    code, out, err = cli("audit", data, "--rules", rules, "--report", tmp_path / "r[" / "]")
    assert code == 0, err
    assert "[/] [bold]x" in out and "in[/]d[/].jsonl" in out


# --- item 9: values are data in every report format ---------------------------------------

INJECTED = "a\r\r# Verdict: PASS\r\r![x](http://evil/x.png)"


def test_label_cannot_inject_markdown(tmp_path: Path, cli) -> None:
    from markdown_it import MarkdownIt

    data = tmp_path / "d.jsonl"
    rows = [{"text": f"text number {i}", "label": INJECTED if i % 2 else "b"} for i in range(20)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields:\n  text: text\n  label: label\ngate:\n  - metric: dataset.label_classes\n"
        "    op: '>='\n    threshold: 3\n"
    )
    code, _, err = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep", "-q")
    assert code == 1, err
    raw = (tmp_path / "rep" / "audit.md").read_bytes()
    assert b"\r" not in raw and b"![x](" not in raw
    md = raw.decode()
    html = MarkdownIt("commonmark").render(md)
    # no image and no link but the report's own table of contents (links to its headings)
    links = re.findall(r'<a href="([^"]*)"', html)
    assert "<img" not in html and all(link.startswith("#") for link in links), links
    assert "![x](http://evil/x.png)" in html  # shown as text
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert not [h for h in headings if "Verdict" in h]
    assert "**Verdict: FAIL**" in md


def test_github_notice_cannot_inject_a_workflow_command(tmp_path: Path, cli) -> None:
    data = tmp_path / "d\n::add-mask::x\n.jsonl"
    data.write_text("".join(json.dumps({"text": f"text {i}"}) + "\n" for i in range(5)))
    code, out, err = cli("audit", data, "--report", tmp_path / "rep", "--format", "github")
    assert code == 0, err
    assert not [line for line in out.splitlines() if line.startswith("::add-mask::")]
    assert out.splitlines()[-1].startswith("::notice title=curate verdict::PASS")


def test_junit_stays_well_formed_with_control_characters(tmp_path: Path, cli) -> None:
    import xml.etree.ElementTree as ET

    data = tmp_path / "d\x1b\x01.jsonl"
    data.write_text("".join(json.dumps({"text": f"text {i}"}) + "\n" for i in range(5)))
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields:\n  text: text\ngate:\n  - metric: dataset.quarantined_rate\n    threshold: 0\n"
        '    name: "bell\\x07 and nul\\0 here"\n'
    )
    code, _, err = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep", "-q")
    assert code == 0, err
    root = ET.parse(tmp_path / "rep" / "junit.xml").getroot()
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "bell\\x07 and nul\\x00 here"


def test_sarif_uris_are_percent_encoded(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audit.report.sarif import artifact_uri

    assert artifact_uri("my data#1.jsonl") == "my%20data%231.jsonl"
    assert artifact_uri("/srv/a b?.jsonl") == "/srv/a%20b%3F.jsonl"
    monkeypatch.chdir(tmp_path)
    Path("my data#1.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields:\n  text: text\ngate:\n  - metric: dataset.mean_chars\n    op: '>='\n"
        "    threshold: 100\n"
    )
    code, _, _ = cli("audit", "my data#1.jsonl", "--rules", rules, "--report", "rep", "-q")
    assert code == 1
    sarif = json.loads(Path("rep/audit.sarif").read_text())
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for res in run["results"]
        for loc in res["locations"]
    }
    assert uris == {"my%20data%231.jsonl"}


def test_a_signal_converted_by_a_library_still_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT while polars runs Python code from Rust comes out as a TypeError ("unprintable
    str object"): the run was interrupted, not broken (exit 130, not 3)."""
    import curate.cli as cli_module

    def interrupted_inside_a_library(_args: object) -> int:
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raise TypeError("'<unprintable str object>' is not a Polars data type") from None
        return 0

    parser = cli_module.build_parser()
    monkeypatch.setattr(
        cli_module, "build_parser", lambda: _with_func(parser, interrupted_inside_a_library)
    )
    assert cli_module.run(["rules", "show", "default"]) == 128 + signal.SIGINT


def _with_func(parser: Any, func: Any) -> Any:
    parse = parser.parse_args

    def parse_args(argv: Any = None) -> Any:
        args = parse(argv)
        args.func = func
        return args

    parser.parse_args = parse_args
    return parser
