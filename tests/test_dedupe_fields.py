"""Field-aware dedup (issue 14 item 6): ``fields: [...]`` and ``roles: [...]`` on dedupe_exact
and dedupe_near compare only part of each record; without them the whole text, as before."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from curate_testutil import read_jsonl, write_jsonl

from curate.cleaning import clean
from curate.reader import read_batches
from curate.rules import load_rules
from curate.steps.dedupe_exact import DedupeExact
from finetune.data import group_ids

VOCABULARY = [f"v{i}" for i in range(20000)]


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.sample(VOCABULARY, count))


def alpaca_records(seed: int = 0) -> list[dict[str, Any]]:
    """Records a1..a4 share a 600-word input and differ in instruction and output; b1, b2
    share instruction and output and differ in input; c1 has no input at all."""
    rng = random.Random(seed)
    shared = words(rng, 600)
    records = [
        {"id": f"a{i}", "instruction": words(rng, 12), "input": shared, "output": words(rng, 20)}
        for i in range(1, 5)
    ]
    instruction, output = words(rng, 30), words(rng, 40)
    records += [
        {"id": f"b{i}", "instruction": instruction, "input": words(rng, 300), "output": output}
        for i in (1, 2)
    ]
    records.append({"id": "c1", "instruction": words(rng, 30), "output": words(rng, 40)})
    return records


def rules_file(folder: Path, fields: str, steps: str, name: str = "r") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nfields: {fields}\nsteps:\n{steps}", encoding="utf-8")
    return path


ALPACA_FIELDS = "{text: [instruction, input, output], optional: [input], id: id}"


def removed(manifest: dict[str, Any], step_id: str) -> int:
    return next(s["dropped"] for s in manifest["steps"] if s["id"] == step_id)


def dropped_ids(folder: Path) -> dict[str, str]:
    """Dropped record id -> the id it duplicates."""
    return {r["id"]: r["_curate"]["duplicate_of"] for r in read_jsonl(folder / "dropped.jsonl")}


def test_shared_input_is_not_a_near_duplicate_when_comparing_instruction_and_output(
    tmp_path: Path,
) -> None:
    data = write_jsonl(tmp_path / "alpaca.jsonl", alpaca_records())
    whole = rules_file(tmp_path, ALPACA_FIELDS, "  - step: dedupe_near\n", "whole")
    parts = rules_file(
        tmp_path,
        ALPACA_FIELDS,
        "  - step: dedupe_near\n    fields: [instruction, output]\n",
        "parts",
    )
    clean(data, tmp_path / "whole", whole)
    clean(data, tmp_path / "parts", parts)
    # the whole text: the shared input makes a2..a4 near copies of a1
    assert dropped_ids(tmp_path / "whole") == {"a2": "a1", "a3": "a1", "a4": "a1"}
    # instruction + output: only b2 (same instruction and output as b1) is a duplicate
    assert dropped_ids(tmp_path / "parts") == {"b2": "b1"}


def test_exact_dedupe_on_fields_ignores_the_other_fields(tmp_path: Path) -> None:
    records = alpaca_records()
    data = write_jsonl(tmp_path / "alpaca.jsonl", records)
    rules = rules_file(
        tmp_path,
        ALPACA_FIELDS,
        "  - step: dedupe_exact\n    fields: [output, instruction]\n",  # order: the record's
    )
    manifest = clean(data, tmp_path / "out", rules).manifest
    assert dropped_ids(tmp_path / "out") == {"b2": "b1"}
    assert removed(manifest, "dedupe_exact") == 1
    clusters = read_jsonl(tmp_path / "out" / "duplicates.jsonl")
    assert [c["members"] for c in clusters] == [["b1", "b2"]]


def chat(user: str, assistant: str | None, rid: str) -> dict[str, Any]:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": user}]
    if assistant is not None:
        messages.append({"role": "assistant", "content": assistant})
    return {"id": rid, "messages": messages}


CHAT_FIELDS = "{chat: messages, id: id}"


def test_chats_that_differ_only_in_the_user_turn_are_exact_duplicates_on_assistant_turns(
    tmp_path: Path,
) -> None:
    records = [
        chat("What is the capital of France?", "Paris.", "c1"),
        chat("Capital of France, please", "Paris.", "c2"),
        chat("And of Italy?", "Rome.", "c3"),
        # content as a list of text parts: the parts are the turn, joined in order
        {
            "id": "c4",
            "messages": [
                {"role": "user", "content": "Two parts?"},
                {"role": "assistant", "content": [{"type": "text", "text": "Rome."}]},
            ],
        },
        # no assistant turn: nothing to compare, so neither is the other's duplicate
        chat("Hello?", None, "e1"),
        chat("Hello?", None, "e2"),
    ]
    data = write_jsonl(tmp_path / "chat.jsonl", records)
    roles = rules_file(
        tmp_path, CHAT_FIELDS, "  - step: dedupe_exact\n    roles: [assistant]\n", "roles"
    )
    whole = rules_file(tmp_path, CHAT_FIELDS, "  - step: dedupe_exact\n", "whole")
    clean(data, tmp_path / "roles", roles)
    clean(data, tmp_path / "whole", whole)
    assert dropped_ids(tmp_path / "roles") == {"c2": "c1", "c4": "c3"}
    # the whole text: the user turns differ; the two identical chats without answer are equal
    assert dropped_ids(tmp_path / "whole") == {"e2": "e1"}


def test_roles_join_several_turns_in_order(tmp_path: Path) -> None:
    def two_turns(first: str, second: str, rid: str) -> dict[str, Any]:
        return {
            "id": rid,
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": first},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": second},
            ],
        }

    records = [two_turns("x", "y", "t1"), two_turns("y", "x", "t2"), two_turns("x", "y", "t3")]
    data = write_jsonl(tmp_path / "chat.jsonl", records)
    rules = rules_file(tmp_path, CHAT_FIELDS, "  - step: dedupe_exact\n    roles: [assistant]\n")
    clean(data, tmp_path / "out", rules)
    assert dropped_ids(tmp_path / "out") == {"t3": "t1"}  # t2 has the turns swapped


def test_empty_compared_fields_are_not_duplicates_but_empty_whole_texts_are(
    tmp_path: Path,
) -> None:
    records = [
        {"id": "1", "title": "", "body": "first body"},
        {"id": "2", "title": "  ", "body": "second body"},
        {"id": "3", "title": "same", "body": "x"},
        {"id": "4", "title": "same", "body": "y"},
        {"id": "5", "title": "", "body": ""},
        {"id": "6", "title": "", "body": ""},
    ]
    data = write_jsonl(tmp_path / "d.jsonl", records)
    fields = "{text: [title, body], id: id}"
    titles = rules_file(tmp_path, fields, "  - step: dedupe_exact\n    fields: [title]\n", "titles")
    whole = rules_file(tmp_path, fields, "  - step: dedupe_exact\n", "whole")
    clean(data, tmp_path / "titles", titles)
    clean(data, tmp_path / "whole", whole)
    assert dropped_ids(tmp_path / "titles") == {"4": "3"}
    assert dropped_ids(tmp_path / "whole") == {"6": "5"}


def test_field_names_with_a_slash_are_found(tmp_path: Path) -> None:
    records = [{"q/a": "same", "n": str(i)} for i in range(3)]
    data = write_jsonl(tmp_path / "d.jsonl", records)
    rules = rules_file(
        tmp_path,
        '{text: ["q/a", n]}',
        '  - step: dedupe_exact\n    fields: ["q/a"]\n',
    )
    manifest = clean(data, tmp_path / "out", rules).manifest
    assert removed(manifest, "dedupe_exact") == 2


def test_the_rules_join_string_joins_the_compared_fields(tmp_path: Path) -> None:
    """With join "" the fields "ab" + "c" and "a" + "bc" compare equal; with the default
    join they do not."""
    records = [{"x": "ab", "y": "c", "z": "1"}, {"x": "a", "y": "bc", "z": "2"}]
    data = write_jsonl(tmp_path / "d.jsonl", records)
    step = "  - step: dedupe_exact\n    fields: [x, y]\n    normalize: none\n"
    glued = rules_file(tmp_path, '{text: [x, y, z], join: ""}', step, "glued")
    apart = rules_file(tmp_path, "{text: [x, y, z]}", step, "apart")
    assert removed(clean(data, tmp_path / "glued", glued).manifest, "dedupe_exact") == 1
    assert removed(clean(data, tmp_path / "apart", apart).manifest, "dedupe_exact") == 0


def test_default_params_leave_the_rules_hash_and_dump_unchanged(tmp_path: Path) -> None:
    """Unset, the new parameters are not in the rules' canonical form: rules written before
    them keep their sha256 (audits bound to it stay valid)."""
    rules = load_rules("default")
    for spec in rules.canonical()["steps"]:
        assert "fields" not in spec and "roles" not in spec
    chosen = rules_file(tmp_path, ALPACA_FIELDS, "  - step: dedupe_exact\n    fields: [output]\n")
    (spec,) = load_rules(chosen).canonical()["steps"]
    assert spec["fields"] == ["output"]


BAD = [
    (
        "unknown_field",
        ALPACA_FIELDS,
        "  - step: dedupe_near\n    fields:\n      - instruction\n      - outptu\n",
        7,
        "'outptu' is not a text field of these rules",
    ),
    (
        "fields_on_chat",
        CHAT_FIELDS,
        "  - step: dedupe_exact\n    fields: [messages]\n",
        5,
        "compare turns with 'roles' instead",
    ),
    (
        "roles_on_text",
        ALPACA_FIELDS,
        "  - step: dedupe_exact\n    roles: [assistant]\n",
        5,
        "'roles' needs chat records (fields.chat)",
    ),
    (
        "both",
        CHAT_FIELDS,
        "  - step: dedupe_near\n    roles: [assistant]\n    fields: [x]\n",
        4,
        "give either 'fields' or 'roles', not both",
    ),
    (
        "empty_list",
        CHAT_FIELDS,
        "  - step: dedupe_exact\n    roles: []\n",
        5,
        "roles",
    ),
]


@pytest.mark.parametrize(
    ("name", "fields", "steps", "line", "fragment"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_fields_or_roles_exit_2_naming_the_rules_file(
    tmp_path: Path, cli, name: str, fields: str, steps: str, line: int, fragment: str
) -> None:
    rules = rules_file(tmp_path, fields, steps, name)
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "a", "output": "b"}])
    out = tmp_path / "report"
    commands = [("rules", "validate", rules), ("audit", data, "--rules", rules, "--report", out)]
    for command in commands:
        code, _, err = cli(*command)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert f"{rules}:{line}:" in lines[0] and fragment in lines[0], lines[0]


def test_keys_and_one_pass_agree_on_field_aware_exact(tmp_path: Path) -> None:
    """The phases (keys/reduce/decide, as on Ray) and the one-pass fold decide the same."""
    records = alpaca_records()
    copies = [{**r, "id": r["id"] + "x"} for r in records]
    data = write_jsonl(tmp_path / "alpaca.jsonl", records + copies)
    rules = load_rules(
        rules_file(tmp_path, ALPACA_FIELDS, "  - step: dedupe_exact\n    fields: [output]\n")
    )
    frames = [read.frame for read in read_batches(data, rules)]
    frame = pl.concat(frames)
    folded = DedupeExact(rules.steps[0].params)
    one_pass = folded.apply(frame)
    phased = DedupeExact(rules.steps[0].params)
    phased.fit([frame])  # GlobalStep.fit runs keys -> spread -> reduce -> decide
    marked = phased.mark(frame.with_row_index("_rank").cast({"_rank": pl.Int64}))
    assert one_pass["_duplicate_of"].to_list() == marked["_duplicate_of"].to_list()
    # b2 (b1's output) and every copy are marked
    assert one_pass["_duplicate_of"].null_count() == 6


def test_finetune_split_groups_follow_the_near_step_compare_choice(tmp_path: Path) -> None:
    """finetune keeps near duplicates in one split with the rules' dedupe_near step: with
    fields: [instruction, output], records that only share an input are not grouped."""
    data = write_jsonl(tmp_path / "alpaca.jsonl", alpaca_records())

    def groups(steps: str, name: str) -> list[int]:
        rules = load_rules(rules_file(tmp_path, ALPACA_FIELDS, steps, name))
        frame = pl.concat([read.frame for read in read_batches(data, rules)])
        ids, _ = group_ids(frame, rules)
        return ids.tolist()

    whole = groups("  - step: dedupe_near\n", "whole")
    parts = groups("  - step: dedupe_near\n    fields: [instruction, output]\n", "parts")
    assert whole[:4] == [whole[0]] * 4 and whole[4] != whole[5]
    assert len(set(parts[:4])) == 4 and parts[4] == parts[5]


def test_json_records_are_written_back_unchanged(tmp_path: Path) -> None:
    """Comparing part of a record changes what is compared, not what is written."""
    records = alpaca_records()
    data = write_jsonl(tmp_path / "alpaca.jsonl", records)
    rules = rules_file(
        tmp_path, ALPACA_FIELDS, "  - step: dedupe_exact\n    fields: [instruction, output]\n"
    )
    clean(data, tmp_path / "out", rules)
    kept = [json.loads(line) for line in (tmp_path / "out" / "clean.jsonl").open()]
    assert kept == [r for r in records if r["id"] != "b2"]
