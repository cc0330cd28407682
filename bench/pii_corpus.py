"""A seeded corpus for the PII benchmarks: prose, harmless numbers, and planted PII.

    from pii_corpus import generate_records
    records = generate_records(20_000, seed=0)   # about 10% hold PII

Every record is prose drawn from a fixed English word list. About ``number_rate`` of them
also hold numbers that are not personal (years, prices, times, versions, order numbers,
URLs, page ranges), the shapes that make a naive phone or card matcher fire; about
``pii_rate`` hold one to three planted values (e-mail, phone numbers of the engine's regions
in their national and international formats, Luhn-valid cards, IBANs with a valid check,
SSNs, IPv4/IPv6 addresses, Bitcoin addresses with a valid checksum), sometimes after a
context word. ``Record.planted`` gives each value's entity and offsets so precision and recall
can be measured. No third-party generator: the corpus is the same on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np

WORD_LIST = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so no will can more other its into some could time these two may first then do any like "
    "my now over such our man me even most made after also did many before must through back "
    "years where much your way well down should because each just those people how too little "
    "state good very make world still own see men work long get here between both life being "
    "under never day same another know while last might us great old year off come since "
    "against go came right used take three states himself few house use during without again "
    "place around however home small found thought went say part once general high upon "
    "school every does got united left number course war until always away something fact "
    "though water less public put think almost hand enough far took head yet government "
    "system better set told nothing night end why called didn find going look asked later "
    "point knew city next program business give group toward young days let room president "
    "side social given present several order national possible rather second face per among "
    "form important often things looked early white case john become large big need four "
    "within felt along children saw best church ever least power development light thing "
    "seemed family interest want members mind country area others done turned although open "
    "god service certain kind problem began different door thus help sense means whole matter "
    "perhaps itself york times law human line above name example action company hands local "
    "show whether five history gave today either act feet across taken past quite anything "
    "having seen death experience body word half really week field car words already themselves "
    "information tell college shall money period held keep sure probably free seems political "
    "real behind cannot miss question air office making brought whose special major heard "
    "problems ago became federal moment study available known result street economic boy "
    "position reason change south board individual job society areas west close turn love "
    "community true court force full seem am front policy market research data model network "
    "training dataset release version page report review summary answer question context"
)
WORDS = tuple(WORD_LIST.split())

SENTENCE_WORDS = (6, 18)
CONTEXT_WORDS = {
    "EMAIL_ADDRESS": ("email", "contact", "write to"),
    "PHONE_NUMBER": ("phone", "call", "mobile", "tel", "reach me at"),
    "CREDIT_CARD": ("card", "visa", "credit card"),
    "IBAN_CODE": ("iban", "bank account"),
    "US_SSN": ("ssn", "social security"),
    "IP_ADDRESS": ("ip", "server at"),
    "CRYPTO": ("wallet", "bitcoin"),
}


class Record(NamedTuple):
    text: str
    planted: list[tuple[str, int, int]]  # (entity, start, end) of each planted value


# --- values ------------------------------------------------------------------------------


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, n))


def luhn_complete(body: str) -> str:
    """``body`` and the check digit that makes the whole pass the Luhn test (every labelled
    set's cards and Luhn-failing look-alikes are made with it)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def card(rng: np.random.Generator) -> str:
    prefix, length = [("4", 16), ("51", 16), ("2221", 16), ("37", 15), ("6011", 16)][
        rng.integers(0, 5)
    ]
    number = luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    style = rng.integers(0, 3)
    if style == 0 or length == 15:
        return number
    sep = " " if style == 1 else "-"
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def iban(rng: np.random.Generator) -> str:
    country, length = [("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14)][rng.integers(0, 4)]
    if country == "GB":
        bban = "NWBK" + _digits(rng, length - 4)
    elif country == "NL":
        bban = "ABNA" + _digits(rng, length - 4)
    else:
        bban = _digits(rng, length)
    moved = bban + country + "00"
    numeric = "".join(str(int(ch, 36)) for ch in moved)
    check = 98 - int(numeric) % 97
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def phone(rng: np.random.Generator) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    area = str(rng.integers(201, 990))
    shapes: list[Callable[[], str]] = [
        lambda: f"({area}) 555-{d(4)}",
        lambda: f"{area}-{rng.integers(200, 999)}-{d(4)}",
        lambda: f"+1 {area} {rng.integers(200, 999)} {d(4)}",
        lambda: f"020 7{d(3)} {d(4)}",
        lambda: f"+44 20 7{d(3)} {d(4)}",
        lambda: f"030 {d(8)}",
        lambda: f"+49 30 {d(8)}",
        lambda: f"01 {d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}",
        lambda: f"+91 98{d(3)} {d(5)}",
    ]
    return shapes[rng.integers(0, len(shapes))]()


def ssn(rng: np.random.Generator) -> str:
    return f"{rng.integers(100, 666)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"


def ip_address(rng: np.random.Generator) -> str:
    if rng.random() < 0.8:
        return ".".join(str(x) for x in rng.integers(1, 255, 4))
    return "2001:db8:" + ":".join(f"{x:x}" for x in rng.integers(0, 65535, 6))


def email(rng: np.random.Generator) -> str:
    user = WORDS[rng.integers(0, len(WORDS))] + "." + WORDS[rng.integers(0, len(WORDS))]
    if rng.random() < 0.3:
        user += str(rng.integers(1, 99))
    domain = ["example.com", "mail.co.uk", "uni-berlin.de", "corp.example.org"][rng.integers(0, 4)]
    return f"{user}@{domain}"


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def bitcoin(rng: np.random.Generator) -> str:
    payload = b"\x00" + bytes(int(x) for x in rng.integers(0, 256, 20))
    check = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(payload + check, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = B58[rest] + out
    return "1" + out  # one leading zero byte -> one '1'


VALUES: dict[str, Callable[[np.random.Generator], str]] = {
    "EMAIL_ADDRESS": email,
    "PHONE_NUMBER": phone,
    "CREDIT_CARD": card,
    "IBAN_CODE": iban,
    "US_SSN": ssn,
    "IP_ADDRESS": ip_address,
    "CRYPTO": bitcoin,
}
ENTITY_WEIGHTS = np.array([0.3, 0.3, 0.1, 0.08, 0.08, 0.1, 0.04])


def harmless_number(rng: np.random.Generator) -> str:
    """A number that is not personal data, in one of the shapes that look like it."""
    shapes: list[Callable[[], str]] = [
        lambda: f"in {rng.integers(1950, 2030)}",
        lambda: f"${rng.integers(1, 999)}.{rng.integers(10, 99)}",
        lambda: f"{rng.integers(1, 99)}%",
        lambda: f"at {rng.integers(0, 23):02d}:{rng.integers(0, 59):02d}",
        lambda: f"version {rng.integers(1, 9)}.{rng.integers(0, 20)}.{rng.integers(0, 99)}",
        lambda: f"order {_digits(rng, 8)}",
        lambda: f"pages {rng.integers(1, 300)}-{rng.integers(300, 600)}",
        lambda: f"https://www.example.org/articles/{rng.integers(1000, 99999)}?ref=home",
        lambda: f"{rng.integers(2, 500):,} people",
        lambda: f"on {rng.integers(1, 28)}/{rng.integers(1, 12)}/{rng.integers(1990, 2025)}",
    ]
    return shapes[rng.integers(0, len(shapes))]()


# --- records -----------------------------------------------------------------------------


class _Prose:
    """Sentences drawn from ``WORDS``; words come from one big draw to keep generation fast."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pool: list[str] = []

    def sentence(self) -> str:
        if len(self.pool) < SENTENCE_WORDS[1]:
            self.pool = [WORDS[i] for i in self.rng.integers(0, len(WORDS), 50_000)]
        n = int(self.rng.integers(*SENTENCE_WORDS))
        words, self.pool = self.pool[:n], self.pool[n:]
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def iter_records(
    n: int,
    seed: int = 0,
    *,
    pii_rate: float = 0.1,
    number_rate: float = 0.3,
    mean_sentences: float = 8.0,
) -> Iterator[Record]:
    rng = np.random.default_rng(seed)
    prose = _Prose(rng)
    entities = list(VALUES)
    for _ in range(n):
        sentences = [prose.sentence() for _ in range(max(1, int(rng.poisson(mean_sentences))))]
        inserts: list[tuple[str | None, str]] = []
        if rng.random() < number_rate:
            inserts += [(None, harmless_number(rng)) for _ in range(int(rng.integers(1, 4)))]
        if rng.random() < pii_rate:
            for _ in range(int(rng.integers(1, 4))):
                entity = entities[int(rng.choice(len(entities), p=ENTITY_WEIGHTS))]
                inserts.append((entity, VALUES[entity](rng)))
        yield _assemble(sentences, inserts, rng)


def _assemble(
    sentences: list[str], inserts: list[tuple[str | None, str]], rng: np.random.Generator
) -> Record:
    """Puts each insert at the end of a random sentence, after a context word sometimes."""
    tails: dict[int, list[tuple[str | None, str]]] = {}
    for entity, value in inserts:
        tails.setdefault(int(rng.integers(0, len(sentences))), []).append((entity, value))
    parts: list[str] = []
    planted: list[tuple[str, int, int]] = []
    cursor = 0
    for i, sentence in enumerate(sentences):
        if i:
            parts.append(" ")
            cursor += 1
        body = sentence[:-1]
        for entity, value in tails.get(i, []):
            lead = " "
            if entity is not None and rng.random() < 0.5:
                words = CONTEXT_WORDS[entity]
                lead = f" {words[rng.integers(0, len(words))]} "
            body += lead
            if entity is not None:
                start = cursor + len(body)
                planted.append((entity, start, start + len(value)))
            body += value
        body += "."
        parts.append(body)
        cursor += len(body)
    return Record("".join(parts), planted)


def generate_records(n: int, seed: int = 0, **kwargs: float) -> list[Record]:
    return list(iter_records(n, seed, **kwargs))


# --- large files for the end-to-end benchmark ------------------------------------------------

UNITS = 20_000  # pool records each way; a document is UNITS_PER_DOC of them
UNITS_PER_DOC = 5


def write_web_jsonl(path: str, megabytes: float, seed: int = 0) -> tuple[int, int]:
    """Write web-like records (~2.7 KB) to ``path`` until it holds ``megabytes``.

    Each record joins five records of a pool of 20,000 without PII; in 10% of the records one
    of the five is replaced by a record of a pool where every record holds PII. Repeats are
    rare, so duplicate detection sees a realistic load. Returns (records, bytes).
    """
    import json

    clean = [r.text for r in iter_records(UNITS, seed, pii_rate=0.0)]
    with_pii = [r.text for r in iter_records(UNITS, seed + 1, pii_rate=1.0)]
    rng = np.random.default_rng(seed + 2)
    target = int(megabytes * 1_000_000)
    written = records = 0
    block = 4096
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            picks = rng.integers(0, UNITS, (block, UNITS_PER_DOC))
            pii = rng.random(block) < 0.1
            lines = []
            for row, has_pii in zip(picks.tolist(), pii.tolist(), strict=True):
                parts = [clean[i] for i in row]
                if has_pii:
                    parts[row[0] % UNITS_PER_DOC] = with_pii[row[1]]
                lines.append(
                    json.dumps({"id": f"d{records + len(lines)}", "text": " ".join(parts)})
                )
            chunk = "\n".join(lines) + "\n"
            handle.write(chunk)
            written += len(chunk.encode("utf-8"))
            records += len(lines)
    return records, written


# --- labelled sentences with names (Faker): the "trust" sets ---------------------------------
#
# Two template sets, none shared with the tests or bench/eval_pii.py's "faker" set. The
# "development" set (seed DEV_SEED) was written first and its misses were looked at while
# the detector of issue 15 was changed. The "acceptance" set (seed ACCEPT_SEED) was written
# afterwards, fresh, once the detector was frozen: its figures were not tuned on. Needs
# Faker (``pip install faker``); imported lazily.

DEV_SEED = 20261202
ACCEPT_SEED = 77031
TRUST_STRUCTURED = (
    "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS",
)  # fmt: skip
TRUST_ENTITIES = ("PERSON", *TRUST_STRUCTURED)
NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "en_IN", "nl_NL")
PHONE_FAKER_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "en_CA", "en_IN")
IBAN_LOCALES = ("de_DE", "fr_FR", "en_GB", "es_ES", "it_IT", "nl_NL")

# {slot} -> entity; slots holding no PII are listed in TRUST_NEGATIVE_SLOTS.
TRUST_SLOTS = {
    "name": "PERSON", "first": "PERSON", "name2": "PERSON", "phone": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS", "ssn": "US_SSN", "card": "CREDIT_CARD", "iban": "IBAN_CODE",
    "ip": "IP_ADDRESS",
}  # fmt: skip
DEV_TEMPLATES = (
    "Good morning, this is {name} from accounts; ring me back on {phone} when you can.",
    "{name} asked us to update the billing e-mail to {email}.",
    "Refund approved for {name}. Card on file: {card}.",
    "Hello {first}, the transfer to IBAN {iban} failed, please check the account holder.",
    "Login alert: user {email} signed in from {ip} at 03:12.",
    "Employee record: {name}, SSN {ssn}, extension line {phone}.",
    "Can someone call {first} at {phone}? She is waiting.",
    "Forwarding the complaint from {name} ({email}).",
    "The courier could not reach {name} on {phone} and left the parcel next door.",
    "We charged {card} twice, says {name} in the ticket.",
    "Please wire the deposit to {iban} (account name: {name}).",
    "Best wishes,\n{name}\nMobile: {phone}",
    "Ticket reopened by {name2} after {name} replied from {email}.",
    "Our firewall logged repeated failures from {ip}; the owner is {name}.",
    "Tel. {phone} / fax {phone}",
    "Your new contact person is {name}; you can email {email} or phone {phone}.",
    "SSN on the W-2 is {ssn}, not the one {first} typed in the portal.",
    "Suspicious payment with card number {card} from IP {ip}.",
    "I'm {name} and my number changed to {phone}.",
    "Kind regards, {name} | {email} | {phone}",
    "Reach me at {phone} or by mail at {email} - {first}",
    "The landlord, {name}, wants the rent paid into {iban} from now on.",
    "Meeting notes: {name} and {name2} agreed to share the server at {ip}.",
    "{first} said the card ending in 4242 is fine, the full number is {card}.",
    "Dispatcher called from {phone} about driver {name}.",
    "New applicant {name}, social security number {ssn}, e-mail {email}.",
    "Hi {first}! Text me on {phone} when you land.",
    "Send the invoice to {email}, attention {name}.",
    "Access from {ip} was blocked; contact {name} on {phone} to unblock it.",
    "Payee {name}, IBAN {iban}, reference rent March.",
)
DEV_NEGATIVES = (
    ("order", "Your order {order} ships on Tuesday."),
    ("order", "Order no. {order} was cancelled by the warehouse."),
    ("invoice", "Invoice {order} is overdue by 14 days."),
    ("version", "The app was updated to version {version} last night."),
    ("version", "Running build {version} on all nodes."),
    ("price", "The total came to {price} including tax."),
    ("date", "The contract runs until {date}."),
    ("isbn", "Catalogue entry ISBN {isbn} is out of print."),
    ("ean", "Scanned barcode {ean} at the till."),
    ("tracking", "Tracking reference {order} shows the parcel in transit."),
    ("time", "The backup finished at {time} with no errors."),
    ("pages", "See pages {pages} of the manual."),
    ("quantity", "We shipped {quantity} units in the first quarter."),
)


ACCEPT_TEMPLATES = (
    "Customer {name} disputes the charge on card {card} from last week.",
    "Ping {first} on WhatsApp: {phone}.",
    "{name} <{email}> wrote: the VPN keeps dropping from {ip}.",
    "The payroll file lists {name} with social security no. {ssn}.",
    "Could you phone {name} on {phone} before noon?",
    "Bank details for {name}: {iban}.",
    "Attendees: {name}, {name2} and {first}.",
    "Emergency contact: {name}, {phone}.",
    "From: {email}\nTo: support\nHi, I'm {first} and my server {ip} is down.",
    "Please don't store my SSN ({ssn}) in the CRM, {first} from HR said.",
    "Card {card} was declined at checkout for {name}.",
    "Mr. {name} left a voicemail, number {phone}.",
    "Our tenant {name} has moved; the new landline is {phone}.",
    "Escalated by {name2}: customer {name} cannot log in from {ip}.",
    "You can reach the on-call engineer, {name}, at {phone} or {email}.",
    "Pay the invoice by transfer to {iban} and send proof to {email}.",
    "{first}'s cell is {phone}, the work mail {email}.",
    "Received a chargeback for {card}; cardholder {name}.",
    "Note from {name}: please call me back at {phone}, thanks.",
    "Audit log: {email} changed the password from {ip}.",
    "Dr. {name} will see the patient; office phone {phone}.",
    "Reimbursement to {name}, account {iban}.",
    "Hey {first}, it's {name2}. New number: {phone}",
    "Verified identity of {name} (SSN {ssn}, phone {phone}).",
    "{name} paid with {card} and asked for a receipt at {email}.",
)
ACCEPT_NEGATIVES = (
    ("shipment", "Shipment {order} left the depot this morning."),
    ("invoice", "Please quote invoice number {order} when paying."),
    ("version", "Firmware {version} fixes the boot loop."),
    ("price", "Subtotal {price}, shipping free."),
    ("date", "Valid from {date} to {date}."),
    ("isbn", "ISBN: {isbn}"),
    ("ean", "EAN {ean} is missing from the catalogue."),
    ("time", "Job finished at {time}."),
    ("pages", "Chapter 3 spans pages {pages}."),
    ("quantity", "Population grew to {quantity} by the census."),
    ("case", "Case #{order} was closed."),
    ("code", "Your one-time code is {otp}."),
)
# The "holdout" set (seed HOLDOUT_SEED) was written after the name rules of issue 15's last
# session (pii_names: lists, possessives, subjects of verbs, titles) were frozen, because the
# acceptance set's misses had been looked at while they were written; its figures were not
# tuned on.
HOLDOUT_SEED = 530911
HOLDOUT_TEMPLATES = (
    "Shipping label: {name}, parcel held at the depot, contact number {phone}.",
    "{name} has requested a copy of all data we hold on them; reply to {email}.",
    "Per the HR system, {name} (SSN {ssn}) started on Monday.",
    "The subscription for {first} {name2} renews on card {card}.",
    "Visitor log 14:02 - {name}, badge 7, host {first}.",
    "I've attached the lease signed by {name} and {name2}; deposit goes to {iban}.",
    "According to {name}, the outage began when {ip} stopped answering.",
    "Thanks {first}! I'll text you from my new phone, {phone}.",
    "Invoice disputed. Account owner: {name}. Card used: {card}.",
    "Who is {name}? They emailed from {email} and called twice from {phone}.",
    "{first} and I will both be at the offsite; my mobile is {phone}.",
    "Background check cleared for {name}, social {ssn}.",
    "Please update the payee to {name}, IBAN {iban}, effective next month.",
    "Flagged login for {email}: new device, address {ip}, owner {name}.",
    "Mrs. {name} called about her refund; best number is {phone}.",
    "The contract is between Acme Ltd and {name}, whose email is {email}.",
    "Winner of the raffle: {name}! We will contact you at {phone}.",
    "{name} - {email} - {phone}",
    "Our records show {first} paid by card {card} on the 3rd.",
    "Handover from {name} to {name2} is complete; both have access to {ip}.",
    "Forward the signed NDA to {name} at {email} by Friday.",
    "Sender: {name}\nReference: wire to {iban}",
    "Guest {name} checked in to room 412; contact {phone}.",
    "The tax form for {name} shows SSN {ssn}, please redact before sharing.",
    "Profile updated by {first}: email {email}, phone {phone}.",
)
HOLDOUT_NEGATIVES = (
    ("order", "Purchase order {order} was approved by finance."),
    ("tracking", "Parcel {order} is out for delivery."),
    ("version", "Release {version} is now live for all users."),
    ("price", "Your balance is {price} as of today."),
    ("date", "Renewal date: {date}."),
    ("isbn", "The second edition has ISBN {isbn}."),
    ("ean", "Product code {ean} is discontinued."),
    ("time", "Doors open at {time}."),
    ("pages", "The report covers pages {pages}."),
    ("quantity", "The stadium holds {quantity} people."),
    ("case", "Support ticket {order} has been resolved."),
    ("code", "Use verification code {otp} to sign in."),
)
# The "final" set (seed FINAL_SEED) was written once the holdout set's misses had been looked
# at too and the name rules frozen again; its figures were measured before any change, then its
# misses were looked at too (phone context, vocatives, greetings).
FINAL_SEED = 90417
FINAL_TEMPLATES = (
    "Can you set up a laptop for {name}? They start Tuesday.",
    "{name} will cover my shifts next week.",
    "Delivery for {name}, flat 3B; leave it with {first} if nobody answers.",
    "Spoke to {name} on the phone today, she confirmed the card ending {card}.",
    "Reminder: dinner at {first}'s place on Saturday!",
    "Order placed by {name} using {email}.",
    "Minutes taken by {name}. Present: {name2}, {first}.",
    "The passport application of {name} lists SSN {ssn}.",
    "Can {first} send me the slides? My address is {email}.",
    "Transfer of 250 EUR from {name} to {iban}.",
    "Happy birthday {first}!!",
    "{name} complained that {ip} keeps getting blocked.",
    "Interview with {name} moved to 3pm; call {phone} if late.",
    "Re: your claim - {name}, policy holder, phone {phone}",
    "Lost property found by {name}: a wallet with card {card}.",
    "Tutor: {name}. Student: {name2}. Parent contact: {phone}.",
    "I met {first} and {name2} at the conference; both want the report sent to {email}.",
    "Authorised signatory {name}, account {iban}.",
    "This month's top seller is {name} with 41 deals.",
    "Security notice: {name} logged in from {ip} using {email}.",
    "{first}, your appointment with Dr. {name} is confirmed.",
    "Ask {name} for the SSN ({ssn}), not me.",
    "The new hire {name} can be reached on {phone} or {email}.",
    "Please thank {first} for the quick fix on {ip}.",
    "Donation received from {name}; card {card} charged.",
)
FINAL_NEGATIVES = (
    ("order", "Order reference {order} is being packed."),
    ("invoice", "Invoice no. {order} attached."),
    ("version", "Library updated from 1.2 to {version}."),
    ("price", "Estimated cost: {price}."),
    ("date", "Deadline is {date}, no extensions."),
    ("isbn", "Borrowed book ISBN {isbn}."),
    ("ean", "Barcode on the box: {ean}."),
    ("time", "The train leaves at {time}."),
    ("pages", "Read pages {pages} for Monday."),
    ("quantity", "We printed {quantity} flyers."),
    ("case", "Claim {order} is under review."),
    ("code", "Your PIN reset code is {otp}."),
)
# The "blind" set (seed BLIND_SEED) was written after the final set's misses had been looked
# at as well and the rules frozen again. Its misses were then looked at for the given-name
# lexicon and the phone rules "at <number>" (issue 15, last session): see the "sealed" set.
BLIND_SEED = 246813
BLIND_TEMPLATES = (
    "Quick question from {name}: is the office open on Friday?",
    "{first} forgot her badge again, so I let her in.",
    "The keynote speaker this year is {name}.",
    "Emergency contact for the trip: {name}, {phone}.",
    "I'll ask {first} to double-check the IBAN {iban} before paying.",
    "Congratulations to {name} on 20 years with the company!",
    "Nobody answered at {phone}, so I emailed {email} instead.",
    "Accounts receivable: {name} still owes us for March.",
    "Dear {first}, your SSN {ssn} was entered twice; please confirm.",
    "Photo credit: {name}",
    "{name} and {name2} are sharing the rental car.",
    "Driver {name} was stopped at the gate; plate checked, phone {phone}.",
    "Let {first} know that the server at {ip} is back up.",
    "The scholarship goes to {name}, a second-year student.",
    "Cancelled by customer {name} ({email}), refund to card {card}.",
    "Do you know {name}? I think we met in Berlin.",
    "{name}'s flight lands at 9; pick-up number is {phone}.",
    "Signed: {name}, {first}, {name2}",
    "According to the log, {email} connected from {ip} twice.",
    "{first} is out sick today, ping me instead.",
    "Please add {name} to the mailing list ({email}).",
    "Tenancy ends for {name} on the 30th; return the deposit to {iban}.",
    "Well done {first}, the migration went smoothly.",
    "Card {card} belongs to {name}, not to the account holder.",
    "My colleague {name} will send you the form; her direct line is {phone}.",
)
BLIND_NEGATIVES = (
    ("order", "Batch {order} passed quality control."),
    ("invoice", "Credit note {order} was issued."),
    ("version", "Patch {version} is rolling out."),
    ("price", "Grand total {price}."),
    ("date", "Effective {date}."),
    ("isbn", "Cited as ISBN {isbn}."),
    ("ean", "GTIN {ean} on the label."),
    ("time", "Alarm set for {time}."),
    ("pages", "Appendix on pages {pages}."),
    ("quantity", "Attendance was {quantity} last year."),
    ("case", "Incident {order} is closed."),
    ("code", "One-time password: {otp}."),
)
# The "sealed" set (seed SEALED_SEED) was written after the detector work of issue 15 was
# finished (given-name lexicon, capitalised words that are no English word, phone numbers
# after "at"), measured once, and not tuned on: its own templates, names of Faker locales no
# earlier set used (SEALED_NAME_LOCALES) and phone formats of its own (``_sealed_phone``).
SEALED_SEED = 8842017
SEALED_NAME_LOCALES = ("pt_BR", "sv_SE", "da_DK", "cs_CZ", "en_IE", "fi_FI", "ro_RO", "es_MX")
SEALED_TEMPLATES = (
    "Shift swap approved: {name} takes Sunday, {name2} takes Monday.",
    "I've cc'd {first} so she can confirm the delivery address.",
    "{name} runs the Thursday book club; new members can ring {phone}.",
    "The refund of $42 went back to card {card}, per {first}'s request.",
    "Witness statement given by {name} on the night of the fire.",
    "Our landlord {name} wants the rent paid into {iban} from now on.",
    "{first} and {name2} both flagged the same login from {ip}.",
    "Best wishes to {name}, who retires this Friday after 31 years.",
    "Contact sheet - {name} - {phone} - {email}",
    "If {first} calls again, tell her the ticket is closed.",
    "Her SSN ({ssn}) was printed on the letter to {name} by mistake.",
    "Dinner reservation under {name}, party of four, mobile {phone}.",
    "{name} is our new data protection officer; write to {email}.",
    "The scanner at {ip} belongs to {first}'s team.",
    "{first} wired the deposit from {iban} yesterday.",
    "Tell {name} the parcel is at the front desk.",
    "Coach {name} cancelled practice; parents can call {phone}.",
    "Account closed at the request of {name} (card {card}).",
    "{name} volunteered to organise the summer picnic.",
    "Please send {first} the contract at {email} before noon.",
    "Background: {name} joined us in 2019 and leads the platform team.",
    "Lost badge reported by {name}; she can be reached on {phone}.",
    "Applicant {name}, SSN {ssn}, passed the background check.",
    "The car is registered to {first} {name2}.",
    "We thank {name} for the donation made with card {card}.",
)
SEALED_NEGATIVES = (
    ("order", "Return label for order {order} is attached."),
    ("invoice", "Remittance advice for invoice {order} enclosed."),
    ("version", "Node {version} is the minimum supported release."),
    ("price", "Total due: {price} by end of month."),
    ("date", "Warranty expires {date}."),
    ("isbn", "Library copy, ISBN {isbn}, is due back soon."),
    ("ean", "Item barcode {ean} did not scan."),
    ("time", "Last train departs {time}."),
    ("pages", "Footnotes are on pages {pages}."),
    ("quantity", "The museum welcomed {quantity} visitors."),
    ("case", "Support case {order} was escalated."),
    ("code", "Your verification code: {otp}"),
)
TEMPLATE_SETS = {
    "development": (DEV_TEMPLATES, DEV_NEGATIVES, DEV_SEED),
    "acceptance": (ACCEPT_TEMPLATES, ACCEPT_NEGATIVES, ACCEPT_SEED),
    "holdout": (HOLDOUT_TEMPLATES, HOLDOUT_NEGATIVES, HOLDOUT_SEED),
    "final": (FINAL_TEMPLATES, FINAL_NEGATIVES, FINAL_SEED),
    "blind": (BLIND_TEMPLATES, BLIND_NEGATIVES, BLIND_SEED),
    "sealed": (SEALED_TEMPLATES, SEALED_NEGATIVES, SEALED_SEED),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%B %d, %Y")


class Labelled(NamedTuple):
    text: str
    gold: list[tuple[str, int, int]]  # (entity, start, end)
    kind: str = ""  # hard negatives: what the number is


# Faker's date() and time() draw between 1970 and *now*: the same seed gives other values on
# another day (or second). Draws between two fixed instants keep a seed's texts the same.
TIME_SPAN = (datetime(1970, 1, 1), datetime(2025, 12, 31, 23, 59, 59))


def fixed_span_time(fake: Any) -> datetime:
    """A seeded instant between ``TIME_SPAN``'s bounds, whatever day it is run."""
    return fake.date_time_between(start_date=TIME_SPAN[0], end_date=TIME_SPAN[1])


def _trust_phone(f: Any, rng: np.random.Generator) -> str:
    """A phone number from a locale's formats, or re-written as people write them."""
    style = int(rng.integers(0, 10))
    if style < 5:
        return str(f.phone_number())
    digits = _digits(rng, 10)
    area, mid, last = digits[:3], digits[3:6], digits[6:]
    ext = str(int(rng.integers(1, 99999)))
    return [
        f"001-{area}-{mid}-{last}",
        f"{area}.{mid}.{last} x{ext}",
        f"+44 (0){int(rng.integers(20, 29))} {_digits(rng, 4)} {_digits(rng, 4)}",
        f"({area}) {mid}-{last} ext. {ext}",
        f"{area}{mid}{last}",
    ][style - 5]


def _sealed_phone(f: Any, rng: np.random.Generator) -> str:
    """The sealed set's phone numbers: a locale's own format, or one of these writings."""
    style = int(rng.integers(0, 12))
    if style < 4:
        return str(f.phone_number())
    d = lambda n: _digits(rng, n)  # noqa: E731
    area = str(int(rng.integers(201, 990)))
    return [
        f"+1-{area}-{d(3)}-{d(4)}",
        f"1 ({area}) {d(3)}-{d(4)}",
        f"{area} {d(3)} {d(4)}",
        f"+49 (0)30 {d(8)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+91-98{d(3)}-{d(5)}",
        f"0044 20 7{d(3)} {d(4)}",
        f"({area}) {d(3)} {d(4)} ext {d(3)}",
    ][style - 4]


def _trust_card(fake: Any, rng: np.random.Generator) -> str:
    kinds = ("visa16", "visa13", "mastercard", "amex", "discover", "diners", "jcb16", "maestro")
    digits = str(fake.credit_card_number(card_type=kinds[int(rng.integers(0, len(kinds)))]))
    style = int(rng.integers(0, 3))
    if style == 0:
        return digits
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return (" " if style == 1 else "-").join(groups)


def _trust_values(
    fakers: dict[str, Any], rng: np.random.Generator, sealed: bool = False
) -> dict[str, Any]:
    def pick(locales: tuple[str, ...]) -> Any:
        return fakers[locales[int(rng.integers(0, len(locales)))]]

    en = fakers["en_US"]
    iban = str(pick(IBAN_LOCALES).iban())
    if rng.random() < 0.5:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    names = SEALED_NAME_LOCALES if sealed else NAME_LOCALES
    phone = _sealed_phone if sealed else _trust_phone
    return {
        "name": lambda: str(pick(names).name()),
        "name2": lambda: str(pick(names).name()),
        "first": lambda: str(pick(names).first_name()),
        "phone": lambda: phone(pick(PHONE_FAKER_LOCALES), rng),
        "email": lambda: str(en.email() if rng.random() < 0.7 else en.company_email()),
        "ssn": lambda: str(en.ssn()),
        "card": lambda: _trust_card(en, rng),
        "iban": lambda: iban,
        "ip": lambda: str(en.ipv4_public() if rng.random() < 0.75 else en.ipv6()),
        "order": lambda: _digits(rng, int(rng.integers(7, 12))),
        "version": lambda: ".".join(str(int(rng.integers(0, m))) for m in (30, 40, 9999)),
        "price": lambda: f"${int(rng.integers(1000, 9_999_999)):,}.{int(rng.integers(10, 99))}",
        "date": lambda: fixed_span_time(en).strftime(DATE_FORMATS[int(rng.integers(0, 3))]),
        "isbn": lambda: str(en.isbn13() if rng.random() < 0.5 else en.isbn10()),
        "ean": lambda: str(en.ean13()),
        "time": lambda: fixed_span_time(en).strftime("%H:%M:%S"),
        "pages": lambda: f"{int(rng.integers(10, 400))}-{int(rng.integers(400, 999))}",
        "quantity": lambda: f"{int(rng.integers(10_000, 9_999_999)):,}",
        "otp": lambda: _digits(rng, 6),
    }


class SeededDraws:
    """The random draws of the labelled sets' value makers, all from one numpy Generator (so a
    seed gives the same texts in every process)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(0, len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def n(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def digits(self, k: int) -> str:
        return "".join(str(int(d)) for d in self.rng.integers(0, 10, k))

    def hexes(self, k: int) -> str:
        return "".join("0123456789abcdef"[int(d)] for d in self.rng.integers(0, 16, k))


def fill_template(
    template: str, values: dict[str, Any], slots: dict[str, str] | None = None
) -> tuple[str, list[tuple[str, int, int]]]:
    """The template with each slot filled by a fresh value (``values``: slot -> maker); gold
    spans of the PII slots (``slots``: slot -> entity, TRUST_SLOTS by default)."""
    slots = TRUST_SLOTS if slots is None else slots
    text = ""
    gold: list[tuple[str, int, int]] = []
    rest = template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        slot, _, rest = tail.partition("}")
        text += head
        value = values[slot]()
        if slot in slots:
            gold.append((slots[slot], len(text), len(text) + len(value)))
        text += value
    return text + rest, gold


def labelled_sentences(
    n: int, seed: int | None = None, templates: str = "acceptance"
) -> list[Labelled]:
    """``n`` sentences holding PII (names, phones in many formats, e-mails, SSNs, cards,
    IBANs, IP addresses) and ``n // 2`` hard negatives (order and invoice numbers, versions,
    prices, dates, ISBNs, barcodes, times, page ranges, quantities) with no PII, from the
    ``templates`` set ("acceptance", "development", "holdout", "final", "blind" or "sealed"; seed:
    the set's own by default)."""
    from faker import Faker

    positives, negatives, default_seed = TEMPLATE_SETS[templates]
    seed = default_seed if seed is None else seed

    fakers = {}
    sealed = templates == "sealed"
    locales = {*NAME_LOCALES, *PHONE_FAKER_LOCALES, *IBAN_LOCALES}
    if sealed:  # the earlier sets' fakers and seeds stay as they were
        locales |= set(SEALED_NAME_LOCALES)
    for i, locale in enumerate(sorted(locales)):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed + i)
    rng = np.random.default_rng(seed)
    out: list[Labelled] = []
    for _ in range(n):
        template = positives[int(rng.integers(0, len(positives)))]
        text, gold = fill_template(template, _trust_values(fakers, rng, sealed))
        out.append(Labelled(text, gold))
    for _ in range(n // 2):
        kind, template = negatives[int(rng.integers(0, len(negatives)))]
        text, _ = fill_template(template, _trust_values(fakers, rng, sealed))
        out.append(Labelled(text, [], kind))
    return out
