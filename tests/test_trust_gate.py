"""Issue 15, item 1: a redact_pii step cannot fool the gate. An audit measures the data as
training reads it (the file as it is): a redacting step in an audit flags what it would
redact and leaves the text, so the pii figures are those of the raw records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.run import run_audit
from curate.rules import load_rules

REDACT_RULES = """\
extends: default
fields: {text: text, id: id}
steps:
  - step: redact_pii
    mode: pattern
"""


@pytest.fixture
def tickets(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.jsonl"
    lines = [
        json.dumps(
            {
                "id": f"t{i}",
                "text": f"Customer: my order {1000 + i} is late, write to user{i}@example.com "
                f"or call (212) 555-{i % 10000:04d}.\nAgent: Sorry, we are on it.",
            }
        )
        for i in range(300)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_redaction_in_the_rules_does_not_hide_pii_from_the_gate(
    tickets: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(REDACT_RULES)
    plain = run_audit(tickets, tmp_path / "plain", "default")
    redacting = run_audit(tickets, tmp_path / "redacting", load_rules(rules))
    rate = redacting.metrics["pii.record_rate"]
    assert rate == plain.metrics["pii.record_rate"] == 1.0
    assert not redacting.passed
    assert "records with personal data at most 1%" in {c["name"] for c in redacting.failures}
    step = next(s for s in redacting.data["details"]["steps"] if s["step"] == "redact_pii")
    assert step["flagged_by_reason"] == {"pii_redactable": 300}
    assert step["summary"]["records_redacted"] == 300  # what a clean would do, beside
    findings = (tmp_path / "redacting" / "findings.jsonl").read_text().splitlines()
    assert len(findings) >= 600  # an e-mail and a phone number in each record


def test_finetune_gate_refuses_the_audit_of_a_redacting_rules_file(
    tickets: Path, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    from finetune.gate import GateRefused, check_gate

    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(REDACT_RULES)
    rules = load_rules(rules_path)
    run_audit(tickets, tmp_path / "audit", rules)
    with pytest.raises(GateRefused, match="personal data"):
        check_gate(tickets, rules, tmp_path / "audit", tmp_path / "run")


class _Stop(Exception):
    pass


def test_a_stopped_redacting_run_leaves_no_raw_text_on_disk(tickets: Path, tmp_path: Path) -> None:
    """Issue 15, item 8: the spools a redacting clean keeps (here a --resume checkpoint, left
    behind on purpose by a run stopped after its first chunks) hold redacted records only."""
    from curate.cleaning import clean

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        REDACT_RULES.replace("extends: default\n", "read: {batch_size: 50}\n")
        + "  - step: dedupe_near\n"
    )
    seen = {"n": 0}

    def stop_late(*_: object) -> None:
        seen["n"] += 1
        if seen["n"] > 5:
            raise _Stop

    out = tmp_path / "out"
    with pytest.raises(_Stop):
        clean(tickets, out, load_rules(rules), progress=stop_late, resume=True, checkpoint_every=0)
    left = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in left)  # the spool is there, and checked below
    for path in left:
        body = path.read_bytes()
        assert b"@example.com" not in body and b"555-" not in body, path
