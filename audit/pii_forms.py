"""Names written the way forms, logs, code and chats write them (ner mode): in capitals, in
lower case, as initials, alone in a cell. Rules combined by ``pii_people.person_spans``:

- ``caps_names``: two to five words in capitals ("OKAFOR, CHIAMAKA", "NURUL AISYAH BIN
  ISMAIL") after a label or word that names a person ("Account holder:", "PAYEE:", "filer",
  "FRM"), or with a given name of the lexicon among them and no English word;
- ``lower_names``: lower-case names where logs and code put a person: after "<verb>ed by"
  ("posted by ruoxi xiao"), in "TODO(jianguo)", as the speaker of a chat line ("[14:02]
  adhra: ..."), right before a phone number or an e-mail address ("card: tigist +84...");
- ``initial_names``: initials then a family name ("T.L. Mwangi", "Y. Youprasert");
- ``lone_cells``: one capitalised word alone in a cell of a row that also holds an e-mail
  address or a phone number ("Agyeman<TAB>Mehin<TAB>a@b.org<TAB>+49 ...").

Each takes a word for a name only when it is no English word (the model's word list), no word
known not to be a name, or a given name of the lexicon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import regex

from audit.pii_names import (
    CAPITALISED,
    PARTICLES,
    PARTICLES_SET,
    PLACE_WORDS,
    english_form,
    in_lexicon,
    is_stop_word,
    not_a_name,
    unknown_word,
)

Span = tuple[int, int]

# --- capitals ------------------------------------------------------------------------------

CAPS_WORD = r"\p{Lu}[\p{Lu}'’]*+(?:-\p{Lu}[\p{Lu}'’]*+)*+"
CAPS_PARTICLE = r"(?:VAN|VON|DER|DEN|DE|DEL|DELLA|DA|DI|DU|DOS|LA|LE|BIN|BINTI|BINT|IBN|AL|EL)"
# A family name in capitals, then more words in capitals or a given name written as usual
# ("OKAFOR, CHIAMAKA", "IVANOVA Svetlana", "NURUL AISYAH BIN ISMAIL").
CAPS_RUN = regex.compile(
    rf"(?<![\w@.-])(?P<name>{CAPS_WORD}(?:,?[ ]+(?:{CAPS_PARTICLE}[ ]+){{0,2}}"
    rf"(?:{CAPS_WORD}|{CAPITALISED})){{1,4}})(?![\w@]|\.\w)"
)
# Labels and words after which a form or a message gives a person's name.
PERSON_LABEL = (
    r"name|full[ ]name|holder|account[ ]holder|card[ ]?holder|payee|payer|filer|applicant|"
    r"surname|forename|first[ ]name|last[ ]name|given[ ]names?|family[ ]name|beneficiary|"
    r"customer|client|patient|employee|tenant|insured|policyholder|signatory|recipient|"
    r"sender|frm|from[ ]*:|to[ ]*:|by[ ]*:|attn|contact|passenger|guest|member|owner|signed|"
    r"nom|nombre|nome|naam|vorname|nachname|titular|intestatario|inhaber"
)
LABEL_BEFORE = regex.compile(rf"(?<![\w])(?i:{PERSON_LABEL})(?:[ ]*[:=][ ]*|[ ]+)$")
LABEL_WORD = regex.compile(rf"(?i:{PERSON_LABEL})[:]?")
# Abbreviations forms write in capitals beside a name; never part of one.
_FORM_WORDS = """
    SSN DOB IBAN BIC SWIFT PIN ID TIN EIN VAT IP PO ZIP USA UK EU AM PM HR IT CEO CFO CTO MD
    PHD DDS RN ESQ JR SR II III IV LLC INC LTD GMBH PLC TEL FAX NO NR REF RE FW FWD CC BCC
    URGENT NOTE OK N/A NA TBD ASAP FYI DR MR MRS MS
"""
FORM_WORDS = frozenset(_FORM_WORDS.split())
CAPS_PARTICLE_SET = frozenset(CAPS_PARTICLE.strip("(?:)").split("|"))


def _title_case(word: str) -> str:
    return "-".join(p[:1] + p[1:].lower() for p in word.split("-"))


def caps_names(text: str, english: frozenset[str]) -> Iterable[Span]:
    for m in CAPS_RUN.finditer(text):
        words = list(regex.finditer(r"[^ ,]+", m.group("name")))
        labelled = LABEL_BEFORE.search(text, max(0, m.start() - 30), m.start()) is not None
        while words and LABEL_WORD.fullmatch(words[0].group()):
            words.pop(0)  # "FRM RAMIREZ, ROBERT": the label is in capitals too
            labelled = True
        kept: list[regex.Match[str]] = []
        for w in words:
            word = w.group()
            if word.upper() in CAPS_PARTICLE_SET and kept:
                kept.append(w)
                continue
            if word in FORM_WORDS or len(word) < 2 or not_a_name(_title_case(word)):
                break
            kept.append(w)
        while kept and kept[-1].group().upper() in CAPS_PARTICLE_SET:
            kept.pop()
        names = [_title_case(w.group()) for w in kept if w.group() not in CAPS_PARTICLE_SET]
        if len(names) < 2:
            continue
        known = [w for w in names if english and english_form(w.lower(), english)]
        # A given name of the lexicon and not only English words ("FLORIAN BARMAN"), not
        # a heading ("APPLICATION FORM", "SOCIAL SECURITY").
        given = any(in_lexicon(w) for w in names) and len(known) < len(names)
        if labelled and len(known) == len(names) and not given:
            continue  # "FROM: PRESS OFFICE": English words, no name
        if labelled or (given and all(len(w) >= 3 for w in names)):
            base = m.start("name")
            yield base + kept[0].start(), base + kept[-1].end()


# --- lower case ----------------------------------------------------------------------------

LOWER = r"\p{Ll}[\p{Ll}'’]*+(?:-\p{Ll}+)*+"
LOWER_RUN = rf"{LOWER}(?:[ ]+(?:{PARTICLES}[ ]+){{0,2}}{LOWER}){{0,3}}"
# "posted by x", "reported by x y", "assigned to x"
BY_LOWER = regex.compile(
    rf"(?<![\w])(?i:\p{{L}}+ed[ ]by|assigned[ ]to|owner|reviewer|author)[:]?[ ]+"
    rf"(?P<name>{LOWER_RUN})(?![\w@'’-])"
)
# "TODO(jianguo)", "FIXME(ana lopes):"
CODE_OWNER = regex.compile(
    r"(?<![\w])(?:TODO|FIXME|XXX|HACK|NOTE|BUG)\((?P<name>[\p{L}][\p{L} .'’-]{0,40}?)\)"
)
# A chat or log line's speaker: "[14:02] adhra: ok", "<ana> hi"
SPEAKER_LOWER = regex.compile(
    rf"(?:^|\n)[ \t]*(?:\[[\d:. ]+\][ ]*|\d{{1,2}}:\d{{2}}[ ]+)(?P<name>{LOWER_RUN})[ ]?:[ ]"
)
# Lower-case words right before a phone number or an e-mail address
BEFORE_CONTACT = regex.compile(
    rf"(?:^|(?<=[\n:|,;\t])[ ]*)(?P<name>{LOWER_RUN})[ ]*[,:-]?[ ]+"
    r"(?:[^\s<>()@,]+@[^\s@]+\.\w|\+?\(?\d[\d ()./-]{6,}\d)"
)
# A lower-case name opening a log line after its label, before what it did: "Standup:
# elturan blocked on VPN", "Update: ana merged the fix".
LABEL_THEN_ACT = regex.compile(
    rf"(?:^|\n)[ \t]*\p{{L}}[\p{{L}} ]{{0,20}}:[ ]+(?P<name>{LOWER_RUN})"
    r"[ ]+\p{Ll}{2,}(?:ed|ing)\b"
)


def lower_names(text: str, is_name: Callable[[str], bool]) -> Iterable[Span]:
    """``is_name``: whether a lower-case word may be a name (``pii_people``'s test)."""
    for pattern in (BY_LOWER, SPEAKER_LOWER, BEFORE_CONTACT, LABEL_THEN_ACT):
        for m in pattern.finditer(text):
            found = list(_name_words(text, m.start("name"), m.end("name"), is_name))
            if pattern is BEFORE_CONTACT and found and found[0][1] != m.end("name"):
                continue  # right before the number or address, or nothing: "e-ticket sent to"
            yield from found
    for m in CODE_OWNER.finditer(text):
        value = m.group("name")
        words = [w for w in value.split() if w.lower() not in PARTICLES_SET]
        if words and all(w[:1].isalpha() and not is_stop_word(w.lower()) for w in words):
            yield m.span("name")


def _name_words(text: str, start: int, end: int, is_name: Callable[[str], bool]) -> Iterable[Span]:
    """The longest run of name words from ``start``, particles inside (at most four)."""
    kept: list[Span] = []
    for w in regex.finditer(r"\S+", text[:end], pos=start):
        word = w.group()
        if word in PARTICLES_SET and kept:
            continue
        if not is_name(word):
            break
        kept.append(w.span())
    if kept:
        yield kept[0][0], kept[-1][1]


# --- initials -----------------------------------------------------------------------------

INITIALS = regex.compile(
    rf"(?<![\w.])(?P<name>(?:\p{{Lu}}\.[ ]?){{1,3}}(?:{PARTICLES}[ ]+){{0,2}}{CAPITALISED})"
    r"(?![\w@]|\.\w)"
)


# A number before or a street's word after: a street named after someone ("227 M. Portaliou
# Street", "0348 65 R. Mongi Bali"), not a person.
NUMBER_BEFORE = regex.compile(r"\d[ ]*$")
WORD_AFTER = regex.compile(r"[ ]+(\p{L}+)")


def initial_names(text: str, english: frozenset[str]) -> Iterable[Span]:
    for m in INITIALS.finditer(text):
        if NUMBER_BEFORE.search(text, max(0, m.start() - 3), m.start()):
            continue
        after = WORD_AFTER.match(text, m.end())
        if after and after.group(1).lower() in PLACE_WORDS:
            continue
        last = regex.split(r"[ .]+", m.group("name"))[-1]
        if unknown_word(last, english) or in_lexicon(last):
            yield m.span("name")


# --- cells ---------------------------------------------------------------------------------

CELL_WORD = regex.compile(
    rf"(?:^|(?<=[\t|;]))[ ]*\"?(?P<name>{CAPITALISED})\"?[ ]*(?=[\t|;]|$)", regex.M
)
CONTACT_CELL = regex.compile(
    r"@[\w-]+\.\w|(?:^|[\t|;])[ ]*\+?[\d ().-]{8,}[ ]*(?:[\t|;]|$)", regex.M
)


def lone_cells(text: str, english: frozenset[str]) -> Iterable[Span]:
    for line in regex.finditer(r"[^\n]+", text):
        row = line.group()
        if len(regex.findall(r"[\t|;]", row)) < 2 or not CONTACT_CELL.search(row):
            continue
        for m in CELL_WORD.finditer(row):
            word = m.group("name")
            if unknown_word(word, english) or in_lexicon(word):
                yield line.start() + m.start("name"), line.start() + m.end("name")
