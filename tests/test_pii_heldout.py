"""The heldout labelled PII set (bench/pii_heldout.py) as a generator: not the detector.

It must be the same for a seed, its gold spans must cut exactly the planted values (each
value checked by its own rule here: Luhn, mod-97, SSN shape, parseable IP, ...), every one of
the seven entities must appear, its hard negatives must carry no gold, and none of its
templates may repeat one of the earlier sets of bench/pii_corpus.py.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("faker")
BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import pii_corpus
    import pii_heldout
finally:
    sys.path.remove(str(BENCH))

SEVEN = {
    "PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE",
    "IP_ADDRESS",
}  # fmt: skip


@pytest.fixture(scope="module")
def samples() -> list[Any]:
    return pii_heldout.heldout_sentences(400)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        v = int(ch) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def _iban_ok(value: str) -> bool:
    compact = value.replace(" ", "")
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


VALID = {
    "CREDIT_CARD": lambda v: (
        re.fullmatch(r"\d[\d -]+\d", v) is not None
        and 14 <= len(re.sub(r"\D", "", v)) <= 19
        and _luhn_ok(re.sub(r"\D", "", v))
    ),
    "IBAN_CODE": lambda v: re.fullmatch(r"[A-Z]{2}\d\d[A-Z0-9 ]+", v) is not None and _iban_ok(v),
    "US_SSN": lambda v: (
        re.fullmatch(r"(?!000|666|9)\d{3}([- ])(?!00)\d\d\1(?!0000)\d{4}", v) is not None
    ),
    "IP_ADDRESS": lambda v: ipaddress.ip_address(v).is_global,
    "EMAIL_ADDRESS": lambda v: (
        re.fullmatch(r"[A-Za-z0-9._+]+@[A-Za-z0-9.-]+\.[a-z]{2,}", v) is not None
    ),
    "PHONE_NUMBER": lambda v: (
        re.fullmatch(r"[+(0-9][0-9 ()+./x\-extn]*[0-9]", v) is not None
        and len(re.sub(r"\D", "", v)) >= 7
    ),
    "PERSON": lambda v: re.fullmatch(r"[^\W\d_]+([ .\-][^\W\d_]*)*", v) is not None,
}


def test_same_seed_same_texts_other_seed_other_texts() -> None:
    first = pii_heldout.heldout_sentences(150)
    assert first == pii_heldout.heldout_sentences(150, pii_heldout.HELDOUT_SEED)
    other = pii_heldout.heldout_sentences(150, seed=1)
    assert [s.text for s in other] != [s.text for s in first]
    assert len(first) == 150 + 75


def test_gold_spans_cut_exactly_the_values(samples: list[Any]) -> None:
    for sample in samples:
        for entity, start, end in sample.gold:
            value = sample.text[start:end]
            assert VALID[entity](value), (entity, value)
            # No part of a word or number is left outside the span.
            before = sample.text[start - 1] if start else " "
            after = sample.text[end] if end < len(sample.text) else " "
            assert not before.isalnum() and not after.isalnum(), (entity, sample.text)
        spans = sorted((s, e) for _, s, e in sample.gold)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_every_entity_and_name_shapes_appear(samples: list[Any]) -> None:
    positives = [s for s in samples if not s.kind]
    assert {e for s in positives for e, _, _ in s.gold} == SEVEN
    assert all(s.gold for s in positives)
    names = [s.text[a:b] for s in positives for e, a, b in s.gold if e == "PERSON"]
    assert any(" " in n for n in names) and any(" " not in n for n in names)
    lowercase = [n for n in names if n.islower()]
    assert 0 < len(lowercase) < len(names) / 5  # lowercase chat names: a minority
    phones = {s.text[a:b] for s in positives for e, a, b in s.gold if e == "PHONE_NUMBER"}
    assert any(p.startswith("+") for p in phones) and any(p.startswith("00") for p in phones)
    assert any("x" in p or "ext" in p for p in phones) and any("." in p for p in phones)
    ips = {s.text[a:b] for s in positives for e, a, b in s.gold if e == "IP_ADDRESS"}
    assert {ipaddress.ip_address(i).version for i in ips} == {4, 6}


def test_negatives_carry_no_personal_data(samples: list[Any]) -> None:
    negatives = [s for s in samples if s.kind]
    assert len(negatives) == 200 and all(s.gold == [] for s in negatives)
    assert len({s.kind for s in negatives}) >= 20
    for _, template in pii_heldout.HELDOUT_NEGATIVES:
        assert not set(re.findall(r"{(\w+)}", template)) & set(pii_heldout.HELDOUT_SLOTS)
    # Voucher numbers look like cards but fail the Luhn check.
    vouchers = [re.search(r"\d{16}", s.text) for s in negatives if s.kind == "voucher"]
    assert vouchers and not any(_luhn_ok(m.group()) for m in vouchers if m)


def _shape(template: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"{\w+}", "{}", template)).strip().lower()


def test_templates_are_new() -> None:
    ours = [*pii_heldout.HELDOUT_TEMPLATES, *(t for _, t in pii_heldout.HELDOUT_NEGATIVES)]
    assert len(pii_heldout.HELDOUT_TEMPLATES) >= 40 and len(pii_heldout.HELDOUT_NEGATIVES) >= 20
    earlier = [
        template
        for positives, negatives, _ in pii_corpus.TEMPLATE_SETS.values()
        for template in (*positives, *(t for _, t in negatives))
    ]
    assert len(earlier) > 100
    shapes = {_shape(t) for t in ours}
    assert len(shapes) == len(ours)  # no template twice
    for template in earlier:
        assert _shape(template) not in shapes, template
    assert pii_heldout.HELDOUT_SEED not in {seed for *_, seed in pii_corpus.TEMPLATE_SETS.values()}
    earlier_locales = {*pii_corpus.NAME_LOCALES, *pii_corpus.SEALED_NAME_LOCALES}
    assert not earlier_locales & set(pii_heldout.HELDOUT_NAME_LOCALES)
