"""A reviewer can sign: datasheet answers from a YAML file, sign-offs bound to the audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.attestation import attachments, sign
from audit.signing import content_digest

RULES = """\
name: t
fields: {text: text}
steps:
  - step: dedupe_exact
gate:
  - metric: dataset.quarantined_rate
    threshold: 0.0
"""
DATASHEET = """\
motivation: Route support tickets to the right team.
collection: Exported from the help desk, January to June.
uses: [routing tickets, not for judging staff]
"""


@pytest.fixture
def audited(tmp_path: Path, cli) -> Path:
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"ticket {i}"}) + "\n" for i in range(8)))
    (tmp_path / "r.yaml").write_text(RULES)
    (tmp_path / "ds.yaml").write_text(DATASHEET)
    rep = tmp_path / "rep"
    code, _, err = cli(
        "audit", data, "--rules", tmp_path / "r.yaml", "--report", rep,
        "--datasheet", tmp_path / "ds.yaml",
    )  # fmt: skip
    assert code == 0, err
    return rep


def test_datasheet_answers_are_kept_beside_the_audit_and_rendered(audited: Path) -> None:
    stored = json.loads((audited / "datasheet.json").read_text())
    assert stored["answers"]["uses"] == "routing tickets; not for judging staff"
    assert (
        stored["audit_digest"]
        == json.loads((audited / "audit.json").read_text())["digest"]["value"]
    )
    md = (audited / "audit.md").read_text()
    html = (audited / "audit.html").read_text()
    for text in (md, html):
        assert "Route support tickets to the right team." in text
        assert "Exported from the help desk, January to June." in text  # also Article 10(2)(b)
    assert md.count("Exported from the help desk") == 2
    assert "Not signed." in md


def test_signoff_is_bound_to_the_digest_and_survives_re_rendering(audited: Path, cli) -> None:
    code, out, err = cli(
        "signoff", audited, "--reviewer", "Dana Reviewer", "--decision", "approve",
        "--note", "fine for the router", "--json",
    )  # fmt: skip
    assert code == 0, err
    record = json.loads(out)
    audit = json.loads((audited / "audit.json").read_text())
    assert record["audit_digest"] == audit["digest"]["value"]
    assert (
        record["datasheet_sha256"] == json.loads((audited / "datasheet.json").read_text())["sha256"]
    )
    code, _, err = cli("report", audited)
    assert code == 0, err
    md = (audited / "audit.md").read_text()
    assert "Latest valid decision: **APPROVE** by Dana Reviewer" in md
    assert "| Dana Reviewer |  | APPROVE | fine for the router |" in md
    assert "valid for this audit" in (audited / "audit.html").read_text()


def test_new_datasheet_answers_invalidate_an_earlier_signoff(
    audited: Path, tmp_path: Path, cli
) -> None:
    assert cli("signoff", audited, "--reviewer", "R", "--decision", "reject")[0] == 0
    (tmp_path / "ds2.yaml").write_text("motivation: something else\n")
    code, _, err = cli("report", audited, "--datasheet", tmp_path / "ds2.yaml")
    assert code == 0, err
    md = (audited / "audit.md").read_text()
    assert "NOT VALID: the datasheet answers changed" in md
    assert "No sign-off is valid for this audit." in md


def test_signoff_refuses_an_edited_audit(audited: Path, cli) -> None:
    path = audited / "audit.json"
    path.write_text(path.read_text().replace('"pass"', '"PASS"', 1))
    code, _, err = cli("signoff", audited, "--reviewer", "R", "--decision", "approve")
    assert code == 1 and "digest mismatch" in err
    assert not (audited / "signoff.json").exists()


def test_signoff_binds_the_audit_signature_when_there_is_one(audited: Path) -> None:
    audit = json.loads((audited / "audit.json").read_text())
    audit["signature"] = "hmac-one"
    audit["digest"]["value"] = content_digest(audit)
    sign(audited, audit, reviewer="R", decision="approve")
    assert attachments(audited, audit)["signoffs"][0]["valid"]
    # The digest does not cover the signature (audit.signing): a new signature over the same
    # content is caught by comparing signatures; a different content by its digest first.
    audit["signature"] = "hmac-two"
    assert content_digest(audit) == audit["digest"]["value"]
    assert attachments(audited, audit)["signoffs"][0]["problem"] == (
        "the audit's signature changed"
    )
    audit["verdict"] = "fail"
    audit["digest"]["value"] = content_digest(audit)
    assert attachments(audited, audit)["signoffs"][0]["problem"] == "signed for another audit"


def test_an_edited_signoff_record_is_not_valid(audited: Path, cli) -> None:
    assert cli("signoff", audited, "--reviewer", "R", "--decision", "reject")[0] == 0
    path = audited / "signoff.json"
    path.write_text(path.read_text().replace('"reject"', '"approve"'))
    audit = json.loads((audited / "audit.json").read_text())
    assert attachments(audited, audit)["signoffs"][0]["problem"] == (
        "the sign-off record was edited"
    )


def test_report_does_not_overwrite_a_hand_edited_report(audited: Path, cli) -> None:
    md = audited / "audit.md"
    md.write_text(md.read_text().replace("Not signed.", "Signed by me, on paper."))
    code, _, err = cli("report", audited)
    assert code == 2
    assert f"{md}: edited by hand" in err and len(err.strip().splitlines()) == 1
    assert "Signed by me, on paper." in md.read_text()
    code, _, _ = cli("signoff", audited, "--reviewer", "R", "--decision", "approve")
    assert code == 2 and not (audited / "signoff.json").exists()
    assert cli("report", audited, "--overwrite")[0] == 0
    assert "Signed by me" not in md.read_text()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("motivation: x\nmotivaton: y\n", ":2: unknown question 'motivaton' (did you mean"),
        ("uses: 3\n", ":1: uses: an answer is text"),
        ("- a\n", ":1: a datasheet is a mapping"),
    ],
)
def test_a_bad_datasheet_is_one_line_and_exit_2(
    tmp_path: Path, cli, text: str, fragment: str
) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a"}\n')
    code, _, err = cli(
        "audit", data, "--report", tmp_path / "rep", "--datasheet", tmp_path / "bad.yaml"
    )
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and fragment in err
    assert not (tmp_path / "rep").exists()  # refused before any work
