"""Names the small spaCy model misses, found by their shape and their context (ner mode only).

The small English model labels many people's names as organisations ("Wendy Hopkins",
"Daniel Marques"), as places (most names that are not English: "Kunigunde Ruppert",
"Tripti Kala") or not at all ("Please contact Graziano Broschi"). Rules combined by
``pii_people.person_spans`` (with rules of its own) raise recall on names:

- ``person_shaped``: an ORG span of two to five capitalised words (particles such as "van",
  "de" between them), none of them a word that names companies ("Inc", "Bank", "Group"...),
  is taken for a person: for an auditor a company flagged as a person costs less than a
  person missed.
- ``cued_names``: capitalised words (after an optional title, "Dr.", "Sig.ra", "pani") where
  the sentence says a person stands:
  after a word that introduces one ("Dear", "Thanks", "contact", "call", "spoke with", "my name
  is", "it's", "customer", "cardholder", "note from", "identity of", "refund for", "paid to",
  any "<verb>ed by");
  in a list after a label naming people ("Attendees: A, B and C");
  before a possessive of something only people have ("Ibrahim's cell", "Anna's wife");
  as the subject of a verb of speech or of a person's act ("Laurent said", "the one Aimé
  typed", "Frida from HR said", "Ranveer Gaba paid with");
  in a mail header ("Jade Tielemans <jade@example.net>") or signing a message off ("- Karina").
  A single word is a name there; the words are cut at the first one that is not a name
  (days, months, pronouns, role nouns such as "Customer", words naming companies, acronyms).
- ``lexicon_names``: a capitalised word that is a given name of ``data/given_names.txt``
  (US Social Security baby names, public domain, minus English words: "Maurilio", "Eliza",
  "Krzysztof"), with the capitalised words after it ("Eliza Ogonek"), with no cue at all. Not
  when the model put it inside a longer entity that is not a person ("San Diego Zoo"), nor
  when it alone is the model's organisation (a brand), nor after an article ("the Wendy
  account").
- ``non_name``: the model's own PERSON spans that are one such word ("Tel", "Dispatcher")
  are dropped.

Pattern mode does not use them: it promises no names.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import regex

PARTICLES = (
    r"(?:van|von|der|den|de|del|della|da|di|du|dos|das|la|le|bin|ibn|al|el|y|zu|ter|ten|het|"
    r"bint|ben|abu|af|av|ap|op|te|vom|zum|zur|dei|degli|delle|do|e|i|mac|nic|ní|ua|ui)"
)
# A capitalised word: an upper-case letter then letters, with inner hyphens or apostrophes.
# A possessive "'s" is not part of it ("Anna's" is "Anna"; "O'Neil" is one word).
CAPITALISED = r"\p{Lu}[\p{Ll}\p{Lu}]*+(?:(?:-|['’](?!s\b))\p{Lu}?[\p{Ll}]++)*+"
# One to five capitalised words, with up to two particles between two of them ("van den").
# A middle initial ("Lucas D. Robson") may stand between two of them.
INITIAL = r"(?:[ ]+\p{Lu}\.)"
NAME_WORDS = rf"{CAPITALISED}(?:{INITIAL}?[ ]+(?:{PARTICLES}[ ]+){{0,2}}{CAPITALISED}){{0,4}}+"
# Titles written before a name: honorifics of several languages, or any short capitalised
# abbreviation ("Ing.", "Univ.Prof.", "Sig.ra"); they are not part of the span reported.
TITLE = (
    r"(?:(?i:mr|mrs|ms|mx|miss|dr|prof|sir|dame|herr|frau|mme|mlle|m|sig|sig\.ra|sig\.na|dott|"
    r"dott\.ssa|ing|sr|sra|srta|dña|dhr|mevr|pan|pani|shri|smt|sri)\.?"
    r"|\p{Lu}\p{L}{0,4}\.(?:-?\p{L}{1,4}\.?)*)[ ]+"
)
NAME = rf"(?:{TITLE}){{0,2}}(?P<name>{NAME_WORDS})"
# A degree or a suffix after a name ("Marlis Briemer B.Sc.", "Felicia Rust MBA.").
SUFFIX = r"(?:[ ]*[\p{L}.]*\.)?"
# Words that introduce a person; (?i) for the cue only, names keep their case.
SALUTATIONS = (
    r"dear|hi|hello|hey|thanks|thank[ ]you|greetings|regards|sincerely|cheers|signed|wishes|"
    r"happy[ ]birthday|congratulations|congrats|welcome|good[ ](?:morning|afternoon|evening)|"
    r"morning|goodbye|bye|love|mr\.?|mrs\.?|ms\.?|dr\.?|prof\.?|"
    # sign-offs of other languages before a name: "Bises, Anouk", "Groet, Sanne"
    r"bises|bisous|besos|abrazos|saludos|atentamente|cordialement|saluti|baci|groet|groeten|"
    r"gr[üu](?:ß|ss)e|abraços|beijos|hälsningar|pozdrawiam"
)
# Nouns naming a person's role: a cue before a name, never a name themselves.
_ROLES = (
    "customer client patient agent employee manager owner holder cardholder user applicant "
    "tenant driver courier dispatcher landlord landlady colleague director doctor nurse "
    "teacher student candidate buyer seller sender recipient payee payer author reviewer "
    "assignee reporter requester caller guest member partner wife husband son daughter mother "
    "father brother sister friend neighbour neighbor boss supervisor lawyer attorney engineer "
    "technician officer representative consultant specialist administrator contractor "
    "volunteer resident passenger subscriber beneficiary employer tutor coach trainer mentor "
    "intern trainee parent guardian carer caregiver therapist dentist surgeon physician "
    "pharmacist receptionist secretary assistant clerk cashier accountant inspector sponsor "
    "reference referee guarantor cosigner co-signer witness speaker keynote host signatory "
    "approver"
)
ROLES = _ROLES.split()
CUES = (
    r"contact|contacted|ask|asked|tell|told|cc|attn|attention|email|e-mail|call|called|phone|"
    r"ring|text|ping|reach|message|remind|invite|thank|pay|paid|reimburse|refund|says|writes|"
    r"(?:account|full|legal|contact|customer|client|patient|user)[ ]name|named|nicknamed|"
    r"calls[ ]me|call[ ]me|starring|featuring|host|visitor|winner|attendee|who[ ]is|who's|"
    r"(?:form|file|record|profile|application|subscription|booking|reservation|payslip|visa|"
    r"passport|check)[ ]+(?:for|of)|"
    r"spoke[ ]with|spoke[ ]to|talked[ ]to|met[ ]with|met|name[ ]is|i[ ]am|i'm|this[ ]is|"
    r"it's|it’s|it[ ]is|account[ ]holder|contact[ ]person|forward[ ](?:this|it)[ ]to|"
    r"passed[ ]to|handed[ ]to|on[ ]behalf[ ]of|care[ ]of|belongs[ ]to|belonging[ ]to|"
    r"addressed[ ]to|written[ ]by|sent[ ]by|\p{L}+ed[ ]by|given[ ]by|"
    # verbs whose object is a person: "send Milan the contract", "cc'd Caomhan so ..."
    r"send|forward|forwarded|let|cc['’]d|bcc|notify|notified|inform|informed|warn|warned|brief|briefed|"
    r"introduce|introduced|hire|hired|promote|promoted|congratulate|welcome|meet|"
    r"loop[ ]in|looped[ ]in|copy|copied|tag|tagged|mention|mentioned|well[ ]done|"
    r"good[ ]job|nice[ ]work|great[ ]job|(?:work|worked|working)[ ]with|do[ ]you[ ]know|"
    r"(?:request|confirmation|behalf|attention)[ ]of|confirmation[ ]for|"
    r"(?:note|message|mail|letter|reply|call|request|complaint|word|quote)[ ]from|"
    r"(?:identity|name|account|details|file|record|profile|signature)[ ]of|"
    r"(?:reimbursement|refund|payment|transfer|details|invoice|receipt|checkout|approved|"
    r"issued|payable|registered|booked|reserved|charged|credited|addressed|made[ ]out)"
    r"[ ]+(?:to|for|from)|" + "|".join(ROLES)
)
CUED = regex.compile(
    rf"(?<![\w])(?i:(?P<salute>{SALUTATIONS})|(?:{CUES})(?:[ ]+(?:is|was|will[ ]be))?)[,:]?"
    rf"(?:[ ]+|[ ]*\n[ ]*){NAME}(?:{SUFFIX}[ ]+and[ ]+{NAME})?"
)
# People listed after a label: "Attendees: A, B and C".
LIST_LABELS = (
    r"attendees|participants|present|invitees|invited|guests|speakers|panel|panellists|"
    r"panelists|signatories|members|team|owners|reviewers|approvers|assignees|authors|"
    r"contacts|cc|bcc|with|name|full[ ]name|signed|signed[ ]by|(?:guest|attendee|invite|"
    r"distribution|mailing|contact|speaker)[ ]list|credit|photo[ ]credit|by"
)
LIST_HEAD = regex.compile(rf"(?<![\w])(?i:{LIST_LABELS})[ ]*:[ ]*")
# An item may carry a short note in brackets: "Segundo Méndez (+1), ...".
LIST_ITEM = regex.compile(
    rf"{NAME}{SUFFIX}(?:[ ]*\([^()\n]{{0,20}}\))?(?P<sep>[ ]*(?:,|;|&|\band\b)[ ]*)?"
)
# Things only people have, after a possessive: "Ibrahim's cell".
POSSESSED = (
    r"cell|cellphone|phone|mobile|number|email|e-mail|mail|address|home|flat|wife|husband|"
    r"partner|son|daughter|mother|father|brother|sister|family|kids|children|boss|manager|"
    r"birthday|ssn|passport|account|salary|payslip|contract|car|desk|office|laptop|"
    r"signature|landlord|doctor|lawyer|song|novel|book|album|poem|film|movie|lyrics|place|"
    r"house|party|room|wedding|funeral|dog|cat|bike|parents|idea|request|message|letter|"
    r"computer|shift|shifts|appointment|flight|visit|leave|thesis|team|group|department|"
    r"project|branch|ticket|calendar|schedule|inbox|comment|report|photo|profile|order|bill|"
    r"case|notes|files|code|question|reply|answer|turn"
)
POSSESSIVE = regex.compile(rf"(?<![\w]){NAME}{SUFFIX}['’]s[ ]+(?i:{POSSESSED})\b")
# A person as the subject of a verb of speech or of a person's act, maybe "from <team>".
ACTS = (
    r"said|says|asked|asks|wrote|writes|typed|replied|replies|answered|told|tells|paid|pays|"
    r"agreed|signed|confirmed|thinks|thought|wants|wanted|needs|sent|explained|mentioned|"
    r"reported|complained|phoned|emailed|texted|joined|requested|promised|claims|claimed|"
    r"insists|insisted|admitted|noted|added|called[ ](?:me|us|back|again)|left[ ]a|lives|"
    r"lived|works|worked|moved|married|died|was[ ]born|is[ ]from|ha[sd][ ]\p{L}+ed|"
    r"will[ ](?:see|call|meet|sign|pay|send)|gave|gives|got|gets|took|takes|forgot|forgets|"
    r"wired|transferred|brought|left|came|went|called|rang|"
    r"(?:is|was)[ ]+(?:out|off|away|back|sick|on[ ]leave)\b|"
    # a caller or a writer naming themself: "Adrija here, I'm away"
    r"here(?=[ ]*[,.!;:—–-])"
)
# What a bracket after a name says about that person: "Ranveer Mody (SSN ...)".
ABOUT_PERSON = (
    r"ssn|social|dob|born|age|aged|e-?mail|phone|tel|mobile|cell|id|employee|he|she|"
    # a relation written beside a name: "Chizoba Obi / sister / +1 ..."
    r"sister|brother|wife|husband|partner|spouse|mother|father|son|daughter|parent|friend|"
    r"guardian|colleague|neighbou?r|cousin|aunt|uncle|grandmother|grandfather|fianc[ée]e?"
)
TEAMS = r"HR|IT|accounts|accounting|finance|sales|support|legal|payroll|marketing|billing|ops"
# A person addressed by name at the start of a sentence: "Riccardo, your appointment is...".
VOCATIVE = regex.compile(
    rf"(?:^|[.!?][ ]+|\n)(?P<name>{NAME_WORDS}),[ ]+"
    r"(?:you|your|you're|you've|please|thanks|thank[ ]you|can|could|would|we|I|it's)\b"
)
SUBJECT = regex.compile(
    rf"(?<![\w'’]){NAME}{SUFFIX}(?:[ ]+and[ ]+{NAME}{SUFFIX})?"
    rf"(?:[ ]+from[ ]+(?:the[ ]+)?(?:{TEAMS})\b|[ ]+(?:{ACTS})\b|[ ]+and[ ]+I\b|"
    rf",?[ ]+(?:who|whose)\b|[ ]+\((?i:{ABOUT_PERSON})\b|[ ]*[/|;][ ]*(?i:{ABOUT_PERSON})\b)"
)
# A name written as a mail header writes it, "Jade Tielemans <jade@example.net>" or with the
# address in brackets, and a name signing a message off at its end ("... - Karina").
BESIDE_EMAIL = regex.compile(rf"(?P<name>{NAME_WORDS})[ ]*[<(][^\s<>()@]+@")
# Two or more capitalised words set beside an e-mail address or a phone number ("Brenda Gill -
# lydia03@example.org - 503 403 8767", "Kelly Ng, +44 20 7946 0958", "Ria Deep at r@x.org").
BESIDE_CONTACT = regex.compile(
    rf"(?<![\w.@-])(?P<name>{CAPITALISED}(?:[ ]+(?:{PARTICLES}[ ]+){{0,2}}{CAPITALISED}){{1,4}}+)"
    r"(?:[ ]*[-–—|,:/][ ]*|[ ]+(?:at|on|via)[ ]+)"
    r"(?:[^\s<>()@,]+@[^\s@]+\.\w|(?:\+\(?|\()?\d+[ ().-][\d ().-]{4,}\d)"
)
SIGNATURE = regex.compile(rf"(?:[ ][-–—|][ ]*|\n)(?P<name>{NAME_WORDS})[ .!]*$")
# Capitalised words that are not names even after a cue.
_NOT_NAMES = """
    The A An This That These Those It We You They He She I My Our Your Their His Her Team All
    Everyone Everybody Someone Somebody Anyone Nobody Sir Madam Madame Support Sales Service
    Please Thanks Thank Hello Hi Hey Dear Regards Best Kind Note Card Bank Staff Management
    Yes No Ok Okay Sure Well So Now Then Also However Sorry Great Perfect Right Again Oh Ah
    Wow Anyway Actually Honestly Sadly Luckily Unfortunately Guys Folks Friends Morning
    Police Security Admin Legal Finance Accounting Payroll Marketing Billing Tel Fax Phone Cell
    Mobile Email Mail Suite Apt Unit Floor Room
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    January February March April May June July August September October November December
    Today Tomorrow Yesterday Mr Mrs Ms Dr Prof
    Order Invoice Ticket Case Reference Ref Account Number Item Version Release Build Page
    Chapter Section Table Figure Total Balance Amount Code Product Model Serial Tracking
    Edit Update Answer Question Status Summary Subject
"""
NOT_NAMES = frozenset(_NOT_NAMES.split()) | {r.capitalize() for r in ROLES}
# Words that name companies, institutions and places, not people.
_ORG_WORDS = """
    inc ltd llc plc gmbh ag sa sarl srl spa bv nv co corp corporation company companies group
    holdings bank university college school institute hospital clinic foundation trust fund
    partners associates services solutions systems technologies technology software labs
    industries international global consulting capital ventures media network networks
    airlines airways motors pharma energy council committee ministry department agency
    office church club team hotel restaurant cafe store shop market street avenue road
    utilities utility trading logistics manufacturing insurance construction electric
    electronics foods studios studio enterprises enterprise supplies supply imports exports
    pharmaceuticals healthcare health properties realty estates transport freight shipping
    telecom communications digital analytics robotics automotive engineering recruiting
    recruitment staffing media publishing entertainment games brewery bakery farms dental
    medical lawyers accountants advisors holding kg oy aps asa llp pty pvt
"""
ORG_WORDS = frozenset(_ORG_WORDS.split())
# Words of places' names: a LOCATION holding one stays a place ("New York", "Lake Como").
_PLACE_WORDS = """
    new san santa santo sao são los las la le el st saint sainte fort port mount mt lake
    river city town village county island islands isle bay beach valley hill hills park
    united north south east west central upper lower greater great little old hong sri
    kingdom republic states state province region district coast gulf sea ocean mountains
    heights springs falls harbour harbor bridge castle land grove lane close court square
    place gardens terrace way drive row crescent plaza circle boulevard walk
    rue rua via calle avenida avenue alameda strasse straße str viale piazza largo platz weg
    gasse allee vej gatan gade ave blvd viaduct parkway highway route
"""
PLACE_WORDS = frozenset(_PLACE_WORDS.split())
ACRONYM = regex.compile(r"\p{Lu}{2,}")


WORD = regex.compile(r"\S+")
# Degrees and suffixes written after a name ("PhD", "B.Eng.", "MBA", "Jr.", "Dipl.-Ing."):
# the model puts them inside an organisation's span ("Christa-Maria Wieloch B.Eng").
DEGREE = (
    r"(?:Ph\.?D|M\.?D|D\.?Phil|M\.?Phil|M\.?B\.?A|B\.?A|M\.?A|B\.?Sc|M\.?Sc|B\.?Eng|M\.?Eng|"
    r"B\.?Ed|M\.?Ed|LL\.?[BM]|J\.?D|D\.?D\.?S|R\.?N|CPA|Esq|Jr|Sr|II|III|IV|FRCS|MRCP|"
    r"Dipl\.?-?\p{Lu}?\p{Ll}{1,5}|Mag|Ing)\.?"
)
TRAILING_DEGREES = regex.compile(rf"(?:,?[ ]+{DEGREE})+[ .,]*$")


def without_degrees(value: str) -> str:
    """``value`` without the degrees and suffixes written after a name."""
    return TRAILING_DEGREES.sub("", value)


def _words(value: str) -> list[str]:
    return value.replace(",", " ").split()


def not_a_name(word: str) -> bool:
    return word in NOT_NAMES or word.lower() in ORG_WORDS or bool(ACRONYM.fullmatch(word))


def non_name(value: str) -> bool:
    """A one-word span that is a word, not a name ("Tel", "Dispatcher", "Monday")."""
    words = value.strip(" .,:;!?").split()
    return len(words) == 1 and not_a_name(words[0])


def person_shaped(value: str) -> bool:
    """Two to five capitalised words (particles between them), none naming a company."""
    if "\n" in value:  # a name is written on one line; this is an address or a heading
        return False
    words = _words(value)
    names = [w for w in words if not regex.fullmatch(PARTICLES, w)]
    if not 2 <= len(names) <= 5 or len(words) > 6:
        return False
    if any(w.lower().strip(".") in ORG_WORDS or w in NOT_NAMES for w in words):
        return False
    return all(regex.fullmatch(CAPITALISED, w) for w in names) and "&" not in value


def person_shaped_place(value: str) -> bool:
    """A LOCATION of two to five capitalised words, none naming a place or a company: the small
    model's guess for most names that are not English ("Kunigunde Ruppert", "Tripti Kala")."""
    return person_shaped(value) and not any(w.lower() in PLACE_WORDS for w in _words(value))


def _listed(text: str) -> Iterable[tuple[int, int]]:
    """Names in a list after a label naming people: each item up to a comma or an "and"."""
    for head in LIST_HEAD.finditer(text):
        at = head.end()
        while item := LIST_ITEM.match(text, at):
            yield item.span("name")
            if item.group("sep") is None:
                break
            at = item.end()


# A speaker's label opening a line of a chat or a script: "Nichole: You saved my life!"
SPEAKER = regex.compile(
    rf"(?:^|\n|\\n)[ \t]*(?P<name>{CAPITALISED}(?:[ ]{CAPITALISED})?)[ ]?:[ ]*(?=[\p{{L}}\"'“])"
)


def _speakers(text: str) -> Iterable[tuple[int, int]]:
    """Speakers' labels whose first word is a given name that is no common English word
    ("Shawn:", not "Note:", "Agent:", "Summary:")."""
    for m in SPEAKER.finditer(text):
        first = m.group("name").split()[0]
        if (in_lexicon(first) or in_lexicon(first, words=True)) and not not_a_name(first):
            yield m.span("name")


@functools.cache
def _stop_words() -> frozenset[str]:
    """spaCy's English stop words ("into", "off", "not", "go"): a sentence's first word
    written with a capital, never a name on its own. Loaded when first needed (ner mode)."""
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # pragma: no cover - ner mode needs spaCy anyway
        return frozenset()
    return frozenset(STOP_WORDS)


def is_stop_word(word: str) -> bool:
    """A stop word of spaCy's English list (lower case)."""
    return word in _stop_words()


def cued_names(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of capitalised words where the text says a person stands (see above)."""
    found = [span for m in CUED.finditer(text) for span in m.spans("name")]
    found += [m.span("name") for m in POSSESSIVE.finditer(text)]
    found += [m.span("name") for m in VOCATIVE.finditer(text)]
    found += [span for m in SUBJECT.finditer(text) for span in m.spans("name")]
    found += [m.span("name") for m in BESIDE_EMAIL.finditer(text)]
    found += [m.span("name") for m in SIGNATURE.finditer(text)]
    found += list(_listed(text))
    found += list(_speakers(text))
    # Beside a contact detail only a span of names right up to it is one ("Purchase Order -
    # 123 456 789" is not cut down to "Purchase").
    whole = [m.span("name") for m in BESIDE_CONTACT.finditer(text)]
    for start, end, whole_only in [
        *((s, e, False) for s, e in found),
        *((s, e, True) for s, e in whole),
    ]:
        # Stop at the first word that is not a name ("Thanks Maria Team" keeps "Maria").
        # A word naming a company makes the words before it a company's name ("Northwind
        # Holdings"): none of them is kept.
        kept: list[tuple[str, int]] = []
        for word in WORD.finditer(text, start, end):
            if not_a_name(word.group()):
                if whole_only or (
                    word.group() not in NOT_NAMES and word.group().lower() in ORG_WORDS
                ):
                    kept = []
                break
            kept.append((word.group(), word.end()))
        while kept and regex.fullmatch(PARTICLES, kept[-1][0]):
            kept.pop()
        if not kept or len(kept[0][0]) < 2:
            continue
        if len(kept) == 1 and kept[0][0].lower() in _stop_words():
            continue
        yield start, kept[-1][1]


DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def given_names(words: bool = False) -> frozenset[str]:
    """The given-name lexicon (bench/build_name_lexicon.py), read when first needed: names
    that are no English word, US ones and those of many other countries ("Miłosz",
    "Dagmara"), or (``words``) US ones that are an uncommon English word too ("Amber")."""
    if words:
        return _read_names("given_names_words.txt")
    return _read_names("given_names.txt") | _read_names("given_names_world.txt")


@functools.cache
def any_given_name() -> frozenset[str]:
    """Every given name of the lexicon, common English words included ("Grace", "Mark")."""
    return given_names() | given_names(True) | _read_names("given_names_common.txt")


def _read_names(file: str) -> frozenset[str]:
    lines = (DATA / file).read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


# A capitalised word standing alone: not a piece of an address, a path, a handle or a number.
LEXICON_WORD = regex.compile(rf"(?<![\w@#/.\\-]){CAPITALISED}(?![\w@/\\]|\.\w)")
# Words after which a given name is a thing's name ("the Wendy account", "a Sienna minivan").
ARTICLES = frozenset(["the", "a", "an", "this", "that", "these", "those"])
FOLLOWING = regex.compile(rf"(?:{INITIAL}?[ ]+(?:{PARTICLES}[ ]+){{0,2}}{CAPITALISED}){{1,3}}")


def in_lexicon(word: str, words: bool = False) -> bool:
    """A given name of the lexicon, alone or as the first part of a double name."""
    names = given_names(words)
    first = word.partition("-")[0]
    return word in names or first in names or unaccented(first) in names


def unaccented(word: str) -> str:
    """The word without its accents ("Léon" -> "Leon"): the lexicon is written without."""
    if word.isascii():
        return word
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if ch.isascii())


def _beside_place(text: str, start: int, end: int) -> bool:
    """Whether the word before ``start`` or after ``end`` names a street, a place or a
    company ("Via Carlo Cattaneo", "Baker Street", "Maxwell Holdings"): the words are its
    name."""
    before = WORD.findall(text, max(0, start - 20), start)[-1:]
    after = WORD.match(text, end + 1) if text[end : end + 1] == " " else None
    words = [w for w in before if text[start - 1 : start] == " " and w[-1].isalpha()]
    words += [after.group().rstrip(".,;:!?")] if after else []
    return any(w.lower() in PLACE_WORDS or w.lower() in ORG_WORDS for w in words)


def lexicon_names(
    text: str, entities: Sequence[tuple[int, int, str]] = ()
) -> Iterable[tuple[int, int]]:
    """(start, end) of given names of the lexicon with the capitalised words after them; a
    name that is also an English word ("Amber") only with such a word after it or inside a
    sentence.

    ``entities``: the model's (start, end, entity) spans. A name inside a longer one that is
    not a PERSON is a piece of a place's or a company's name ("San Diego", "Lake Tahoe").
    """
    for m in LEXICON_WORD.finditer(text):
        word = m.group()
        plain = in_lexicon(word)
        if not plain and not in_lexicon(word, words=True):
            continue
        start, end = m.span()
        before = text[max(0, start - 12) : start].split()
        if before and before[-1].lower() in ARTICLES:
            continue
        if any(
            label != "PERSON" and s <= start and end <= e and e - s > end - start
            for s, e, label in entities
        ):
            continue
        # The surname(s) after it, up to a word that is not a name.
        if tail := FOLLOWING.match(text, end):
            for following in WORD.finditer(text, end, tail.end()):
                name = following.group()
                if len(name) < 2 or not_a_name(name) or name.lower() in PLACE_WORDS:
                    break
                if not regex.fullmatch(PARTICLES, name):
                    end = following.end()
        # A name that is an English word too, alone: only inside a sentence (its capital is
        # its own) and not taken by the model for anything else ("met in Berlin", "Ruby").
        alone_ok = plain or (
            not opens_sentence(text, start)
            and not any(s <= start < e and label != "PERSON" for s, e, label in entities)
        )
        if (alone_ok or end > m.end()) and not _beside_place(text, start, end):
            yield start, end


def unknown_word(word: str, english: frozenset[str]) -> bool:
    """A capitalised word that is no English word (nor a plural or an inflection of one:
    "Utilities") and no word known not to be a name."""
    low = word.lower()
    return (
        len(word) >= 2
        and not ACRONYM.fullmatch(word)
        and not not_a_name(word)
        and not english_form(low, english)
        and low not in PLACE_WORDS
        and low not in _stop_words()
        and all(part.lower() not in english for part in word.split("-"))
    )


CAPITALISED_RUN = regex.compile(
    rf"(?<![\w@#/.\\-]){CAPITALISED}(?:[ ]+(?:{PARTICLES}[ ]+){{0,2}}{CAPITALISED})++"
    r"(?![\w@/\\]|\.\w)"
)


def unknown_pairs(
    text: str, english: frozenset[str], entities: Sequence[tuple[int, int, str]] = ()
) -> Iterable[tuple[int, int]]:
    """(start, end) of two to four capitalised words in a row, none of them an English word
    (``english``: lower case), particles allowed between them: "Utz Gumprich", "Olgierd
    Kubasiak", "Madelief Leguit". Not inside a longer entity of the model that is not a PERSON.
    """
    if not english:  # no word list (a model without lemmatizer tables): no evidence
        return
    for m in CAPITALISED_RUN.finditer(text):
        run: list[tuple[int, int]] = []
        for word in WORD.finditer(text, m.start(), m.end()):
            if regex.fullmatch(PARTICLES, word.group()) and run:
                continue
            if unknown_word(word.group(), english):
                run.append(word.span())
                continue
            yield from _pair(text, run, entities, english)
            run = []
        yield from _pair(text, run, entities, english)


def _pair(
    text: str,
    run: list[tuple[int, int]],
    entities: Sequence[tuple[int, int, str]],
    english: frozenset[str],
) -> Iterable[tuple[int, int]]:
    if not 2 <= len(run) <= 4:
        return
    start, end = run[0][0], run[-1][1]
    if _beside_place(text, start, end) or _in_foreign_phrase(text, start, end, english):
        return
    if any(label != "PERSON" and s <= start and end <= e and e - s > end - start
           for s, e, label in entities):  # fmt: skip
        return
    yield start, end


# The lower-case word right before or after a span, in the same phrase.
WORD_BEFORE = regex.compile(r"(?<![\w'’-])(\p{Ll}+)[ ]+$")
WORD_AFTER = regex.compile(r"[ ]+(\p{Ll}+)(?![\w'’-])")


def _in_foreign_phrase(text: str, start: int, end: int, english: frozenset[str]) -> bool:
    """Whether a lower-case word beside the span is no English word: the capitalised words
    are a title or nouns of another language ("Neue Regeln für Mieter"), not a name."""
    before = WORD_BEFORE.search(text, max(0, start - 30), start)
    after = WORD_AFTER.match(text, end)
    return any(
        m is not None
        and not english_form(m.group(1), english)
        and m.group(1) not in _stop_words()
        and m.group(1) not in PARTICLES_SET
        for m in (before, after)
    )


# Inflections the word list (base forms) does not hold: "visited", "rings", "copies".
SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"),
            ("es", ""), ("s", ""), ("ly", ""), ("er", ""), ("est", ""))  # fmt: skip


def english_form(word: str, english: frozenset[str]) -> bool:
    """Whether ``word`` (lower case) or its stem is an English word of ``english``."""
    if word in english:
        return True
    for suffix, ending in SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            if stem + ending in english or (stem[-1:] == stem[-2:-1] and stem[:-1] in english):
                return True
    return False


PARTICLES_SET = frozenset(PARTICLES.strip("(?:)").split("|"))
SENTENCE_START = regex.compile(r"(?:^|[.!?:;]\s+|\n\s*)$")
# An abbreviated title's full stop ends no sentence: "Mr. White" is a name after a title.
TITLE_STOP = regex.compile(
    r"(?<![\w.])(?i:mr|mrs|ms|mx|dr|prof|rev|hon|sr|jr|capt|col|gen|lt|sgt|mme|mlle|dott|ing|"
    r"sig|dipl|mag|univ)\.[ ]+$"
)


def opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` is a sentence's first (its capital is no evidence)."""
    return (
        SENTENCE_START.search(text, 0, start) is not None
        and TITLE_STOP.search(text, max(0, start - 12), start) is None
    )


def named_like_person(value: str) -> bool:
    """Whether a word of ``value`` is a given name of any list ("Wendy Hopkins", "Platt,
    David"), or a middle initial stands between two words ("Shovda K Gairbekov"): not "Neue
    Regeln", "Fuse TV", "Entertainment Weekly"."""
    if MIDDLE_INITIAL.search(value):
        return True
    names = any_given_name()
    for word in _words(value):
        if TITLE_WORD.fullmatch(word):
            continue
        first = word.partition("-")[0]
        if first in names or unaccented(first) in names:
            return True
    return False


MIDDLE_INITIAL = regex.compile(r"\p{Lu}\p{Ll}+[ ]+\p{Lu}\.?[ ]+\p{Lu}\p{Ll}")
TITLE_WORD = regex.compile(TITLE.rstrip("+").removesuffix("[ ]"))


def word_not_name(text: str, start: int, end: int, english: frozenset[str]) -> bool:
    """A one-word PERSON of the model that opens a sentence and is an English word no
    given name is ("Attendance was 1,234", "Felt the need"): a capital the sentence gave it."""
    word = text[start:end]
    return (
        " " not in word
        and word[:1].isupper()
        and (word.lower() in english or word.lower() in _stop_words())
        and word not in any_given_name()
        and opens_sentence(text, start)
    )
