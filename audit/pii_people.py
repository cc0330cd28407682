"""All of ner mode's PERSON evidence in one place: the model's spans checked by shape, the
rules of ``pii_names``, and rules that read the parse or the register of the text.

``person_spans`` is what ``pii_recognizers.CheckedSpacyRecognizer`` calls. Rules added here
(each a general shape, none a string of a data set):

- ``mentions``: a chat mention, "@Dayana" (a capitalised handle, or a lower-case one that is
  a given name of the lexicon);
- ``chat_names``: a lower-case name after a chat greeting or sign-off ("hey marijan u up?",
  "lol rojus just sent", "thx, milda"): a given name of the lexicon, or a word that is no
  English word and no chat abbreviation;
- ``titled_names``: any word after "Mr."/"Ms."/"Dr." ("Good evening, Mr. volk");
- ``inverted_names``: "Family, Given" alone in a cell or a line ("Ndolo, Hanne | +43 ...");
- ``cell_names``: two to four capitalised words alone in a cell of a delimited row, with a
  given name or a word that is no English word among them ('"Alonso Rodríguez";"LV55 ...";');
- ``parsed_names``: a given name the parser makes the subject or the object of a verb
  ("Valentina wired the deposit", "Please send Milan the contract"), even when the model
  calls it a place;
- ``given_then_unknown``: a given name (common words and places included: "Hope", "Per")
  followed by a capitalised word that is no English word ("Hope Ogunleye");
- ``coordinated``: a name joined to a found one by "and", "&", "or" or a comma ("Reuben and
  Emil Urban", "Signed: A, Kaja, B").

Rules of ``pii_foreign`` (names after titles of German, French, Spanish, Italian, Dutch and
Portuguese) and ``pii_forms`` (names in capitals, lower-case names in logs and code, initials,
a lone word in a row with a contact cell) are added here too.

And filters: words of another language's sentence with no title or greeting before them
(``pii_foreign.foreign_noise``), identifiers ("order_id"), imperatives ("Mark the ticket"),
companies after their role ("vendor X"), English words alone on a line or opening a cell,
a span ending in a word that names a company ("Northwind Utilities"), a given
name that modifies a lower-case noun ("Gift voucher") or an English word standing alone on a
line ("Kind regards,\\nRecruiting") is no name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import regex

from audit.pii_foreign import foreign_noise, foreign_titled
from audit.pii_forms import caps_names, initial_names, lone_cells, lower_names
from audit.pii_names import (
    ACTS,
    CAPITALISED,
    NAME_WORDS,
    NOT_NAMES,
    ORG_WORDS,
    PARTICLES,
    PLACE_WORDS,
    any_given_name,
    cued_names,
    english_form,
    in_lexicon,
    is_stop_word,
    lexicon_names,
    named_like_person,
    not_a_name,
    opens_sentence,
    person_shaped,
    person_shaped_place,
    unaccented,
    unknown_pairs,
    unknown_word,
    without_degrees,
    word_not_name,
)

# The engine's spaCy score (pii.NER_SCORE): a person-shaped ORG ranks like the model's own
# spans; a name found by a rule a little above, so it wins a tie on the same span against
# the model's LOCATION guess ("Milan", "Valentina").
ORG_PERSON_SCORE = 0.45
CUED_PERSON_SCORE = 0.46

Span = tuple[int, int]


def _given(word: str) -> bool:
    """A given name of any list, common English words and places included."""
    names = any_given_name()
    first = word.partition("-")[0]
    return word in names or first in names or unaccented(first) in names


# --- chat ----------------------------------------------------------------------------------

MENTION = regex.compile(r"(?<![\w@.+-])@(?P<name>\p{L}[\p{L}'’-]*\p{L})(?![\w@]|\.\w)")
# Abbreviations and words of chats that follow a greeting and are no name.
_CHAT_WORDS = """
    u ur ya ye yea yeah yep yup nah nope ok okay k kk lol lmao rofl omg idk btw imo tbh fyi
    asap brb gtg ttyl pls plz thx ty np haha hahaha hehe xd xo xx xoxo gonna wanna gotta
    dude bro sis mate guys babe hun hon fam bud buddy man there all everyone everybody team
    folks peeps y'all yall again so much too sir maam ma'am boss chief love dear sweetie
    morning evening night tonight today tomorrow guys girls boys
"""
CHAT_WORDS = frozenset(_CHAT_WORDS.split())
CHAT_CUE = (
    r"hey|heya|hi|hiya|hello|yo|sup|thx|thanks|thank[ ]you|ty|cheers|lol|lmao|omg|haha|"
    r"love|xoxo|bye|congrats|dear|ping|cc|tell|ask|text|dm|"
    # greetings of other languages: "hola emeka!", "ciao marco", "hallo jens"
    r"hola|ciao|hallo|salut|bonjour|hoi|olá|oi|hej|moin|servus|buongiorno|buenas|grazie|"
    r"gracias|merci|danke|bedankt|obrigado|obrigada"
)
LOWER_WORD = r"\p{Ll}[\p{Ll}'’-]*\p{Ll}"
CHAT_NAME = regex.compile(
    rf"(?<![\w'’])(?i:{CHAT_CUE})[,!]?[ ]+(?P<name>{LOWER_WORD})(?![\w@'’-])"
    rf"(?:[ ]+(?P<second>{LOWER_WORD})(?![\w@'’-]))?"
)


def _lower_name(word: str, english: frozenset[str]) -> bool:
    """Whether a lower-case word may be a name: a given name of the lexicon, or no English
    word, no stop word and no chat abbreviation."""
    if word in CHAT_WORDS or is_stop_word(word) or len(word) < 3:
        return False
    if is_stop_word(regex.split(r"['’]", word)[0]):
        return False  # "it's", "i'm", "we'll"
    cap = word[:1].upper() + word[1:]
    if cap in NOT_NAMES or word in ORG_WORDS or word in PLACE_WORDS:
        return False
    if in_lexicon(cap) or in_lexicon(cap, words=True) or _given(cap):
        return True
    return bool(english) and not english_form(word, english) and not compound(word, english)


def compound(word: str, english: frozenset[str]) -> bool:
    """Whether a lower-case word is two English words written as one ("whitelisted")."""
    return any(
        word[:i] in english and english_form(word[i:], english) for i in range(3, len(word) - 2)
    )


def mentions(text: str) -> Iterable[Span]:
    for m in MENTION.finditer(text):
        word = m.group("name")
        if word[:1].isupper():
            if not not_a_name(word):
                yield m.span("name")
        elif in_lexicon(word.capitalize()):
            yield m.span("name")


def chat_names(text: str, english: frozenset[str]) -> Iterable[Span]:
    for m in CHAT_NAME.finditer(text):
        if not _lower_name(m.group("name"), english):
            continue
        # A surname after it: no English word, no chat word ("hey ana lucic, ...").
        second = m.group("second")
        if second and _lower_name(second, english) and not english_form(second, english):
            yield m.start("name"), m.end("second")
        else:
            yield m.span("name")


# --- titles, rows and cells ----------------------------------------------------------------

TITLED = regex.compile(
    r"(?<![\w.])(?:[MD]rs?|Ms|Mx|Prof|mrs?|ms|dr|prof)\.[ ]+"
    rf"(?P<name>(?:{PARTICLES}[ ]+){{0,2}}\p{{L}}[\p{{L}}'’-]*\p{{L}})"
    r"(?![\w@])"
)


def titled_names(text: str) -> Iterable[Span]:
    """Any word after an honorific with its full stop, whatever its case ("Mr. volk")."""
    for m in TITLED.finditer(text):
        word = m.group("name")
        if not is_stop_word(word.lower()) and not not_a_name(word.capitalize()):
            yield m.span("name")


# "Family, Given" (one or two words each), alone in a cell or on a line.
INVERTED = regex.compile(
    rf"(?:^|(?<=[\n|;\t\"]))[ ]*(?P<name>{CAPITALISED}(?:[ -]{CAPITALISED})?,[ ]+"
    rf"(?P<given>{CAPITALISED})(?:[ ]+{CAPITALISED})?(?:[ ]+\p{{Lu}}\.)?)"
    r"(?=[ ]*(?:[|;\t\"\n]|$))"
)


def inverted_names(text: str, english: frozenset[str]) -> Iterable[Span]:
    for m in INVERTED.finditer(text):
        words = [w for w in regex.split(r"[ ,-]+", m.group("name")) if w]
        if any(_not_person_word(w) for w in words):
            continue
        given = m.group("given")
        if _given(given) or unknown_word(given, english):
            yield m.span("name")


# A cell of a delimited row: two to four capitalised words between delimiters.
CELL = regex.compile(
    rf"(?:^|(?<=[;,|\t]))[ ]*\"?(?P<name>{CAPITALISED}(?:[ ]+(?:{PARTICLES}[ ]+){{0,2}}"
    rf"{CAPITALISED}){{1,3}})\"?[ ]*(?=[;,|\t]|$)",
    regex.MULTILINE,
)
DELIMITED = regex.compile(r"[;|\t]|\",\"")


def cell_names(text: str, english: frozenset[str]) -> Iterable[Span]:
    """Names alone in a cell of a row of several delimited cells."""
    for m in CELL.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        if len(DELIMITED.findall(line)) < 2:
            continue
        words = [w for w in m.group("name").split() if not regex.fullmatch(PARTICLES, w)]
        if any(_not_person_word(w) for w in words):
            continue
        if any(_given(w) or unknown_word(w, english) for w in words):
            yield m.span("name")


def _has_org_word(value: str) -> bool:
    return any(w.lower().strip(".,") in ORG_WORDS for w in value.split())


ADDRESS_AFTER = regex.compile(r"[ ]+\d")


def _not_person_word(word: str) -> bool:
    low = word.lower()
    return not_a_name(word) or low in PLACE_WORDS or low in ORG_WORDS


# --- the parse -----------------------------------------------------------------------------

# Dependencies of a word that stands for someone acting or acted on.
ARGUMENTS = frozenset(["nsubj", "nsubjpass", "dobj", "dative", "appos", "npadvmod"])
PREPOSITIONS = frozenset(
    [
        "in",
        "at",
        "from",
        "to",
        "into",
        "near",
        "via",
        "across",
        "through",
        "of",
        "on",
        "by",
        "around",
        "within",
        "outside",
    ]
)


def parsed_names(
    text: str, doc: Any, entities: Sequence[tuple[int, int, str]], english: frozenset[str]
) -> Iterable[Span]:
    """A given name the parser makes an argument of a verb, with the capitalised words the
    parser attaches before it ("Siv Palm takes"); never after a preposition ("in Milan") or
    an article, nor inside a longer entity of the model that is not a person."""
    if doc is None:
        return
    for token in doc:
        if token.dep_ not in ARGUMENTS or not token.text[:1].isupper():
            continue
        # The head word of a name is its last: "Siv Palm" -> token "Palm", compound "Siv".
        parts = [t for t in token.lefts if t.dep_ == "compound" and t.text[:1].isupper()]
        first = parts[0] if parts else token
        if first.i + len(parts) != token.i:
            continue  # not a run of words right before it
        if any(_describes(t, token) for t in token.rights):
            continue  # "Gift voucher": the name of a thing
        words = [t.text for t in doc[first.i : token.i + 1]]
        if any(_not_person_word(w) for w in words):
            continue
        if not any(_given(w) for w in words) or not named_like_person(" ".join(words)):
            continue
        if (
            len(words) == 1
            and opens_sentence(text, first.idx)
            and english_form(words[0].lower(), english)
        ):
            continue  # "Job finished at 15:12": an English word the sentence capitalised
        before = doc[first.i - 1].lower_ if first.i > 0 else ""
        if before in PREPOSITIONS or before in ("the", "a", "an", "this", "that", "our"):
            continue
        if before == "," and AFTER_PLACE.search(text, 0, doc[first.i - 1].idx):
            continue  # "12 Victoria Street, Wellington": the town of an address
        start, end = first.idx, token.idx + len(token.text)
        if any(
            label != "PERSON"
            and s <= start
            and end <= e
            and e - s > end - start
            # "Reuben and Emil Urban" is no company, "Barnes & Noble, Inc." is one
            and not (JOINED_IN.search(text, s, e) and not _has_org_word(text[s:e]))
            for s, e, label in entities
        ):
            continue
        yield start, end


JOINED_IN = regex.compile(r"[ ]and[ ]")
# A street, a number or a place's word right before a comma.
AFTER_PLACE = regex.compile(r"(?:\d|\b(?i:street|st|road|rd|avenue|ave|lane|way|drive|square))$")


def given_then_unknown(text: str, english: frozenset[str]) -> Iterable[Span]:
    """A given name of any list followed by a capitalised word that is no English word."""
    if not english:
        return
    for m in GIVEN_PAIR.finditer(text):
        first, second = m.group("first"), m.group("second")
        if _given(first) and not not_a_name(first) and unknown_word(second, english):
            yield m.span()


GIVEN_PAIR = regex.compile(
    rf"(?<![\w@#/.\\-])(?P<first>{CAPITALISED})(?:[ ]+\p{{Lu}}\.)?[ ]+"
    rf"(?:{PARTICLES}[ ]+){{0,2}}(?P<second>{CAPITALISED})(?![\w@/\\]|\.\w)"
)

# --- names joined to found ones --------------------------------------------------------------

JOIN = r"(?:[ ]*[,/][ ]*|[ ]+(?:and|&|or|und|et|y|e|og|och|en)[ ]+)"
TITLE_OPT = r"(?:(?i:mr|mrs|ms|dr|prof)\.?[ ]+|\p{Lu}\p{L}{0,4}\.(?:-?\p{L}{1,4}\.?)*[ ]+)?"
JOINED_AFTER = regex.compile(rf"{JOIN}{TITLE_OPT}(?P<name>{NAME_WORDS})")
JOINED_BEFORE = regex.compile(rf"(?<![\w'’-])(?P<name>{NAME_WORDS}){JOIN}{TITLE_OPT}$")


def coordinated(text: str, found: list[Span], english: frozenset[str]) -> list[Span]:
    """Names joined to a found name by "and", "&", "or" or a comma, found in turn."""
    known = set(found)
    todo = list(found)
    added: list[Span] = []
    while todo and len(added) < 50:
        start, end = todo.pop()
        candidates = []
        if m := JOINED_AFTER.match(text, end):
            candidates.append(m.span("name"))
        if m := JOINED_BEFORE.search(text, max(0, start - 80), start):
            candidates.append(m.span("name"))
        for s, e in candidates:
            if (s, e) in known or not _joined_name(text[s:e], english):
                continue
            if ADDRESS_AFTER.match(text, e):
                continue  # "Monika and Turjaška 48": a street
            known.add((s, e))
            added.append((s, e))
            todo.append((s, e))
    return added


def _joined_name(value: str, english: frozenset[str]) -> bool:
    """A name joined to a found one: a given name that is no English word among its words
    ("Kaja", "Emil Urban"), or two to four words none of which is an English word."""
    words = [w for w in value.split() if not regex.fullmatch(PARTICLES, w)]
    if len(words) > 4 or any(_not_person_word(w) or "'" in w or "’" in w for w in words):
        return False
    if any(in_lexicon(w) or in_lexicon(w, words=True) for w in words):
        return True
    if any(_given(w) and not english_form(w.lower(), english) for w in words):
        return True  # "Reuben and Emil Urban": a given name of the common list too
    return len(words) > 1 and all(unknown_word(w, english) for w in words)


# --- filters ---------------------------------------------------------------------------------


# First words of a thing's name, never of a person's: an article, a street's word.
_THING_FIRST = "the rua rue via calle avenida strasse straße viale piazza plaza carrer ulica ul"
THING_FIRST = frozenset(_THING_FIRST.split())


def company_named(value: str) -> bool:
    """A span whose last word names a company ("Northwind Utilities", "Nordhavn Trading"),
    or that opens with an article or a street's word ("The Victoria Line", "Rua Augusta")."""
    words = value.strip(" .,:;!?").split()
    if len(words) > 1 and words[0].lower() in THING_FIRST:
        return True
    return len(words) > 1 and words[-1].lower().strip(".") in ORG_WORDS


def _describes(word: Any, name: Any) -> bool:
    """Whether ``word`` is a lower-case noun right after ``name`` that the two make one
    phrase with (the parser without a tagger links them either way)."""
    if ACTED.fullmatch(word.lower_):
        return False  # "Ragnhild rang", "Abdulaziz reacted": a verb, the name its subject
    return (
        word.i == name.i + 1
        and word.text[:1].islower()
        and word.text.isalpha()
        and name.text[:1].isupper()
        and not is_stop_word(word.lower_)
        and word.lower_ not in CHAT_WORDS
        and (
            word.head.i == name.i  # a verb is the head of its subject, never its dependant
            or (name.dep_ in ("amod", "compound", "nmod") and name.head.i == word.i)
        )
    )


def _modifier(doc: Any, start: int, end: int, english: frozenset[str]) -> bool:
    """Words that make one phrase with a lower-case noun after them: "Gift voucher", "Ruby
    Red grapefruit", "Dawn dish soap" (the parser makes the last word a modifier of a noun
    up to two words after it, the words between modifying it too)."""
    if doc is None:
        return False
    span = doc.char_span(start, end)
    if span is None or span[-1].i + 1 >= len(doc):
        return False
    last = span[-1]
    if len(span) == 1 and _describes(doc[last.i + 1], last):
        return True
    head = last.head
    if last.dep_ not in ("compound", "amod", "nmod") or not 0 < head.i - last.i <= 3:
        return False
    # Only words that are English words too ("Ruby Red", "Dawn", "Joy-Con"): "a Cecilie
    # Josefsen fan", "the Kristian Herzog version" name a person.
    parts = [p for t in span for p in t.text.split("-") if p.isalpha()]
    if not parts or not all(english_form(p.lower(), english) for p in parts):
        return False
    between = doc[last.i + 1 : head.i]
    return (
        head.dep_ != "ROOT"
        and head.text.isalpha()
        and head.text.islower()
        and english_form(head.lower_, english)  # "Omar Nasser bitte": German, no noun
        and not is_stop_word(head.lower_)
        and all(t.head.i == head.i and t.text.islower() for t in between)
    )


ACTED = regex.compile(rf"(?:{ACTS})|\p{{Ll}}{{3,}}ed")
LINE_ALONE = regex.compile(r"(?:^|\n)[ \t]*$")
LINE_END = regex.compile(r"[ \t.!,]*(?:\n|$)")


def _alone_on_line(text: str, start: int, end: int) -> bool:
    return bool(LINE_ALONE.search(text, 0, start)) and bool(LINE_END.match(text, end))


CAPITALISED_BEFORE = regex.compile(rf"(?<![\w'’-])({CAPITALISED})[ ]+$")


def _after_name_word(text: str, start: int) -> bool:
    """Whether a capitalised word that may belong to a name stands right before ``start``
    ("Santa Monica Pier"; not "Hi Georgia")."""
    m = CAPITALISED_BEFORE.search(text, max(0, start - 30), start)
    return m is not None and not not_a_name(m.group(1)) and not opens_sentence(text, m.start(1))


def english_alone(text: str, start: int, end: int, english: frozenset[str]) -> bool:
    """One English word that no given name is, alone on its line ("Recruiting", signing
    a message for a team) or the last word of a longer capitalised name ("The Santa Monica
    Pier")."""
    word = text[start:end]
    return (
        " " not in word
        and bool(english)
        and english_form(word.lower(), english)
        and not _given(word)
        and (_alone_on_line(text, start, end) or _after_name_word(text, start))
    )


# --- all together ----------------------------------------------------------------------------


def person_spans(
    text: str,
    entities: Sequence[tuple[int, int, str]],
    doc: Any,
    english: frozenset[str],
) -> list[tuple[int, int, float]]:
    """(start, end, score) of the PERSON spans the rules add to the model's.

    ``entities``: the model's (start, end, label) spans with presidio's labels; ``doc``: the
    spaCy doc (None: the rules that read the parse are skipped)."""
    spans = [(s, s + len(without_degrees(text[s:e])), label) for s, e, label in entities]
    out: list[tuple[int, int, float]] = [
        (s, e, ORG_PERSON_SCORE)
        for s, e, label in spans
        if label == "ORGANIZATION"
        and person_shaped(text[s:e])
        and named_like_person(text[s:e])
        and not company_named(text[s:e])
    ]
    cued: list[Span] = [
        (s, e) for s, e, label in spans if label == "LOCATION" and person_shaped_place(text[s:e])
    ]
    cued += cued_names(text)
    cued += lexicon_names(text, spans)
    cued += unknown_pairs(text, english, spans)
    cued += mentions(text)
    cued += chat_names(text, english)
    cued += titled_names(text)
    cued += foreign_titled(text)
    cued += inverted_names(text, english)
    cued += cell_names(text, english)
    cued += parsed_names(text, doc, spans, english)
    cued += given_then_unknown(text, english)
    cued += caps_names(text, english)
    cued += lower_names(text, lambda w: _lower_name(w, english))
    cued += initial_names(text, english)
    cued += lone_cells(text, english)
    cued = [(s, e) for s, e in cued if not company_named(text[s:e])]
    model = [(s, e) for s, e, label in spans if label == "PERSON"]
    cued += coordinated(text, sorted(set(cued + model)), english)
    out += [(s, e, CUED_PERSON_SCORE) for s, e in dict.fromkeys(cued)]
    return out


CELL_START = regex.compile(r"(?:^|[|\t])[ ]*$")
NOT_IN_NAMES = regex.compile(r"[\d_@/\\#=<>{}\[\]]")


def english_words_only(text: str, start: int, end: int, english: frozenset[str]) -> bool:
    """Words that are all English and no given name, where a capital is no evidence: alone
    on a line ("Sincerely,\nPeople Operations"), opening a cell ("| Date of birth") or a
    sentence with a hyphen ("Geo-block triggered")."""
    if not english:
        return False
    head, _, tail = text[start:end].partition("-")
    # "Sign-up opens": a compound with an English word, not "Da-eun", "Jae-sung"
    if (
        tail.islower()
        and tail.isalpha()
        and len(tail) >= 4
        and " " not in text[start:end]
        and english_form(tail, english)
        and not _given(head)
        and opens_sentence(text, start)
    ):
        return True
    words = [w for w in regex.split(r"[ -]+", text[start:end]) if w]
    if not words or any(_given(w) or not english_form(w.lower(), english) for w in words):
        return False
    first = regex.split(r"[ ]+", text[start:end])[0]
    return (
        _alone_on_line(text, start, end)
        or bool(CELL_START.search(text, max(0, start - 10), start))
        or ("-" in first and opens_sentence(text, start))
    )


# An English verb opening a sentence before an article is an order: "Mark the ticket".
IMPERATIVE = regex.compile(r"[ ]+(?:the|a|an|this|that|these|those|all|your|my|our|it)\b")
# A word naming a company's role before a single word: "vendor Espressif".
COMPANY_ROLE = regex.compile(
    r"(?<![\w])(?i:vendor|supplier|manufacturer|maker|brand|carrier|provider|merchant|"
    r"retailer|distributor|courier[ ]service)[:]?[ ]+$"
)


def thing_named(text: str, start: int, end: int, english: frozenset[str]) -> bool:
    """An imperative verb ("Mark the ticket") or a company after its role ("vendor X")."""
    word = text[start:end]
    if " " in word:
        return False
    if (
        english_form(word.lower(), english)
        and opens_sentence(text, start)
        and IMPERATIVE.match(text, end)
    ):
        return True
    return bool(COMPANY_ROLE.search(text, max(0, start - 30), start))


def drop_person(text: str, start: int, end: int, doc: Any, english: frozenset[str]) -> bool:
    """Whether a PERSON span (the model's or a rule's) is a word, not a name."""
    return (
        bool(NOT_IN_NAMES.search(text, start, end))  # "order_id": an identifier
        or word_not_name(text, start, end, english)
        or english_words_only(text, start, end, english)
        or thing_named(text, start, end, english)
        or foreign_noise(text, start, end)
        or english_alone(text, start, end, english)
        or _modifier(doc, start, end, english)
        or company_named(text[start:end])
    )
