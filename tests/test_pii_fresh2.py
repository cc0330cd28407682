"""bench/pii_fresh2.py, the blind "fresh2" PII set: exact spans, valid values, nothing
reused from the earlier sets, the same texts in every process, the promised counts.

No detector runs here: the set is measured once by the lead (bench/eval_pii.py --sets
trust-fresh2, bench/leak_check.py --set fresh2)."""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("faker")
pn = pytest.importorskip("phonenumbers")

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import pii_corpus
    import pii_fresh
    import pii_fresh2
    import pii_fresh_names
    import pii_fresh_text
    import pii_heldout
    from pii_fresh2_names import FAKER2_LOCALES, HAND2_CULTURES
finally:
    sys.path.remove(str(BENCH))

N = 2000
STRUCTURED = ("PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS")
# IBAN lengths per country (ISO 13616 registry), written out here independently of the
# generator's layouts so that a wrong layout fails.
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "LT": 20, "LV": 21,
    "EE": 20, "NO": 15, "PT": 25, "SI": 19, "SK": 24, "TR": 26, "GB": 22, "GI": 23, "KW": 30,
    "QA": 29, "JO": 30, "MU": 30, "PK": 24, "UA": 29, "KZ": 20, "CR": 22, "DO": 28, "GT": 28,
    "ME": 22, "RS": 22, "DE": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "PL": 28, "SE": 24,
}  # fmt: skip
# (prefix pattern, lengths) per card network, from the networks' published ranges
CARD_RANGES = {
    "visa": (r"4", (16,)), "mastercard": (r"5[1-5]", (16,)),
    "mastercard2": (r"2(2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720)", (16,)),
    "amex": (r"3[47]", (15,)), "discover": (r"6011|64[4-9]|65", (16,)),
    "jcb": (r"35(2[89]|[3-8])", (16,)), "diners": (r"30[0-5]|36|38", (14,)),
    "unionpay": (r"62", (16, 19)), "maestro": (r"5018|5020|5038|6304|6759|6761", (16, 19)),
    "rupay": (r"60|65|508", (16,)), "elo": (r"4011|4312|4389|4514|4576|5041|5067|509|6277|636",
                                            (16,)),
    "mir": (r"220[0-4]", (16,)),
}  # fmt: skip
EXT = re.compile(r"\s*(?:ext\.?|x\.?|Ext\.)\s*\d+$")


@pytest.fixture(scope="module")
def samples() -> list[pii_fresh2.Sample]:
    return pii_fresh2.fresh2_samples(N)


def spans(samples, entity=None):
    for s in samples:
        for (e, a, b), origin in zip(s.labelled.gold, s.origins, strict=True):
            if entity is None or e == entity:
                yield s.labelled.text[a:b], origin, s, (a, b)


def test_counts_per_entity_genre_language(samples) -> None:
    positives, negatives = samples[:N], samples[N:]
    assert len(negatives) == N // 2
    assert all(s.labelled.gold and not s.labelled.kind for s in positives)
    assert all(not s.labelled.gold and s.labelled.kind for s in negatives)
    counts = Counter(e for s in samples for e, _, _ in s.labelled.gold)
    assert counts["PERSON"] >= 2000
    assert counts["PHONE_NUMBER"] >= 600 and counts["EMAIL_ADDRESS"] >= 500
    assert min(counts[e] for e in STRUCTURED) >= 150, counts
    genres = Counter(s.genre for s in positives)
    assert len(genres) == 14 and min(genres.values()) >= 40, genres
    langs = Counter(s.lang for s in positives)
    assert set(langs) == {"en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv"}
    assert min(langs.values()) >= 50 and langs["en"] < 0.7 * N, langs
    kinds = Counter(s.genre for s in negatives)
    assert len(kinds) >= 25 and kinds["name_words"] < 0.45 * len(negatives), kinds
    assert len({s.lang for s in negatives}) == 9
    # leak_check drops texts over 700 characters before the audit sees them
    assert max(len(s.labelled.text) for s in samples) < 700


def test_spans_are_exactly_the_slot_values(samples) -> None:
    """Re-fill each template with makers that record what they return: every gold span is
    exactly one PII slot's value at its place, and the text outside the slots is the
    template's own."""
    values = pii_fresh2.fresh2_values(pii_fresh2.FRESH2_SEED)
    for i in range(N + N // 2):
        pool = pii_fresh2.FRESH2_TEMPLATES if i < N else pii_fresh2.FRESH2_NEGATIVES
        _, lang, template = values.pick(pool)
        values.lang, values.origins = lang, []
        text, pos, gold = "", 0, []
        for literal, slot in re.findall(r"([^{]*)(?:\{(\w+)\}|$)", template):
            text += literal
            if not slot:
                continue
            value = values.slots[slot]()
            if slot in pii_fresh2.FRESH2_SLOTS:
                gold.append((pii_fresh2.FRESH2_SLOTS[slot], len(text), len(text) + len(value)))
            text += value
            pos += 1
        sample = samples[i]
        assert (sample.labelled.text, sample.labelled.gold) == (text, gold), template
        assert sample.template == template
    for value, _, s, (a, b) in spans(samples):
        text = s.labelled.text
        assert value == value.strip() and value, (text, value)
        assert a == 0 or not text[a - 1].isalnum(), (text, value)
        assert b == len(text) or not text[b].isalnum(), (text, value)
    for s in samples:
        ends = sorted((a, b) for _, a, b in s.labelled.gold)
        assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(ends)), s.labelled.text


def test_phones_are_valid_for_their_region(samples) -> None:
    regions = Counter()
    for value, origin, _, _ in spans(samples, "PHONE_NUMBER"):
        _, region, parse_region = origin.split(":")
        number = pn.parse(EXT.sub("", value), parse_region)
        assert pn.is_valid_number_for_region(number, region), (value, origin)
        regions[region] += 1
    assert len(regions) >= 40, regions
    unused_before = set(regions) - set(pii_fresh.PHONE_REGIONS)
    assert len(unused_before) >= 30, unused_before
    values = [v for v, *_ in spans(samples, "PHONE_NUMBER")]
    assert sum(v.startswith("+") for v in values) > 0.25 * len(values)
    assert sum(not v.startswith(("+", "00", "011")) for v in values) > 0.25 * len(values)
    assert sum(bool(EXT.search(v)) for v in values) >= 30
    assert any(v.isdigit() and len(v) >= 9 for v in values)  # no separator at all
    assert pii_fresh2.fresh2_values(1).fallbacks == 0


def test_cards_ibans_ssns_ips_emails_are_valid(samples) -> None:
    networks = Counter()
    for value, origin, _, _ in spans(samples, "CREDIT_CARD"):
        digits = re.sub(r"[ -]", "", value)
        network = origin.removeprefix("card:")
        prefix, lengths = CARD_RANGES[network]
        assert digits.isdigit() and len(digits) in lengths, value
        assert re.match(prefix, digits), (value, network)
        assert pii_fresh2.luhn_digit(digits[:-1]) == digits[-1], value
        networks[network] += 1
    assert len(networks) == len(CARD_RANGES)
    countries = Counter()
    for value, _, _, _ in spans(samples, "IBAN_CODE"):
        compact = value.replace(" ", "")
        assert re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact), value
        assert len(compact) == IBAN_LENGTHS[compact[:2]], value
        assert pii_fresh2.iso7064(compact[4:] + compact[:4]) == 1, value
        countries[compact[:2]] += 1
    assert len(countries) >= 30
    for value, _, s, _ in spans(samples, "US_SSN"):
        digits = re.sub(r"[ -]", "", value)
        area, group, serial = digits[:3], digits[3:5], digits[5:]
        assert len(digits) == 9 and area not in ("000", "666") and area[0] != "9", value
        assert group != "00" and serial != "0000", value
        assert digits not in ("078051120", "219099999", "123456789")
        assert re.search(r"ssn|social security|socia1", s.labelled.text, re.I), s.labelled.text
    kinds = Counter()
    for value, _, _, _ in spans(samples, "IP_ADDRESS"):
        address = ipaddress.ip_address(value)
        kinds[(address.version, address.is_private)] += 1
    assert kinds[(4, False)] and kinds[(4, True)] and kinds[(6, False)]
    for value, _, _, _ in spans(samples, "EMAIL_ADDRESS"):
        assert value.isascii() and re.fullmatch(r"[\w.+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+", value)


def test_person_shapes_and_sources(samples) -> None:
    names = [(v, o, s, a, b) for v, o, s, (a, b) in spans(samples, "PERSON")]
    sources = Counter(o.split(":")[0] for _, o, *_ in names)
    assert sources["hand"] > 0.4 * len(names) and sources["faker"] > 0.2 * len(names)
    assert {o for _, o, *_ in names if o.startswith("faker:")} == {
        f"faker:{locale}" for locale, _, _ in FAKER2_LOCALES
    }
    assert {o for _, o, *_ in names if o.startswith("hand:")} == {
        f"hand:{c.key}" for c in HAND2_CULTURES
    }
    values = [v for v, *_ in names]
    assert sum(v.isupper() for v in values) >= 50  # forms
    assert sum(v.islower() for v in values) >= 50  # chat
    assert sum(bool(re.match(r"([A-Z]\.-?){1,2}\s?[A-Z]", v)) for v in values) >= 20  # initials
    assert any(re.search(r"\b(van den|de la|bin|al-|af|Della|dos)\b", v) for v in values)
    assert any("-" in v for v in values)
    assert any(s.labelled.text[b : b + 2] == "'s" for _, _, s, _, b in names)  # possessive
    # a title of one of the nine languages before the name, outside the span
    title = re.compile(r"(Herr|Frau|Mme|Mlle|Sra?\.|Sr\.ª|Dr\.ª|Sig\.|Dott\.ssa|Avv\.|Pan|Pani|"
                       r"[Dd]hr\.|Mevr\.|Dr|Mrs?|Ms|Miss|Rev\.|Capt\.) $")  # fmt: skip
    titled = Counter(title.search(s.labelled.text[:a]).group(1) for _, _, s, a, _ in names
                     if title.search(s.labelled.text[:a]))  # fmt: skip
    assert len(titled) >= 15 and sum(titled.values()) >= 200, titled
    assert all(not any(c.isdigit() for c in v) for v in values)


def test_nothing_reused_from_earlier_sets() -> None:
    earlier = [t for pos, neg, _ in pii_corpus.TEMPLATE_SETS.values() for t in (*pos, *neg)]
    earlier += [*pii_heldout.HELDOUT_TEMPLATES, *pii_heldout.HELDOUT_NEGATIVES]
    earlier += [*pii_fresh_text.FRESH_TEMPLATES, *pii_fresh_text.FRESH_NEGATIVES]
    earlier = [t if isinstance(t, str) else t[-1] for t in earlier]
    mine = [t for *_, t in (*pii_fresh2.FRESH2_TEMPLATES, *pii_fresh2.FRESH2_NEGATIVES)]
    assert len(set(mine)) == len(mine)
    for old in earlier:
        assert not any(old in new for new in mine), old
    # hand names: none of bench/pii_fresh_names.py's
    old_names = {n for c in pii_fresh_names.HAND_CULTURES for n in (*c.given, *c.family)}
    new_names = {n for c in HAND2_CULTURES for n in (*c.given, *c.family)}
    assert not old_names & new_names
    # Faker locales, e-mail domains and seeds: none of the earlier sets'
    old_locales = {
        *pii_corpus.NAME_LOCALES, *pii_corpus.SEALED_NAME_LOCALES, *pii_corpus.IBAN_LOCALES,
        *pii_corpus.PHONE_FAKER_LOCALES, *pii_heldout.HELDOUT_NAME_LOCALES,
        *pii_heldout.HELDOUT_PHONE_LOCALES, *pii_fresh.FRESH_NAME_LOCALES,
    }  # fmt: skip
    assert not old_locales & {locale for locale, _, _ in FAKER2_LOCALES}
    assert not set(pii_fresh.EMAIL_DOMAINS) & set(pii_fresh2.EMAIL2_DOMAINS)
    old_seeds = {seed for _, _, seed in pii_corpus.TEMPLATE_SETS.values()}
    old_seeds |= {pii_heldout.HELDOUT_SEED, pii_fresh.FRESH_SEED}
    assert pii_fresh2.FRESH2_SEED not in old_seeds


def _digest(n: int) -> str:
    rows = [(s.text, s.gold, s.kind) for s in pii_fresh2.fresh2_sentences(n)]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def test_same_texts_in_another_process_and_seed_changes_them() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r}); "
        "import hashlib, json, pii_fresh2; "
        "rows = [(s.text, s.gold, s.kind) for s in pii_fresh2.fresh2_sentences(300)]; "
        "print(hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == _digest(300)
    first = pii_fresh2.fresh2_sentences(50)
    assert first == pii_fresh2.fresh2_sentences(50)  # Faker reseeded: no state carried over
    assert first != pii_fresh2.fresh2_sentences(50, seed=pii_fresh2.FRESH2_SEED + 1)
