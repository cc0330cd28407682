"""Names the small spaCy model misses, found by their shape (ner mode only).

The small English model labels many people's names as organisations ("Wendy Hopkins",
"Daniel Marques") or not at all when the name is not English ("Please contact Graziano
Broschi"). Two shape rules, used by ``pii_recognizers.CheckedSpacyRecognizer``, raise recall
on names without a gazetteer:

- ``person_shaped``: an ORG span of two to four capitalised words (particles such as "van",
  "de" between them), none of them a word that names companies ("Inc", "Bank", "Group"...),
  is taken for a person: for an auditor a company flagged as a person costs less than a
  person missed.
- ``cued_names``: capitalised words right after a word that introduces a person ("Dear",
  "Thanks", "Regards,", "contact", "ask", "spoke with", "my name is", "Mr."...): two or more,
  or one after a salutation or a title.

Pattern mode does not use them: it promises no names.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

PARTICLES = r"(?:van|von|der|den|de|del|della|da|di|du|dos|das|la|le|bin|ibn|al|el|y|zu|ter)"
# A capitalised word: an upper-case letter then letters, with inner hyphens or apostrophes.
CAPITALISED = r"\p{Lu}[\p{Ll}\p{Lu}]*+(?:['’-]\p{Lu}?[\p{Ll}]++)*+"
NAME_WORDS = rf"{CAPITALISED}(?:[ ]+(?:{PARTICLES}[ ]+)?{CAPITALISED}){{0,3}}+"
# Words that introduce a person; (?i) for the cue only, names keep their case.
# After these one capitalised word is taken for a name too: salutations, sign-offs, titles.
SALUTATIONS = (
    r"dear|hi|hello|hey|thanks|thank[ ]you|greetings|regards|sincerely|cheers|signed|wishes|"
    r"mr\.?|mrs\.?|ms\.?|dr\.?|prof\.?"
)
CUES = (
    r"contact|contacted|ask|asked|tell|told|cc|attn|"
    r"attention|email|e-mail|call|called|spoke[ ]with|spoke[ ]to|talked[ ]to|met[ ]with|"
    r"met|name[ ]is|i[ ]am|i'm|this[ ]is|customer|client|patient|agent|employee|manager|"
    r"owner|holder|user|applicant|tenant|signed[ ]by|assigned[ ]to|approved[ ]by|"
    r"forward[ ](?:this|it)[ ]to|passed[ ]to|handed[ ]to|on[ ]behalf[ ]of|care[ ]of|"
    r"belongs[ ]to|belonging[ ]to|addressed[ ]to|written[ ]by|sent[ ]by|"
    r"driver|courier|landlord|landlady|colleague|director|doctor|nurse|teacher|student|"
    r"candidate|buyer|seller|sender|recipient|payee|payer|author|reviewer|assignee|"
    r"reporter|requester|caller|guest|member|partner|wife|husband|son|daughter|mother|father|"
    r"brother|sister|friend|neighbour|neighbor|boss|supervisor|lawyer|attorney"
)
CUED = regex.compile(
    rf"(?<![\w])(?i:(?P<salute>{SALUTATIONS})|(?:{CUES}))[,:]?(?:[ ]+|[ ]*\n[ ]*)"
    rf"(?P<name>{NAME_WORDS})"
)
# A name written as a mail header writes it, "Jade Tielemans <jade@example.net>" or with the
# address in brackets, and a name signing a message off at its end ("... - Karina").
BESIDE_EMAIL = regex.compile(rf"(?P<name>{NAME_WORDS})[ ]*[<(][^\s<>()@]+@")
SIGNATURE = regex.compile(rf"(?:[ ][-–—|][ ]*|\n)(?P<name>{NAME_WORDS})[ .!]*$")
# Capitalised words that are not names even after a cue.
_NOT_NAMES = """
    The A An This That These Those It We You They He She I My Our Your Their His Her Team All
    Everyone Sir Madam Madame Support Sales Service Customer Client Please Thanks Thank Hello
    Hi Dear Regards Best Kind Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    January February March April May June July August September October November December
    Today Tomorrow Yesterday Mr Mrs Ms Dr Prof Ltd Inc
"""
NOT_NAMES = frozenset(_NOT_NAMES.split())
# Words that name companies, institutions and places, not people.
_ORG_WORDS = """
    inc ltd llc plc gmbh ag sa sarl srl spa bv nv co corp corporation company companies group
    holdings bank university college school institute hospital clinic foundation trust fund
    partners associates services solutions systems technologies technology software labs
    industries international global consulting capital ventures media network networks
    airlines airways motors pharma energy council committee ministry department agency
    office church club team hotel restaurant cafe store shop market street avenue road
"""
ORG_WORDS = frozenset(_ORG_WORDS.split())


WORD = regex.compile(r"\S+")


def _words(value: str) -> list[str]:
    return value.replace(",", " ").split()


def person_shaped(value: str) -> bool:
    """Two to four capitalised words (particles between them), none naming a company."""
    words = _words(value)
    names = [w for w in words if not regex.fullmatch(PARTICLES, w)]
    if not 2 <= len(names) <= 4 or len(words) > 5:
        return False
    if any(w.lower().strip(".") in ORG_WORDS or w in NOT_NAMES for w in words):
        return False
    return all(regex.fullmatch(CAPITALISED, w) for w in names) and "&" not in value


def cued_names(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of capitalised words right after a word that introduces a person, before
    an e-mail address in brackets, or alone at the end of a text after a dash or a line."""
    found = [(m, m.group("salute") is not None) for m in CUED.finditer(text)]
    found += [(m, False) for m in BESIDE_EMAIL.finditer(text)]
    found += [(m, True) for m in SIGNATURE.finditer(text)]
    for m, single_word_ok in found:
        start, end = m.span("name")
        # Stop at the first word that is not a name ("Thanks Maria Team" keeps "Maria").
        kept: list[tuple[str, int]] = []
        for word in WORD.finditer(text, start, end):
            if word.group() in NOT_NAMES or word.group().lower() in ORG_WORDS:
                break
            kept.append((word.group(), word.end()))
        while kept and regex.fullmatch(PARTICLES, kept[-1][0]):
            kept.pop()
        if not kept or (len(kept) == 1 and (not single_word_ok or len(kept[0][0]) < 2)):
            continue
        yield start, kept[-1][1]
