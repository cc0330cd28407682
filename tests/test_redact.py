"""The ``redact_pii`` step: actions per entity, chat segments in place, residual findings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from audit.pii import PiiEngine, PiiParams, mask
from audit.steps.redact_pii import RedactPii
from curate import batch as B
from curate.cleaning import clean
from curate.errors import RulesError
from curate.registry import STEPS, load_plugins


def step(seed: int = 0, base_dir: str | None = None, **params: object) -> RedactPii:
    load_plugins()
    assert STEPS["redact_pii"] is RedactPii
    return RedactPii(PiiParams.model_validate(params), seed=seed, base_dir=base_dir)


def test_replace_is_the_default_action() -> None:
    redact = step()
    out = redact.apply(B.from_texts(["mail ana@example.org or call 212-555-0123 now", "hello"]))
    assert out[B.TEXT].to_list() == ["mail <EMAIL_ADDRESS> or call <PHONE_NUMBER> now", "hello"]
    assert out[B.CHANGED].to_list() == [True, False]
    assert out[B.REASON].to_list() == [None, None]
    assert out[B.ID].to_list() == ["1", "2"]


def test_mask_keeps_length_and_separators_and_never_more_than_half() -> None:
    assert mask("4111-1111-1111-1234", 4) == "****-****-****-1234"
    assert mask("4111-1111-1111-1234", 0) == "****-****-****-****"
    assert mask("1234", 4) == "**34"  # four of four would leave the value whole
    redact = step(default_action="mask", mask_keep_last=4)
    text = "card 4111 1111 1111 1111 thanks"
    (out,) = redact.apply(B.from_texts([text]))[B.TEXT].to_list()
    assert out == "card **** **** **** 1111 thanks"
    assert len(out) == len(text)


def test_hash_gives_the_same_token_for_the_same_value_and_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATE_SIGNING_KEY", "test-key")
    redact = step(seed=5, default_action="hash")
    texts = ["from ana@example.org", "to ana@example.org and bob@example.org"]
    out = redact.apply(B.from_texts(texts))[B.TEXT].to_list()
    engine = PiiEngine(PiiParams(), seed=5)
    ana, bob = engine.value_hash("ana@example.org"), engine.value_hash("bob@example.org")
    assert out == [
        f"from <EMAIL_ADDRESS:{ana}>",
        f"to <EMAIL_ADDRESS:{ana}> and <EMAIL_ADDRESS:{bob}>",
    ]
    assert ana is not None and re.fullmatch(r"[0-9a-f]{16}", ana)
    # Without a key the hash could be reversed by brute force: the action is refused.
    monkeypatch.delenv("CURATE_SIGNING_KEY")
    with pytest.raises(RulesError, match="CURATE_SIGNING_KEY"):
        step(actions={"US_SSN": "hash"})


def test_actions_are_chosen_per_entity() -> None:
    redact = step(actions={"PHONE_NUMBER": "mask"})
    (out,) = redact.apply(B.from_texts(["ana@example.org, 212-555-0123"]))[B.TEXT].to_list()
    assert out == "<EMAIL_ADDRESS>, ***-***-****"


def test_chat_segments_are_redacted_in_place_and_the_text_rejoined(tmp_path: Path) -> None:
    records = [
        {
            "id": "a",
            "messages": [
                {"role": "system", "content": "You help with billing."},
                {"role": "user", "content": "I'm ana@example.org, card 5500 0000 0000 0004"},
                {"role": "assistant", "content": "Thanks, I will mail ana@example.org."},
            ],
        },
        {"id": "b", "messages": [{"role": "user", "content": "no personal data here"}]},
    ]
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {chat: messages, id: id}\nsteps:\n  - step: redact_pii\n", encoding="utf-8"
    )
    result = clean(data, tmp_path / "out", rules)
    lines = (tmp_path / "out" / "clean.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [json.loads(line) for line in lines]
    assert [m["content"] for m in kept[0]["messages"]] == [
        "You help with billing.",
        "I'm <EMAIL_ADDRESS>, card <CREDIT_CARD>",
        "Thanks, I will mail <EMAIL_ADDRESS>.",
    ]
    assert [m["role"] for m in kept[0]["messages"]] == ["system", "user", "assistant"]
    assert kept[1] == records[1]
    (count,) = result.manifest["steps"]
    assert count["changed"] == 1
    summary = count["summary"]
    assert summary["records"] == 2 and summary["records_redacted"] == 1
    assert summary["by_entity"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 2}
    assert summary["residual_records"] == 0 and summary["residual_rate"] == 0.0
    written = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    assert "ana@example.org" not in written


def test_joined_fields_keep_their_separator() -> None:
    batch = B.from_texts(["placeholder"], join=" || ")
    segments = [
        {"path": "prompt", "role": None, "text": "ask ana@example.org"},
        {"path": "completion", "role": None, "text": "ok"},
    ]
    batch = batch.with_columns(pl.Series(B.SEGMENTS, [segments], dtype=B.SEGMENT_DTYPE))
    batch = batch.with_columns(B.joined_text(" || ").alias(B.TEXT))
    out = step().apply(batch)
    assert out[B.TEXT].to_list() == ["ask <EMAIL_ADDRESS> || ok"]


def test_records_still_holding_pii_after_redaction_are_marked(tmp_path: Path) -> None:
    # A deny-listed word that the replacement token itself contains: the rescan finds it.
    recognizers = tmp_path / "r.yaml"
    recognizers.write_text(
        "version: 1\nrecognizers:\n  - name: token_word\n    entity: TOKEN_WORD\n"
        "    deny_list: [email_address]\n",
        encoding="utf-8",
    )
    redact = step(base_dir=str(tmp_path), recognizers=["r.yaml"])
    out = redact.apply(B.from_texts(["mail ana@example.org", "call 212-555-0123", "none"]))
    assert out[B.TEXT].to_list()[0] == "mail <EMAIL_ADDRESS>"
    assert out[B.REASON].to_list() == ["pii_residual", None, None]
    summary = redact.summary()
    assert summary["residual_records"] == 1
    assert summary["residual_rate"] == pytest.approx(1 / 3)
    assert summary["records_redacted"] == 2


def test_an_empty_batch_passes_through() -> None:
    empty = B.from_texts([])
    out = step().apply(empty)
    assert out.height == 0 and B.REASON in out.columns
