"""bench/leak_check.py's search: it must find a gold value however curate might write it
(separators changed or removed, JSON or HTML escapes, another case for e-mails) and must not
call a longer number or a longer name a leak. The CLI runs are bench/leak_check.py's own."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import leak_check
finally:
    sys.path.remove(str(BENCH))

GOLD = {
    "+36 30 123 4567": "PHONE_NUMBER",
    "+1 555-201-3344 x12": "PHONE_NUMBER",
    "Kovács Anna": "PERSON",
    "J.Doe@Mail.example": "EMAIL_ADDRESS",
    "4111 1111 1111 1111": "CREDIT_CARD",
    "HU42 1177 3016 1111 1018 0000 0000": "IBAN_CODE",
    "123-45-6789": "US_SSN",
}


@pytest.fixture()
def matcher() -> leak_check.Matcher:
    return leak_check.Matcher(GOLD, skeleton={"Anna"})  # a template word: no name part


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call +36301234567 now", "+36 30 123 4567"),
        ("tel 36-30-123-4567.", "+36 30 123 4567"),
        ("office +1 (555) 201 3344", "+1 555-201-3344 x12"),  # without its extension
        ("from j.doe@mail.example", "J.Doe@Mail.example"),
        ("card 4111-1111-1111-1111", "4111 1111 1111 1111"),
        ("iban hu42117730161111101800000000", "HU42 1177 3016 1111 1018 0000 0000"),
        ("ssn 123456789.", "123-45-6789"),
        ("Dear Kovács Anna,", "Kovács Anna"),
    ],
)
def test_finds_values_however_written(matcher: leak_check.Matcher, text: str, value: str) -> None:
    assert matcher.find(text).get(value) == GOLD[value]


def test_longer_numbers_and_names_are_not_leaks(matcher: leak_check.Matcher) -> None:
    found = matcher.find("order 941111111111111112, ref 9123-45-67890, Kovács Annabel wrote")
    assert found == {"Kovács": "PERSON (part)"}  # the family name alone is a leak


def test_escaped_files_are_searched(matcher: leak_check.Matcher, tmp_path: Path) -> None:
    escaped = tmp_path / "audit.json"
    escaped.write_text(json.dumps({"excerpt": "Kovács Anna"}), encoding="utf-8")
    assert "Kovács Anna" not in escaped.read_text(encoding="utf-8")  # \u00e1 on disk
    assert "Kovács Anna" in matcher.find(leak_check.views(escaped))
    page = tmp_path / "audit.html"
    page.write_text(html.escape("<td>Kovács Anna</td>").replace("á", "&aacute;"))
    assert "Kovács Anna" in matcher.find(leak_check.views(page))


def test_clean_jsonl_ids_are_set_apart(tmp_path: Path) -> None:
    path = tmp_path / "clean.jsonl"
    rows = [{"id": "J.Doe@Mail.example", "text": "hi <PERSON>"}, {"id": "r1", "text": "ok"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    text, ids = leak_check.clean_jsonl_without_ids(path)
    assert ids == ["J.Doe@Mail.example", "r1"] and "Doe" not in text and "<PERSON>" in text
