"""The PII engine's fast path: the same findings as one presidio call per text, for less work.

Almost all of presidio's time goes to the pattern recognizers, phone numbers above all, and
each of them needs a digit, an ``@`` or (IPv6) a colon next to a hexadecimal digit inside its
match (``NEEDS``). So:

1. A vectorised pre-scan (polars, over the whole batch) keeps the texts holding one of those;
   the others cost nothing more.
2. In those texts each whitespace-delimited token holding one becomes a *window*: the token,
   ``LEFT_MARGIN`` characters before it (a match may open with brackets or a plus sign before
   its first digit; look-behinds read one or two characters) and ``RIGHT_MARGIN`` after it
   (an IBAN's letter groups, a phone extension's label). Windows that touch are merged, so a
   match never straddles two. A text holding a run of ``LONG_RUN_CHARS`` blanks, commas or
   dashes (a phone extension may sit that far from its number) is one window from end to end;
   a text with more than ``MAX_DIGITS`` digits (python-phonenumbers could give up on it,
   after 65,535 tries) takes the plain path.
3. Windows of many texts, joined by a blank line (no recognizer's match holds a newline, and
   each treats one as the text's edge), make chunks of about ``CHUNK_CHARS``; each windowed
   recognizer runs once per chunk, only for the entities whose needs its windows meet.
   Offsets are mapped back; a result that would leave its window sends its text to the plain
   path.
4. Then, text by text, what ``AnalyzerEngine.analyze`` does after its recognizers: the
   engine's context rules (``WordWindowContext``, over the whole text, so context words
   anywhere before a match count as in one call) and presidio's duplicate rule.
5. The phone recognizer (``SegmentedPhoneRecognizer``) matches line by line and stretch by
   stretch, only with the regions whose shortest valid number fits a cluster of digits there
   (digits at most four characters apart, as python-phonenumbers' candidates are), and its
   matcher (``PrunedMatcher``) drops candidates with too few digits before parsing them.
6. Custom YAML recognizers (any regex) and, in ner mode, spaCy run over whole texts (one
   presidio call each), spaCy through ``nlp.pipe`` without the components whose output the
   engine never reads (``NER_UNUSED``; the parser stays, for its sentence boundaries).
7. Chunks and groups of texts are shared between this process and ``workers - 1`` helper
   processes (spawned, each with its own engine), this process taking the next task whenever
   the helpers have two each in hand; helpers are started on the first large batch and used
   once ready.

``tests/test_pii_fastpath.py`` asserts equal findings with the plain path on tricky texts.
"""

from __future__ import annotations

import bisect
import functools
import multiprocessing
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata, PhoneNumberMatch
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from audit.pii_phone import GroupedPhoneRecognizer, recognizer_result, without_literal_escapes

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
    from presidio_analyzer.nlp_engine import NlpEngine

    from audit.pii_recognizers import TimedRegexRecognizer
    from audit.pii_workers import HelperPool

# (entity, start, end, score): a presidio result after context, as the engine keeps it.
Raw = tuple[str, int, int, float]
# (entity, start, end, score, recognizer's index among the windowed ones): before context.
Hit = tuple[str, int, int, float, int]

# What a match of each windowed entity must hold: a digit, an '@', or (IPv6) a '::' or a colon
# between hexadecimal digits. Every pattern of presidio's recognizers for these entities (and
# of the engine's phone and card recognizers) does.
HAS_DIGIT, HAS_AT, HAS_COLON = 1, 2, 4
NEEDS: dict[str, int] = {
    "EMAIL_ADDRESS": HAS_AT,
    "IP_ADDRESS": HAS_DIGIT | HAS_COLON,
    **dict.fromkeys(
        ("PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN", "US_DRIVER_LICENSE",
         "CRYPTO"),
        HAS_DIGIT,
    ),
}  # fmt: skip
# The recognizers whose patterns were checked for that; any other runs over whole texts.
WINDOWED_RECOGNIZERS = frozenset({
    "UsLicenseRecognizer", "UsItinRecognizer", "UsSsnRecognizer", "CryptoRecognizer",
    "IbanRecognizer", "IpRecognizer", "OfflineEmailRecognizer", "GroupedPhoneRecognizer",
    "CardNumberRecognizer", "PhoneShapeRecognizer",
})  # fmt: skip
HEX_COLON = r"::|[0-9A-Fa-f]:[0-9A-Fa-f]"
HOT_CHARS = r"[\d@]|" + HEX_COLON
HOT_TOKEN = re.compile(r"(?<!\S)\S*?(?:[\d@]|" + HEX_COLON + r")\S*")
HEX_COLON_RE = re.compile(HEX_COLON)
LONG_RUN_CHARS = 16
LONG_RUN = r"[ \u00a0\t,-]{" + str(LONG_RUN_CHARS) + ",}"
LONG_RUN_RE = re.compile(LONG_RUN)
LEAD_CHARS = 10  # a phone number's opening brackets and plus signs, with punctuation between
# From a number's last digit to its extension's first: blanks or commas (fewer than
# LONG_RUN_CHARS, or the text is one window), a label such as "extension", a colon or a full
# stop, blanks, commas or dashes again.
EXTENSION_REACH = 2 * LONG_RUN_CHARS + 16
LEFT_MARGIN = LEAD_CHARS + 6
RIGHT_MARGIN = max(64, EXTENSION_REACH)  # an IBAN's letter groups run up to 39 characters
# python-phonenumbers gives up on a text after 65,535 tries; a candidate of c characters costs
# at most 1 + 6 (c + 1) of them, and candidates hold under 15 characters per digit, so a text
# of fewer digits than this cannot run out; one with more takes the plain path, whole.
MAX_DIGITS = 600
SEPARATOR = "\n\n"
CHUNK_CHARS = 32_768
WHOLE_TEXT_CHARS = 32_768  # texts per whole-text task, in characters
# Below this much work in one call, helpers are not worth starting.
HELPER_MIN_CHARS = 262_144
DIGIT_CLUSTER = re.compile(r"\d(?:\D{0,4}\d)*")
PLUS_SIGNS = "+\uff0b"
DIGIT = re.compile(r"\d")
# spaCy components that feed nothing the engine reads: the ner component embeds NORM, PREFIX,
# SUFFIX and SHAPE with its own tok2vec. The parser stays: its sentence boundaries bound the
# entities ("at 18:18. Year" is one DATE without them).
NER_UNUSED = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer")
NER_BATCH = 128
# Number-type descriptions of the phone metadata; a valid number fits one of them.
_NUMBER_TYPES = (
    "general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
    "personal_number", "voip", "pager", "uan", "voicemail", "no_international_dialling",
)  # fmt: skip


# --- windows -------------------------------------------------------------------------------


def features(token: str) -> int:
    """HAS_DIGIT, HAS_AT, HAS_COLON: what ``token`` holds of what windowed entities need."""
    found = HAS_DIGIT if DIGIT.search(token) else 0
    if "@" in token:
        found |= HAS_AT
    if ":" in token and HEX_COLON_RE.search(token):
        found |= HAS_COLON
    return found


def windows(text: str) -> list[tuple[int, int, int]]:
    """(start, end, features) of the merged windows around the tokens a match needs."""
    out: list[tuple[int, int, int]] = []
    size = len(text)
    for token in HOT_TOKEN.finditer(text):
        low = max(0, token.start() - LEFT_MARGIN)
        high = min(size, token.end() + RIGHT_MARGIN)
        found = features(token.group())
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], high, out[-1][2] | found)
        else:
            out.append((low, high, found))
    return out


@dataclass
class Chunk:
    """Windows of several texts joined by SEPARATOR: one presidio call, for the entities whose
    needs these windows meet (``features``)."""

    features: int
    pieces: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # where each piece starts in the chunk
    owners: list[tuple[int, int, int]] = field(default_factory=list)  # (text, start, end)
    chars: int = 0

    def add(self, text_index: int, text: str, start: int, end: int) -> None:
        if self.pieces:
            self.pieces.append(SEPARATOR)
            self.chars += len(SEPARATOR)
        self.starts.append(self.chars)
        self.owners.append((text_index, start, end))
        self.pieces.append(text[start:end])
        self.chars += end - start

    def text(self) -> str:
        return "".join(self.pieces)

    def locate(self, start: int, end: int) -> tuple[int, int, int] | None:
        """(text, start, end) in the owning text, or None if the span leaves its piece."""
        i = bisect.bisect_right(self.starts, start) - 1
        if i < 0:
            return None
        text_index, low, high = self.owners[i]
        shift = low - self.starts[i]
        if end + shift > high:
            return None
        return text_index, start + shift, end + shift


def plan_chunks(texts: Sequence[str | None]) -> tuple[list[Chunk], list[int]]:
    """The pre-scan: chunks of windows over the texts that may hold a pattern entity, and the
    texts that take the plain path."""
    series = pl.Series(texts, dtype=pl.String)
    hot = series.str.contains(HOT_CHARS).fill_null(False)
    if not hot.any():
        return [], []
    hot_index = hot.arg_true()
    hot_texts = series.gather(hot_index)
    shape = pl.DataFrame(
        {
            "whole": hot_texts.str.contains(LONG_RUN),
            "plain": hot_texts.str.count_matches(r"\d") > MAX_DIGITS,
        }
    )
    chunks: list[Chunk] = []
    plain: list[int] = []
    open_chunks: dict[int, Chunk] = {}
    rows = zip(hot_index.to_list(), hot_texts.to_list(), *shape.get_columns(), strict=True)
    for index, text, entire, too_many_digits in rows:
        if too_many_digits:
            plain.append(index)
            continue
        spans = [(0, len(text), HAS_DIGIT | HAS_AT | HAS_COLON)] if entire else windows(text)
        for start, end, found in spans:
            current = open_chunks.setdefault(found, Chunk(found))
            current.add(index, text, start, end)
            if current.chars >= CHUNK_CHARS:
                chunks.append(open_chunks.pop(found))
    chunks.extend(c for c in open_chunks.values() if c.pieces)
    return chunks, plain


# --- phone numbers -------------------------------------------------------------------------


def _shortest_number(metadata: PhoneMetadata | None) -> int | None:
    if metadata is None:
        return None
    lengths = [
        n
        for name in _NUMBER_TYPES
        if (desc := getattr(metadata, name, None)) is not None and desc.possible_length
        for n in desc.possible_length
        if n > 0
    ]
    return min(lengths) if lengths else None


@functools.lru_cache(maxsize=1)
def _shortest_by_country_code() -> dict[int, int]:
    """Country calling code -> digits of its shortest valid national number (any region)."""
    out: dict[int, int] = {}
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            if region == "001":
                meta = PhoneMetadata.metadata_for_nongeo_region(code)
            else:
                meta = PhoneMetadata.metadata_for_region(region)
            shortest = _shortest_number(meta)
            if shortest is not None:
                out[code] = min(out.get(code, shortest), shortest)
    return out


@functools.lru_cache(maxsize=64)
def phone_min_digits(region: str) -> tuple[int, int]:
    """Fewest digits of a number found with default ``region`` at leniency VALID: written
    nationally (a number of the region or of one sharing its calling code), and at all (an
    international number: its country code's digits plus the national number). (1, 1), no
    pruning, when the metadata says nothing."""
    by_code = _shortest_by_country_code()
    if not by_code:
        return 1, 1
    international = min(len(str(code)) + n for code, n in by_code.items())
    national = by_code.get(phonenumbers.country_code_for_region(region), 1)
    return max(1, national), max(1, min(national, international))


@dataclass
class DigitGroup:
    """A stretch of a line that python-phonenumbers can match apart from the rest of it."""

    start: int
    end: int
    national: int = 0  # digits of its largest cluster
    international: int = 0  # the same, over the clusters that may be international numbers

    def add(self, start: int, end: int, digits: int, may_be_international: bool) -> None:
        self.end = end
        self.national = max(self.national, digits)
        if may_be_international:
            self.international = max(self.international, digits)


def digit_groups(line: str) -> list[DigitGroup]:
    """The line cut, at blanks far from any digit, into stretches matched one by one.

    A python-phonenumbers candidate holds a *cluster* of digits at most four characters apart
    and may run on into an extension: a label within ``EXTENSION_REACH`` characters. Clusters
    closer than that share a stretch; a stretch starts at a blank more than ``LEAD_CHARS``
    before its first digit (a candidate opens with at most two brackets or plus signs and
    punctuation), so a match never depends on what lies beyond its stretch. A cluster may be
    an international number only with a plus sign before or inside it, or a 0 (an
    international call prefix).
    """
    groups: list[DigitGroup] = []
    previous_end = -1
    for m in DIGIT_CLUSTER.finditer(line):
        body = m.group()
        lead = line[max(0, m.start() - LEAD_CHARS) : m.start()]
        digits = DIGIT.findall(body)
        plus = any(ch in PLUS_SIGNS for ch in lead) or any(ch in PLUS_SIGNS for ch in body)
        international = plus or any(int(d) == 0 for d in digits)
        cut = -1
        if previous_end >= 0 and m.start() - previous_end > EXTENSION_REACH + LEAD_CHARS:
            cut = _blank_between(line, previous_end + EXTENSION_REACH, m.start() - LEAD_CHARS)
        if groups and cut < 0:
            groups[-1].add(m.start(), m.end(), len(digits), international)
        else:
            if groups:
                groups[-1].end = cut
            group = DigitGroup(cut + 1 if groups else 0, m.end())
            group.add(m.start(), m.end(), len(digits), international)
            groups.append(group)
        previous_end = m.end()
    if groups:
        groups[-1].end = len(line)
    return groups


def _blank_between(line: str, low: int, high: int) -> int:
    """Position of a blank in line[low:high], or -1."""
    for i in range(low, high):
        if line[i].isspace():
            return i
    return -1


INTERNATIONAL = re.compile(r"[^\d+\uff0b]*[+\uff0b]")
#: How many phone-number answers a recognizer keeps before starting afresh.
SHARED_PARSES = 200_000
_UNSEEN = object()


class PrunedMatcher(phonenumbers.PhoneNumberMatcher):
    """python-phonenumbers' matcher, rejecting at once the candidates too short to be valid,
    and sharing the parses of international numbers with the other regions' matchers.

    A candidate with fewer digits than ``national`` (or than ``anywhere`` when it holds a plus
    sign or a 0, the start of an international number or call prefix) would fail the VALID
    check after a full parse; its answer (None) and the matcher's try count stay the same.
    The answer for a candidate depends only on the region, the candidate and the characters
    just before and after it (the VALID check reads the parsed number and those two), so
    ``shared`` keeps answers across texts: years, page ranges and order numbers recur in a
    corpus and are parsed once per region. A candidate opening with a plus sign and a country
    calling code parses alike whatever the default region (only an unknown code makes
    python-phonenumbers retry with the region's call prefix): it is parsed once for all.
    """

    def __init__(
        self,
        text: str,
        region: str,
        national: int,
        anywhere: int,
        shared: dict[tuple[Any, ...], Any] | None = None,
    ) -> None:
        super().__init__(text, region, leniency=phonenumbers.Leniency.VALID)
        self._national = national
        self._anywhere = anywhere
        self._shared = shared

    def _too_short(self, candidate: str) -> bool:
        digits = DIGIT.findall(candidate)
        if len(digits) >= self._national:
            return False
        if len(digits) < self._anywhere:
            return True
        return not (any(ch in PLUS_SIGNS for ch in candidate) or any(int(d) == 0 for d in digits))

    def _extract_match(self, candidate: str, offset: int) -> Any:
        # Its inner matches are pieces of it: too short as well. (The tries they would use
        # up do not matter: texts that could run out of tries take the plain path.)
        return None if self._too_short(candidate) else super()._extract_match(candidate, offset)

    def _parse_and_verify(self, candidate: str, offset: int) -> Any:
        if self._too_short(candidate):
            return None
        if self._shared is None:
            return super()._parse_and_verify(candidate, offset)
        end = offset + len(candidate)
        before = self.text[offset - 1] if offset > 0 else ""
        after = self.text[end] if end < len(self.text) else ""
        region = "+" if _international(candidate) else self.preferred_region
        key = (region, candidate, before, after)
        number = self._shared.get(key, _UNSEEN)
        if number is _UNSEEN:
            match = super()._parse_and_verify(candidate, offset)
            number = None if match is None else match.number
            if len(self._shared) >= SHARED_PARSES:
                self._shared.clear()  # bounded memory; answers never depend on the cache
            self._shared[key] = number
        return None if number is None else PhoneNumberMatch(offset, candidate, number)


def _international(candidate: str) -> bool:
    """A plus sign before the first digit, and the digits open with a country calling code."""
    if not INTERNATIONAL.match(candidate):
        return False
    digits = "".join(str(int(d)) for d in DIGIT.findall(candidate)[:3])
    return any(
        int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE
        for n in range(1, len(digits) + 1)
        if not digits.startswith("0")
    )


# The pruning needs these private hooks; without them (another version) nothing is pruned.
CAN_PRUNE = all(
    callable(getattr(phonenumbers.PhoneNumberMatcher, name, None))
    for name in ("_parse_and_verify", "_extract_match")
)


class SegmentedPhoneRecognizer(GroupedPhoneRecognizer):
    """The engine's phone recognizer for joined windows: each window is matched alone, and
    only with the regions whose shortest valid number fits one of its digit clusters."""

    def __init__(self, regions: Sequence[str], context: list[str] | None = None) -> None:
        super().__init__(regions, context)
        self.min_digits = {region: phone_min_digits(region) for region in self.regions}
        self._shared: dict[tuple[str, str, str, str], Any] = {}

    def matcher(self, text: str, region: str) -> phonenumbers.PhoneNumberMatcher:
        if not CAN_PRUNE:
            return super().matcher(text, region)
        return PrunedMatcher(text, region, *self.min_digits[region], shared=self._shared)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        best: dict[tuple[int, int], float] = {}
        offset = 0
        text = without_literal_escapes(text)
        # No candidate holds a newline, and one next to a candidate is read as the text's
        # end: each line can be matched alone.
        for line in text.split("\n"):
            for group in digit_groups(line) if not LONG_RUN_RE.search(line) else []:
                regions = [
                    r
                    for r in self.regions
                    if self.min_digits[r][0] <= group.national
                    or self.min_digits[r][1] <= group.international
                ]
                if regions:
                    piece = line[group.start : group.end]
                    self.match_into(best, piece, offset + group.start, regions)
            if LONG_RUN_RE.search(line):
                self.match_into(best, line, offset, self.regions)
            offset += len(line) + 1
        return [
            recognizer_result(self, "PHONE_NUMBER", s, e, score) for (s, e), score in best.items()
        ]


# --- the detector --------------------------------------------------------------------------


class FastDetector:
    """Runs an analyzer's recognizers on windows (patterns) and whole texts (custom, spaCy).

    ``analyzer`` is the engine's presidio analyzer (its recognizers and context rules),
    ``entities`` the entities asked for, ``nlp`` its spaCy engine in ner mode (None
    otherwise), ``custom`` its YAML recognizers (run over whole texts; their regex timeouts
    are counted), ``plain`` the engine's own per-text path (for the texts windows cannot
    serve) and ``helpers`` what starts helper processes (None: this process only).
    """

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        entities: Sequence[str],
        *,
        plain: Callable[[Sequence[str]], list[list[Raw]]],
        nlp: NlpEngine | None = None,
        custom: Sequence[TimedRegexRecognizer] = (),
        helpers: Callable[[], HelperPool | None] | None = None,
    ) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        from audit import pii_recognizers as R

        self._plain = plain
        self._custom = list(custom)
        self._new_helpers = helpers
        custom_ids = set(map(id, self._custom))
        windowed: list[EntityRecognizer] = []
        whole: list[EntityRecognizer] = []
        for recognizer in analyzer.registry.recognizers:
            known = type(recognizer).__name__ in WINDOWED_RECOGNIZERS and all(
                e in NEEDS for e in recognizer.supported_entities
            )
            if id(recognizer) in custom_ids or not known:
                whole.append(recognizer)
            elif type(recognizer) is GroupedPhoneRecognizer:
                windowed.append(
                    SegmentedPhoneRecognizer(recognizer.regions, list(recognizer.context or []))
                )
            else:
                windowed.append(recognizer)
        no_op = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "no_op",
                "models": [{"lang_code": "en", "model_name": "no_op"}],
            }
        ).create_engine()

        def sub_analyzer(recognizers: list[EntityRecognizer], nlp: Any) -> AnalyzerEngine | None:
            if not recognizers:
                return None  # presidio would load its stock recognizers into an empty registry
            registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
            return AnalyzerEngine(
                registry=registry,
                nlp_engine=nlp,
                supported_languages=["en"],
                context_aware_enhancer=analyzer.context_aware_enhancer,
            )

        def entities_of(recognizers: list[EntityRecognizer]) -> list[str]:
            supported = {e for r in recognizers for e in r.supported_entities}
            return [e for e in entities if e in supported]

        self._windowed = windowed
        self._windowed_entities = entities_of(windowed)
        self._enhancer = analyzer.context_aware_enhancer
        self._whole = sub_analyzer(whole, nlp if nlp is not None else no_op)
        self._whole_entities = entities_of(whole)
        self._nlp = nlp
        self._ner = nlp is not None and any(isinstance(r, R.CheckedSpacyRecognizer) for r in whole)
        self._helpers: HelperPool | None = None
        self._helpers_broke = False
        self.remote_timeouts = 0

    @property
    def timeouts_here(self) -> int:
        """Texts a custom pattern gave up on in this process."""
        return sum(r.timeouts for r in self._custom)

    # --- work units, run here or in a helper ----------------------------------------------

    def scan_chunk(self, chunk_text: str, found: int) -> list[Hit]:
        """The windowed recognizers, as presidio calls them, over a chunk whose windows hold
        ``found`` (``features``): those whose entities need it, before any context rule."""
        entities = [e for e in self._windowed_entities if NEEDS[e] & found]
        hits: list[Hit] = []
        for index, recognizer in enumerate(self._windowed):
            if not set(recognizer.supported_entities) & set(entities):
                continue
            if not recognizer.is_loaded:
                recognizer.load()
                recognizer.is_loaded = True
            results = recognizer.analyze(text=chunk_text, entities=entities, nlp_artifacts=None)
            hits += [(r.entity_type, r.start, r.end, r.score, index) for r in results or []]
        return hits

    def finish_windowed(self, text: str, hits: list[Hit]) -> list[Raw]:
        """What ``AnalyzerEngine.analyze`` does after its recognizers, for one text: context
        rules (on the whole text), the score floor (0: keeps all) and the duplicate rule."""
        from presidio_analyzer import EntityRecognizer, RecognizerResult

        results = [
            RecognizerResult(
                entity,
                start,
                end,
                score,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self._windowed[index].name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self._windowed[index].id,
                },
            )
            for entity, start, end, score, index in hits
        ]
        results = self._enhancer.enhance_using_context(
            text=text,
            raw_results=results,
            nlp_artifacts=None,
            recognizers=self._windowed,
            context=None,
        )
        kept = EntityRecognizer.remove_duplicates([r for r in results if r.score >= 0.0])
        return [(r.entity_type, r.start, r.end, r.score) for r in kept]

    def scan_whole(self, texts: Sequence[str]) -> tuple[list[list[Raw]], int]:
        """Custom recognizers and spaCy over whole texts; also the custom regex timeouts."""
        before = self.timeouts_here
        if self._whole is None:
            return [[] for _ in texts], 0
        if self._ner:
            nlp_engine = self._nlp
            pipeline = nlp_engine.nlp["en"]
            disabled = [name for name in pipeline.pipe_names if name in NER_UNUSED]
            docs = pipeline.pipe(texts, batch_size=NER_BATCH, disable=disabled)
            artifacts: Iterable[Any] = (entity_artifacts(nlp_engine, d) for d in docs)
        else:
            artifacts = (None for _ in texts)
        out: list[list[Raw]] = []
        for text, nlp_artifacts in zip(texts, artifacts, strict=True):
            results = self._whole.analyze(
                text=text,
                language="en",
                entities=self._whole_entities,
                score_threshold=0.0,
                nlp_artifacts=nlp_artifacts,
            )
            out.append([(r.entity_type, r.start, r.end, r.score) for r in results])
        return out, self.timeouts_here - before

    # --- orchestration ---------------------------------------------------------------------

    def detect_many(self, texts: Sequence[str | None]) -> list[list[Raw]]:
        """Raw results per text (after presidio's context and duplicate rules)."""
        chunks, plain = plan_chunks(texts) if self._windowed_entities else ([], [])
        plain_set = set(plain)
        groups = _groups(texts, range(len(texts))) if self._whole_entities else []
        plain_groups = _groups(texts, plain)
        # The long tasks first: the short ones at the end keep both processes busy to the end.
        tasks: list[tuple[str, Any]] = [("whole", [texts[i] for i in g]) for g in groups]
        tasks += [("plain", [texts[i] for i in g]) for g in plain_groups]
        tasks += [("chunk", (c.text(), c.features)) for c in chunks]
        work = sum(c.chars for c in chunks) + sum(
            len(texts[i] or "") for g in groups + plain_groups for i in g
        )
        outputs = self._run(tasks, work)
        whole_outputs = outputs[: len(groups)]
        plain_outputs = outputs[len(groups) : len(groups) + len(plain_groups)]
        chunk_outputs = outputs[len(groups) + len(plain_groups) :]

        hits: dict[int, list[Hit]] = {}
        whole: list[list[Raw]] = [[] for _ in texts]
        replan: set[int] = set()
        for chunk, found in zip(chunks, chunk_outputs, strict=True):
            for entity, start, end, score, index in found:
                where = chunk.locate(start, end)
                if where is None:
                    replan.update(i for i, _, _ in chunk.owners)
                    continue
                hits.setdefault(where[0], []).append((entity, where[1], where[2], score, index))
        windowed: list[list[Raw]] = [[] for _ in texts]
        for i, text_hits in hits.items():
            if i not in replan:
                windowed[i] = self.finish_windowed(texts[i] or "", text_hits)
        for g, (found_lists, timeouts) in zip(groups, whole_outputs, strict=True):
            self.remote_timeouts += timeouts
            for i, found in zip(g, found_lists, strict=True):
                whole[i] = found
        plain_found: dict[int, list[Raw]] = {}
        for g, (found_lists, timeouts) in zip(plain_groups, plain_outputs, strict=True):
            self.remote_timeouts += timeouts
            plain_found.update(zip(g, found_lists, strict=True))
        for i in replan - plain_set:
            # A match reached past its window: a margin was too small for this text.
            plain_found[i] = self.scan_plain([texts[i] or ""])[0][0]
        out: list[list[Raw]] = []
        for i in range(len(texts)):
            if i in plain_found:
                out.append(plain_found[i])
            elif windowed[i] and whole[i]:
                out.append(_remove_duplicates(windowed[i] + whole[i]))
            else:
                out.append(windowed[i] or whole[i])
        return out

    def start_helpers(self, *, wait: bool = False) -> None:
        """Starts the helper processes now (they start on the first large batch otherwise);
        ``wait``: until they are ready. Not in a daemon process (it may have no children),
        nor again after helpers broke."""
        if (
            self._helpers is None
            and self._new_helpers is not None
            and not self._helpers_broke
            and not multiprocessing.current_process().daemon
        ):
            self._helpers = self._new_helpers()
        if wait and self._helpers is not None:
            self._helpers.wait_ready()

    @property
    def helpers_used(self) -> int:
        """Tasks that ran in a helper process so far."""
        return self._helpers.used if self._helpers is not None else 0

    def _run(self, tasks: list[tuple[str, Any]], work: int) -> list[Any]:
        if not tasks:
            return []
        if work >= HELPER_MIN_CHARS:
            self.start_helpers()
        helpers = self._helpers
        if helpers is None or len(tasks) == 1:
            return [self.run_task(t) for t in tasks]
        try:
            return helpers.share(tasks, self.run_task)
        except BrokenProcessPool:
            # A helper died (killed, out of memory): this process does the work alone.
            self._helpers_broke = True
            self.close()
            return [self.run_task(t) for t in tasks]

    def run_task(self, task: tuple[str, Any]) -> Any:
        kind, payload = task
        if kind == "chunk":
            return self.scan_chunk(*payload)
        return self.scan_whole(payload) if kind == "whole" else self.scan_plain(payload)

    def scan_plain(self, texts: Sequence[str]) -> tuple[list[list[Raw]], int]:
        """The engine's own path, one presidio call per text (spaCy's full pipeline too)."""
        before = self.timeouts_here
        found = self._plain(texts)
        return found, self.timeouts_here - before

    def close(self) -> None:
        if self._helpers is not None:
            self._helpers.close()
            self._helpers = None


def entity_artifacts(nlp_engine: Any, doc: Any) -> Any:
    """presidio's NlpArtifacts of a doc, with its entities only.

    The recognizers over whole texts (spaCy's, checked by shape, and the custom regexes) and
    the context rules (``WordWindowContext``) read no lemma, token or keyword; presidio's own
    conversion walks every token three times for them, a sixth of the time in ner mode.
    """
    from presidio_analyzer.nlp_engine import NlpArtifacts

    parts = ("_get_entities", "_get_scores_for_entities", "_get_updated_entities")
    if not all(hasattr(nlp_engine, name) for name in parts):  # another presidio version
        return nlp_engine._doc_to_nlp_artifact(doc, "en")
    entities, scores = nlp_engine._get_updated_entities(
        nlp_engine._get_entities(doc), nlp_engine._get_scores_for_entities(doc)
    )
    return NlpArtifacts(
        entities=entities,
        tokens=doc,
        tokens_indices=[],
        lemmas=[],
        nlp_engine=nlp_engine,
        language="en",
        scores=scores,
    )


def _groups(texts: Sequence[str | None], indices: Iterable[int]) -> list[list[int]]:
    """The non-empty texts among ``indices`` in runs of about ``WHOLE_TEXT_CHARS``."""
    groups: list[list[int]] = []
    group: list[int] = []
    chars = 0
    for i in indices:
        text = texts[i]
        if text:
            group.append(i)
            chars += len(text)
            if chars >= WHOLE_TEXT_CHARS:
                groups.append(group)
                group, chars = [], 0
    if group:
        groups.append(group)
    return groups


def _remove_duplicates(raw: list[Raw]) -> list[Raw]:
    """presidio's own duplicate rule over results gathered from several calls."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    results: list[RecognizerResult] = [RecognizerResult(e, s, t, c) for e, s, t, c in raw]
    kept = EntityRecognizer.remove_duplicates(results)
    return [(r.entity_type, r.start, r.end, r.score) for r in kept]
