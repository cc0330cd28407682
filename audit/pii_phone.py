"""Phone numbers for the PII engine: python-phonenumbers' valid numbers and phone-shaped ones.

Imported only when a PII engine is built (through ``pii_recognizers``).

- ``GroupedPhoneRecognizer``: python-phonenumbers as presidio uses it, but a number whose
  digit groups do not follow its country's format (versions ``5.15.878.1449``, ISBN-10) or
  that is a bare run of digits (order numbers, EAN codes) scores below the default threshold
  unless a phone word stands before it; a number glued to other digits (``$857,164.71``,
  ``13:15:05.877310``) is not a candidate at all, nor a date (``05.07.1994``) or a dotted quad
  (an IPv4 address, a four-part version).
- ``PhoneShapeRecognizer``: phone-shaped numbers that are not valid ones (``001-`` prefixes,
  ``x1234`` extensions, ``+44(0)...``, groups split by dots, slashes or spaces, ten bare
  digits). Most count only after a phone word; the shapes that are written for phone numbers
  and hardly anything else count alone (``strong_shape``): an international prefix and a
  country code, a national trunk ``0`` before grouped digits, the North American 3-3-4
  grouping, an area code in brackets.
- Literal escape sequences (``\\n``, ``\\t``, ``\\r`` typed as two characters: text escaped
  twice on its way through JSON or CSV) read as blanks, so ``Phone:\\n0370 5758447`` is a
  number after a phone word, not one glued to the letter ``n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import phonenumbers
import regex
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts


def recognizer_result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float
) -> RecognizerResult:
    """A presidio result named after ``recognizer`` (every recognizer of the engine uses it;
    it lives here because ``pii_recognizers`` imports this module)."""
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


PHONE_CONTEXT = [
    "phone", "telephone", "tel", "cell", "cellphone", "mobile", "call", "fax", "contact",
    "dial", "whatsapp", "sms", "landline", "hotline", "reach", "ring", "desk", "office",
    "number", "text", "extension", "ext", "mob", "voicemail", "pager", "line", "direct",
    # the same words in German, French, Spanish, Italian, Dutch, Portuguese, Nordic
    "telefon", "telefono", "teléfono", "téléphone", "telefoon", "telefone", "tlf", "tfn",
    "numéro", "número", "numero", "nummer", "handy", "mobil", "móvil", "movil", "celular",
    "cellulare", "portable", "natel", "gsm", "anrufen", "rufen", "erreichen", "bellen",
    "chiami", "chiamare", "chiamaci", "appelez", "appeler", "rappeler", "llamar", "llame",
    "llámame", "ligar", "ring", "tel.",
]  # fmt: skip
PHONE_SEPARATORS = frozenset(" -.()/+")
LITERAL_ESCAPE = re.compile(r"\\[nrt]")


def without_literal_escapes(text: str) -> str:
    """``text`` with each two-character escape ``\\n``, ``\\r``, ``\\t`` as two blanks (the
    same length: offsets do not move)."""
    return LITERAL_ESCAPE.sub("  ", text) if "\\" in text else text


def glued(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is part of a longer number: a price, a time, a version.

    Letters may touch it: an extension (``555-0123x42``) or a label (``tel:``).
    """
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if before.isdigit() or after.isdigit():
        return True
    if before and before in ".,:/-" and start >= 2 and text[start - 2].isdigit():
        # a comma between two fields of a CSV row glues nothing ("1990,614-30-1924"); one
        # inside a number ("1,234,567") is followed by three digits
        return before != "," or THOUSANDS.match(text, start - 1) is not None
    if after and after in ".,:/-" and end + 1 < len(text) and text[end + 1].isdigit():
        return after != "," or THOUSANDS.match(text, end) is not None
    return False


# A comma inside a number: a thousands group or decimals after it, then no more digits.
THOUSANDS = regex.compile(r",(?:\d{3}|\d{1,2})(?![\d])")


# Three groups of digits with one separator: a date when they read as day, month and year in
# some order (y-m-d, d.m.y, m/d/y), with a year of four digits or two.
DATE_GROUPS = regex.compile(r"\(?(\d{1,4})\)?([./ -])(\d{1,2})\2(\d{2,4})")
DOTTED_QUAD = regex.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def date_like(body: str) -> bool:
    """Whether ``body`` is a calendar date written with digits (``2024-03-05``,
    ``05.03.2024``, ``03/05/2024``, ``5 3 2024``)."""
    m = DATE_GROUPS.fullmatch(body.strip())
    if m is None:
        return False
    a, b, c = m.group(1), m.group(3), m.group(4)
    if len(a) == 4:  # year first: y-m-d
        return len(c) <= 2 and 1 <= int(b) <= 12 and 1 <= int(c) <= 31
    if len(a) > 2 or len(c) == 3:
        return False
    first, second = int(a), int(b)
    day_month = 1 <= first <= 31 and 1 <= second <= 12
    month_day = 1 <= first <= 12 and 1 <= second <= 31
    return day_month or month_day


def not_phone(body: str) -> bool:
    """Shapes that are something else even after a phone word: dates, dotted quads (an IPv4
    address, a four-part version), four groups of four digits (a card's or a gift card's
    print: no phone number has 16 digits)."""
    body = body.strip()
    return (
        date_like(body)
        or DOTTED_QUAD.fullmatch(body) is not None
        or CARD_PRINT.fullmatch(body) is not None
    )


CARD_PRINT = regex.compile(r"\d{4}(?:[ -]\d{4}){3}")


class _PhoneRecognizer(LocalRecognizer):
    """What both phone recognizers of this module give presidio: their entity, language,
    context words (``PHONE_CONTEXT`` unless given) and nothing to load."""

    def __init__(self, name: str, context: list[str] | None = None) -> None:
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            name=name,
            supported_language="en",
            context=context if context is not None else list(PHONE_CONTEXT),
        )

    def load(self) -> None:
        pass


class GroupedPhoneRecognizer(_PhoneRecognizer):
    """Phone numbers found by python-phonenumbers, scored by how phone-like they are written."""

    WELL_FORMED = 0.5  # digit groups as the country writes them, or an international '+'
    LOOSE = 0.3  # valid digits, odd grouping or none: needs a context word to pass 0.4

    def __init__(self, regions: Sequence[str], context: list[str] | None = None) -> None:
        self.regions = tuple(regions)
        super().__init__("GroupedPhoneRecognizer", context)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        best: dict[tuple[int, int], float] = {}
        self.match_into(best, without_literal_escapes(text), 0, self.regions)
        return [
            recognizer_result(self, "PHONE_NUMBER", start, end, score)
            for (start, end), score in best.items()
        ]

    def match_into(
        self, best: dict[tuple[int, int], float], text: str, offset: int, regions: Iterable[str]
    ) -> None:
        """Adds the numbers of ``regions`` found in ``text`` to ``best`` ((start, end) shifted
        by ``offset`` -> highest score), so a subclass can match pieces of a text."""
        for region in regions:
            for match in self.matcher(text, region):
                if glued(text, match.start, match.end) or not_phone(match.raw_string):
                    continue
                key = (offset + match.start, offset + match.end)
                score = self._score(match.raw_string, region)
                if score > best.get(key, 0.0):
                    best[key] = score

    def matcher(self, text: str, region: str) -> phonenumbers.PhoneNumberMatcher:
        return phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)

    def _score(self, raw: str, region: str) -> float:
        if raw.startswith("+"):
            return self.WELL_FORMED
        if not PHONE_SEPARATORS.intersection(raw):
            # A bare run of digits: an order number or a barcode as often as a phone, unless
            # it opens with a national trunk '0' and has a phone's length (01632 960291).
            trunk = raw.startswith("0") and not raw.startswith("00") and 10 <= len(raw) <= 11
            return self.WELL_FORMED if trunk else self.LOOSE
        strict = phonenumbers.PhoneNumberMatcher(
            raw, region, leniency=phonenumbers.Leniency.STRICT_GROUPING
        )
        whole = any(m.start == 0 and m.end == len(raw) for m in strict)
        return self.WELL_FORMED if whole else self.LOOSE


# A phone number as people write it, valid or not: an optional '+' (maybe in brackets with
# its country code) and country code, an optional trunk '(0)', groups of digits split by
# single spaces (no-break ones too), dots, dashes or slashes (an area code may be in
# brackets) and an optional extension; maybe in a ``tel:`` link. Possessive digit runs: no
# backtracking over how a run of digits could be split. Not glued to a word, a number, a
# price or a path.
PHONE_SHAPE = regex.compile(
    r"(?:(?<![\w.,:/+$€£@-])|(?<=\b(?:tel|callto|sms):))"
    r"(?:\+[ ]?+)?+"
    r"(?:\(\+?\d{1,5}\)|\d++)"
    r"(?:(?:[ \u00a0\u202f.-]|[ ]?/[ ]?)?+(?:\(\d{1,5}\)|\d++)){0,8}+"
    r"(?:[ ]?+(?:x|ext[.:]?|extension:?|\#)[ ]?+(\d{1,6}+))?+"
    r"(?!\w|[.,:/-]\d)",
    regex.IGNORECASE,
)
PLUS_SIGNS = "+\uff0b"
PHONE_DIGITS = (7, 15)  # E.164 holds at most 15; fewer than 7 is a count, a year, a time
DIGIT_RUN = regex.compile(r"\d+")
# Digits of a national number written with its trunk '0' (an Austrian 01 5767 649 has 9,
# a German 02618 16609 324 has 13).
TRUNK_DIGITS = (9, 13)
# The North American grouping: 3-3-4, maybe after a '1' (1-800-555-0199).
NANP_GROUPS = ([3, 3, 4], [1, 3, 3, 4])
SSN_GROUPS = [3, 2, 4]  # a US social security number's, never a phone's strong shape
# International call prefixes before a country code: 00 (ITU) and 011 (North America).
CALL_PREFIXES = ("011", "00")


def _international_possible(groups: Sequence[str]) -> bool:
    """The digit ``groups`` open with a call prefix and a country calling code, the prefix
    alone or with the code in the first group (``0043 1 ...``, ``00 43 1 ...``, ``001-...``),
    and the national number has a length that country's numbers can have (a valid number, if
    the digits are not grouped at all)."""
    digits = "".join(groups)
    for prefix in CALL_PREFIXES:
        if not digits.startswith(prefix) or digits.startswith(prefix + "0"):
            continue
        rest = digits[len(prefix) :]
        codes = [rest[:n] for n in (1, 2, 3) if int(rest[:n]) in COUNTRY_CODE_TO_REGION_CODE]
        first = groups[0]
        if len(groups) > 1 and first != prefix and first not in {prefix + c for c in codes}:
            return False  # the code runs on into the next group: not written as one
        if not codes:
            return False
        try:
            number = phonenumbers.parse("+" + rest, None)
        except phonenumbers.NumberParseException:
            return False
        if len(groups) == 1:
            # Bare digits from a 00 are an order or invoice number as often: only a number
            # the country has assigned counts (0041791234567).
            return bool(phonenumbers.is_valid_number(number))
        # A length dialled from abroad; not one that is only possible as a local number.
        reason = phonenumbers.is_possible_number_with_reason(number)
        return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)
    return False


def strong_shape(body: str) -> bool:
    """Whether ``body`` (a number without its extension) is written as phone numbers are and
    hardly anything else: an international call prefix and a country code with a national
    number of a possible length (``0043 1 9925 008``, ``001-950-484-2138``), a trunk ``0``
    before grouped digits (``0812 0442 4947``, ``06-20-634-8693``, ``0 (513) 968 10 15``),
    the North American grouping (``989/049-5624``, ``(798)241-7264``), or an area code in
    brackets (``(80)/563-2116``). Dates, dotted quads and numbers whose last group is a
    single digit (an ISBN's check digit) are not."""
    body = body.strip()
    if not_phone(body):
        return False
    groups = [m.group() for m in DIGIT_RUN.finditer(body)]
    digits = "".join(groups)
    if not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1] or len(groups[-1]) < 2:
        return False
    if _international_possible(groups):
        return True
    if len(groups) < 2:
        return False
    lengths = [len(g) for g in groups]
    if lengths == SSN_GROUPS:
        return False
    trunk = digits[0] == "0" and digits[1] != "0"
    if trunk and TRUNK_DIGITS[0] <= len(digits) <= TRUNK_DIGITS[1]:
        return True
    if lengths in NANP_GROUPS and (lengths[0] == 3 or digits[0] == "1"):
        area = digits[0] if lengths[0] == 3 else digits[1]
        if area in "23456789":
            return True
    # An area code in brackets; not a year in brackets ("(2019) 123 4567").
    area = regex.match(r"\((\d{1,5})\)", body)
    return area is not None and not regex.fullmatch(r"(?:19|20)\d\d", area.group(1))


def phone_shapes(text: str) -> Iterable[tuple[int, int, bool]]:
    """(start, end, strong) of every phone-shaped number: 7 to 15 digits before any
    extension; ``strong``: ``strong_shape``."""
    for m in PHONE_SHAPE.finditer(text):
        body = m.group()
        if m.start(1) >= 0:
            body = text[m.start() : m.start(1)]
        digits = sum(ch.isdigit() for ch in body)
        if PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1] and not not_phone(body):
            yield m.start(), m.end(), strong_shape(body.rstrip(" x#.:"))


# Written the way phone numbers are and hardly anything else: an optional country code
# (``+1``, ``001``), an area code (maybe in brackets), then groups ending in three or four
# digits, maybe an extension ("(292) 986-5474 x093", "961.261.0878", "(01701) 893128").
PHONE_STYLE = regex.compile(
    r"(?:\+?\d{1,3}[ .-])?(?:\(\d{2,5}\)[ ]?|\d{2,5}[ .-])\d{2,4}[ .-]?\d{3,4}"
    r"(?:[ ]?(?:x|ext\.?|extension|\#)[ ]?\d{1,6})?",
    regex.IGNORECASE,
)
# A phone-style number right after one of these is where someone is reached ("nobody
# answered at ...", "on ... after six"), though no phone word says so.
REACHED_AT = frozenset(["at", "on", "via", "under", "unter", "op", "al", "au", "sous"])


def reached_at(text: str, start: int, end: int) -> bool:
    """A phone-style number right after one of ``REACHED_AT`` (a context, read by
    ``WordWindowContext`` over the whole text)."""
    before = text[max(0, start - 8) : start]
    words = before.split()
    return (
        bool(words)
        and before[-1:] == " "
        and words[-1].lower() in REACHED_AT
        and PHONE_STYLE.fullmatch(text, start, end) is not None
        and not not_phone(text[start:end])
    )


# The one-letter labels of a signature or a contact sheet (T telephone, M mobile, F fax,
# P phone, H home, W work, C cell, O office), capital, after a colon or a full stop or
# neither: "T +47 920 20 195 | M 36 58 43 61".
LABEL_BEFORE = regex.compile(r"[TMFPHWCO][.:]?[ \t]+$")
# What may stand before such a label: the start of a line or a separator between fields.
LABEL_OPENERS = "\n|;,/\u2022\u00b7"
LABEL_REACH = 8


def after_signature_label(text: str, start: int) -> bool:
    """A one-letter phone label just before ``start``, alone at the start of the text or of a
    line, or after a field separator (a context, read by ``WordWindowContext``)."""
    label = LABEL_BEFORE.search(text, max(0, start - LABEL_REACH), start)
    if label is None:
        return False
    i = label.start()
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    return i == 0 or text[i - 1] in LABEL_OPENERS or LITERAL_ESCAPE.match(text, i - 2) is not None


# A phone word right after a number, as contact sheets label them ("0380 7558505 office",
# "650-752-7354 (mobile)", "0494 41 18 24-Office"); not one that opens the next field
# ("SSN 068-35-8624 / tel. 91440047" labels the number after it).
LABEL_AFTER = regex.compile(
    r"[ ]?(?:[-(,/|][ ]?)?(?:mobile|cell|cellphone|fax|office|phone|tel|landline|whatsapp)"
    r"\b(?![ ]+hours)(?![.:]?[ \t]*[(+]?\d)",
    regex.IGNORECASE,
)


def before_phone_label(text: str, end: int) -> bool:
    """A phone word labels the number ending at ``end`` (a context, read by
    ``WordWindowContext``)."""
    return LABEL_AFTER.match(text, end) is not None


class PhoneShapeRecognizer(_PhoneRecognizer):
    """Phone numbers python-phonenumbers does not call valid (unassigned area codes, odd
    trunk prefixes, fictional 555 ranges, extensions), by their shape alone: a score that
    passes the threshold only with a phone word before the number ("call me on", "reach me
    at", "tel", "called from"), unless the shape is ``strong_shape``. The deny words (order,
    invoice, isbn, version...) still veto.
    """

    SCORE = 0.1  # + CONTEXT_FACTOR = 0.45: above the default threshold only in context
    # A '+' and a country code: hardly anything else is written so (never a card, see
    # CardNumberRecognizer), so the shape alone passes the threshold.
    INTERNATIONAL_SCORE = 0.4
    # A phone's shape: passes alone; above spaCy's guesses (pii.NER_SCORE, 0.45: a DATE on
    # "06-5/107 2836" would win the tie), below a valid number (0.5) and an SSN (0.5).
    STRONG_SCORE = 0.48

    def __init__(self, context: list[str] | None = None) -> None:
        super().__init__("PhoneShapeRecognizer", context)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        text = without_literal_escapes(text)
        return [
            recognizer_result(self, "PHONE_NUMBER", s, e, self._score(text[s : s + 2], strong))
            for s, e, strong in phone_shapes(text)
        ]

    def _score(self, lead: str, strong: bool) -> float:
        if strong:
            return self.STRONG_SCORE
        international = lead[:1] in PLUS_SIGNS or (lead[:1] == "(" and lead[1:] in PLUS_SIGNS)
        return self.INTERNATIONAL_SCORE if international else self.SCORE
