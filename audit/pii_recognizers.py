"""The presidio pieces the PII engine swaps in or adds: offline, stricter, or declared in YAML.

Imported only when a PII engine is built (presidio takes seconds to import).

- ``OfflineEmailRecognizer``: presidio's email pattern (and a quoted local part,
  ``"john..doe"@example.org``), with the domain checked offline: any syntactically valid host
  name (internal and reserved names such as ``.example``, ``.internal``, ``.local`` too) whose
  last label is not a file extension (``icon@2x.png``) unless the public suffix list bundled in
  tldextract knows it; the stock recognizer fetches the list from the network.
- Phone numbers: ``pii_phone`` (``GroupedPhoneRecognizer``, ``PhoneShapeRecognizer``).
- ``CardNumberRecognizer``: 12 to 19 digits in groups, Luhn-valid, with a card network's
  prefix, never after a '+'. Presidio's own regex misses Mastercard's 2-series, Maestro,
  JCB-15 and 19-digit Visa numbers. Only a number grouped as cards are printed (4-4-4-4,
  4-6-5...) or not grouped counts alone; a bare 12 or 13 digits with a valid GS1 check digit
  (UPC-A, EAN-13) or an odd grouping (a serial ``529-81830-7330``) needs a card word before it.
- ``CheckedSpacyRecognizer``: spaCy's entities, minus those whose shape cannot fit (a PERSON
  with digits, a DATE_TIME with neither a month, a weekday, a year nor a d/m/y form).
- ``TimedRegexRecognizer``: a custom YAML recognizer, matched with a timeout.
- ``WordWindowContext``: context words as presidio scores them (+0.35, at least 0.4), read
  from the five words before a match without a spaCy model (the no_op engine has no lemmas),
  words that veto a match (``order``, ``isbn``, ``version``... before a phone number), and
  numbers that are only a piece of a longer one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence

import regex
import tldextract
from presidio_analyzer import EntityRecognizer, LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer, SpacyRecognizer

from audit.pii_custom import RecognizerSpec
from audit.pii_foreign import trim_titles
from audit.pii_names import non_name
from audit.pii_people import drop_person, person_spans
from audit.pii_phone import (
    after_signature_label,
    before_phone_label,
    glued,
    reached_at,
    recognizer_result,
    without_literal_escapes,
)

CONTEXT_FACTOR = 0.35
MIN_SCORE_WITH_CONTEXT = 0.4
# presidio reads five; a name of four words and "on" stand between "contact" and a number.
CONTEXT_WORDS_BEFORE = 8
DENY_WORDS_BEFORE = 3
# Words that may stand between a deny word and the value it names ("order number is 123").
_JOINERS = (
    "number no num nr nbr id code is was ref reference the your my of "
    "nummer numéro numero número numer nº n de da del della di du der des van het"
)
DENY_JOINERS = frozenset(_JOINERS.split())
# Words that name an entity outright: nearer to a match than a deny word, they overrule it.
_PHONE_WORDS = "phone telephone tel mobile cell cellphone landline fax whatsapp call ring"
NAMING_WORDS = {
    "PHONE_NUMBER": frozenset(_PHONE_WORDS.split()),
    "US_SSN": frozenset(["ssn", "social", "security"]),
}
# Long enough to hold eight words before a match; context is only looked for that far back.
CONTEXT_CHARS = 120
SSN_PRINT = regex.compile(r"\d{3}([- ])\d{2}\1\d{4}")
SSN_PRINT_BONUS = 0.01
LITERAL_BREAK = regex.compile(r"\\[nrt]")
WORD = re.compile(r"[^\W\d_]+")


# --- e-mail --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def offline_tld_extractor() -> tldextract.TLDExtract:
    """tldextract with the suffix list shipped in its wheel: no fetch, no cache folder."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


# A host name's label: letters or digits (any script), hyphens inside, at most 63.
HOST_LABEL = regex.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")
# Last labels that name a file, not a domain, unless the suffix list knows them (logo@2x.png).
FILE_EXTENSIONS = frozenset((
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "heic", "pdf",
    "js", "mjs", "ts", "tsx", "jsx", "py", "rb", "go", "rs", "java", "kt", "c", "h", "cpp",
    "hpp", "cs", "css", "scss", "html", "htm", "json", "yml", "yaml", "toml", "xml", "md",
    "txt", "csv", "log", "lock", "ini", "cfg", "conf", "exe", "dll", "so", "dylib", "bin",
    "dat", "tar", "gz", "tgz", "bz2", "xz", "whl", "jar", "war", "map", "min",
))  # fmt: skip
# A quoted local part ("john..doe"@example.org, RFC 5322), one token long.
QUOTED_EMAIL = Pattern(
    "Email (quoted local part)",
    r'(?<![\w"])"[^"\s@\\]{1,64}"@\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+\b',
    0.5,
)


def domain_valid(address: str) -> bool:
    """Whether the part after the last ``@`` is a host name an address can be at: two labels
    or more, each a valid label, the last alphabetic (or punycode ``xn--``) and not a file
    extension the public suffix list does not know."""
    labels = address.rsplit("@", 1)[-1].split(".")
    if len(labels) < 2 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        return False
    top = labels[-1].lower()
    if not ((top.isalpha() and len(top) >= 2) or top.startswith("xn--")):
        return False
    return top not in FILE_EXTENSIONS or offline_tld_extractor()(address).suffix != ""


class OfflineEmailRecognizer(EmailRecognizer):
    def __init__(self) -> None:
        super().__init__(
            name="OfflineEmailRecognizer", patterns=[*EmailRecognizer.PATTERNS, QUOTED_EMAIL]
        )

    def validate_result(self, pattern_text: str) -> bool:
        return domain_valid(pattern_text)


# --- payment cards -------------------------------------------------------------------------

# Issuer prefixes (first digits) of the card networks, as inclusive ranges of equal width:
# Visa 4; Mastercard 51-55, 2221-2720; Amex 34, 37; Diners 300-305, 309, 36, 38-39;
# JCB 35 (3528-3589 assigned), 2131, 1800; Mir 2200-2204; Maestro, Discover, UnionPay,
# RuPay 50, 56-69, and Maestro's old 0604 (Faker still issues it).
CARD_PREFIXES = (
    ("4", "4"), ("51", "55"), ("2221", "2720"), ("34", "34"), ("37", "37"), ("300", "305"),
    ("309", "309"), ("36", "36"), ("38", "39"), ("35", "35"), ("2131", "2131"),
    ("1800", "1800"), ("2200", "2204"), ("50", "50"), ("56", "69"), ("0604", "0604"),
)  # fmt: skip
CARD_DIGITS = (12, 19)
# Digit groups split by single spaces or dashes; possessive so a rejected tail is not
# retried as a shorter number. Not preceded or followed by more of the same token.
# A '+' before the number (and its country code) makes it a phone number, never a card.
DIGIT_RUN = regex.compile(r"(?<![\w.,+-])(?<!\+\d{0,3}[ ]?)\d++(?:[ -]\d++)*+(?![\w]|[.,-]\d)")
DIGIT_GROUP = regex.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_prefix_known(digits: str) -> bool:
    return any(low <= digits[: len(low)] <= high for low, high in CARD_PREFIXES)


def card_spans(text: str) -> Iterable[tuple[int, int]]:
    """(start, end) of every card number: the longest valid run of whole digit groups."""
    for run in DIGIT_RUN.finditer(text):
        groups = [(m.start(), m.end()) for m in DIGIT_GROUP.finditer(run.group(0))]
        offset = run.start()
        # A number printed in fours as cards are (a gift card "4988 2249 5349 8488") is one
        # number: no card starts in its middle when the whole fails the checksum.
        whole = sum(e - s for s, e in groups)
        one_number = printed_as_card([e - s for s, e in groups]) and whole <= CARD_DIGITS[1]
        i = 0
        while i < (1 if one_number and len(groups) > 1 else len(groups)):
            digits = ""
            last = -1
            for j in range(i, len(groups)):
                digits += run.group(0)[groups[j][0] : groups[j][1]]
                if len(digits) > CARD_DIGITS[1]:
                    break
                if (
                    len(digits) >= CARD_DIGITS[0]
                    and card_prefix_known(digits)
                    and luhn_valid(digits)
                    and (not one_number or j == len(groups) - 1)
                ):
                    last = j
            if last < 0:
                i += 1
                continue
            yield offset + groups[i][0], offset + groups[last][1]
            i = last + 1


def gs1_valid(digits: str) -> bool:
    """The GS1 check digit (UPC-A, EAN-13): weights 3 and 1 from the right, check excluded."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


# Barcode lengths: a bare UPC-A (12) or EAN-13 (13) with its check digit is a product code as
# often as a (rare) 12- or 13-digit card number.
BARCODE_DIGITS = (12, 13)
AMEX_DINERS_GROUPS = ([4, 6, 5], [4, 6, 4])


def printed_as_card(lengths: Sequence[int]) -> bool:
    """Digit groups as card numbers are printed: fours with a shorter last group (4-4-4-4,
    4-4-4-4-3) or Amex's and Diners' 4-6-5 and 4-6-4."""
    if list(lengths) in AMEX_DINERS_GROUPS:
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def card_score(value: str) -> float:
    """``CardNumberRecognizer.SCORE``, or ``ODD_SCORE`` (needs a card word) for a bare
    barcode-shaped number or digits grouped as no card is printed (a serial number)."""
    groups = DIGIT_GROUP.findall(value)
    if len(groups) == 1:
        barcode = len(value) in BARCODE_DIGITS and gs1_valid(value)
        return CardNumberRecognizer.ODD_SCORE if barcode else CardNumberRecognizer.SCORE
    if printed_as_card([len(g) for g in groups]):
        return CardNumberRecognizer.SCORE
    return CardNumberRecognizer.ODD_SCORE


# Card words, and the payment words a card number is given with ("charge it to ...").
CARD_CONTEXT = (
    "credit", "card", "visa", "mastercard", "amex", "discover", "jcb", "maestro", "charge",
    "payment", "paid", "debit",
    # card words of German, French, Spanish, Italian, Dutch, Portuguese text
    "karte", "kreditkarte", "carte", "bancaire", "tarjeta", "crédito", "credito", "carta",
    "kaart", "creditcard", "cartão", "cartao", "débito",
)  # fmt: skip


class CardNumberRecognizer(LocalRecognizer):
    SCORE = 1.0
    ODD_SCORE = 0.1  # + CONTEXT_FACTOR = 0.45: counts only after a card word

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["CREDIT_CARD"],
            name="CardNumberRecognizer",
            supported_language="en",
            context=list(CARD_CONTEXT),
        )

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [
            recognizer_result(self, "CREDIT_CARD", s, e, card_score(text[s:e]))
            for s, e in card_spans(text)
        ]


# --- spaCy named entities ------------------------------------------------------------------

# The small English model labels many digit strings (phone numbers, SSNs, ZIP codes) as DATE
# or even PERSON, and relative phrases ("last month", "years") as DATE: neither is personal.
MONTHS_DAYS = regex.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s|sday)?|"
    r"wed(?:nesday)?|thu(?:rs?|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\b\.?",
    regex.IGNORECASE,
)
# A year of a living person's life, a d/m/y or y-m-d form, or a clock time.
DATE_SHAPE = regex.compile(
    r"\b(?:19|20)\d{2}\b|\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b|\b\d{1,2}:\d{2}\b"
)


def plausible_ner(entity: str, value: str) -> bool:
    """Whether a spaCy span of ``entity`` can be what it claims (a cheap shape check)."""
    if entity == "PERSON":  # not a word the model took for a name ("Tel", "Dispatcher")
        return not any(ch.isdigit() for ch in value) and not non_name(value)
    if entity == "NRP":
        return not any(ch.isdigit() for ch in value)
    if entity == "LOCATION":
        return any(ch.isalpha() for ch in value)
    if entity == "DATE_TIME":
        return bool(MONTHS_DAYS.search(value) or DATE_SHAPE.search(value))
    return True


class CheckedSpacyRecognizer(SpacyRecognizer):
    """presidio's spaCy recognizer, keeping only spans whose shape fits their entity, plus
    the names the small model misses (``pii_people.person_spans``: person-shaped ORG spans,
    which the engine maps to ``ORGANIZATION`` and reports nowhere else, and the name rules),
    at the model's own score or a little above."""

    def __init__(self, entities: Sequence[str]) -> None:
        super().__init__(
            supported_language="en",
            supported_entities=list(entities),
            name="CheckedSpacyRecognizer",
        )
        self._english: frozenset[str] | None = None  # the model's English words, once read

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        if self._english is None and nlp_artifacts is not None:
            self._english = english_words(nlp_artifacts.nlp_engine)
        english = self._english or frozenset()
        kept = [r for r in results if plausible_ner(r.entity_type, text[r.start : r.end])]
        if "PERSON" not in entities or "PERSON" not in self.supported_entities:
            return kept
        orgs = nlp_artifacts.entities if nlp_artifacts is not None else []
        doc = getattr(nlp_artifacts, "tokens", None)
        spans = [(e.start_char, e.end_char, e.label_) for e in orgs]
        kept += [
            recognizer_result(self, "PERSON", s, e, score)
            for s, e, score in person_spans(text, spans, doc, english)
        ]
        for r in kept:  # "Estimada Sra. Aarif" -> "Aarif"
            if r.entity_type == "PERSON":
                r.start, r.end = trim_titles(text, r.start, r.end)
                # a name ends at a line break typed as "\n" ("Paul Waechter\n\nJestetten")
                escape = LITERAL_BREAK.search(text, r.start, r.end)
                if escape and escape.start() > r.start:
                    r.end = escape.start()
        return [
            r
            for r in kept
            if r.entity_type != "PERSON" or not drop_person(text, r.start, r.end, doc, english)
        ]


def english_words(nlp_engine: object) -> frozenset[str]:
    """English words (lower case) of the spaCy model's lemmatizer tables (the WordNet index
    and its exceptions); empty for a model without them."""
    words: set[str] = set()
    try:
        lookups = nlp_engine.nlp["en"].get_pipe("lemmatizer").lookups  # type: ignore[attr-defined]
        for table in ("lemma_index", "lemma_exc"):
            if lookups.has_table(table):
                for entries in lookups.get_table(table).values():
                    words.update(w.lower() for w in entries)
    except (AttributeError, KeyError, TypeError):
        pass  # no spaCy pipeline or no rule lemmatizer: no word list, no rule that needs one
    return frozenset(words)


# --- custom recognizers from YAML ----------------------------------------------------------


class TimedRegexRecognizer(LocalRecognizer):
    """A recognizer from a YAML file; each pattern's search is stopped after ``timeout`` s."""

    def __init__(self, spec: RecognizerSpec, timeout: float) -> None:
        self.patterns = spec.compiled()
        self.timeout = timeout
        self.timeouts = 0
        super().__init__(
            supported_entities=[spec.entity],
            name=f"custom:{spec.name}",
            supported_language="en",
            context=list(spec.context),
        )

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        results: list[RecognizerResult] = []
        for pattern, score, _label in self.patterns:
            try:
                for m in pattern.finditer(text, timeout=self.timeout):
                    if m.end() > m.start():
                        results.append(recognizer_result(self, entity, m.start(), m.end(), score))
            except TimeoutError:
                # The text is skipped for this pattern, and counted so the report says so.
                self.timeouts += 1
        return results


# --- context -------------------------------------------------------------------------------


def _word_key(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalpha())


def _matches(word: str, keys: frozenset[str]) -> bool:
    if word in keys:
        return True
    # "phones", "calling", "cards": a prefix match for words long enough not to collide.
    return any(len(k) >= 4 and word.startswith(k) for k in keys)


def words_before(text: str, start: int, count: int) -> list[str]:
    # "Phone:\\n0370 ...": an escape typed as two characters is a blank, not an "n" that
    # would make one word of "nPhone".
    window = without_literal_escapes(text[max(0, start - CONTEXT_CHARS) : start])
    return [w.lower() for w in WORD.findall(window)[-count:]]


# An e-mail address, then a separator, right before a number: a contact line ("Ann Lee -
# ann@example.org - 378.680.2790 x34409"), where the number is a phone number.
EMAIL_THEN_SEPARATOR = regex.compile(r"@[\w-]+(?:\.[\w-]+)*\.\w+[ ]*(?:[-–—|,/;]|[ ]or)[ ]*$")


def after_email(text: str, start: int) -> bool:
    return bool(EMAIL_THEN_SEPARATOR.search(text, max(0, start - CONTEXT_CHARS), start))


# A port after an IP address ("192.0.2.14:8080", "[2001:db8::1]:443"): not a longer number.
PORT_AFTER = regex.compile(r"\]?:\d{1,5}(?![\d.]|:\d)")


def glued_value(result: RecognizerResult, text: str) -> bool:
    """``glued``, but an IP address may be followed by its port."""
    start, end = result.start, result.end
    if result.entity_type == "IP_ADDRESS" and PORT_AFTER.match(text, end):
        return glued(text[:end], start, end)
    return glued(text, start, end)


class WordWindowContext(ContextAwareEnhancer):
    """Context words raise a score; deny words just before a match remove it, and so does
    being glued to a longer number for the entities in ``unglued`` (an IP address inside
    the French phone number 04.15.68.30.65)."""

    def __init__(
        self, deny_words: Mapping[str, Iterable[str]], unglued: Iterable[str] = ()
    ) -> None:
        super().__init__(
            context_similarity_factor=CONTEXT_FACTOR,
            min_score_with_context_similarity=MIN_SCORE_WITH_CONTEXT,
            context_prefix_count=CONTEXT_WORDS_BEFORE,
            context_suffix_count=0,
        )
        self.unglued = frozenset(unglued)
        # Recognizer id -> its context words, per set of recognizers: building it took a
        # quarter of a short text's analysis when done on every call.
        self._keys_cache: dict[tuple[str, ...], dict[str, frozenset[str]]] = {}
        self.deny_words = {
            entity: frozenset(_word_key(w) for w in words) for entity, words in deny_words.items()
        }

    def _context_keys(self, recognizers: list[EntityRecognizer]) -> dict[str, frozenset[str]]:
        ids = tuple(r.id for r in recognizers)
        keys = self._keys_cache.get(ids)
        if keys is None:
            keys = {
                r.id: frozenset(k for k in (_word_key(w) for w in r.context or []) if k)
                for r in recognizers
            }
            self._keys_cache[ids] = keys
        return keys

    def _denied(self, entity: str, words: list[str]) -> bool:
        """A deny word among the few words before a match removes it, unless a word that
        names the entity outright stands nearer to it ("policy holder, phone 682-879-4267"
        is a phone number; "policy 682-879-4267" is not, nor "order number 6828794267")."""
        deny = self.deny_words.get(entity)
        if not deny:
            return False
        near = words[-DENY_WORDS_BEFORE:]
        last = max((i for i, w in enumerate(near) if w in deny), default=None)
        if last is None:
            return False
        between = [_word_key(w) for w in near[last + 1 :]]
        naming = NAMING_WORDS.get(entity, frozenset())
        # the deny word must name the value ("order 123", "parcel number: 123", "policy no.
        # 123"): "the missing parcel on 415-555-0147" after "call me back" is a phone number
        return all(w in DENY_JOINERS for w in between) and not any(w in naming for w in between)

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts | None,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        context_of = self._context_keys(recognizers)
        kept: list[RecognizerResult] = []
        for result in raw_results:
            if result.entity_type in self.unglued and glued_value(result, text):
                continue
            words = words_before(text, result.start, CONTEXT_WORDS_BEFORE)
            meta = result.recognition_metadata or {}
            keys = context_of.get(meta.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY), frozenset())
            if self._denied(result.entity_type, words):
                continue
            in_context = any(_matches(w, keys) for w in words) or (
                result.entity_type == "PHONE_NUMBER"
                and (
                    after_email(text, result.start)
                    or reached_at(text, result.start, result.end)
                    or after_signature_label(text, result.start)
                    or before_phone_label(text, result.end)
                )
            )
            if keys and result.score < 1.0 and in_context:
                result.score = min(1.0, max(result.score + CONTEXT_FACTOR, MIN_SCORE_WITH_CONTEXT))
                if result.entity_type == "US_SSN" and SSN_PRINT.fullmatch(
                    text, result.start, result.end
                ):
                    # an SSN's own print (3-2-4) in an SSN context wins the tie against a
                    # phone number in a phone context ("ssn,phone\n...,614-30-1924,...")
                    result.score = min(1.0, result.score + SSN_PRINT_BONUS)
            kept.append(result)
        return kept
