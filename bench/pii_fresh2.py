"""The "fresh2" labelled PII set of issue 15: written blind, for the finished detector.

    from pii_fresh2 import fresh2_sentences
    samples = fresh2_sentences(2000)   # 2,000 texts with PII, then 1,000 hard negatives

How it was written: by a separate author while another changed the detector, without reading
the detector (audit/pii*, audit/lexicons.py, audit/data/*), its tests, any benchmark result
or note on PII accuracy, and without running any detector on these texts. The earlier sets
(bench/pii_corpus.py, pii_heldout.py, pii_fresh*.py) were read only for the record shape
(``Labelled``), the shared filler (``fill_template``) and to avoid their templates, seeds,
name lists and locales; tests/test_pii_fresh2.py checks that none of their template strings
and none of their hand-written names is reused. The lead measures the finished detector on
it once (``bench/eval_pii.py --sets trust-fresh2``, ``bench/leak_check.py --set fresh2``).

What it holds, modelled on fine-tuning and compliance data:

- Seed ``FRESH2_SEED`` (91127743). Every choice comes from one numpy Generator; the Faker
  instances are seeded from it in a fixed order; no ``hash()`` or set order.
- Templates (bench/pii_fresh2_text.py, English; bench/pii_fresh2_lang.py, German, French,
  Spanish, Italian, Dutch, Portuguese, Polish, Swedish): instruction/response pairs,
  multi-turn chat transcripts, support macros, clinical notes, insurance claims, recruiter
  messages, meeting transcripts, git commit messages and stack traces, YAML / INI / .env
  snippets, markdown tables, e-mail threads with quoted replies, forum signatures, OCR-like
  noisy scans. Each template carries its genre and language.
- PERSON: the hand list and Faker sources of bench/pii_fresh2_names.py; a template in one of
  the eight languages draws from that language's culture half of the time. Shapes: full
  (given-family or family-given), given only, family only after a title (titles of many
  languages, outside the span), initials ("K. M. Pawlak", "A.-C. Lemaire"), particles and
  hyphens from the lists, lower case in chat, ALL CAPS in forms ("ZIELIŃSKA, IWONA" is one
  span), possessive "'s" outside the span, inside markdown tables, YAML, INI, CSV and JSON.
- PHONE_NUMBER: valid per ``phonenumbers`` for the 62 regions of ``PHONE2_REGIONS``,
  national, international, E.164, RFC 3966 (``tel:`` outside the span), ``00`` / ``011``
  prefixes, ``(+CC)``, ``+CC (0)``, dots, slashes, no separators, extensions.
- EMAIL_ADDRESS: dotted, initial, plus-tagged, digit and role local parts on public,
  corporate sub-domain and country domains none of which bench/pii_fresh.py used; some ALL
  CAPS in forms. IP_ADDRESS: public and private IPv4, IPv6 full / compressed / upper case.
  CREDIT_CARD: Luhn-valid Visa, Mastercard (51-55, 2221-2720), Amex, Discover, JCB, Diners,
  UnionPay, Maestro, RuPay, Elo, Mir. IBAN_CODE: valid mod-97 for 36 countries, print or
  electronic form. US_SSN: valid shapes (no 000/666/9xx area, 00 group, 0000 serial, nor the
  well-known advertising numbers), always in an SSN context.
- Hard negatives (``FRESH2_NEGATIVES``, 72 templates of 26 kinds): no personal data and no
  person's name; the place and brand words of bench/pii_fresh2_negatives.py NAME_WORDS.

Gold spans cover exactly the value of a slot. ``fresh2_samples`` also gives each text's
genre, language and the origin of each gold span (for the tests and the statistics).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from pii_corpus import Labelled, SeededDraws, fill_template
from pii_fresh2_lang import LANG_NEGATIVES, LANG_TEMPLATES
from pii_fresh2_names import FAKER2_LOCALES, HAND2_CULTURES, Culture, transliterate
from pii_fresh2_negatives import NEGATIVE_SLOTS, luhn_digit, negative_makers
from pii_fresh2_text import FRESH2_SLOTS, TEXT_NEGATIVES, TEXT_TEMPLATES

FRESH2_SEED = 91127743
HAND2_SHARE = 0.55  # of the people drawn; the rest from Faker
LANG_SHARE = 0.5  # a template in a language draws from that language's culture this often

# (genre, language, template) and (kind, language, template)
FRESH2_TEMPLATES: tuple[tuple[str, str, str], ...] = (*TEXT_TEMPLATES, *LANG_TEMPLATES)
FRESH2_NEGATIVES: tuple[tuple[str, str, str], ...] = (*TEXT_NEGATIVES, *LANG_NEGATIVES)

PHONE2_REGIONS = (
    # the eight template languages' countries and their neighbours
    "DE", "AT", "FR", "BE", "ES", "IT", "NL", "PT", "PL", "SE", "CH", "US", "GB",
    # regions bench/pii_fresh.py did not draw from
    "HU", "RO", "BG", "HR", "SI", "SK", "EE", "LV", "LT", "IS", "MT", "CY", "UA", "RS", "GE",
    "AM", "KZ", "PE", "CL", "EC", "UY", "PY", "CR", "PA", "DO", "JM", "TT", "TW", "HK", "NP",
    "KH", "QA", "KW", "BH", "OM", "JO", "LB", "TN", "DZ", "SN", "CI", "CM", "UG", "TZ", "RW",
    "ZM", "MU", "FJ", "BA",
)  # fmt: skip
# a template in one of these languages draws a number of its countries half of the time
LANG_REGIONS = {
    "de": ("DE", "AT", "CH"), "fr": ("FR", "BE", "CH"), "es": ("ES",), "it": ("IT",),
    "nl": ("NL", "BE"), "pt": ("PT",), "pl": ("PL",), "sv": ("SE",),
}  # fmt: skip
EXTENSIONS2 = (" ext. {}", " ext {}", " x{}", " x. {}", " Ext.{}")
TITLES_EN = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Prof.", "Rev.", "Capt.", "Sgt.", "Cllr")

# (country, BBAN layout: "9" digit, "A" upper-case letter, "C" letter or digit, else literal)
IBAN2_LAYOUTS = (
    ("AT", "9" * 16), ("BE", "9" * 12), ("CH", "9" * 5 + "C" * 12), ("HR", "9" * 17),
    ("HU", "9" * 24), ("IE", "AAAA" + "9" * 14), ("IS", "9" * 22), ("LT", "9" * 16),
    ("LV", "AAAA" + "C" * 13), ("EE", "9" * 16), ("NO", "9" * 11), ("PT", "9" * 21),
    ("SI", "9" * 15), ("SK", "9" * 20), ("TR", "9" * 5 + "0" + "C" * 16),
    ("GB", "AAAA" + "9" * 14), ("GI", "AAAA" + "C" * 15), ("KW", "AAAA" + "C" * 22),
    ("QA", "AAAA" + "C" * 21), ("JO", "AAAA" + "9" * 4 + "C" * 18),
    ("MU", "AAAA" + "9" * 19 + "MUR"), ("PK", "AAAA" + "C" * 16), ("UA", "9" * 6 + "C" * 19),
    ("KZ", "999" + "C" * 13), ("CR", "0" + "9" * 17), ("DO", "AAAA" + "9" * 20),
    ("GT", "C" * 24), ("ME", "9" * 18), ("RS", "9" * 18), ("DE", "9" * 18),
    ("FR", "9" * 10 + "C" * 11 + "99"), ("ES", "9" * 20), ("IT", "A" + "9" * 10 + "C" * 12),
    ("NL", "AAAA" + "9" * 10), ("PL", "9" * 24), ("SE", "9" * 20),
)  # fmt: skip
# (network, prefixes, lengths)
CARD2_NETWORKS = (
    ("visa", ("4",), (16,)), ("mastercard", ("51", "52", "53", "54", "55"), (16,)),
    ("mastercard2", ("2221", "2490", "2630", "2720"), (16,)), ("amex", ("34", "37"), (15,)),
    ("discover", ("6011", "645", "648", "65"), (16,)), ("jcb", ("3530", "3566", "3588"), (16,)),
    ("diners", ("301", "304", "36", "38"), (14,)), ("unionpay", ("621", "625", "628"), (16, 19)),
    ("maestro", ("6759", "6761", "5018", "5020", "5038", "6304"), (16, 19)),
    ("rupay", ("6521", "6522", "508", "607"), (16,)),
    ("elo", ("636368", "438935", "504175", "451416", "509048"), (16,)),
    ("mir", ("2200", "2201", "2202", "2203", "2204"), (16,)),
)  # fmt: skip
EMAIL2_DOMAINS = (
    # public
    "outlook.de", "gmx.at", "orange.fr", "wp.pl", "o2.pl", "telia.se", "bluewin.ch",
    "sapo.pt", "terra.com.br", "alice.it", "ziggo.nl", "fastmail.fm", "pm.me", "yahoo.es",
    "me.com", "live.nl", "tutanota.de", "seznam.cz", "inbox.lv", "mail.ee",
    # corporate sub-domains
    "eu.fjordline-logistics.no", "claims.harbourmutual.co.uk", "talent.brightpath-hr.com",
    "med.klinikum-nordheide.de", "corp.vantablue-energy.es", "it.comune-lago.it",
    "support.pixelforge.games", "dev.tallinnsoft.ee", "mx2.bureau-vanhoek.nl",
    # schools, country codes, new gTLDs
    "student.uni-graz.at", "alumni.kth-mail.se", "ufrj-mail.br", "agh-student.edu.pl",
    "bocconi-alumni.it", "atelier-mercier.paris", "kollektiv.wien", "baumann.swiss",
    "rivera.studio",
)  # fmt: skip
ROLE2_LOCALS = (
    "dpo", "recruiting", "invoices", "claims.intake", "support+ticket-4471", "noc",
    "kundenservice", "facturation", "privacy-office",
)  # fmt: skip
# Numbers of advertisements and examples that detectors rightly treat as fake
SSN_EXCLUDED = {"078051120", "219099999", "123456789"}


class Sample(NamedTuple):
    labelled: Labelled
    origins: list[str]  # one per gold span: "hand:<culture>", "faker:<locale>", "phone:..."
    genre: str  # positive genre, or the hard negative's kind
    lang: str
    template: str


def iso7064(text: str) -> int:
    """mod 97 of ``text`` with letters read as 10..35 (the IBAN check)."""
    return int("".join(str(int(c, 36)) for c in text)) % 97


def _fold(text: str) -> str:
    """A name's letters as typed in an e-mail address (Dąbrowska -> dabrowska)."""
    text = text.replace("ł", "l").replace("Ł", "L").replace("ß", "ss").replace("đ", "d")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalnum()).lower() or "x"


class Fresh2Values(SeededDraws):
    """Slot makers of one run. Every choice comes from ``rng`` or Faker seeded from it; each
    PII value appends its origin to ``origins``."""

    def __init__(self, rng: np.random.Generator, fakers: dict[str, Any], pn: Any) -> None:
        super().__init__(rng)
        self.fakers = fakers
        self.pn = pn
        self.lang = "en"
        self.origins: list[str] = []
        self.fallbacks = 0
        self.examples = self._examples()
        self.slots: dict[str, Callable[[], str]] = {
            "name": self.full,
            "name2": self.full,
            "first": lambda: self.person()[0],
            "last": lambda: self.person()[1],
            "lower": self.lower,
            "caps": self.caps,
            "rev": self.reversed_name,
            "initials": self.initials,
            "phone": self.phone,
            "phone2": self.phone,
            "email": self.email,
            "email2": self.email,
            "ssn": self.ssn,
            "card": self.card,
            "iban": self.iban,
            "ip": lambda: self.ip(self.chance(0.65)),
            "ip4": lambda: self.ip(True),
            "ip6": lambda: self.ip(False),
            "title": lambda: self.pick(TITLES_EN),
            "lb": lambda: "{",
            "rb": lambda: "}",
            **negative_makers(self),
        }

    # people
    def _draw(self) -> tuple[str, str, str, str]:
        """(given, family, order, origin) of one person."""
        local = [c for c in HAND2_CULTURES if c.lang == self.lang and c.lang != "en"]
        if local and self.chance(LANG_SHARE):
            culture: Culture = self.pick(local)
        elif self.chance(HAND2_SHARE):
            culture = self.pick(HAND2_CULTURES)
        else:
            locale, how, order = self.pick(FAKER2_LOCALES)
            f = self.fakers[locale]
            if how == "romanized":
                given, family = f.first_romanized_name(), f.last_romanized_name()
                if locale == "zh_TW":  # Faker writes these in capitals
                    given, family = given.title(), family.title()
                if locale != "ja_JP" and self.chance(0.4):
                    order = "fg"
            else:
                female = self.chance(0.5)
                given = f.first_name_female() if female else f.first_name_male()
                family = f.last_name_female() if female and how == "translit" else f.last_name()
                if how == "translit":
                    given, family = transliterate(given, locale), transliterate(family, locale)
            return given.strip(), family.strip(), order, f"faker:{locale}"
        given, family = self.pick(culture.given), self.pick(culture.family)
        return given, family, culture.order, f"hand:{culture.key}"

    def person(self) -> tuple[str, str, str]:
        given, family, order, origin = self._draw()
        self.origins.append(origin)
        return given, family, order

    def full(self) -> str:
        given, family, order = self.person()
        style = self.rng.random()
        if order == "fg":
            return f"{family} {given}" if style < 0.75 else f"{given} {family}"
        if style < 0.12:  # a middle initial
            return f"{given} {chr(65 + self.n(0, 26))}. {family}"
        return f"{given} {family}"

    def reversed_name(self) -> str:
        """ "Family, Given" as a mail client or directory writes it (one span)."""
        given, family, _ = self.person()
        return f"{family}, {given}"

    def initials(self) -> str:
        given, family, _ = self.person()
        parts = given.replace("-", " -").split()
        letters = [("-" if p.startswith("-") else "") + p.lstrip("-")[0] + "." for p in parts]
        style = self.n(0, 3)
        if style == 0 and len(letters) == 1:  # a second initial, as on a form
            letters.append(chr(65 + self.n(0, 26)) + ".")
        sep = "" if style == 1 else " "
        joined = sep.join(letters).replace(" -", "-")
        return f"{joined} {family}"

    def lower(self) -> str:
        given, family, _ = self.person()
        return (given if self.chance(0.55) else f"{given} {family}").lower()

    def caps(self) -> str:
        given, family, _ = self.person()
        style = self.n(0, 3)
        if style == 0:
            return f"{family}, {given}".upper()
        if style == 1:
            return f"{given} {family}".upper()
        return f"{family.upper()} {given}"

    # phone numbers
    def _examples(self) -> list[tuple[str, Any]]:
        pn, out = self.pn, []
        for region in PHONE2_REGIONS:
            for kind in (pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE):
                example = pn.example_number_for_type(region, kind)
                if example is not None:
                    out.append((region, example))
        return out

    def _number(self) -> tuple[str, Any]:
        """A valid number: the region example's length, 2 leading digits kept, rest random."""
        pn = self.pn
        pool = self.examples
        if self.lang in LANG_REGIONS and self.chance(LANG_SHARE):
            pool = [(r, e) for r, e in self.examples if r in LANG_REGIONS[self.lang]]
        region, example = self.pick(pool)
        nsn = pn.national_significant_number(example)
        for keep in (2, 3, 4, 5):
            for _ in range(30):
                candidate = nsn[:keep] + self.digits(len(nsn) - keep)
                number = pn.parse(f"+{example.country_code}{candidate}", None)
                if pn.is_valid_number_for_region(number, region):
                    return region, number
        self.fallbacks += 1
        return region, example

    def phone(self) -> str:
        pn = self.pn
        fmt = pn.PhoneNumberFormat
        region, number = self._number()
        cc = str(number.country_code)
        intl = pn.format_number(number, fmt.INTERNATIONAL)
        national = pn.format_number(number, fmt.NATIONAL)
        rest = intl.removeprefix(f"+{cc} ")
        parse_region = region
        style = self.n(0, 13)
        if style in (0, 1):
            text = intl
        elif style in (2, 3):
            text = national
        elif style == 4:
            text = pn.format_number(number, fmt.E164)
        elif style == 5:
            text = pn.format_number(number, fmt.RFC3966).removeprefix("tel:")
        elif style == 6:
            text = f"(+{cc}) {rest}"
        elif style == 7:
            text, parse_region = f"00{cc} {rest}", "FR"
        elif style == 8 and cc != "1":
            text, parse_region = f"011 {cc} {rest}", "CA"
        elif style == 9 and national.startswith("0") and not rest.startswith("0"):
            text = f"+{cc} (0){rest}" if self.chance(0.5) else f"+{cc}(0){rest.replace(' ', '')}"
        elif style == 10 and "(" not in national:
            text = national.replace(" ", self.pick((".", "", "/", " ")), 1).replace(" ", "")
        elif style == 11:
            text = f"+{cc}." + rest.replace(" ", ".").replace("-", ".")
        else:
            text = intl.replace(" ", "-", 1) if self.chance(0.5) else national
        if self.chance(0.1):
            text += self.pick(EXTENSIONS2).format(self.n(1, 99999))
        self.origins.append(f"phone:{region}:{parse_region}")
        return text

    # other structured values
    def email(self) -> str:
        if self.chance(0.12):
            local = self.pick(ROLE2_LOCALS)
        else:
            given, family, _, _ = self._draw()  # the owner: not a PERSON span here
            g, f = _fold(given), _fold(family)
            local = self.pick(
                (
                    f"{g}.{f}",
                    f"{g[0]}{f}",
                    f"{f}.{g[0]}",
                    f"{g}.{f}+{self.pick(('invoices', 'jobs', 'lists', 'amazon'))}",
                    f"{g}{self.n(1, 9999)}",
                    f"{f}-{g}",
                    f"{g[0]}.{f}.{self.n(10, 99)}",
                    f"{f}{g[:3]}",
                )
            )
        address = f"{local}@{self.pick(EMAIL2_DOMAINS)}"
        self.origins.append("EMAIL_ADDRESS")
        return address

    def ssn(self) -> str:
        while True:
            area, group, serial = self.n(1, 900), self.n(1, 100), self.n(1, 10000)
            plain = f"{area:03d}{group:02d}{serial:04d}"
            if area != 666 and plain not in SSN_EXCLUDED:
                break
        sep = self.pick(("-", "-", "-", " ", ""))
        self.origins.append("US_SSN")
        return f"{plain[:3]}{sep}{plain[3:5]}{sep}{plain[5:]}"

    def card(self) -> str:
        network, prefixes, lengths = self.pick(CARD2_NETWORKS)
        prefix, length = self.pick(prefixes), self.pick(lengths)
        body = prefix + self.digits(length - len(prefix) - 1)
        number = body + luhn_digit(body)
        self.origins.append(f"card:{network}")
        style = self.n(0, 4)
        if style == 0:
            return number
        if length in (14, 15):  # Diners 4-6-4, Amex 4-6-5
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, length, 4)]
        return ("-" if style == 3 else " ").join(groups)

    def iban(self) -> str:
        country, layout = self.pick(IBAN2_LAYOUTS)
        upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        chars = []
        for c in layout:
            if c == "9":
                chars.append(self.digits(1))
            elif c == "A":
                chars.append(self.pick(upper))
            elif c == "C":
                chars.append(self.pick(upper + "0123456789"))
            else:
                chars.append(c)
        bban = "".join(chars)
        value = f"{country}{98 - iso7064(bban + country + '00'):02d}{bban}"
        self.origins.append(f"iban:{country}")
        if self.chance(0.6):
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def ip(self, v4: bool) -> str:
        self.origins.append("IP_ADDRESS")
        if v4:
            if self.chance(0.15):
                return self.pick(
                    (
                        f"10.{self.n(0, 256)}.{self.n(0, 256)}.{self.n(2, 255)}",
                        f"192.168.{self.n(0, 256)}.{self.n(2, 255)}",
                        f"172.{self.n(16, 32)}.{self.n(0, 256)}.{self.n(2, 255)}",
                    )
                )
            while True:
                address = ipaddress.IPv4Address(self.n(0x01000000, 0xDF000000))
                if address.is_global:
                    return str(address)
        while True:
            groups = [int(g) for g in self.rng.integers(0, 1 << 16, 8)]
            groups[0] = self.pick((0x2001, 0x2A02, 0x2A01, 0x2600, 0x2C0F, 0x2406, 0x2800))
            style = self.n(0, 4)
            if style >= 2:  # a run of zero groups, written "::" when compressed
                start = self.n(2, 6)
                for j in range(start, min(8, start + self.n(2, 5))):
                    groups[j] = 0
            address6 = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
            if address6.is_global:
                break
        if style == 0:
            return address6.exploded
        if style == 3:
            return str(address6).upper()
        return str(address6)


_FAKERS: dict[str, Any] = {}


def fresh2_values(seed: int) -> Fresh2Values:
    """The value makers of one run: a numpy Generator of ``seed``, Faker seeded from it."""
    import phonenumbers
    from faker import Faker

    rng = np.random.default_rng(seed)
    for locale, _, _ in FAKER2_LOCALES:  # a fixed order: the same seeds in every process
        if locale not in _FAKERS:
            _FAKERS[locale] = Faker(locale)
        _FAKERS[locale].seed_instance(int(rng.integers(0, 2**31)))
    return Fresh2Values(rng, dict(_FAKERS), phonenumbers)


def fresh2_samples(n: int = 2000, seed: int | None = None) -> list[Sample]:
    """Each text of ``fresh2_sentences`` with its genre, language and span origins."""
    values = fresh2_values(FRESH2_SEED if seed is None else seed)
    out: list[Sample] = []
    for i in range(n + n // 2):
        genre, lang, template = values.pick(FRESH2_TEMPLATES if i < n else FRESH2_NEGATIVES)
        values.lang, values.origins = lang, []
        text, gold = fill_template(template, values.slots, FRESH2_SLOTS)
        if len(values.origins) != len(gold):  # a maker forgot (or doubled) its origin
            raise AssertionError(f"origins {values.origins} do not match gold {gold}")
        kind = "" if i < n else genre
        out.append(Sample(Labelled(text, gold, kind), values.origins, genre, lang, template))
    return out


def fresh2_sentences(n: int = 2000, seed: int | None = None) -> list[Labelled]:
    """``n`` texts holding PII, then ``n // 2`` hard negatives, of the fresh2 set."""
    return [sample.labelled for sample in fresh2_samples(n, seed)]


__all__ = [
    "FRESH2_NEGATIVES", "FRESH2_SEED", "FRESH2_SLOTS", "FRESH2_TEMPLATES", "NEGATIVE_SLOTS",
    "Sample", "fresh2_samples", "fresh2_sentences", "iso7064", "luhn_digit",
]  # fmt: skip
