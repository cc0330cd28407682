"""The "fresh" labelled PII set of issue 15: written blind, for the finished detector.

    from pii_fresh import fresh_sentences
    samples = fresh_sentences(2000)   # 2,000 texts with PII, then 1,000 hard negatives

How it was written: by a separate author while two others were still changing the detector,
without reading the detector (audit/pii*, audit/lexicons.py, audit/data/*), its tests, any
benchmark result or note on PII accuracy, and without running any detector on these texts.
The earlier sets (bench/pii_corpus.py, bench/pii_heldout.py) were read only for the record
shape (``Labelled``), the shared filler (``fill_template``) and to avoid their templates,
seeds and name locales; ``tests/test_pii_fresh.py`` checks that none of their template
strings is reused. The lead measures the finished detector on it once (``bench/eval_pii.py
--sets trust-fresh``, ``bench/leak_check.py --set fresh``).

What it holds, modelled on fine-tuning and support data:

- Seed ``FRESH_SEED`` (60418807). Every choice comes from one numpy Generator; the Faker
  instances are seeded from it; no ``hash()`` or set order, so a seed gives the same texts in
  every process (same Faker and phonenumbers versions).
- Templates (bench/pii_fresh_text.py): chat turns, support tickets, e-mails with signatures,
  HR / medical / legal / bank letters, forms, forum posts, logs, CSV/TSV rows, JSON snippets,
  code comments, meeting notes, SMS, and German, French, Spanish, Italian and Dutch text.
- PERSON: given and family names from Faker locales no earlier set used
  (``FRESH_NAME_LOCALES``) and, for ``HAND_SHARE`` of the people, from a hand-written list
  across cultures (bench/pii_fresh_names.py). Shapes: full name, given only, family name
  after a title (the title outside the span), initials ("J. R. Okafor"), middle names,
  lowercase in chat, ALL CAPS in forms ("OKAFOR, CHIAMAKA" is one span), family name first
  where the culture writes it so, possessives ("Amara's": the span stops before "'s"),
  degrees (PhD, MD, Esq.) outside the span.
- PHONE_NUMBER: numbers valid for their region per ``phonenumbers`` (random digits in the
  region's example shape, kept only when valid) for ``PHONE_REGIONS`` (50 countries), written
  national or international (+CC, 00CC, 011 from North America, +CC (0)), with spaces, dots,
  dashes, slashes, parentheses, no separator, extensions (ext., x, #), with or without a
  phone word in the template.
- EMAIL_ADDRESS with dots, plus tags, digits, hyphens, underscores in the local part, on
  public, corporate, sub-domain, country-code, new gTLD and reserved/internal domains.
- IP_ADDRESS: public and private IPv4, IPv6 full, compressed, upper case, IPv4-embedded;
  ports and brackets are template text outside the span. CREDIT_CARD: Luhn-valid numbers of
  eight networks (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Mir), grouped as
  printed or not. IBAN_CODE: valid mod-97 check for 22 countries,
  print (groups of four) or electronic form. US_SSN: valid shapes (area not 000, 666, 9xx;
  group and serial not zero), dashes, spaces or none, always in an SSN context.
- Hard negatives: no personal data and no person's name: dates and timestamps, times,
  versions (four-part ones shaped like IPv4), ISBN / EAN / UPC, order, tracking, invoice,
  Amazon-order and case numbers, 16-digit gift cards failing the Luhn check, phone-shaped part
  numbers and serials, an SSN-shaped product code, creditor references (RF, mod-97 valid, not
  an IBAN), hashes, UUIDs, MAC addresses, OIDs, CVE ids, DOIs, coordinates, prices, postcodes,
  port ranges, flight numbers, and capitalised words that are also names (Grace period, Rose
  Garden Café, Victoria Station, Amazon, Apple Pay, May, June, Mark, Ruby, Iris, Jenkins).

Gold spans cover exactly the value of a slot. ``fresh_samples`` also gives each span's origin
("hand:<culture>", "faker:<locale>", "phone:<region>:<parse region>", or the entity) for the
tests. Needs Faker and phonenumbers (imported lazily).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
from pii_corpus import Labelled, SeededDraws, fill_template, luhn_complete
from pii_fresh_names import HAND_CULTURES, Culture
from pii_fresh_text import FRESH_NEGATIVES, FRESH_SLOTS, FRESH_TEMPLATES

FRESH_SEED = 60418807
HAND_SHARE = 0.45  # of the people drawn; the rest from Faker
# Faker locales no earlier set used for names (pii_corpus: NAME_LOCALES, SEALED_NAME_LOCALES;
# pii_heldout: HELDOUT_NAME_LOCALES), whose first_name / last_name are real local names.
FRESH_NAME_LOCALES = (
    "en_AU", "en_PK", "fr_CH", "es_CA", "az_AZ", "yo_NG", "ig_NG", "ha_NG", "zu_ZA", "tw_GH",
    "uz_UZ", "sw", "en_TH", "fr_DZ", "fr_BE",
)  # fmt: skip
PHONE_REGIONS = (
    "US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "LU", "ES", "PT", "IT", "SE",
    "NO", "DK", "FI", "PL", "CZ", "GR", "IN", "PK", "BD", "LK", "CN", "JP", "KR", "SG", "MY",
    "PH", "VN", "TH", "ID", "AU", "NZ", "ZA", "NG", "KE", "GH", "EG", "MA", "AE", "SA", "IL",
    "TR", "BR", "MX", "AR", "CO",
)  # fmt: skip
EXTENSIONS = (" ext. {}", " x{}", " #{}", " ext {}", " x {}", " Ext.{}")
TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mx.", "Mr", "Ms")

# (country, BBAN layout: "9" digit, "A" letter, "C" letter or digit)
IBAN_LAYOUTS = (
    ("PL", "9" * 24), ("CZ", "9" * 20), ("DK", "9" * 14), ("FI", "9" * 14), ("SE", "9" * 20),
    ("RO", "AAAA" + "C" * 16), ("LU", "999" + "C" * 13), ("BG", "AAAA" + "9" * 6 + "C" * 8),
    ("GR", "9" * 23), ("CY", "9" * 8 + "C" * 16), ("MT", "AAAA" + "9" * 5 + "C" * 18),
    ("SA", "99" + "C" * 18), ("AE", "9" * 19), ("IL", "9" * 19), ("LI", "9" * 5 + "C" * 12),
    ("MC", "9" * 10 + "C" * 11 + "99"), ("BR", "9" * 23 + "AC"), ("DE", "9" * 18),
    ("FR", "9" * 10 + "C" * 11 + "99"), ("ES", "9" * 20), ("IT", "A" + "9" * 10 + "C" * 12),
    ("NL", "AAAA" + "9" * 10),
)  # fmt: skip
# (network, prefixes, length)
CARD_NETWORKS = (
    ("visa", ("4",), 16), ("visa13", ("4",), 13), ("visa19", ("4",), 19),
    ("mastercard", ("51", "52", "53", "54", "55"), 16),
    ("mastercard2", ("2221", "2300", "2511", "2720"), 16),
    ("amex", ("34", "37"), 15), ("discover", ("6011", "644", "649", "65"), 16),
    ("jcb", ("3528", "3541", "3589"), 16), ("diners", ("36", "300", "305", "38"), 14),
    ("unionpay", ("62",), 16), ("unionpay19", ("62",), 19), ("mir", ("2200", "2204"), 16),
)  # fmt: skip
EMAIL_DOMAINS = (
    # public
    "gmail.com", "yahoo.co.jp", "web.de", "laposte.net", "libero.it", "proton.me",
    "icloud.com", "naver.com", "qq.com", "rediffmail.com", "hotmail.fr", "yandex.ru",
    # corporate, sub-domains
    "kestrel-freight.com", "eng.corp.nordwind.io", "mail.uni-heidelberg.de",
    "students.uonbi.ac.ke", "hr.acme-holdings.co.uk", "emea.salesforce-partner.net",
    # country codes
    "telkomsa.net", "mweb.co.za", "bigpond.com.au", "ptcl.net.pk", "vnpt.vn", "uol.com.br",
    "hotmail.com.ar", "eircom.ie", "kpnmail.nl", "t-online.de",
    # new gTLDs
    "hey.dev", "studio-kiri.design", "nordlicht.berlin", "fintrack.app", "okafor.consulting",
    "mail.xyz",
    # reserved and internal
    "example.org", "test.example", "corp.local", "intranet.lan", "mail.internal",
    "staging.invalid",
)  # fmt: skip
ROLE_LOCALS = ("billing", "it-support", "hr.team", "no_reply", "accounts.payable", "ops+alerts")
BRANDS = ("Apple Pay", "Google Pay", "Amazon Pay", "Klarna", "PayPal", "Alipay")


def luhn_ok(number: str) -> bool:
    digits = [c for c in number if c.isdigit()]
    return luhn_complete("".join(digits[:-1]))[-1] == digits[-1]


def mod97(text: str) -> int:
    """ISO 7064 mod 97-10 of ``text`` (letters as 10..35), the IBAN and RF check."""
    return int("".join(str(int(c, 36)) for c in text)) % 97


def _ascii(text: str) -> str:
    """A name's letters as typed in an address (Traoré -> Traore, Ødegaard -> Odegaard)."""
    text = text.replace("ø", "o").replace("Ø", "O").replace("ð", "d").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalnum()) or "x"


class FreshValues(SeededDraws):
    """Fresh slot values. Every choice comes from ``rng`` or from Faker seeded from it; each
    PII value appends its origin to ``origins`` (read by ``fresh_samples``)."""

    def __init__(self, rng: np.random.Generator, fakers: dict[str, Any], pn: Any) -> None:
        super().__init__(rng)
        self.fakers = fakers
        self.pn = pn
        self.origins: list[str] = []
        self.fallbacks = 0
        self.examples = self._phone_examples()
        self.slots: dict[str, Callable[[], str]] = {
            "name": self.full_name,
            "name2": self.full_name,
            "first": lambda: self.person()[0],
            "last": self.family,
            "lower": self.lower,
            "caps": self.caps,
            "initials": self.initials,
            "phone": self.phone,
            "phone2": self.phone,
            "email": self.email,
            "email2": self.email,
            "ssn": self.ssn,
            "card": self.card,
            "iban": self.iban,
            "ip": lambda: self.ip(self.chance(0.7)),
            "ip4": lambda: self.ip(True),
            "ip6": lambda: self.ip(False),
            "title": lambda: self.pick(TITLES),
            "lb": lambda: "{",
            "rb": lambda: "}",
            **self.negative_slots(),
        }

    # people
    def _draw(self) -> tuple[str, str, str, str]:
        """(given, family, order, origin) of one person: hand list or a Faker locale."""
        if self.chance(HAND_SHARE):
            culture: Culture = self.pick(HAND_CULTURES)
            given, family = self.pick(culture.given), self.pick(culture.family)
            return given, family, culture.order, f"hand:{culture.key}"
        locale = self.pick(FRESH_NAME_LOCALES)
        f = self.fakers[locale]
        # strip: a few Faker entries carry a stray space ("Behbud ")
        return f.first_name().strip(), f.last_name().strip(), "gf", f"faker:{locale}"

    def person(self) -> tuple[str, str, str]:
        given, family, order, origin = self._draw()
        self.origins.append(origin)
        return given, family, order

    def family(self) -> str:
        """The name after a title: the family name (a Malay patronym: the given name)."""
        given, family, order = self.person()
        return given if order == "gf-patronym" else family

    def full_name(self) -> str:
        given, family, order = self.person()
        style = self.rng.random()
        if order == "fg" and style < 0.7:
            return f"{family} {given}"
        if order == "gf" and style < 0.15:  # a middle name from the same source
            middle = self.pick(self._givens_like(given))
            return f"{given} {middle} {family}"
        if order == "gf" and style < 0.25:
            return f"{given} {chr(65 + self.n(0, 26))}. {family}"
        return f"{given} {family}"

    def _givens_like(self, given: str) -> tuple[str, ...]:
        for culture in HAND_CULTURES:
            if given in culture.given:
                return tuple(g for g in culture.given if g != given) or culture.given
        return ("James", "Marie", "Ann", "Louise", "Edward", "Grace", "Olumide", "Jean")

    def initials(self) -> str:
        given, family, order = self.person()
        if order == "gf-patronym":
            return f"{given} {family}"
        first = given.replace("-", " ").split()[0][0]
        second = chr(65 + self.n(0, 26))
        return self.pick(
            (f"{first}. {second}. {family}", f"{first}.{second}. {family}", f"{first}. {family}")
        )

    def lower(self) -> str:
        given, family, _ = self.person()
        name = given if self.chance(0.6) else f"{given} {family}"
        return name.replace("İ", "i").lower()  # typed on a phone: no combining dot

    def caps(self) -> str:
        given, family, order = self.person()
        if order == "gf-patronym":
            return f"{given} {family}".upper()
        return self.pick(
            (
                f"{family}, {given}".upper(),
                f"{given} {family}".upper(),
                f"{family.upper()} {given}",
            )
        ).replace("İ", "I")

    # phone numbers
    def _phone_examples(self) -> list[tuple[str, Any]]:
        pn = self.pn
        out = []
        for region in PHONE_REGIONS:
            for kind in (pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE):
                example = pn.example_number_for_type(region, kind)
                if example is not None:
                    out.append((region, example))
        return out

    def _valid_number(self) -> tuple[str, Any]:
        """A valid number of a region: its example's leading digits, the rest random."""
        pn = self.pn
        region, example = self.pick(self.examples)
        national = pn.national_significant_number(example)  # Italy keeps its leading 0
        # Keep 1-3 leading digits (the kind of line), more if no random rest is valid.
        for keep in range(min(self.n(1, 4), len(national) - 4), len(national) - 3):
            for _ in range(40):
                candidate = national[:keep] + self.digits(len(national) - keep)
                number = pn.parse("+" + str(example.country_code) + candidate, None)
                if pn.is_valid_number_for_region(number, region):
                    return region, number
        self.fallbacks += 1  # the example itself (counted: the tests keep it rare)
        return region, example

    def phone(self) -> str:
        pn = self.pn
        region, number = self._valid_number()
        fmt = pn.PhoneNumberFormat
        intl = pn.format_number(number, fmt.INTERNATIONAL)
        national = pn.format_number(number, fmt.NATIONAL)
        cc = str(number.country_code)
        rest = intl.removeprefix(f"+{cc} ")
        parse_region = region
        style = self.n(0, 12)
        if style == 0:
            text = intl
        elif style == 1:
            text = national
        elif style == 2:
            text = pn.format_number(number, fmt.E164)
        elif style == 3:
            text, parse_region = f"00{cc} {rest}", "DE"
        elif style == 4:
            text, parse_region = f"011 {cc} {rest}", "US"
        elif style == 5 and national.startswith("0") and not rest.startswith("0"):
            text = f"+{cc} (0){rest}"
        elif style == 6:
            text = f"+{cc} " + rest.replace(" ", self.pick(".-"))
        elif style == 7 and "(" not in national:
            text = national.replace(" ", self.pick((".", "-", "")))
        elif style == 8 and " " in national and national[0] == "0" and cc not in ("1",):
            head, _, tail = national.partition(" ")
            text = f"({head}) {tail}" if self.chance(0.5) else f"{head}/{tail.replace(' ', '')}"
        elif style == 9 and cc == "1":
            digits = str(number.national_number)
            text = self.pick(
                (
                    f"1-{digits[:3]}-{digits[3:6]}-{digits[6:]}",
                    f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                    f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}",
                )
            )
        else:
            text = intl if self.chance(0.5) else national
        if self.chance(0.12):
            text += self.pick(EXTENSIONS).format(self.n(2, 9999))
        self.origins.append(f"phone:{region}:{parse_region}")
        return text

    # other structured values
    def email(self) -> str:
        if self.chance(0.1):
            local = self.pick(ROLE_LOCALS)
        else:
            given, family, _, _ = self._draw()  # the address's owner: not a PERSON span here
            g, f = _ascii(given).lower(), _ascii(family).lower()
            local = self.pick(
                (
                    f"{g}.{f}",
                    f"{g[0]}.{f}",
                    f"{g}{f}",
                    f"{g}_{f}",
                    f"{g}-{f}",
                    f"{f}.{g}+{self.pick(('shop', 'news', 'work', 'tax2025'))}",
                    f"{g}.{f}{self.n(1, 99)}",
                    f"{g[0]}{f}{self.n(70, 2006)}",
                    f"{g}.{chr(97 + self.n(0, 26))}.{f}",
                )
            )
        address = f"{local}@{self.pick(EMAIL_DOMAINS)}"
        self.origins.append("EMAIL_ADDRESS")
        return address if not self.chance(0.05) else address.capitalize()

    def ssn(self) -> str:
        area = self.n(1, 900)
        while area == 666:
            area = self.n(1, 900)
        group, serial = self.n(1, 100), self.n(1, 10000)
        sep = self.pick(("-", "-", "-", "", " "))
        self.origins.append("US_SSN")
        return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"

    def card(self) -> str:
        network, prefixes, length = self.pick(CARD_NETWORKS)
        prefix = self.pick(prefixes)
        number = luhn_complete(prefix + self.digits(length - len(prefix) - 1))
        style = self.n(0, 3)
        self.origins.append(f"card:{network}")
        if style == 0:
            return number
        if length in (14, 15):  # Diners 4-6-4, Amex 4-6-5
            groups = [number[:4], number[4:10], number[10:]]
        elif length == 13:  # old Visa 4-3-3-3
            groups = [number[:4], number[4:7], number[7:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, length, 4)]
        return (" " if style == 1 else "-").join(groups)

    def iban(self) -> str:
        country, layout = self.pick(IBAN_LAYOUTS)
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        bban = "".join(
            self.pick(letters)
            if c == "A"
            else self.pick(letters + "0123456789")
            if c == "C"
            else self.digits(1)
            for c in layout
        )
        check = 98 - mod97(bban + country + "00")
        value = f"{country}{check:02d}{bban}"
        self.origins.append(f"iban:{country}")
        if self.chance(0.55):
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def ip(self, v4: bool) -> str:
        self.origins.append("IP_ADDRESS")
        if v4:
            if self.chance(0.2):  # private ranges appear in logs as often as public ones
                return self.pick(
                    (
                        f"10.{self.n(0, 256)}.{self.n(0, 256)}.{self.n(1, 255)}",
                        f"192.168.{self.n(0, 256)}.{self.n(1, 255)}",
                        f"172.{self.n(16, 32)}.{self.n(0, 256)}.{self.n(1, 255)}",
                    )
                )
            while True:
                address = ipaddress.IPv4Address(self.n(1 << 24, 0xDFFFFFFF))
                if address.is_global:
                    return str(address)
        style = self.n(0, 5)
        if style == 4:  # IPv4-mapped or NAT64 with a public IPv4 inside
            inner = self.ip(True)
            self.origins.pop()
            return self.pick((f"::ffff:{inner}", f"64:ff9b::{inner}"))
        while True:
            groups = [int(g) for g in self.rng.integers(0, 1 << 16, 8)]
            groups[0] = 0x2000 | (groups[0] & 0x1FFF)
            if style in (1, 3):  # a run of zero groups, written "::" when compressed
                start = self.n(2, 5)
                groups[start:7] = [0] * (7 - start)
            address6 = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
            if address6.is_global:
                break
        if style == 0:
            return address6.exploded
        if style == 2:
            return ":".join(f"{g:x}" for g in groups)
        text = str(address6)
        return text.upper() if style == 3 else text

    # values that are not personal data
    def negative_slots(self) -> dict[str, Callable[[], str]]:
        n, d, h, pick = self.n, self.digits, self.hexes, self.pick
        months = ("Jan", "March", "Apr", "June", "Sept", "November", "Dez.", "mars", "agosto")

        def date() -> str:
            y, m, day = n(2019, 2028), n(1, 13), n(1, 29)
            return pick(
                (
                    f"{y}-{m:02d}-{day:02d}",
                    f"{day:02d}.{m:02d}.{y}",
                    f"{m}/{day}/{y % 100:02d}",
                    f"{day:02d}/{m:02d}/{y}",
                    f"{day} {pick(months)} {y}",
                    f"{pick(months)} {day}, {y}",
                    f"{y}{m:02d}{day:02d}",
                )
            )

        def ean(body: str) -> str:
            odd = len(body) % 2  # weights 3,1 from the right of the body
            total = sum(int(c) * (3 if (i % 2) != odd else 1) for i, c in enumerate(body))
            return body + str((10 - total % 10) % 10)

        def luhn_fail() -> str:
            body = pick(("4", "5", "6")) + d(14)
            good = luhn_complete(body)
            bad = body + str((int(good[-1]) + 1 + n(0, 9)) % 10)
            bad = bad if not luhn_ok(bad) else body + str((int(good[-1]) + 1) % 10)
            return " ".join(bad[i : i + 4] for i in range(0, 16, 4)) if self.chance(0.6) else bad

        def rf() -> str:
            ref = d(n(8, 16))
            check = 98 - mod97(ref + "RF00")
            value = f"RF{check:02d}{ref}"
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))

        return {
            "date": date,
            "stamp": lambda: (
                f"{n(2020, 2027)}-{n(1, 13):02d}-{n(1, 29):02d}T"
                f"{n(0, 24):02d}:{n(0, 60):02d}:{n(0, 60):02d}{pick(('Z', '+02:00', '.481Z'))}"
            ),
            "time": lambda: pick((f"{n(6, 22)}:{pick(('00', '30', '45'))}", f"{n(1, 12)}pm")),
            "version4": lambda: f"{n(1, 16)}.{n(0, 10)}.{n(0, 30000)}.{n(0, 9999)}",
            "version": lambda: f"{n(1, 3)}.{n(0, 30)}.{n(0, 12)}",
            "isbn": lambda: (lambda x: f"{x[:3]}-{x[3]}-{x[4:9]}-{x[9:12]}-{x[12]}")(
                ean(pick(("978", "979")) + d(9))
            ),
            "ean": lambda: ean(pick(("40", "87", "54", "80")) + d(10)),
            "upc": lambda: ean(pick(("0", "6", "8")) + d(10)),
            "order": lambda: pick((d(n(7, 11)), f"{n(2020, 2027)}-{d(6)}", f"A{d(8)}")),
            "tracking": lambda: pick((f"1Z{h(6).upper()}{d(10)}", f"JJD{d(18)}", f"LX{d(9)}DE")),
            "invoice": lambda: pick((f"INV-{n(2019, 2027)}-{d(5)}", f"{d(4)}/{n(2020, 2027)}")),
            "badcard": luhn_fail,
            "price": lambda: pick(
                (f"${n(1, 999)}.{d(2)}", f"€{n(1, 5000)},{d(2)}", f"£{n(1, 999):,}.{d(2)}")
            ),
            "pcode": lambda: pick((f"{d(3)}-{d(3)}-{d(4)}", f"{d(4)} {d(3)} {d(3)}")),
            "sha256": lambda: h(64),
            "uuid": lambda: f"{h(8)}-{h(4)}-4{h(3)}-{pick('89ab')}{h(3)}-{h(12)}",
            "hex16": lambda: h(16),
            "coords": lambda: f"{n(-60, 70)}.{d(5)}, {n(-170, 170)}.{d(5)}",
            "postcode": lambda: pick(
                (
                    f"SW{n(1, 20)} {n(1, 9)}{pick('ABDEFGHJ')}{pick('LNPQRSTU')}",
                    f"{n(10000, 99999)}",
                    f"{n(1000, 9999)} {pick('ABCDEFGH')}{pick('JKLMNPRS')}",
                    f"{n(10000, 99999)}-{d(4)}",
                )
            ),
            "brand": lambda: pick(BRANDS),
            "sku": lambda: f"{pick(('GR', 'HB', 'FL'))}-{d(5)}",
            "build": lambda: str(n(100, 9999)),
            "amazon": lambda: f"{n(100, 999)}-{d(7)}-{d(7)}",
            "mac": lambda: ":".join(h(2) for _ in range(6)),
            "oid": lambda: f"1.3.6.1.{n(2, 5)}.1.{n(2, 40000)}.{n(1, 30)}.{n(1, 9)}",
            "cve": lambda: f"CVE-{n(2018, 2027)}-{n(1000, 49999)}",
            "doi": lambda: f"10.{n(1000, 9999)}/{pick(('s', 'j.', 'nature'))}{d(5)}",
            "ssnshape": lambda: f"{n(100, 899)}-{n(10, 99)}-{d(4)}",
            "rf": rf,
            "serial": lambda: pick((f"SN {d(3)}-{d(3)}-{d(4)}", f"{h(4).upper()}-{d(6)}")),
            "count": lambda: f"{n(100, 99999):,}",
            "port": lambda: str(n(1024, 65535)),
            "portrange": lambda: (lambda lo: f"{lo}-{lo + n(10, 2000)}")(n(10000, 60000)),
            "caseref": lambda: f"CAS-{n(2020, 2027)}{n(1, 13):02d}{n(1, 29):02d}-{d(6)}",
            "lot": lambda: f"L{d(2)}{pick('ABC')}{d(3)}",
            "flight": lambda: f"{pick(('KL', 'LH', 'ET', 'QR', 'AT'))} {n(100, 1999)}",
            "gate": lambda: f"{pick('ABCDE')}{n(1, 60)}",
            "amount": lambda: f"{n(1, 999)}.{d(2)}",
            "asset": lambda: f"IT-{d(6)}",
        }


_FAKERS: dict[str, Any] = {}


def fresh_values(seed: int) -> FreshValues:
    """The value makers of one run: a numpy Generator of ``seed``, Faker seeded from it."""
    import phonenumbers
    from faker import Faker

    rng = np.random.default_rng(seed)
    for locale in FRESH_NAME_LOCALES:  # a fixed order: seeds drawn the same in every process
        if locale not in _FAKERS:  # building one costs more than the texts; reseeded here
            _FAKERS[locale] = Faker(locale)
        _FAKERS[locale].seed_instance(int(rng.integers(0, 2**31)))
    return FreshValues(rng, dict(_FAKERS), phonenumbers)


def fresh_samples(n: int, seed: int | None = None) -> list[tuple[Labelled, list[str]]]:
    """Each text of ``fresh_sentences`` with the origin of each of its gold spans."""
    values = fresh_values(FRESH_SEED if seed is None else seed)
    out: list[tuple[Labelled, list[str]]] = []
    for i in range(n + n // 2):
        kind = ""
        if i < n:
            template = values.pick(FRESH_TEMPLATES)
        else:
            kind, template = values.pick(FRESH_NEGATIVES)
        values.origins = []
        text, gold = fill_template(template, values.slots, FRESH_SLOTS)
        if len(values.origins) != len(gold):  # a maker forgot (or doubled) its origin
            raise AssertionError(f"origins {values.origins} do not match gold {gold}")
        out.append((Labelled(text, gold, kind), values.origins))
    return out


def fresh_sentences(n: int, seed: int | None = None) -> list[Labelled]:
    """``n`` texts holding PII, then ``n // 2`` hard negatives, of the fresh set."""
    return [sample for sample, _ in fresh_samples(n, seed)]
