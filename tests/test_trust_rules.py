"""Issue 15 item 12: rules that cannot be abused (numbers, files, regexes, the folder lock)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from audit import gate, pii_custom
from curate.errors import CurateError, RulesError
from curate.outdir import claim
from curate.rules import load_rules


def rules_file(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("gate:\n  - metric: dataset.quarantined_rate\n    threshold: .nan\n", 3, "finite"),
        ("gate:\n  - metric: dataset.quarantined_rate\n    threshold: .inf\n", 3, "finite"),
        ("gate:\n  - metric: dataset.quarantined_rate\n    threshold: -.inf\n", 3, "finite"),
        ("read:\n  max_line_bytes: 9223372036854775807\n", 2, "out of range"),
        ("read:\n  max_line_bytes: 4294967296\n", 2, "less than or equal"),
        ("seed: 99999999999999999999999\n", 1, "out of range"),
    ],
)
def test_unusable_numbers_are_refused_with_their_line(
    tmp_path: Path, cli, body: str, line: int, words: str
) -> None:
    path = rules_file(tmp_path, "fields:\n  text: text\n" + body)
    with pytest.raises(RulesError, match=words) as info:
        load_rules(path)
    assert f"{path}:{line + 2}:" in str(info.value)
    code, _, err = cli("rules", "validate", path)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_extends_reads_only_rules_files(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$very-secret-hash:19000:0:99999:7:::\n")
    for target in (str(secret), "/dev/zero"):
        path = rules_file(tmp_path, f"extends: {target}\n")
        with pytest.raises(RulesError) as info:
            load_rules(path)
        assert "very-secret-hash" not in str(info.value)
    # A .yaml name that is a symlink to another file is judged by its target.
    link = tmp_path / "shadow.yaml"
    link.symlink_to(secret)
    with pytest.raises(RulesError, match="must name a rules file"):
        load_rules(rules_file(tmp_path, "extends: shadow.yaml\n"))
    # /dev/zero under a .yaml name: not a regular file, refused without reading it.
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(RulesError, match="must name a rules file"):
        load_rules(rules_file(tmp_path, "extends: zero.yaml\n"))


def test_fifo_and_device_are_refused_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    done: list[BaseException] = []

    def load() -> None:
        try:
            load_rules(rules_file(tmp_path, "extends: pipe.yaml\n"))
        except BaseException as exc:  # reported to the test thread
            done.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "loading rules that extend a FIFO hangs"
    assert isinstance(done[0], RulesError) and "not a regular file" in str(done[0])

    recognizers = tmp_path / "rec.yaml"
    recognizers.symlink_to(fifo)
    path = rules_file(
        tmp_path, "fields:\n  text: text\nchecks:\n  - check: pii\n    recognizers: [rec.yaml]\n"
    )
    with pytest.raises(RulesError, match="not a regular file"):
        load_rules(path)


def test_big_recognizer_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    path = rules_file(
        tmp_path, "fields:\n  text: text\nchecks:\n  - check: pii\n    recognizers: [big.yaml]\n"
    )
    with pytest.raises(RulesError, match="over the"):
        load_rules(path)


def test_rules_validate_checks_recognizer_regexes(tmp_path: Path, cli) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text(
        "version: 1\nrecognizers:\n  - name: bad\n    entity: BAD\n    patterns:\n"
        "      - regex: '(a|a)+$'\n"
    )
    path = rules_file(
        tmp_path, "fields:\n  text: text\nchecks:\n  - check: pii\n    recognizers: [rec.yaml]\n"
    )
    code, _, err = cli("rules", "validate", path)
    assert code == 2 and "rec.yaml" in err and "backtracks" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("pattern", ["(a|a)+$", "(a|aa)+$", "(x|x?)+y", "(a+)+$", "(?:a|aaaa)+b"])
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        pii_custom.PatternSpec(regex=pattern)


@pytest.mark.parametrize("pattern", ["\\bEMP-\\d{6}\\b", "[A-Z]{2}\\d{7}", "(?:foo|bar)-\\d+"])
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert pii_custom.PatternSpec(regex=pattern).regex == pattern


def test_regex_timeouts_fail_the_gate(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pattern the checks let through but that times out on the data: the audit fails."""
    checks = gate.integrity_checks({"pii": {"regex_timeouts": 80}})
    assert gate.verdict(checks) == "fail"
    assert gate.integrity_checks({"pii": {"regex_timeouts": 0}}) == []

    monkeypatch.setattr(pii_custom, "backtracks", lambda _p: None)
    rec = tmp_path / "rec.yaml"
    rec.write_text(
        "version: 1\nrecognizers:\n  - name: bad\n    entity: BAD\n    patterns:\n"
        "      - regex: '(a|aa)+$'\n"
    )
    path = rules_file(
        tmp_path,
        "fields:\n  text: text\nchecks:\n  - check: pii\n    mode: pattern\n"
        "    recognizers: [rec.yaml]\n",
    )
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"text": "a" * 60 + "!"}) + "\n")
    code, _, err = cli(
        "audit", data, "--rules", path, "--report", tmp_path / "rep", "-q", "--workers", "1"
    )
    assert code == 1, err
    audit = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert audit["details"]["pii"]["regex_timeouts"] >= 1
    assert [c["metric"] for c in audit["checks"] if c["status"] == "fail"] == ["pii.regex_timeouts"]


def test_folder_lock_does_not_follow_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".curate.lock").symlink_to(victim)
    with pytest.raises(CurateError, match="symbolic link"), claim(out):
        pass
    assert victim.read_text() == "keep me"
    dangling = tmp_path / "created-elsewhere"
    (out / ".curate.lock").unlink()
    (out / ".curate.lock").symlink_to(dangling)
    with pytest.raises(CurateError, match="symbolic link"), claim(out):
        pass
    assert not dangling.exists()
