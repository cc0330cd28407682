"""Issue 15 item 4: signed audits, and a rules hash that covers every file the rules read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audit.run import load_audit, run_audit
from audit.signing import KEY_ENV, SignatureError, content_digest
from curate.rules import load_rules
from finetune.gate import GateRefused, check_gate

KEY = "k" * 40
RULES = """
name: t
fields:
  text: text
steps:
  - step: dedupe_exact
gate:
  - metric: steps.dedupe_exact.flagged_rate
    op: "<="
    threshold: 0.0
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"text": f"distinct text {i}"}) + "\n" for i in range(20)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps({"text": "the same text"}) + "\n" for _ in range(20)))
    return rules, good, bad


def forge_pass(audit_json: Path) -> None:
    """What an attacker does: flip the verdict and recompute the unkeyed digest."""
    data = json.loads(audit_json.read_text())
    data["verdict"] = "pass"
    for check in data["checks"]:
        check["status"] = "pass"
    data["digest"]["value"] = content_digest(data)
    audit_json.write_text(json.dumps(data, indent=2))


def test_forged_audit_refused_genuine_signed_accepted(
    tmp_path: Path, setup, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    rules_path, good, bad = setup
    rules = load_rules(rules_path)
    monkeypatch.setenv(KEY_ENV, KEY)
    genuine = run_audit(good, tmp_path / "good_rep", rules, workers=1)
    assert genuine.passed and genuine.data["signature"]["algorithm"] == "hmac-sha256"
    accepted = check_gate(
        good, rules, genuine.path("audit.json"), tmp_path / "r1", require_signed=True
    )
    assert accepted.digest == genuine.data["digest"]["value"]

    failed = run_audit(bad, tmp_path / "bad_rep", rules, workers=1)
    assert not failed.passed
    forge_pass(failed.path("audit.json"))
    with pytest.raises(GateRefused, match="signature mismatch"):
        check_gate(bad, rules, failed.path("audit.json"), tmp_path / "r2", require_signed=True)
    code, _, err = cli("report", failed.report_dir, "--verify")
    assert code == 1 and "signature mismatch" in err

    # The CLI refuses with one line and exit 1, before any model is loaded.
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    code, _, err = cli(
        "finetune", bad, "--model", model, "--out", tmp_path / "run", "--rules", rules_path,
        "--audit", failed.report_dir, "--task", "causal-lm", "--require-signed",
    )  # fmt: skip
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1 and "signature" in err
    assert not (tmp_path / "run" / "model").exists()


def test_unsigned_audit_refused_when_a_signature_is_required(
    tmp_path: Path, setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules_path, good, _ = setup
    rules = load_rules(rules_path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    unsigned = run_audit(good, tmp_path / "rep", rules, workers=1)
    assert "signature" not in unsigned.data
    check_gate(good, rules, unsigned.report_dir, tmp_path / "r0")  # not required: accepted
    with pytest.raises(GateRefused, match="not set"):
        check_gate(good, rules, unsigned.report_dir, tmp_path / "r1", require_signed=True)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(GateRefused, match="not signed"):
        check_gate(good, rules, unsigned.report_dir, tmp_path / "r2", require_signed=True)
    # Signed with another key: refused under this one.
    monkeypatch.setenv(KEY_ENV, "another key of enough length")
    other = run_audit(good, tmp_path / "rep2", rules, workers=1)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(SignatureError, match="signature mismatch"):
        load_audit(other.report_dir)


def test_short_key_is_refused(tmp_path: Path, setup, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    rules_path, good, _ = setup
    monkeypatch.setenv(KEY_ENV, "short")
    code, _, err = cli("audit", good, "--rules", rules_path, "--report", tmp_path / "r", "-q")
    assert code == 2 and KEY_ENV in err


def test_rules_hash_covers_recognizer_and_lexicon_files(tmp_path: Path) -> None:
    recognizers = tmp_path / "ids.yaml"
    recognizers.write_text(
        "version: 1\nrecognizers:\n  - name: emp\n    entity: EMPLOYEE_ID\n"
        "    patterns:\n      - regex: 'EMP-\\d{6}'\n"
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields:\n  text: text\nchecks:\n  - check: pii\n    mode: pattern\n"
        "    recognizers: [ids.yaml]\n  - check: representation\n"
    )
    first = load_rules(rules)
    assert any(k.startswith("recognizers:") for k in first.used_files)
    assert any(k.startswith("lexicon:") for k in first.used_files)
    recognizers.write_text(recognizers.read_text().replace("{6}", "{7}"))
    second = load_rules(rules)
    assert second.canonical() == first.canonical()  # the rules file itself did not change
    assert second.sha256 != first.sha256
    # A copy of the whole folder elsewhere hashes the same: names are not absolute paths.
    other = tmp_path / "elsewhere"
    other.mkdir()
    for f in (recognizers, rules):
        (other / f.name).write_text(f.read_text())
    assert load_rules(other / "rules.yaml").sha256 == second.sha256


def test_training_read_must_be_the_audited_bytes(tmp_path: Path, setup) -> None:
    """The gate hashes the file, training reads it again: a swap in between is refused."""
    from curate.errors import InputError
    from curate.reader import file_sha256
    from finetune.data import read_records

    rules_path, good, bad = setup
    rules = load_rules(rules_path)
    audited = file_sha256(good)
    assert read_records(good, rules, expect_sha256=audited).height == 20
    good.write_bytes(bad.read_bytes())
    with pytest.raises(InputError, match="changed after the gate"):
        read_records(good, rules, expect_sha256=audited)


# --- Ed25519 key pairs: the auditing job signs, the training job holds only the public key ---


def _key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = folder / f"{name}.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = folder / f"{name}.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_ed25519_signed_audit_is_checked_with_the_public_key_alone(
    tmp_path: Path, setup, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    from audit.signing import PRIVATE_KEY_ENV, PUBLIC_KEY_ENV

    rules_path, good, bad = setup
    rules = load_rules(rules_path)
    private, public = _key_pair(tmp_path, "audit")
    _, other_public = _key_pair(tmp_path, "other")
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(PUBLIC_KEY_ENV, raising=False)
    # The auditing job holds the private key.
    monkeypatch.setenv(PRIVATE_KEY_ENV, str(private))
    genuine = run_audit(good, tmp_path / "good_rep", rules, workers=1)
    failed = run_audit(bad, tmp_path / "bad_rep", rules, workers=1)
    assert genuine.data["signature"]["algorithm"] == "ed25519"
    assert private.read_text() not in genuine.path("audit.json").read_text()
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (Path(__file__).parent.parent / "audit/schema/audit.schema.json").read_text()
    )
    jsonschema.validate(genuine.data, schema)
    # The training job holds only the public key: a genuine audit passes the gate...
    monkeypatch.delenv(PRIVATE_KEY_ENV)
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(public))
    check_gate(good, rules, genuine.path("audit.json"), tmp_path / "r1", require_signed=True)
    code, out, err = cli("report", genuine.report_dir, "--verify")
    assert code == 0 and "signature ok" in out, err
    # ...a forged one (verdict flipped, unkeyed digest recomputed) does not.
    forge_pass(failed.path("audit.json"))
    with pytest.raises(GateRefused, match="signature mismatch"):
        check_gate(bad, rules, failed.path("audit.json"), tmp_path / "r2", require_signed=True)
    code, _, err = cli("report", failed.report_dir, "--verify")
    assert code == 1 and "signature mismatch" in err
    # Under another key pair's public key the genuine audit is refused too.
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(other_public))
    with pytest.raises(SignatureError, match="signature mismatch"):
        load_audit(genuine.report_dir)
    # An HMAC-signed audit cannot be checked with a public key: refused, not waved through.
    monkeypatch.setenv(KEY_ENV, KEY)
    hmac_signed = run_audit(good, tmp_path / "hmac_rep", rules, workers=1)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SignatureError, match="signed with hmac-sha256"):
        load_audit(hmac_signed.report_dir)
    # No key at all: --require-signed refuses, one line, exit 1.
    monkeypatch.delenv(PUBLIC_KEY_ENV)
    with pytest.raises(
        GateRefused, match="CURATE_SIGNING_KEY and CURATE_SIGNING_PUBLIC_KEY are not set"
    ):
        check_gate(good, rules, genuine.path("audit.json"), tmp_path / "r3", require_signed=True)


@pytest.mark.parametrize("content", ["missing", "garbage", "public-as-private"])
def test_a_bad_key_file_is_one_line_and_exit_2(
    tmp_path: Path, setup, monkeypatch: pytest.MonkeyPatch, cli, content: str
) -> None:
    from audit.signing import PRIVATE_KEY_ENV

    rules_path, good, _ = setup
    _, public = _key_pair(tmp_path, "k")
    key_file = {"missing": tmp_path / "nope.pem", "garbage": tmp_path / "g.pem"}.get(
        content, public
    )
    if content == "garbage":
        key_file.write_text("-----BEGIN PRIVATE KEY-----\nsecret-looking-words\n")
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(PRIVATE_KEY_ENV, str(key_file))
    code, out, err = cli("audit", good, "--rules", rules_path, "--report", tmp_path / "r", "-q")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and PRIVATE_KEY_ENV in err
    assert "secret-looking-words" not in out + err and "BEGIN" not in out + err
    assert not (tmp_path / "r").exists()  # refused at the start, before any work


def test_the_github_action_signs_with_a_private_key_secret_and_removes_its_file(
    tmp_path: Path, setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """action.yml's audit step, run as GitHub runs it: the `signing-private-key` input (the PEM
    text of a secret) signs audit.json with Ed25519, and the key file it was written to is gone
    after the step, pass or fail."""
    import re
    import shutil
    import subprocess
    import sys

    import yaml

    from audit.signing import PRIVATE_KEY_ENV, PUBLIC_KEY_ENV

    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "curate").exists() or shutil.which("bash") is None:
        pytest.skip("needs the installed curate command and bash")
    rules_path, good, bad = setup
    private, public = _key_pair(tmp_path, "ci")
    action = yaml.safe_load((Path(__file__).parent.parent / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "audit")
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    inputs = {
        "rules": str(rules_path),
        "signing-key": "",
        "signing-private-key": private.read_text(),
    }

    def run(data: Path, report: Path) -> subprocess.CompletedProcess[str]:
        given = {**inputs, "data": str(data), "report": str(report)}
        env = {
            name: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: given[m.group(1)], value)
            for name, value in step["env"].items()
        }
        env.update(
            PATH=f"{bin_dir}:{os.environ['PATH']}",
            RUNNER_TEMP=str(runner_temp),
            GITHUB_OUTPUT=str(tmp_path / "gh_output"),
            GITHUB_STEP_SUMMARY=str(tmp_path / "gh_summary"),
            HOME=os.environ.get("HOME", str(tmp_path)),
        )
        return subprocess.run(
            ["bash", "-c", step["run"]], env=env, capture_output=True, text=True, check=False
        )

    passed = run(good, tmp_path / "rep_ok")
    assert passed.returncode == 0, passed.stderr
    failed = run(bad, tmp_path / "rep_bad")
    assert failed.returncode == 1, failed.stderr
    assert list(runner_temp.iterdir()) == []  # the key file is removed after each run
    assert "verdict=pass" in (tmp_path / "gh_output").read_text()
    assert private.read_text().splitlines()[1] not in (tmp_path / "gh_summary").read_text()
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(PRIVATE_KEY_ENV, raising=False)
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(public))
    signed = load_audit(tmp_path / "rep_ok")
    assert signed["signature"]["algorithm"] == "ed25519"
