"""chat_format and tokens: fine-tuning records checked as a trainer reads them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from curate_testutil import word_level_tokenizer, write_jsonl

from curate.rules import load_rules

Cli = Callable[..., tuple[int, str, str]]

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}{{ p['text'] }}{% endfor %}{% endif %}"
    "{% if m['role'] == 'assistant' %} <|end|>{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def chat(*turns: tuple[str, Any], **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in turns], **extra}


def codes_by_line(report: Path) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for line in (report / "findings.jsonl").read_text().splitlines():
        finding = json.loads(line)
        if finding["check"] == "chat_format":
            out.setdefault(finding["line"], set()).add(finding["code"])
    return out


VALID: list[dict[str, Any]] = [
    chat(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!")),
    # a tool-call round trip: assistant content null with tool_calls, the tool answers its id
    {
        "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny.", "weight": 1},
        ]
    },
    # name and weight keys, content as a list of text parts, a legacy function call
    {
        "messages": [
            {"role": "developer", "content": "You help."},
            {"role": "user", "name": "ann", "content": [{"type": "text", "text": "look"}]},
            {"role": "assistant", "content": "draft", "weight": 0},
            {"role": "user", "content": "again"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "lookup", "arguments": "{}"},
            },
            {"role": "user", "content": "thanks"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}], "refusal": None},
        ]
    },
]

INVALID: list[tuple[dict[str, Any] | Any, set[str]]] = [
    ({"messages": []}, {"no_messages"}),
    ({"prompt": "no messages"}, {"no_messages"}),
    ({"messages": "hi"}, {"no_messages"}),
    (chat(("user", "q"), ("Assistant", "a")), {"bad_role", "no_assistant"}),
    (chat(("user", "q"), ("assistant ", "a")), {"bad_role", "no_assistant"}),
    (chat(("user", "q"), ("assistant", "   ")), {"empty_content"}),
    (chat(("user", None), ("assistant", "a")), {"empty_content"}),
    (chat(("user", "q"), ("assistant", 5)), {"bad_content"}),
    (chat(("user", "q"), ("system", "late"), ("assistant", "a")), {"system_not_first"}),
    (chat(("system", "s"), ("user", "q")), {"no_assistant"}),
    (chat(("user", "q"), ("assistant", "a"), ("user", "more")), {"last_not_assistant"}),
    (
        {"messages": [{"role": "user", "content": "q", "colour": 1}, {"role": "assistant"}]},
        {"unknown_key", "empty_content"},
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}],
                },
                {"role": "tool", "tool_call_id": "c", "content": "r"},
                {"role": "assistant", "content": "a"},
            ]
        },
        {"bad_tool_call"},  # arguments missing
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "tool", "tool_call_id": "nobody", "content": "r"},
                {"role": "assistant", "content": "a"},
            ]
        },
        {"bad_tool_call"},  # answers no earlier call
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"type": "function", "function": {"name": "f", "arguments": "{oops"}}
                    ],
                },
                {"role": "assistant", "content": "a"},
            ]
        },
        {"bad_tool_call", "repeated_role"},  # no id, arguments not JSON
    ),
    ({"messages": [7, {"role": "assistant", "content": "a"}]}, {"bad_message"}),
    (chat(("user", "a"), ("user", "b"), ("assistant", "c")), {"repeated_role"}),
    (
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a", "weight": 2},
            ]
        },
        {"bad_weight"},
    ),
]


def test_every_code_on_hand_written_records(tmp_path: Path, cli: Cli) -> None:
    records = [*VALID, *(r for r, _ in INVALID), [1, 2]]
    data = write_jsonl(tmp_path / "chat.jsonl", records)
    code, _out, err = cli("audit", str(data), "--rules", "chat", "--report", str(tmp_path / "r"))
    assert code == 1, err
    found = codes_by_line(tmp_path / "r")
    for line in range(1, len(VALID) + 1):
        assert line not in found, (line, found.get(line))
    for k, (_, expected) in enumerate(INVALID):
        assert found.get(len(VALID) + 1 + k) == expected, (k, found.get(len(VALID) + 1 + k))
    audit = json.loads((tmp_path / "r" / "audit.json").read_text())
    metrics = audit["metrics"]
    errors = sum(1 for _, codes in INVALID if codes - {"repeated_role", "bad_weight"})
    warnings = len(INVALID) - errors
    assert metrics["chat_format.records"] == len(records) - 1  # [1, 2] is quarantined
    assert metrics["chat_format.invalid_rate"] == pytest.approx(errors / (len(records) - 1))
    assert metrics["chat_format.warning_rate"] == pytest.approx(warnings / (len(records) - 1))
    assert metrics["dataset.quarantined"] == 1
    failed = {g["metric"] for g in audit["checks"] if g["status"] == "fail"}
    assert "chat_format.invalid_rate" in failed
    by_code = {row["code"]: row for row in audit["details"]["chat_format"]["by_code"]}
    assert by_code["bad_role"]["records"] == 2
    assert by_code["bad_tool_call"]["severity"] == "error"
    assert by_code["repeated_role"]["severity"] == "warning"
    finding = json.loads((tmp_path / "r" / "findings.jsonl").read_text().splitlines()[0])
    assert set(finding) >= {"check", "code", "severity", "id", "line", "path"}


def test_planted_errors_fail_the_gate_by_name_and_clean_chats_pass(
    tmp_path: Path, cli: Cli
) -> None:
    good = [
        chat(
            ("user", f"question number {i} about topic {i * 7}"),
            ("assistant", f"answer {i} " * (i % 5 + 3)),
        )
        for i in range(200)
    ]
    data = write_jsonl(tmp_path / "good.jsonl", good)
    code, out, err = cli("audit", str(data), "--rules", "chat", "--report", str(tmp_path / "g"))
    assert code == 0, out + err
    bad = good[:190] + [chat(("user", "q"), ("assistent", f"a{i}")) for i in range(10)]
    data = write_jsonl(tmp_path / "bad.jsonl", bad)
    code, out, err = cli("audit", str(data), "--rules", "chat", "--report", str(tmp_path / "b"))
    assert code == 1
    assert "malformed conversations" in out
    assert "failing: chat_format.invalid_rate" in out
    audit = json.loads((tmp_path / "b" / "audit.json").read_text())
    assert audit["metrics"]["chat_format.invalid_rate"] == pytest.approx(0.05)
    failed = [g["metric"] for g in audit["checks"] if g["status"] == "fail"]
    assert failed == ["chat_format.invalid_rate"]


def test_instruction_fields_empty_codes(tmp_path: Path, cli: Cli) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {text: [instruction, input, output], optional: [input]}\n"
        "checks:\n  - check: chat_format\n"
    )
    data = write_jsonl(
        tmp_path / "alpaca.jsonl",
        [
            {"instruction": "Add", "input": "", "output": "2"},
            {"instruction": "Add", "input": "1+1", "output": "  "},
            {"instruction": "", "output": "x"},
        ],
    )
    _code, _out, _err = cli(
        "audit", str(data), "--rules", str(rules), "--report", str(tmp_path / "r")
    )
    findings = [json.loads(x) for x in (tmp_path / "r" / "findings.jsonl").read_text().splitlines()]
    got = {(f["line"], f["code"], f["path"]) for f in findings if f["check"] == "chat_format"}
    assert got == {(2, "empty_content", "/output"), (3, "empty_content", "/instruction")}


def test_chat_with_default_rules_hints_at_chat_rules(tmp_path: Path, cli: Cli) -> None:
    data = write_jsonl(tmp_path / "c.jsonl", [chat(("user", "q"), ("assistant", "a"))] * 3)
    code, out, err = cli("audit", str(data), "--report", str(tmp_path / "r"))
    assert code == 1
    assert "--rules chat" in out + err


# -- tokens -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word-level tokenizer folder with a chat template, built here (no download)."""
    pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tok")
    words = ["question", "answer", "be", "brief", "hi", "hello", "<|system|>"]
    words += [str(i) for i in range(50)]
    word_level_tokenizer(words, folder, max_length=512, chat_template=TEMPLATE)
    return folder


def chat_rules(tmp_path: Path, tokenizer: Path, max_length: int) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "extends: chat\n"
        "checks:\n"
        f"  - check: tokens\n    tokenizer: {tokenizer}\n    max_length: {max_length}\n"
    )
    return rules


def test_tokens_equal_transformers_template_and_training_set(
    tmp_path: Path, tokenizer_dir: Path, cli: Cli
) -> None:
    from transformers import AutoTokenizer

    records = [
        chat(
            ("system", "be brief"),
            ("user", f"question {i}"),
            ("assistant", "answer " * (i % 9 + 1)),
        )
        for i in range(40)
    ]
    records.append(chat(("user", "hi " * 30), ("assistant", "hello")))  # answer past the cut
    data = write_jsonl(tmp_path / "c.jsonl", records)
    max_length = 16
    rules = chat_rules(tmp_path, tokenizer_dir, max_length)
    code, _out, err = cli(
        "audit", str(data), "--rules", str(rules), "--report", str(tmp_path / "r")
    )
    assert code in (0, 1), err
    metrics = json.loads((tmp_path / "r" / "audit.json").read_text())["metrics"]

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    lengths, trainable = [], 0
    for record in records:
        text = tok.apply_chat_template(record["messages"], tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        lengths.append(len(ids))
        # the assistant turn's tokens: everything after the last "<|assistant|>" marker
        start = len(ids) - 1 - ids[::-1].index(tok.convert_tokens_to_ids("<|assistant|>"))
        trainable += sum(
            1
            for k in range(start + 1, len(ids))
            if k < max_length and tok.convert_ids_to_tokens(ids[k]) != "\n"
        )
    assert metrics["tokens.total"] == sum(lengths)
    assert metrics["tokens.max"] == max(lengths)
    assert metrics["tokens.over_limit_rate"] == pytest.approx(
        sum(n > max_length for n in lengths) / len(records)
    )
    assert metrics["tokens.no_trainable_rate"] == pytest.approx(1 / len(records))

    # the same code builds the training set: its labels hold exactly trainable_total tokens
    from finetune.data import read_records
    from finetune.encode import IGNORE, causal_texts, encode_causal

    effective = load_rules(rules)
    frame = read_records(data, effective).frame
    encoded = encode_causal(causal_texts(frame, effective, tok, True), tok, max_length)
    kept = [item for item in encoded.items if item is not None]
    assert len(kept) == len(records) - 1
    in_labels = sum(sum(1 for x in item["labels"] if x != IGNORE) for item in kept)
    assert metrics["tokens.trainable_total"] == in_labels
    assert metrics["tokens.epoch_tokens"] == sum(len(item["input_ids"]) for item in kept)
    assert trainable == in_labels


def test_reports_have_a_fine_tuning_readiness_section(
    tmp_path: Path, tokenizer_dir: Path, cli: Cli
) -> None:
    records = [
        chat(("user", f"question {i}"), ("assistant", "answer " * (i % 30))) for i in range(60)
    ]
    data = write_jsonl(tmp_path / "c.jsonl", records)
    rules = chat_rules(tmp_path, tokenizer_dir, 20)
    code, _out, err = cli(
        "audit", str(data), "--rules", str(rules), "--report", str(tmp_path / "r")
    )
    assert code in (0, 1), err
    metrics = json.loads((tmp_path / "r" / "audit.json").read_text())["metrics"]
    md = (tmp_path / "r" / "audit.md").read_text()
    html = (tmp_path / "r" / "audit.html").read_text()
    for text in (md, html):
        assert "Fine-tuning readiness" in text
        assert "training tokens per epoch" in text
        assert "◂ max" in text  # the limit is marked on the length histogram
        assert str(metrics["tokens.trainable_total"]) in text
    # one empty answer: the format table names its code
    assert "empty\\_content" in md


def test_preview_marks_trained_text_and_the_cut(
    tmp_path: Path, tokenizer_dir: Path, cli: Cli
) -> None:
    records = [
        chat(("user", "hi"), ("assistant", "hello")),
        chat(("user", "question " * 12), ("assistant", "answer answer")),
    ]
    data = write_jsonl(tmp_path / "c.jsonl", records)
    rules = chat_rules(tmp_path, tokenizer_dir, 10)
    code, out, err = cli("preview", str(data), "--rules", str(rules), "--n", "2")
    assert code == 0, err
    first, second = out.split("── record ")[1:]
    assert "⟦hello <|end|>⟧" in first
    assert "2 trained" in first and "✂" not in first
    # the second record is cut inside the user turn: its answer is past the cut, not trained
    assert "max_length 10: the text after this is cut" in second
    assert "0 trained" in second
    before_cut = second.split("✂")[0]
    assert before_cut.count("question") == 10 - 1  # <|user|> and nine words fill ten tokens
    # without a tokenizer: one line, exit 2
    code, out, err = cli("preview", str(data), "--rules", "chat")
    assert code == 2 and "needs a tokenizer" in err and "Traceback" not in err


def test_fields_chat_alone_replaces_an_inherited_text_field(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("extends: default\nfields: {chat: messages}\n")
    loaded = load_rules(rules)
    assert loaded.fields.chat == "messages" and loaded.fields.text is None
    back = tmp_path / "back.yaml"
    back.write_text("extends: chat\nfields: {text: body}\n")
    # chat.yaml's dedup compares assistant turns: on text records that is a rules error
    with pytest.raises(Exception, match="'roles' needs chat records"):
        load_rules(back)
    both = tmp_path / "both.yaml"
    both.write_text("fields: {chat: messages, text: body}\n")
    with pytest.raises(Exception, match="either 'text' or 'chat'"):
        load_rules(both)


def test_clean_drops_malformed_conversations_by_code_with_any_worker_count(tmp_path: Path) -> None:
    from curate.cleaning import clean

    records = [*VALID * 5, *(r for r, _ in INVALID)]
    data = write_jsonl(tmp_path / "c.jsonl", records)
    rules = tmp_path / "rules.yaml"
    rules.write_text("extends: chat\nread: {batch_size: 4}\n")  # many batches: workers start
    one = clean(data, tmp_path / "one", rules).manifest
    clean(data, tmp_path / "two", rules, workers=2)
    for name in ("clean.jsonl", "dropped.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    dropped = [json.loads(x) for x in (tmp_path / "one" / "dropped.jsonl").read_text().splitlines()]
    by_line = {
        d["_curate"]["line"]: d["_curate"]["reason"]
        for d in dropped
        if d["_curate"]["step"] == "chat_format"
    }
    for k, (_, codes) in enumerate(INVALID):
        line = len(VALID) * 5 + 1 + k
        errors = codes - {"repeated_role", "bad_weight"}
        if errors:
            assert by_line.get(line) in errors, (line, by_line.get(line), codes)
        else:
            assert line not in by_line  # a warning never drops a record
    steps = {s["id"]: s for s in one["steps"]}
    assert steps["chat_format"]["dropped"] == sum(
        1 for _, c in INVALID if c - {"repeated_role", "bad_weight"}
    )


def test_the_chat_example_fails_on_its_planted_conversations_only(tmp_path: Path, cli: Cli) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "support_chats.jsonl"
    code, out, _err = cli("audit", str(example), "--rules", "chat", "--report", str(tmp_path / "r"))
    assert code == 1
    assert "failing: chat_format.invalid_rate\n" in out
    found = codes_by_line(tmp_path / "r")
    assert sorted(found) == [50, 51, 52, 53, 54]
    assert found[53] == {"bad_tool_call"}


def test_tokens_reads_a_tokenizer_json_file_and_a_jinja_template_file(
    tmp_path: Path, tokenizer_dir: Path, cli: Cli
) -> None:
    from transformers import AutoTokenizer

    (tmp_path / "t.jinja").write_text(
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "extends: chat\nchecks:\n  - check: tokens\n"
        f"    tokenizer: {tokenizer_dir / 'tokenizer.json'}\n"
        "    chat_template: t.jinja\n    max_length: 64\n"
    )
    records = [chat(("user", f"question {i}"), ("assistant", "answer " * i)) for i in range(1, 9)]
    data = write_jsonl(tmp_path / "c.jsonl", records)
    code, _out, err = cli(
        "audit", str(data), "--rules", str(rules), "--report", str(tmp_path / "r")
    )
    assert code in (0, 1), err
    metrics = json.loads((tmp_path / "r" / "audit.json").read_text())["metrics"]
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.chat_template = (tmp_path / "t.jinja").read_text()
    expected = [
        len(
            tok(tok.apply_chat_template(r["messages"], tokenize=False), add_special_tokens=False)[
                "input_ids"
            ]
        )
        for r in records
    ]
    assert metrics["tokens.total"] == sum(expected)
    # the template file is part of the rules' hash: editing it changes the audit's rules sha256
    first = json.loads((tmp_path / "r" / "audit.json").read_text())["rules"]["sha256"]
    (tmp_path / "t.jinja").write_text("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    assert load_rules(rules).sha256 != first


def test_sharegpt_records_are_named_for_what_they_are(tmp_path: Path, cli: Cli) -> None:
    turns = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
    data = write_jsonl(tmp_path / "s.jsonl", [turns] * 3)
    code, _out, _err = cli("audit", str(data), "--rules", "chat", "--report", str(tmp_path / "r"))
    assert code == 1
    findings = [json.loads(x) for x in (tmp_path / "r" / "findings.jsonl").read_text().splitlines()]
    got = {(f["code"], f["path"]) for f in findings if f["check"] == "chat_format"}
    assert got == {("no_messages", "/messages"), ("sharegpt_turns", "/conversations")}
    code, out, _err = cli("audit", str(data), "--report", str(tmp_path / "d"))
    assert code == 1
    assert 'ShareGPT turns (from/value) in "conversations"' in out
