"""The bundled rule sets run end to end on the bundled example, reproducibly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from curate.cleaning import clean

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_tickets.jsonl"
OUTPUTS = ("clean.jsonl", "dropped.jsonl", "quarantine.jsonl", "duplicates.jsonl", "manifest.json")


@pytest.mark.parametrize("rules", ["default", "pretraining"])
def test_bundled_rules_clean_the_example_reproducibly(tmp_path: Path, rules: str) -> None:
    first = clean(EXAMPLE, tmp_path / "a", rules).manifest
    clean(EXAMPLE, tmp_path / "b", rules)
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    counts = first["counts"]
    assert counts["records"] == 481
    assert counts["quarantined"] == 1
    assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
    dropped = [json.loads(line) for line in (tmp_path / "a" / "dropped.jsonl").open()]
    by_step = Counter(d["_curate"]["step"] for d in dropped)
    assert sum(by_step.values()) == counts["dropped"]
    assert by_step == Counter({s["id"]: s["dropped"] for s in first["steps"] if s["dropped"]})


def test_default_rules_find_the_planted_problems(tmp_path: Path) -> None:
    manifest = clean(EXAMPLE, tmp_path / "out", "default").manifest
    steps = {s["id"]: s for s in manifest["steps"]}
    assert steps["length"]["dropped_by_reason"] == {"empty": 1}  # the one empty ticket
    assert steps["dedupe_exact"]["dropped"] > 0
    assert steps["dedupe_near"]["dropped"] > 0
    clusters = [json.loads(line) for line in (tmp_path / "out" / "duplicates.jsonl").open()]
    assert {c["step"] for c in clusters} == {"dedupe_exact", "dedupe_near"}
    for cluster in clusters:
        assert cluster["kept"] in cluster["members"] and cluster["size"] == len(cluster["members"])


_WORD_LIST = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name president team minute idea "
    "kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education foot boy age policy process music market sense nation plan college interest "
    "death experience effect use class control care field development role effort rate heart "
    "drug show leader light voice wife police mind price report decision son view relationship"
)
WORDS = _WORD_LIST.split()


def alpaca(path: Path, repeats: int, seed: int = 0) -> Path:
    """48 distinct instruction records, 8 of them questions about one shared 500-word passage,
    then ``repeats`` records that repeat an earlier instruction and output with a new input."""
    import random

    rng = random.Random(seed)

    def sentence(count: int) -> str:
        return " ".join(rng.choices(WORDS, k=count)).capitalize() + "."

    passage = " ".join(sentence(20) for _ in range(25))
    records: list[dict[str, str]] = []
    for i in range(40):
        record = {"instruction": f"Explain {sentence(10)}", "output": sentence(25)}
        if i % 2:
            record["input"] = sentence(15)
        records.append(record)
    for _ in range(8):
        question = f"Answer about the passage: {sentence(10)}"
        records.append({"instruction": question, "input": passage, "output": sentence(25)})
    for i in range(repeats):
        records.append({**records[i], "input": sentence(15)})
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_instruction_rules_audit_alpaca_records(tmp_path: Path, cli) -> None:
    """``--rules instruction`` reads alpaca records; a shared input is not a duplicate, a
    repeated instruction + output is, and too many of those fail the gate."""
    clean_file = alpaca(tmp_path / "alpaca.jsonl", repeats=0)
    code, out, err = cli("audit", clean_file, "--rules", "instruction", "--report", tmp_path / "a")
    assert code == 0, out + err
    metrics = json.loads((tmp_path / "a" / "audit.json").read_text())["metrics"]
    assert metrics["dataset.valid_records"] == 48 and metrics["dataset.quarantined"] == 0
    assert metrics["steps.dedupe_exact.flagged"] == 0
    assert metrics["steps.dedupe_near.flagged"] == 0  # the 8 passage questions are distinct
    # the same records judged on their whole text: the shared passage makes them near copies
    whole = tmp_path / "whole.yaml"
    whole.write_text("extends: instruction\nsteps:\n  - step: dedupe_near\n    fields: null\n")
    code, _, _ = cli("audit", clean_file, "--rules", whole, "--report", tmp_path / "w")
    metrics = json.loads((tmp_path / "w" / "audit.json").read_text())["metrics"]
    assert metrics["steps.dedupe_near.flagged"] == 7

    repeated = alpaca(tmp_path / "repeated.jsonl", repeats=20)
    code, out, _ = cli("audit", repeated, "--rules", "instruction", "--report", tmp_path / "b")
    assert code == 1
    audit = json.loads((tmp_path / "b" / "audit.json").read_text())
    assert audit["verdict"] == "fail"
    assert audit["metrics"]["steps.dedupe_exact.flagged"] == 20
    failed = [c["metric"] for c in audit["checks"] if c["status"] == "fail"]
    assert failed == ["steps.dedupe_exact.flagged_rate"]
