"""bench/pii_fresh.py, the blind "fresh" PII set: exact gold spans, values valid for their
kind (Luhn, mod 97, SSN rules, phone numbers valid for their region per phonenumbers), hard
negatives with no gold and no name, nothing taken from the earlier sets, the counts the issue
asks for, and the same texts in every process."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

pytest.importorskip("faker")
phonenumbers = pytest.importorskip("phonenumbers")

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import pii_corpus
    import pii_fresh
    import pii_fresh_names
    import pii_fresh_text
    import pii_heldout
    from pii_corpus import fill_template
finally:
    sys.path.remove(str(BENCH))

N = 2000
ENTITIES = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS",
            "US_SSN"}  # fmt: skip
# BBAN lengths of the IBAN countries the set draws (ISO 13616 registry).
IBAN_LENGTHS = {
    "PL": 28, "CZ": 24, "DK": 18, "FI": 18, "SE": 24, "RO": 24, "LU": 20, "BG": 22, "GR": 27,
    "CY": 28, "MT": 31, "SA": 24, "AE": 23, "IL": 23, "LI": 21, "MC": 27, "BR": 29, "DE": 22,
    "FR": 27, "ES": 24, "IT": 27, "NL": 18,
}  # fmt: skip
TITLES = {"mr", "mrs", "ms", "mx", "dr", "prof", "herr", "frau", "mme", "madame", "sra",
          "sig", "heer", "esq", "phd", "md", "dott", "ssa"}  # fmt: skip
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


@pytest.fixture(scope="module")
def samples() -> list[tuple[pii_fresh.Labelled, list[str]]]:
    return pii_fresh.fresh_samples(N)


def _golds(samples, entity):
    for sample, origins in samples:
        for (e, a, b), origin in zip(sample.gold, origins, strict=True):
            if e == entity:
                yield sample.text[a:b], origin


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def test_shape_positives_then_negatives(samples) -> None:
    texts = pii_fresh.fresh_sentences(N)
    assert [s for s, _ in samples] == texts
    assert len(texts) == N + N // 2
    assert all(s.gold and not s.kind for s in texts[:N])
    assert all(not s.gold and s.kind for s in texts[N:])
    assert pii_fresh.fresh_sentences(50, seed=7) != texts[:75]


def test_spans_are_the_slot_values_and_never_overlap() -> None:
    """Every template filled with recorded values: each PII slot gives one gold span whose
    text is exactly the value, in order, and no two spans overlap."""
    values = pii_fresh.fresh_values(1)
    for template in pii_fresh_text.FRESH_TEMPLATES:
        recorded: list[str] = []

        def record(slot: str, recorded: list[str] = recorded) -> Callable[[], str]:
            def make() -> str:
                value = values.slots[slot]()
                if slot in pii_fresh_text.FRESH_SLOTS:
                    recorded.append(value)
                return value

            return make

        slots = {slot: record(slot) for slot in values.slots}
        text, gold = fill_template(template, slots, pii_fresh_text.FRESH_SLOTS)
        pii_slots = [s for s in re.findall(r"{(\w+)}", template) if s in pii_fresh_text.FRESH_SLOTS]
        assert len(gold) == len(pii_slots) == len(recorded) > 0, template
        for (entity, a, b), slot, value in zip(gold, pii_slots, recorded, strict=True):
            assert entity == pii_fresh_text.FRESH_SLOTS[slot]
            assert text[a:b] == value
        ends = sorted((a, b) for _, a, b in gold)
        assert all(b1 <= a2 for (_, b1), (a2, _) in pairwise(ends))


def test_spans_are_clean_and_disjoint(samples) -> None:
    for sample, _ in samples:
        spans = sorted((a, b) for _, a, b in sample.gold)
        for (_, b), (c, _) in pairwise(spans):
            assert b <= c, sample.text
        for entity, a, b in sample.gold:
            value = sample.text[a:b]
            assert entity in ENTITIES
            assert 0 <= a < b <= len(sample.text)
            assert value == value.strip() and value[-1] not in ".,;:", (entity, value)


def test_person_spans_hold_no_title_degree_or_possessive(samples) -> None:
    for value, origin in _golds(samples, "PERSON"):
        words = re.findall(r"[^\W\d_]+", value.lower())
        assert words and words[0] not in TITLES and words[-1] not in TITLES, value
        assert not value.endswith(("'s", "’s")) and not re.search(r"[\d@]", value), value
        assert origin.startswith(("hand:", "faker:")), origin


def test_phone_numbers_are_valid_for_their_region(samples) -> None:
    for value, origin in _golds(samples, "PHONE_NUMBER"):
        _, region, parse_region = origin.split(":")
        number = phonenumbers.parse(value, parse_region)
        assert phonenumbers.is_valid_number_for_region(number, region), (value, region)


def test_cards_pass_luhn_and_have_a_network_length(samples) -> None:
    networks = Counter()
    for value, origin in _golds(samples, "CREDIT_CARD"):
        digits = _digits(value)
        assert re.fullmatch(r"\d+([ -]\d+)*", value), value
        assert len(set(re.findall(r"[ -]", value))) <= 1, value  # one separator kind
        assert pii_fresh.luhn_ok(digits) and 13 <= len(digits) <= 19, value
        networks[origin] += 1
    assert len(networks) >= 8


def test_ibans_pass_mod97_with_their_country_length(samples) -> None:
    countries = Counter()
    forms = Counter()
    for value, _ in _golds(samples, "IBAN_CODE"):
        compact = value.replace(" ", "")
        assert re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact), value
        assert pii_fresh.mod97(compact[4:] + compact[:4]) == 1, value
        assert len(compact) == IBAN_LENGTHS[compact[:2]], value
        countries[compact[:2]] += 1
        forms[" " in value] += 1
    assert len(countries) >= 15 and forms[True] and forms[False]


def test_ssns_are_valid_and_in_an_ssn_context(samples) -> None:
    seps = Counter()
    for sample, _ in samples:
        for entity, a, b in sample.gold:
            if entity != "US_SSN":
                continue
            value = sample.text[a:b]
            m = re.fullmatch(r"(\d{3})([- ]?)(\d{2})\2(\d{4})", value)
            assert m, value
            area, group, serial = int(m[1]), int(m[3]), int(m[4])
            assert 0 < area < 900 and area != 666 and group and serial, value
            assert re.search(r"ssn|social security|w-2|ssa", sample.text, re.I), sample.text
            seps[m[2]] += 1
    assert set(seps) == {"-", " ", ""}


def test_emails_and_ips_parse(samples) -> None:
    kinds = Counter()
    for value, _ in _golds(samples, "EMAIL_ADDRESS"):
        assert EMAIL.fullmatch(value), value
        local = value.split("@")[0]
        kinds.update(c for c in ".+_-0" if c in local or (c == "0" and re.search(r"\d", local)))
    assert set(kinds) == {".", "+", "_", "-", "0"}
    versions = Counter()
    for value, _ in _golds(samples, "IP_ADDRESS"):
        address = ipaddress.ip_address(value)
        versions[address.version] += 1
        if address.version == 6:
            kinds[
                "v6 embedded v4" if "." in value else "v6 compressed" if "::" in value else "v6"
            ] += 1
    assert versions[4] and versions[6]
    assert {"v6 embedded v4", "v6 compressed", "v6"} <= set(kinds)


def test_negatives_hold_no_gold_and_no_name(samples) -> None:
    names = {
        w
        for c in pii_fresh_names.HAND_CULTURES
        for part in (*c.given, *c.family)
        for w in part.split()
        if len(w) > 3
    }
    kinds = Counter()
    for sample, origins in samples[N:]:
        assert sample.gold == [] and origins == []
        kinds[sample.kind] += 1
        words = set(re.findall(r"[\w'’-]+", sample.text))
        assert not words & names, sample.text
        if sample.kind == "luhn_fail":
            number = re.search(r"\d{4}( ?\d{4}){3}", sample.text)[0]
            assert not pii_fresh.luhn_ok(_digits(number)), sample.text
    for _, template in pii_fresh_text.FRESH_NEGATIVES:
        assert not set(re.findall(r"{(\w+)}", template)) & set(pii_fresh_text.FRESH_SLOTS)
    assert len(kinds) >= 30


def test_nothing_reused_from_earlier_sets() -> None:
    def norm(t: str) -> str:
        return re.sub(r"\W+", " ", re.sub(r"{\w+}", "", t)).strip().lower()

    earlier = [t for positives, negatives, _ in pii_corpus.TEMPLATE_SETS.values()
               for t in (*positives, *(x for _, x in negatives))]  # fmt: skip
    earlier += [*pii_heldout.HELDOUT_TEMPLATES, *(t for _, t in pii_heldout.HELDOUT_NEGATIVES)]
    ours = [*pii_fresh_text.FRESH_TEMPLATES, *(t for _, t in pii_fresh_text.FRESH_NEGATIVES)]
    assert not set(ours) & set(earlier)
    assert not {norm(t) for t in ours} & {norm(t) for t in earlier}
    assert len(set(ours)) == len(ours)
    seeds = {seed for _, _, seed in pii_corpus.TEMPLATE_SETS.values()}
    assert pii_fresh.FRESH_SEED not in seeds | {pii_heldout.HELDOUT_SEED}
    used = {*pii_corpus.NAME_LOCALES, *pii_corpus.SEALED_NAME_LOCALES,
            *pii_corpus.PHONE_FAKER_LOCALES, *pii_corpus.IBAN_LOCALES,
            *pii_heldout.HELDOUT_NAME_LOCALES, *pii_heldout.HELDOUT_PHONE_LOCALES}  # fmt: skip
    assert not set(pii_fresh.FRESH_NAME_LOCALES) & used


def test_required_counts(samples) -> None:
    assert len(pii_fresh_text.FRESH_TEMPLATES) >= 60
    assert len(pii_fresh_text.FRESH_NEGATIVES) >= 30
    entities = Counter(e for s, _ in samples for e, _, _ in s.gold)
    assert set(entities) == ENTITIES and min(entities.values()) >= 150
    origins = Counter(o for _, o in _golds(samples, "PERSON"))
    hand = sum(c for o, c in origins.items() if o.startswith("hand:"))
    assert hand >= sum(origins.values()) / 3
    assert len({o for o in origins if o.startswith("hand:")}) >= 15
    assert len({o for o in origins if o.startswith("faker:")}) >= 10
    phones = [(v, o.split(":")[1]) for v, o in _golds(samples, "PHONE_NUMBER")]
    assert len({region for _, region in phones}) >= 25
    shapes = Counter()
    for value, _ in phones:
        shapes["+CC"] += value.startswith("+")
        shapes["00CC"] += value.startswith("00")
        shapes["011"] += value.startswith("011 ")
        shapes["(0)"] += "(0)" in value
        shapes["national"] += value.startswith(("0", "("))
        shapes["ext"] += bool(re.search(r"(ext\.?|x|#) ?\d+$", value, re.I))
        for sep in " .-/":
            shapes[sep] += sep in value
    assert min(shapes.values()) >= 5, shapes


def test_same_texts_in_every_process() -> None:
    """No hash() or set order: two interpreters with different hash seeds agree."""
    code = (
        "import hashlib, json, sys; sys.path.insert(0, sys.argv[1]); import pii_fresh; "
        "print(hashlib.sha256(json.dumps(pii_fresh.fresh_sentences(300)).encode()).hexdigest())"
    )
    digests = []
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(BENCH)],
            capture_output=True, text=True, env=env, check=True, timeout=120,
        )  # fmt: skip
        digests.append(out.stdout.strip())
    here = hashlib.sha256(json.dumps(pii_fresh.fresh_sentences(300)).encode()).hexdigest()
    assert digests[0] == digests[1] == here
