"""Names in text that is not English (ner mode): what a capital letter means there.

The small English model labels capitalised words of German, French, Spanish, Italian, Dutch
and Portuguese sentences as people ("Betreff", "Grüßen", "das Konto", "il bonifico") because
nouns (German) and salutations are capitalised there. This module knows:

- ``FOREIGN_WORDS``: the function words of those six languages (spaCy's stop-word lists,
  a library ner mode already loads) and a compact list of their frequent capitalised words
  (salutations, sign-offs, titles, mail headers, months, weekdays, nouns of letters and
  tickets), less English words and name particles ("van", "de");
- ``foreign_line``: whether the line or sentence around a span is written in one of them,
  read from its function words (more of them than English ones);
- ``foreign_noise``: whether a PERSON span with no other evidence is such a word: a
  lower-case span holding a function word ("votre rendez-vous"), a span of salutations
  ("Estimada Sra"), or, in a sentence of another language, a capitalised word that is no
  given name and has no title or greeting before it ("Rechnung", "Danke");
- ``foreign_titled``: the name after a title of those languages ("Sehr geehrte Frau
  Kealoha", "Gentile Sig.ra Mayor", "Geachte heer Inoue"); the title is not in the span;
- ``trim_titles``: a span without the titles and salutations it starts with ("Sra. Aarif").
"""

from __future__ import annotations

import functools
import importlib

import regex

from audit.pii_names import (
    CAPITALISED,
    PARTICLES,
    PARTICLES_SET,
    any_given_name,
    in_lexicon,
    is_stop_word,
)

LANGUAGES = ("de", "fr", "es", "it", "nl", "pt")
# Frequent capitalised words of letters, mails, chats and tickets in those languages (lower
# case): salutations, sign-offs, titles, mail headers, weekdays, months, and the nouns such
# texts are made of. Never a name there; a name is found by its own evidence instead.
_COMMON = """
    guten herr frau fräulein sehr geehrte geehrter geehrtes liebe lieber liebes hallo moin servus
    grüße grüßen gruß grüsse grüssen freundlichen freundliche besten beste herzliche danke
    dank vielen bitte betreff gesendet anbei rechnung konto überweisung bestellung lieferung
    termin frage fragen rückfragen rückruf nachricht telefon handy datum uhr kunde kundin
    kundennummer vertrag zahlung auftrag anfrage antwort abteilung mitarbeiter unterlagen
    montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz juni juli
    oktober dezember okt dez mfg
    madame monsieur mademoiselle mme mlle messieurs cher chère chers bonjour bonsoir salut
    merci cordialement amicalement objet envoyé rendez-vous commande facture livraison compte
    virement carte numéro téléphone courriel adresse client cliente lundi mardi mercredi
    jeudi vendredi samedi dimanche janvier février mars avril juin juillet août septembre
    octobre novembre décembre janv févr avr juil déc
    señor señora señorita sr sra srta doña dña estimado estimada estimados estimadas querido
    querida hola buenos buenas días tardes noches saludos atentamente gracias muchas
    cordialmente asunto pedido factura entrega cuenta tarjeta transferencia número teléfono
    correo dirección lunes martes miércoles jueves viernes sábado domingo enero febrero
    marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre
    signor signore signora signorina sig dott dott.ssa sig.ra gentile gentili egregio egregia
    ciao buongiorno buonasera salve grazie cordiali saluti distinti oggetto ordine fattura
    consegna conto bonifico numero telefono indirizzo lunedì martedì mercoledì giovedì
    venerdì sabato domenica gennaio febbraio aprile maggio giugno luglio settembre ottobre
    novembre dicembre
    heer mevrouw meneer dhr mevr geachte beste lieve hoi groet groeten vriendelijke bedankt
    onderwerp bestelling factuur levering rekening overboeking kaart nummer telefoon adres
    klant maandag dinsdag woensdag donderdag vrijdag zaterdag zondag januari februari maart
    augustus
    senhor senhora prezado prezada olá obrigado obrigada atenciosamente cumprimentos assunto
    fatura cartão endereço terça quarta sexta janeiro fevereiro março maio junho julho
    setembro outubro dezembro
"""
COMMON = frozenset(_COMMON.split())
# Titles written before a family name in those languages (and English ones), with or without
# a full stop; "Herr Dr." is two of them.
TITLE_WORDS = (
    r"herr|frau|fräulein|madame|monsieur|mademoiselle|mme|mlle|señor|señora|señorita|"
    r"sr|sra|srta|doña|dña|signor|signore|signora|signorina|sig|sig\.ra|sig\.na|dott|"
    r"dott\.ssa|avv|heer|mevrouw|meneer|dhr|mevr|senhor|senhora|dr|prof|mr|mrs|ms|mx"
)
TITLE_RUN = rf"(?:(?i:{TITLE_WORDS})\.?[ ]+)+"
# Greetings and sign-offs before a name: "Hallo", "Ciao", "Hola", "Beste", "Querida".
GREETINGS = (
    r"hallo|hello|hi|hey|dear|liebe|lieber|ciao|hola|salut|bonjour|buongiorno|beste|hoi|"
    r"querida|querido|caro|cara|cher|chère|estimado|estimada|gentile|olá|oi|moin|servus|"
    r"grüße|groet|groeten|saludos|cordialement|atentamente|saluti|thanks|danke|merci|grazie|"
    r"gracias|bedankt|obrigado|obrigada|soy|sono|suis|heet|chiamo|llamo"
)
# Mail headers naming the sender or the addressee: "Von:", "De :", "Da:", "Van:", "An:".
HEADERS = r"von|de|da|van|an|à|para|a|per|aan"
BEFORE_NAME = regex.compile(
    rf"(?<![\w])(?:{TITLE_RUN}|(?i:{GREETINGS})[,:!]?[ ]+|(?i:{HEADERS})[ ]?:[ ]*)$"
)
FOREIGN_TITLED = regex.compile(
    rf"(?<![\w.])(?i:{TITLE_WORDS})\.?[ ]+(?:(?i:{TITLE_WORDS})\.?[ ]+)?"
    rf"(?P<name>(?:{PARTICLES}[ ]+){{0,2}}{CAPITALISED}(?:[ ]+(?:{PARTICLES}[ ]+){{0,2}}"
    rf"{CAPITALISED}){{0,2}})"
)
WORDS = regex.compile(r"\p{L}[\p{L}'’.-]*\p{L}")


@functools.cache
def foreign_words() -> frozenset[str]:
    """Function words of ``LANGUAGES`` and ``COMMON`` (lower case), less English stop words
    and name particles. Loaded when first needed (ner mode has spaCy)."""
    words: set[str] = set(COMMON)
    for lang in LANGUAGES:
        try:
            module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
        except ImportError:  # pragma: no cover - ner mode needs spaCy anyway
            continue
        words.update(w.lower() for w in module.STOP_WORDS)
    return frozenset(w for w in words if not is_stop_word(w) and w not in PARTICLES_SET)


@functools.cache
def _language_words() -> frozenset[str]:
    """``foreign_words`` and the particles, which are articles and prepositions there
    ("le", "la", "el", "de", "het"): what tells a sentence's language."""
    return foreign_words() | frozenset(p for p in PARTICLES_SET if not is_stop_word(p))


def foreign_word(word: str) -> bool:
    return word.lower().strip(".") in foreign_words() or word.lower() in foreign_words()


# The full stop of an initial ("Yves U. Jacobs") ends no sentence.
SENTENCE_END = regex.compile(r"\n|(?<!(?<!\w)\p{Lu})[.!?;](?=\s)")
SENTENCE_BEGIN = regex.compile(
    r"(?:\n|(?<!(?<!\w)\p{Lu})[.!?;]\s)(?:[^\n.!?;]|[.!?;](?!\s)|(?<=(?<!\w)\p{Lu})\.)*$"
)


def _line_around(text: str, start: int) -> str:
    """The line (or sentence) holding ``start``: up to a line break, or a full stop, "!",
    "?" or ";" before a blank (the dots of an address or a number end nothing)."""
    m = SENTENCE_BEGIN.search(text, max(0, start - 300), start)
    begin = m.start() + 1 if m else max(0, start - 300)
    end = SENTENCE_END.search(text, start)
    return text[begin : end.start() if end else len(text)]


@functools.lru_cache(maxsize=4096)
def _foreign_text(line: str) -> bool:
    words = [w.lower() for w in WORDS.findall(line)]
    foreign = sum(1 for w in words if w in _language_words())
    english = sum(1 for w in words if is_stop_word(w))
    # A short line of its own ("Mit freundlichen Grüßen", "Betreff: Rückruf") needs one word
    # that is no given name ("Ali" ends a list of names).
    names = any_given_name()
    plain = sum(1 for w in words if w in _language_words() and w.capitalize() not in names)
    short = plain >= 1 and english == 0 and len(words) <= 4
    return (foreign >= 2 and foreign > english) or short


def foreign_line(text: str, start: int) -> bool:
    """Whether the line or sentence around ``start`` is written in one of ``LANGUAGES``."""
    return _foreign_text(_line_around(text, start))


def evidence_before(text: str, start: int) -> bool:
    """A title or a greeting right before ``start`` ("Frau ", "Ciao ", "soy ")."""
    return BEFORE_NAME.search(text, max(0, start - 40), start) is not None


def _given(word: str) -> bool:
    names = any_given_name()
    return word in names or word.capitalize() in names


def foreign_noise(text: str, start: int, end: int) -> bool:
    """Whether a PERSON span is words of another language, not a name (see the module)."""
    words = WORDS.findall(text, start, end)
    if not words:
        return False
    if words[0] in PARTICLES_SET and all(w[:1].islower() for w in words):
        return True  # "de la rappeler": a lower-case name does not start with a particle
    lower = [w for w in words if w[:1].islower() and w not in PARTICLES_SET]
    if any(foreign_word(w) and not _given(w) for w in lower):
        return True  # "votre rendez-vous", "il bonifico"
    names = [w for w in words if w not in PARTICLES_SET]
    if all(w.lower().strip(".") in COMMON and not _given(w) for w in names):
        return True  # "Estimada Sra", "Sehr geehrter Herr": salutations and titles only
    if evidence_before(text, start):
        return False  # "Frau Kealoha", "Ms. Gut", "Ciao Ali"
    foreign = foreign_line(text, start)
    if all(foreign_word(w) for w in names) and (foreign or not any(_given(w) for w in names)):
        return True  # "Estimada Sra", "Danke"; not "Sue, can I..." nor "Nada, we rebooked"
    if not foreign:
        return False
    if lower:
        return True  # lower case in a sentence of another language, no greeting before
    if any(foreign_word(w) and not in_lexicon(w) for w in names):
        return True
    return len(names) == 1 and not in_lexicon(names[0])


TITLE_AT_START = regex.compile(rf"(?:(?i:{TITLE_WORDS}|{GREETINGS})\.?,?[ ]+)+")


def trim_titles(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without the titles and greetings the span starts with."""
    m = TITLE_AT_START.match(text, start, end)
    return (m.end(), end) if m and m.end() < end else (start, end)


def foreign_titled(text: str) -> list[tuple[int, int]]:
    """(start, end) of the names after a title ("Frau Kealoha", "Sig.ra Mayor"), up to the
    first word of another language ("Frau Kealoha Bitte" -> "Kealoha")."""
    out = []
    for m in FOREIGN_TITLED.finditer(text):
        kept: list[tuple[int, int]] = []
        for w in regex.finditer(r"\S+", text[: m.end("name")], pos=m.start("name")):
            if w.group() in PARTICLES_SET:
                kept.append(w.span())
                continue
            if foreign_word(w.group()):
                break
            kept.append(w.span())
        while kept and text[kept[-1][0] : kept[-1][1]] in PARTICLES_SET:
            kept.pop()
        if kept and text[kept[0][0] : kept[0][1]] in PARTICLES_SET and len(kept) == 1:
            continue
        if kept:
            out.append((kept[0][0], kept[-1][1]))
    return out
