"""Issue 15, PII recall: the structured entities in the shapes real data writes them.

Phone numbers of many countries with no phone word (an international call prefix, a trunk
0 before grouped digits, the North American grouping, an area code in brackets, slashes),
signature labels and literal escapes as context; e-mail addresses at any valid host name;
IP addresses with ports; and the hard negatives that must stay unflagged (dates, dotted
versions, barcodes, serials, order numbers). Sentences written for these tests.
"""

from __future__ import annotations

import pytest

from audit.pii import PiiEngine, PiiParams
from audit.pii_phone import date_like, strong_shape
from audit.pii_recognizers import card_score, domain_valid, gs1_valid, luhn_valid


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine(PiiParams(mode="pattern"))


def found(engine: PiiEngine, text: str, entity: str) -> list[str]:
    """The values of ``entity`` found in ``text``, fast path and plain path alike."""
    fast = engine.detect_many([text])[0]
    plain = engine.detect_many_plain([text])[0]
    assert fast == plain
    return [text[s.start : s.end] for s in fast if s.entity == entity]


@pytest.mark.parametrize(
    "number",
    [
        "0044 20 7946 0321",  # 00 + country code, then a London number
        "011 49 30 901820",  # North America's call prefix
        "001-415-555-0173",  # 001 and a ten-digit North American number
        "0031 6 1234 5678",
        "0033 1 42 68 53 00",
        "06 12 34 56 78",  # French mobile with its trunk 0
        "030 / 901 820 44",  # German area code, slash
        "02-9374 4000",  # Australian landline
        "0 (532) 418 27 90",  # Turkish trunk 0 before a bracketed code
        "(0)20 7946 0321",
        "0711.123.4567",
        "613/555-0199",  # North American with a slash
        "(613)555-0199",
        "1-613-555-0199",
        "(44) 3021-7788",  # Brazilian area code in brackets
        "0041791234567",  # bare, but a valid Swiss mobile after 00 41
    ],
)
def test_phone_shapes_count_without_a_phone_word(engine: PiiEngine, number: str) -> None:
    text = f"If the shipment is late, try {number} before noon."
    assert found(engine, text, "PHONE_NUMBER") == [number]


def test_extensions_links_and_no_break_spaces(engine: PiiEngine) -> None:
    text = "For billing questions: 613-555-0142 ext. 44, otherwise 020 7946 0321 x12."
    assert found(engine, text, "PHONE_NUMBER") == ["613-555-0142 ext. 44", "020 7946 0321 x12"]
    text = "Desk: 555-0188 ext: 7 or <a href='tel:+15550188000'>us</a>"
    assert found(engine, text, "PHONE_NUMBER") == ["555-0188 ext: 7", "+15550188000"]
    nbsp = "06\u00a098\u00a076\u00a054\u00a032"
    assert found(engine, f"Portable : {nbsp}", "PHONE_NUMBER") == [nbsp]


@pytest.mark.parametrize(
    "text",
    [
        "The warehouse reopens on 2026-01-12 after the audit.",
        "Delivery window 12.01.2026 to 14.01.2026, both inclusive.",
        "Invoices dated 01/12/2026 were paid late.",
        "Our office is closed 24 12 2026 for the holidays.",
        "The office router at 81.92.103.114 needs a reboot.",  # an IP, never a phone
        "Firmware 4.19.203.1187 is required.",
        "Use part 2041-3377 for the left hinge.",  # not a strong shape, no phone word
        "See 0-471-95869-7 for the derivation.",  # an ISBN-10, its check digit alone
        "Wire reference 2025-448913 was booked.",
        "Product code 0039312558 is discontinued.",  # 00 + digits that are no valid number
        "Serial 005-78691-9493 expired.",  # 00 and a country code split by the grouping
        "The year-end figures (2019) 412 0073 were restated.",  # a year in brackets
    ],
)
def test_dates_ips_versions_and_codes_are_not_phones(engine: PiiEngine, text: str) -> None:
    assert found(engine, text, "PHONE_NUMBER") == []


def test_signature_labels_and_literal_escapes_give_context(engine: PiiEngine) -> None:
    signature = "Pat\nAccount Director\nT 36 58 43 61 | M 48 60 19 03\nF: 22 33 44 55"
    assert found(engine, signature, "PHONE_NUMBER") == ["36 58 43 61", "48 60 19 03", "22 33 44 55"]
    # The same letter glued to a word, or a size, is no label.
    assert found(engine, "Sizes XT 36 58 43 61 and AM 48 60 19 03", "PHONE_NUMBER") == []
    escaped = "Name: Jo\\nPhone:\\n417 4336\\nFax:\\t0319 3649187"  # escapes typed as text
    assert found(engine, escaped, "PHONE_NUMBER") == ["417 4336", "0319 3649187"]


def test_a_phone_word_after_the_number_labels_it(engine: PiiEngine) -> None:
    sheet = "Desk line 0380 7558505 office, 71 44 92 18 (mobile), 4482 9123-fax"
    assert found(engine, sheet, "PHONE_NUMBER") == ["0380 7558505", "71 44 92 18", "4482 9123"]
    assert found(engine, "We open 0800 1700 office hours.", "PHONE_NUMBER") == []
    # A label that opens the next field names the number after it, not the one before.
    text = "Ref: K. Ito / SSN 061-42-7781 / tel. 44 81 90 23"
    assert found(engine, text, "US_SSN") == ["061-42-7781"]
    assert found(engine, text, "PHONE_NUMBER") == ["44 81 90 23"]
    assert found(engine, "Blocks 4482 9123 offices and flats.", "PHONE_NUMBER") == []


def test_shape_rules() -> None:
    assert date_like("2024-03-05") and date_like("05.03.2024") and date_like("3/5/2024")
    assert not date_like("06-20-634") and not date_like("13.13.2024")
    assert strong_shape("0812 0442 4947") and strong_shape("(80)/563-2116")
    assert not strong_shape("078-05-1120")  # an SSN's 3-2-4 grouping
    assert not strong_shape("4123 5678")  # no trunk 0, no known grouping


@pytest.mark.parametrize(
    "address",
    [
        "ops@build.internal",
        "a.novak+billing@mail.corp.example",
        "root@printer.local",
        "j_doe@test-lab.test",
        "noreply@xn--bcher-kva.example",
        '"jo..ann"@example.org',
        "kim@sub.uni-graz.ac.at",
    ],
)
def test_email_at_any_valid_host(engine: PiiEngine, address: str) -> None:
    assert found(engine, f"Forward the logs to {address}, thanks.", "EMAIL_ADDRESS") == [address]


def test_email_shaped_file_and_package_names_are_not_addresses(engine: PiiEngine) -> None:
    text = "Replace icon@2x.png and logo@3x.webp; pin lodash@4.17.21 and user@localhost."
    assert found(engine, text, "EMAIL_ADDRESS") == []
    assert domain_valid("a@b.museum") and not domain_valid("a@-bad.org")
    assert not domain_valid("a@b.c") and not domain_valid("a@b.123")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Blocked 198.51.100.23:8443 after five tries.", "198.51.100.23"),
        ("Connect to [2001:db8:4::17]:443 over TLS.", "2001:db8:4::17"),
        ("Mapped ::ffff:192.0.2.77 from the tunnel.", "::ffff:192.0.2.77"),
        ("Link-local fe80::1ff:fe23:4567:890a%eth0 flapped.", "fe80::1ff:fe23:4567:890a%eth0"),
    ],
)
def test_ip_addresses_with_ports_brackets_and_zones(
    engine: PiiEngine, text: str, value: str
) -> None:
    assert found(engine, text, "IP_ADDRESS") == [value]


def test_cards_grouped_as_printed_and_barcodes(engine: PiiEngine) -> None:
    visa = "4539 1488 0343 6467"
    amex = "3714-496353-98431"
    text = f"Two cards on file: {visa} and {amex}."
    assert found(engine, text, "CREDIT_CARD") == [visa, amex]
    # A Luhn-valid number with a card prefix, grouped as no card is printed: a serial.
    serial = "539-14880-34305"
    assert luhn_valid(serial.replace("-", ""))
    assert found(engine, f"Unit {serial} ships Monday.", "CREDIT_CARD") == []
    # A bare EAN-13 whose digits also pass Luhn with a Visa prefix: a barcode, unless a card
    # or payment word says otherwise.
    ean = "4006381097123"
    assert gs1_valid(ean) and luhn_valid(ean)
    assert found(engine, f"Scan {ean} at the till.", "CREDIT_CARD") == []
    assert found(engine, f"Please charge card {ean} tonight.", "CREDIT_CARD") == [ean]
    assert card_score(visa) > card_score(serial)
    # A '+' makes it a phone number, never a card.
    assert found(engine, "Call +4539148803436467 now", "CREDIT_CARD") == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Je kunt me bellen op 8197 4712 na vijf uur.", "8197 4712"),
        ("Rufen Sie mich bitte unter 601 722 614 zurück.", "601 722 614"),
        ("Mi chiami al 022249900 domani.", "022249900"),
        ("Mi teléfono es 14 101 48 30.", "14 101 48 30"),
        ("Direct: 2295 899737 | Fax: none", "2295 899737"),
    ],
)
def test_phone_words_of_other_languages_give_context(
    engine: PiiEngine, text: str, number: str
) -> None:
    assert found(engine, text, "PHONE_NUMBER") == [number]


def test_serial_and_ssn_words_deny_a_phone_number(engine: PiiEngine) -> None:
    assert found(engine, "Serial SN 857-937-6067 is under warranty.", "PHONE_NUMBER") == []
    text = "Your social security number 832652089 was confirmed."
    assert found(engine, text, "PHONE_NUMBER") == []


def test_a_card_print_failing_the_checksum_is_no_card_nor_phone(engine: PiiEngine) -> None:
    # 4526 0181 5908 0100 fails Luhn; its first twelve digits pass it by chance
    text = "Store card 4526 0181 5908 0100 still holds a balance of $12.50."
    assert found(engine, text, "CREDIT_CARD") == []
    assert found(engine, text, "PHONE_NUMBER") == []


@pytest.mark.parametrize(
    "text",
    [
        "Nous avons bloqué votre carte 4462 819 482 199 par précaution.",
        "Se canceló la tarjeta 4462819482199 ayer.",
    ],
)
def test_card_words_of_other_languages_give_context(engine: PiiEngine, text: str) -> None:
    assert found(engine, text, "CREDIT_CARD") != []


def test_a_part_word_denies_an_ssn_shape(engine: PiiEngine) -> None:
    assert found(engine, "Hinge kit 517-24-8830 (brass, 12 pcs) ships Monday.", "US_SSN") == []
    assert found(engine, "Call about 517-24-8830 today.", "US_SSN") == ["517-24-8830"]
    assert found(engine, "Her SSN is 517-24-8830.", "US_SSN") == ["517-24-8830"]


def test_csv_commas_glue_no_numbers_together(engine: PiiEngine) -> None:
    text = "id,name,ssn,phone\nA-17,Oriel Vance,517-24-8830,01632 960291"
    assert found(engine, text, "US_SSN") == ["517-24-8830"]
    assert found(engine, "Total: 1,234,567,890 units", "PHONE_NUMBER") == []


@pytest.mark.parametrize(
    "text",
    [
        "Teilenummer 0207 946 0958, Charge 12.",
        "Référence pièce 412-555-0198, lot 12.",
        "Número de pieza 0207 946 0958 en stock.",
        "Codice articolo 0207 946 0958, magazzino B.",
        "Onderdeelnummer 0207 946 0958 is nabesteld.",
        "Referência da peça +4.123.4567 confirmada.",
        "Numer części 0207 946 0958 w magazynie.",
        "Artikel 123-45-6789 ist wieder da.",
    ],
)
def test_part_and_article_numbers_of_other_languages_are_no_phone_or_ssn(
    engine: PiiEngine, text: str
) -> None:
    assert found(engine, text, "PHONE_NUMBER") == []
    assert found(engine, text, "US_SSN") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Bitte rufen Sie mich unter 0207 946 0958 an, Artikel kommt morgen.", "0207 946 0958"),
        ("Pedido enviado. Llámame al 612 345 678.", "612 345 678"),
        ("Appelez-moi au 06 12 34 56 78, référence client 4412.", "06 12 34 56 78"),
    ],
)
def test_a_phone_near_a_part_word_of_another_language_is_still_found(
    engine: PiiEngine, text: str, value: str
) -> None:
    assert found(engine, text, "PHONE_NUMBER") == [value]
