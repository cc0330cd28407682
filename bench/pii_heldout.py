"""The "heldout" labelled PII set of issue 15: written blind, after the detector work.

    from pii_heldout import heldout_sentences
    samples = heldout_sentences(2000)   # 2,000 texts with PII, then 1,000 hard negatives

A separate author wrote this set without reading the detector (audit/pii*, its lexicons and
its tests) or any score on it, once the PERSON detector work of issue 15 was handed over, so
that the lead measures the finished detector on text it was never tuned on. Nothing here is
taken from the earlier sets of ``pii_corpus`` (development, acceptance, holdout, final, blind,
sealed) but the ``Labelled`` record shape; ``tests/test_pii_heldout.py`` checks that no template
string is shared.

- Seed ``HELDOUT_SEED`` (5550123); every choice is drawn from one numpy generator and from
  Faker instances seeded from it, so a seed gives the same texts on every machine with the
  same Faker version.
- Positive templates (``HELDOUT_TEMPLATES``) are written the way people write support tickets,
  chat messages, HR and clinic e-mails, bank and travel correspondence, web forms, forum posts,
  code review comments, log lines, CSV rows and e-mail signatures; a few chat lines type the
  name in lowercase. Names come from Faker locales no earlier set used
  (``HELDOUT_NAME_LOCALES``), in the locale's order (family name first in Hungarian), with
  middle initials or double surnames sometimes; titles (Dr., Ms., Prof., Mr.) and degrees (MD,
  PhD) stay outside the gold span.
- Phone numbers (``phone``) are written in national and international shapes of many
  countries (``+CC``, ``00CC``, trunk prefixes, dots, slashes, parentheses, extensions), some
  after a phone word and some with none; some come from the formats of Faker locales no earlier
  set used for phones. Cards are Luhn-valid numbers of eight networks, grouped as printed on the
  card or not; IBANs have a valid mod-97 check, for countries no earlier set used; SSNs are
  valid US shapes (area not 000, 666 or 9xx), mostly with dashes; IP addresses are public IPv4
  or IPv6 (full or compressed).
- Hard negatives (``HELDOUT_NEGATIVES``) hold no personal data at all, names included: order,
  ticket and tracking numbers, versions (four-part ones shaped like IPv4), prices, dates, ISBNs,
  EANs, times, part numbers and phone-shaped product codes, timestamps, commit hashes, UUIDs,
  coordinates, measurements, postcodes, page ranges, years, build numbers, 16-digit voucher
  numbers that fail the Luhn check, port ranges, flight numbers.

Gold spans cover exactly the value of a slot. Needs Faker (imported lazily).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
from pii_corpus import Labelled, SeededDraws, fill_template, luhn_complete

HELDOUT_SEED = 5550123
HELDOUT_NAME_LOCALES = (
    "hu_HU", "sk_SK", "no_NO", "hr_HR", "lt_LT", "lv_LV", "sl_SI", "et_EE", "tr_TR", "en_NZ",
    "pt_PT", "de_AT", "de_CH", "fr_CA", "id_ID", "ga_IE", "is_IS", "nl_BE", "es_AR", "es_CL",
    "es_CO", "en_KE", "en_NG",
)  # fmt: skip
# Faker locales whose own phone formats look like phone numbers (others print US shapes).
HELDOUT_PHONE_LOCALES = (
    "sk_SK", "de_CH", "es_AR", "es_CL", "hu_HU", "lt_LT", "no_NO", "en_NZ", "de_AT", "nl_BE",
    "hr_HR", "sl_SI",
)  # fmt: skip
FAMILY_NAME_FIRST = ("hu_HU",)

# {slot} -> entity of the value; any other slot holds no personal data.
HELDOUT_SLOTS = {
    "name": "PERSON", "name2": "PERSON", "first": "PERSON", "last": "PERSON",
    "lower": "PERSON", "phone": "PHONE_NUMBER", "phone2": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS", "ssn": "US_SSN", "card": "CREDIT_CARD", "iban": "IBAN_CODE",
    "ip": "IP_ADDRESS",
}  # fmt: skip

HELDOUT_TEMPLATES = (
    # support tickets and helpdesk
    "Hi team, {name} from the Tallinn office still can't log in after the update. "
    "The number is {phone} if someone can walk them through it.",
    "Ticket #48213 - caller {name} says the router at {ip} reboots every night around 2am. "
    "Callback requested on {phone}.",
    "Closing this one: {first} confirmed the printer works again. Thanks all!",
    "Escalating to tier 2. The customer ({email}) has tried three browsers already.",
    # chat, lowercase names a minority
    "hey {lower} u still up? ring me {phone}",
    "lol {lower} just sent the pics to {email}, check ur inbox",
    "can u send the deposit 2 {iban}? thx, {lower}",
    "@{first} the staging box {ip} is yours till Friday, don't forget to clean up",
    "WhatsApp me on {phone}, not the landline. - {first}",
    # HR and recruiting
    "Dear Ms. {last},\n\nThank you for applying for the Data Analyst role. We will get back "
    "to you at {email} within ten working days.\n\nKind regards,\nRecruiting",
    "W-4 attached. Employee: {name}, SSN {ssn}, start date 3 March.",
    "Please welcome {name}, who joins the Ljubljana office as our new controller!",
    "From: {name} <{email}>\nSubject: sick note\n\nI won't be in today, fever. "
    "Back Wednesday hopefully.",
    "Reference check: {name2} worked with {name} for four years and recommends them warmly.",
    # clinic and insurance
    "Patient: {name}\nDOB: 14/02/1979\nSSN: {ssn}\nGP phone: {phone}",
    "Dr. {last} has moved your appointment to Thursday 10:40. "
    "To cancel, phone the clinic on {phone}.",
    "Referral letter for {name}, written by {name2}, MD, cardiology.",
    "Hi {first}, your lab results are ready. Log in to the portal or call {phone} "
    "between 8 and 12.",
    "Insurance claim 2025/0448: policy holder {name} was treated by Dr. {last}; "
    "reimburse to {iban}.",
    # bank and payments
    "Could the bank please reverse the debit of 312,40 EUR? It was taken from my account "
    "{iban} without my consent. Regards, {name}",
    "Beneficiary: {name} | IBAN: {iban} | BIC: RZBAATWW | Amount: 1 250,00",
    "I, Ms. {last}, authorise Northwind Utilities to collect payments from {iban}.",
    "My partner {first} and I would like the balance moved to our joint account {iban}.",
    "Payment failed for {email}: card {card} was declined by the issuer (code 05).",
    "Please charge my card {card} for the two nights (expiry 11/27). Thanks, {first}",
    "Stolen wallet: my card {card} and my social security card ({ssn}) were inside. - {name}",
    "For the credit check we need the co-signer's SSN; {first} gave us {ssn} over the phone.",
    "Tenant screening: applicant {name} (SSN {ssn}), landlord reference {name2}, {phone}.",
    # travel and hotels
    "Booking ref QX7K2P - passenger {name}, mobile {phone}, e-ticket sent to {email}.",
    "Your flight LO 3917 is delayed. {first}, we rebooked you on the 18:05; questions: {phone}.",
    "Hotel confirmation for {name}: 2 nights, Double room, card guarantee {card}.",
    "Good evening, Mr. {last}. Your taxi is waiting outside; the driver's number is {phone}.",
    # forms and contact sheets
    "Contact form submission\nName: {name}\nEmail: {email}\nPhone: {phone}\n"
    "Message: do you ship to Reykjavik?",
    "id,name,email\n1042,{name},{email}",
    '"{name}";"{iban}";"45.00";"membership fee"',
    "{last}, {first} | {phone} | {email}",
    # forums, code review, logs
    "Posted by {first} » Tue Mar 04, 2025 9:12 pm\nDoes anyone know why my NAS at {ip} "
    "stops answering after the firmware update?",
    "Re: [PATCH v3] net: fix refcount leak\n\nLooks good to me.\n\nReviewed-by: {name} <{email}>",
    "nit: please don't hard-code {ip} in the test, {first} is moving that host next sprint.",
    "git blame says {name} wrote this in 2019; maybe ask them before deleting it.",
    "2025-03-14 08:12:55 WARN auth: 5 failed logins for {email} from {ip}",
    "SIEM alert 7719: outbound traffic from {ip} to {ip} on port 4444",
    "VPN session opened by {email} from {ip}, closed after 47 minutes.",
    "The new owner of server {ip} is {name}; the old owner, {name2}, has left.",
    # signatures, quotes, voicemail, notes
    "Cheers,\n{first}\n--\n{name}\nSenior Buyer, Nordhavn Trading\nT {phone} | M {phone2}\n{email}",
    "Sent from my phone\n\n> On 3 Mar 2025, at 09:14, {name} <{email}> wrote:\n"
    "> Can we move the call to Friday?",
    "Thanks for ringing! {first} here, I'm away until Monday; for anything urgent try {phone}.",
    "Missed call from {phone} (2 min ago)",
    "Guest list: {name} (+1), {name2}, {first}",
    "Delivered 14:32, signed for by {name} (parcel 7 of 9).",
    "Prof. {name} and {name2}, PhD, will co-supervise the thesis.",
    "Our ref: {name} / SSN {ssn} / tel. {phone2}",
    "If you have questions about your bill, {first}, reply to this e-mail or write to {email}.",
    "Congratulations {first}!! So proud of you. Call me tonight, {phone}",
)

# (kind, template): no personal data at all, names included.
HELDOUT_NEGATIVES = (
    ("order", "Order {order} has been split into two shipments, the second ships Monday."),
    ("ticket", "Re: ticket {ticket} - the printer on floor 3 jams again."),
    ("tracking", "Tracking number {tracking}: the parcel cleared customs this morning."),
    ("version", "pip install requests=={version} fixed the SSL error on the runners."),
    ("version4", "Firmware {version4} was rolled out to the branch routers overnight."),
    ("price", "Monthly plan: {price} incl. VAT, billed annually."),
    ("date", "The office is closed from {date} until further notice."),
    ("isbn", "Required reading: ISBN {isbn}, chapters 2-4."),
    ("ean", "Scan {ean} at the self-checkout if the shelf label is missing."),
    ("time", "Standup moves to {time} CET starting next week."),
    ("part", "Replacement part {part} fits every model built since 2017."),
    ("product", "Model no. {product} is compatible with the older docking station."),
    ("timestamp", "Last backup: {stamp}, 0 errors, 3 warnings."),
    ("hash", "Commit {sha} reverts the cache change from last week."),
    ("uuid", "Request id {uuid} returned HTTP 502 from the gateway."),
    ("coords", "The trailhead is at {coords}; park near the gate."),
    ("measure", "Box dimensions {measure}, gross weight 4.2 kg."),
    ("postcode", "Free delivery now covers postcodes {postcode}."),
    ("pages", "The errata cover pages {pages} of the second printing."),
    ("year", "Revenue doubled between {year} and {year}."),
    ("build", "Nightly build {build} failed on the arm64 runner."),
    ("voucher", "Gift voucher {voucher} can be redeemed online or in store."),
    ("ports", "Allow inbound UDP on ports {ports} for the media relay."),
    ("flight", "Flight {flight} now departs from gate B14."),
    ("serial", "Serial {serial} is still under warranty until the end of the year."),
    ("invoice", "Invoice INV-{order} is payable within 30 days of receipt."),
)

# Countries no earlier set drew IBANs from: (country, BBAN layout: digits "9", letters "A").
IBAN_LAYOUTS = {
    "HU": "9" * 24, "SK": "9" * 20, "NO": "9" * 11, "HR": "9" * 17, "LT": "9" * 16,
    "LV": "AAAA" + "9" * 13, "SI": "9" * 15, "EE": "9" * 16, "TR": "9" * 22, "PT": "9" * 21,
    "AT": "9" * 16, "CH": "9" * 17, "BE": "9" * 12, "IS": "9" * 22, "IE": "AAAA" + "9" * 14,
}  # fmt: skip
# (network prefix, length): Visa, Mastercard (51-55 and 2-series), Amex, Discover, JCB,
# Diners, UnionPay.
CARD_NETWORKS = (
    ("4", 16), ("4", 19), ("53", 16), ("2720", 16), ("34", 15), ("37", 15), ("65", 16),
    ("6011", 16), ("3530", 16), ("36", 14), ("62", 16),
)  # fmt: skip
EMAIL_DOMAINS = (
    "gmail.com", "outlook.com", "freemail.hu", "azet.sk", "online.no", "t-com.hr",
    "siol.net", "inbox.lv", "hot.ee", "xtra.co.nz", "sapo.pt", "gmx.at", "bluewin.ch",
    "videotron.ca", "yahoo.co.id", "nordhavn-trading.com", "kliniko.eu", "uni-graz.example",
)  # fmt: skip


# --- values --------------------------------------------------------------------------------


class _Values(SeededDraws):
    """Fresh slot values; every choice from ``rng`` or from Faker instances seeded from it."""

    def __init__(self, fakers: dict[str, Any], rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.fakers = fakers
        self.slots: dict[str, Callable[[], str]] = {
            "name": self.full_name,
            "name2": self.full_name,
            "first": lambda: self.person()[0],
            "last": lambda: self.person()[1],
            # As typed on a phone: Turkish İ becomes a plain i, not i + combining dot.
            "lower": lambda: self.person()[0].replace("İ", "i").lower(),
            "phone": self.phone,
            "phone2": self.phone,
            "email": self.email,
            "ssn": self.ssn,
            "card": self.card,
            "iban": self.iban,
            "ip": self.ip,
            **self.negative_slots(),
        }

    # names
    def person(self) -> tuple[str, str, str]:
        """(given name, family name, locale) of one locale."""
        locale = self.pick(HELDOUT_NAME_LOCALES)
        f = self.fakers[locale]
        return str(f.first_name()), str(f.last_name()), locale

    def full_name(self) -> str:
        first, last, locale = self.person()
        style = self.rng.random()
        if style < 0.1:  # a middle initial
            first = f"{first} {chr(ord('A') + int(self.rng.integers(0, 26)))}."
        elif style < 0.2:  # a double surname
            last = f"{last}-{self.fakers[locale].last_name()}"
        return f"{last} {first}" if locale in FAMILY_NAME_FIRST else f"{first} {last}"

    # phone numbers
    def phone(self) -> str:
        if self.chance(0.2):
            return str(self.fakers[self.pick(HELDOUT_PHONE_LOCALES)].phone_number())
        d = self.digits
        area = str(int(self.rng.integers(201, 990)))
        ext = str(int(self.rng.integers(2, 9999)))
        shapes: tuple[Callable[[], str], ...] = (
            lambda: f"+61 4{d(2)} {d(3)} {d(3)}",  # Australia
            lambda: f"04{d(2)} {d(3)} {d(3)}",
            lambda: f"(0{self.pick('2378')}) {self.pick('98')}{d(3)} {d(4)}",
            lambda: f"+61 2 9{d(3)} {d(4)} ext. {ext}",
            lambda: f"+64 21 {d(3)} {d(4)}",  # New Zealand
            lambda: f"027-{d(3)}-{d(4)}",
            lambda: f"+36 30 {d(3)} {d(4)}",  # Hungary
            lambda: f"06-20-{d(3)}-{d(4)}",
            lambda: f"0036 1 {d(3)} {d(4)}",
            lambda: f"+47 {self.pick('49')}{d(2)} {d(2)} {d(3)}",  # Norway
            lambda: f"+41 44 {d(3)} {d(2)} {d(2)}",  # Switzerland
            lambda: f"0041 79 {d(3)} {d(2)} {d(2)}",
            lambda: f"+41.44.{d(3)}.{d(2)}.{d(2)}",
            lambda: f"+43 664 {d(7)}",  # Austria
            lambda: f"0043 1 {d(4)} {d(3)}",
            lambda: f"+90 5{d(2)} {d(3)} {d(2)} {d(2)}",  # Turkey
            lambda: f"0 (5{d(2)}) {d(3)} {d(2)} {d(2)}",
            lambda: f"+351 9{d(2)} {d(3)} {d(3)}",  # Portugal
            lambda: f"(+351) 21 {d(3)} {d(4)}",
            lambda: f"+353 (0)87 {d(3)} {d(4)}",  # Ireland
            lambda: f"087-{d(7)}",
            lambda: f"{area}/{d(3)}-{d(4)}",  # North America
            lambda: f"+1.{area}.{d(3)}.{d(4)}",
            lambda: f"({area}){d(3)}-{d(4)}",
            lambda: f"1-800-{d(3)}-{d(4)}",
            lambda: f"+1 {area}-{d(3)}-{d(4)} x{ext}",
            lambda: f"{area}-{d(3)}-{d(4)} ext {ext}",
            lambda: f"07{d(3)} {d(6)}",  # United Kingdom
            lambda: f"+44 7{d(3)} {d(6)}",
            lambda: f"+44 161 {d(3)} {d(4)} ext. {ext}",
            lambda: f"0171/{d(7)}",  # Germany
            lambda: f"0049 89 {d(8)}",
            lambda: f"+49 89 {d(6)}-{d(2)}",
            lambda: f"+370 6{d(2)} {d(5)}",  # Baltics, Slovenia, Croatia, Slovakia
            lambda: f"+371 2{d(3)} {d(4)}",
            lambda: f"+372 5{d(3)} {d(4)}",
            lambda: f"+386 41 {d(3)} {d(3)}",
            lambda: f"+385 91 {d(3)} {d(4)}",
            lambda: f"0905 {d(3)} {d(3)}",
            lambda: f"+62 812-{d(4)}-{d(4)}",  # Indonesia, Kenya, Nigeria
            lambda: f"0812 {d(4)} {d(4)}",
            lambda: f"+254 7{d(2)} {d(6)}",
            lambda: f"+234 80{d(1)} {d(3)} {d(4)}",
            lambda: f"0803 {d(3)} {d(4)}",
            lambda: f"+36301{d(6)}",  # written with no separator at all
            lambda: f"0041791{d(6)}",
        )
        return self.pick(shapes)()

    # other structured values
    def email(self) -> str:
        first, last, _ = self.person()
        first, last = _ascii(first).replace(" ", ""), _ascii(last).replace(" ", "")
        style = int(self.rng.integers(0, 6))
        local = [
            f"{first}.{last}",
            f"{first[0]}.{last}",
            f"{first}{last}",
            f"{last}.{first}+billing",
            f"{first}_{last}{int(self.rng.integers(1, 99))}",
            f"{first[0]}{last}",
        ][style]
        address = f"{local}@{self.pick(EMAIL_DOMAINS)}"
        # Some people type capitals in their address; lowercase otherwise.
        return address if self.chance(0.1) else address.lower()

    def ssn(self) -> str:
        area = int(self.rng.integers(1, 900))
        while area == 666:
            area = int(self.rng.integers(1, 900))
        group, serial = int(self.rng.integers(1, 100)), int(self.rng.integers(1, 10000))
        sep = " " if self.chance(0.2) else "-"
        return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"

    def card(self) -> str:
        prefix, length = self.pick(CARD_NETWORKS)
        number = luhn_complete(prefix + self.digits(length - len(prefix) - 1))
        style = int(self.rng.integers(0, 3))
        if style == 0:
            return number
        if length in (14, 15):  # Diners prints 4-6-4, Amex 4-6-5
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, length, 4)]
        return (" " if style == 1 else "-").join(groups)

    def iban(self) -> str:
        country = self.pick(tuple(IBAN_LAYOUTS))
        bban = "".join(
            chr(ord("A") + int(self.rng.integers(0, 26))) if c == "A" else self.digits(1)
            for c in IBAN_LAYOUTS[country]
        )
        value = iban_with_check(country, bban)
        if self.chance(0.5):
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def ip(self) -> str:
        if self.chance(0.65):
            while True:
                address = ipaddress.IPv4Address(int(self.rng.integers(1 << 24, 0xDFFFFFFF)))
                if address.is_global:
                    return str(address)
        # 2000::/3 global unicast: compressed (zero groups), in full, or zero-padded in full.
        while True:
            groups = [int(g) for g in self.rng.integers(0, 1 << 16, 8)]
            groups[0] = 0x2000 | groups[0] & 0x1FFF
            if self.chance(0.5):
                groups[3:7] = [0, 0, 0, 0]
            address6 = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
            if address6.is_global:
                break
        style = int(self.rng.integers(0, 3))
        if style == 0:
            return address6.exploded
        return str(address6) if style == 1 else ":".join(f"{g:x}" for g in groups)

    # values that are not personal data
    def negative_slots(self) -> dict[str, Callable[[], str]]:
        r, d = self.rng, self.digits

        def n(lo: int, hi: int) -> int:
            return int(r.integers(lo, hi))

        months = ("January", "March", "April", "June", "September", "November")
        return {
            "order": lambda: f"{n(2019, 2026)}-{d(6)}" if self.chance(0.5) else d(n(8, 12)),
            "ticket": lambda: self.pick((f"INC{d(7)}", f"#{d(5)}", f"SR-{d(6)}")),
            "tracking": lambda: self.pick(
                (f"1Z{d(3)}A{d(2)}{d(10)}", f"00{d(18)}", f"RR{d(9)}SK", f"JD0{d(17)}")
            ),
            "version": lambda: f"{n(1, 4)}.{n(0, 33)}.{n(0, 12)}",
            "version4": lambda: f"{n(1, 20)}.{n(0, 20)}.{n(0, 255)}.{n(0, 9999)}",
            "price": lambda: self.pick(
                (f"EUR {n(5, 900)},{d(2)}", f"CHF {n(10, 999)}.–", f"NZ${n(10, 999)}.{d(2)}")
            ),
            "date": lambda: self.pick(
                (
                    f"{n(1, 29)} {self.pick(months)} {n(2020, 2027)}",
                    f"{n(2020, 2027)}-{n(1, 13):02d}-{n(1, 29):02d}",
                    f"{n(1, 29):02d}.{n(1, 13):02d}.{n(2020, 2027)}",
                )
            ),
            "isbn": lambda: isbn13(self),
            "ean": lambda: ean13(self),
            "time": lambda: f"{n(6, 20)}:{self.pick(('00', '15', '30', '45'))}",
            "part": lambda: f"{self.pick(('A2', 'KX', 'M7'))}-{d(3)}-{d(4)}-{self.pick('BCR')}",
            "product": lambda: f"{d(3)}-{d(3)}-{d(4)}" if self.chance(0.5) else f"{d(4)} {d(6)}",
            "stamp": lambda: (
                f"{n(2021, 2026)}-{n(1, 13):02d}-{n(1, 29):02d}T"
                f"{n(0, 24):02d}:{n(0, 60):02d}:{n(0, 60):02d}Z"
            ),
            "sha": lambda: _hex(self, self.pick((7, 40))),
            "uuid": lambda: _uuid(self),
            "coords": lambda: f"{n(35, 65)}.{d(4)}, {n(5, 30)}.{d(4)}",
            "measure": lambda: f"{n(20, 90)} x {n(20, 60)} x {n(10, 50)} cm",
            "postcode": lambda: f"{n(1000, 4999)}-{n(5000, 9999)}",
            "pages": lambda: f"{n(100, 400)}-{n(400, 900)}",
            "year": lambda: str(n(1990, 2026)),
            "build": lambda: f"{n(2023, 2026)}{n(1, 13):02d}{n(1, 29):02d}.{n(1, 9)}",
            "voucher": lambda: luhn_invalid(d(15)),
            "ports": lambda: f"{n(10000, 20000)}-{n(20000, 65535)}",
            "flight": lambda: f"{self.pick(('LX', 'OS', 'TK', 'NZ', 'FI'))} {n(100, 9999)}",
            "serial": lambda: f"SN {d(3)}-{d(5)}-{d(4)}",
        }


def _ascii(text: str) -> str:
    """The letters of a name as people type them in an address (Kovács -> kovacs)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalnum() or c == " ") or "x"


def _hex(values: _Values, n: int) -> str:
    return "".join(values.pick("0123456789abcdef") for _ in range(n))


def _uuid(values: _Values) -> str:
    hexes = _hex(values, 32)
    return f"{hexes[:8]}-{hexes[8:12]}-4{hexes[13:16]}-a{hexes[17:20]}-{hexes[20:]}"


def luhn_invalid(body: str) -> str:
    """``body`` with a check digit that fails the Luhn test."""
    good = int(luhn_complete(body)[-1])
    return body + str((good + 1) % 10)


def iban_with_check(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def isbn13(values: _Values) -> str:
    body = "978" + values.digits(9)
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    full = body + str((10 - total % 10) % 10)
    return f"{full[:3]}-{full[3]}-{full[4:8]}-{full[8:12]}-{full[12]}"


def ean13(values: _Values) -> str:
    body = values.pick(("40", "50", "76", "90", "94")) + values.digits(10)
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


# --- sentences -----------------------------------------------------------------------------


def fill(template: str, values: _Values) -> tuple[str, list[tuple[str, int, int]]]:
    """The template with a fresh value in each slot, and the gold spans of the PII slots."""
    return fill_template(template, values.slots, HELDOUT_SLOTS)


_FAKERS: dict[str, Any] = {}


def heldout_sentences(n: int, seed: int | None = None) -> list[Labelled]:
    """``n`` texts holding PII, then ``n // 2`` hard negatives, of the heldout set."""
    from faker import Faker

    seed = HELDOUT_SEED if seed is None else seed
    locales = sorted({*HELDOUT_NAME_LOCALES, *HELDOUT_PHONE_LOCALES})
    for i, locale in enumerate(locales):
        if locale not in _FAKERS:  # building one costs more than the sentences; reseeded
            _FAKERS[locale] = Faker(locale)
        _FAKERS[locale].seed_instance(seed + i)
    fakers = {locale: _FAKERS[locale] for locale in locales}
    rng = np.random.default_rng(seed)
    values = _Values(fakers, rng)
    out: list[Labelled] = []
    for _ in range(n):
        text, gold = fill(values.pick(HELDOUT_TEMPLATES), values)
        out.append(Labelled(text, gold))
    for _ in range(n // 2):
        kind, template = values.pick(HELDOUT_NEGATIVES)
        text, _ = fill(template, values)
        out.append(Labelled(text, [], kind))
    return out
