"""CLI habits a new user relies on: global flags in either position, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RULES = """\
name: t
fields: {text: text}
steps:
  - step: dedupe_exact
gate:
  - metric: dataset.quarantined_rate
    threshold: 0.0
"""


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"line {i}"}) + "\n" for i in range(6)))
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    return data, rules


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_flag_works_before_or_after_the_command(
    small: tuple[Path, Path], tmp_path: Path, cli, where: str
) -> None:
    data, rules = small
    args = ["audit", data, "--rules", rules, "--report", tmp_path / "rep"]
    code, out, err = cli(*(["--json", *args] if where == "before" else [*args, "--json"]))
    assert code == 0, err
    assert json.loads(out)["verdict"] == "pass"


@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_quiet_before_the_command_prints_nothing(
    small: tuple[Path, Path], tmp_path: Path, cli, flag: str
) -> None:
    data, rules = small
    code, out, _ = cli(flag, "audit", data, "--rules", rules, "--report", tmp_path / "rep")
    assert code == 0 and out == ""


def test_debug_before_the_command_prints_the_traceback(tmp_path: Path, cli) -> None:
    code, _, err = cli("--debug", "rules", "validate", tmp_path / "missing.yaml")
    assert code == 2
    assert "Traceback" in err and "rules file not found" in err.strip().splitlines()[-1]
    code, _, err = cli("rules", "validate", tmp_path / "missing.yaml")
    assert "Traceback" not in err
