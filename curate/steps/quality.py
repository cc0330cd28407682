"""quality: heuristic web-text quality rules (Gopher quality and repetition, C4, FineWeb).

Each rule measures one figure per document and compares it with a threshold; the first rule
that fails, in the fixed order of ``RULES`` below, gives the row's ``_reason`` and its measured
figure the ``_score``. Maximum thresholds are inclusive (a figure equal to the maximum passes),
and so are minimums (``gopher_min_words: 50``: 50 words pass, 49 fail). A figure with nothing
to measure (a ratio over zero lines, say) passes. Units (tokens, words, lines, paragraphs,
duplicates) are defined in ``quality_metrics``.

Rule order (groups run cheapest first, so the costly n-gram rules only see survivors):

1. ``gopher_quality`` (Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights
   from Training Gopher", App. A.1.1): gopher_short_doc, gopher_long_doc (words),
   gopher_mean_word_length, gopher_symbol_ratio (max of ``#`` and ellipses per word),
   gopher_bullet_lines, gopher_ellipsis_lines, gopher_alpha_words (share of tokens holding a
   letter), gopher_stop_words (distinct stop words present).
2. ``c4`` (Raffel et al. 2020, §2.2): c4_lorem_ipsum, c4_curly_bracket (the page-level rules),
   then three rules C4 applies by deleting lines. With ``c4_edit_lines`` the step deletes those
   lines as C4's code does (``quality_c4``: lines without terminal punctuation where required,
   lines with fewer than ``c4_min_words_per_line`` words or a word over
   ``c4_max_word_length``, javascript and policy lines; citation marks removed) and changes
   the text of the documents it keeps (counted as ``changed`` in the manifest); lorem ipsum
   and curly brackets then drop a page only on lines that reach those tests. Without it the
   step never edits text, and a line rule becomes "drop the document when more than this
   share of its lines would be deleted": c4_no_terminal_punct, c4_javascript_lines,
   c4_policy_lines (these three fractions are not published values). c4_too_few_sentences is
   C4's own page rule: sentences (as NLTK's punkt counts them, ``quality_text``) over the
   lines C4 keeps.
3. ``fineweb`` (Penedo et al. 2024, "The FineWeb Datasets", §3.6, and datatrove's
   FineWebQualityFilter): fineweb_line_punct, fineweb_short_lines,
   fineweb_dup_line_char_frac, fineweb_newline_ratio (newlines per word-tokenizer word). With
   ``c4_edit_lines`` they measure the text C4 left, as in FineWeb's pipeline.
4. ``gopher_repetition`` (Gopher Table A1): dup_line_frac, dup_para_frac, dup_line_char_frac,
   dup_para_char_frac, top_{2,3,4}gram_char_frac (word characters covered by every occurrence
   of the most frequent repeated n-gram), dup_{5..10}gram_char_frac (word characters covered
   by copies of an earlier n-gram, the first occurrence excluded); overlaps count once.

``word_definition`` picks what a word is for the Gopher quality rules and the newline ratio:
``gopher`` as the Gopher paper describes it (``quality_metrics``: whitespace tokens, words
without outer punctuation, stop words compared lower-cased, lines without blank ones); ``nltk``
as datatrove's code counts, which FineWeb's results came from (``quality_text``: NLTK word
tokens, punctuation tokens counted in the alphabetic and symbol ratios and the newline ratio,
stop words compared as written, bullet and ellipsis lines over all lines, blank ones too, a
line ending in punctuation only if its very last character is one).

``preset`` fills the parameters left unset whose values differ between pipelines; each preset
reproduces one reference:

============================== ======== ======== ========
parameter                      gopher   dolma    fineweb
============================== ======== ======== ========
max_dup_line_char_frac         0.20     0.30     0.20
c4_require_terminal_punct      true     true     false
c4_min_words_per_line          5        5        3
c4_min_sentences               3        3        5
c4_edit_lines                  false    false    true
fineweb_max_dup_line_char_frac 0.1      0.1      0.01
word_definition                gopher   gopher   nltk
gopher_bullets                 10 marks 10 marks ``•`` ``-``
============================== ======== ======== ========

gopher: the papers: Gopher Table A1 and App. A.1.1, the C4 paper (and TFDS c4_utils), the
FineWeb paper's 0.1 for duplicate-line characters. dolma: the same with the Dolma datasheet's
"> 0.30 ... characters in duplicated lines" (Dolma counts every copy of a repeated line, the
first too, so its 0.30 is stricter than it looks here). fineweb: the code FineWeb was produced
with, datatrove's chain of examples/fineweb.py (GopherRepetitionFilter, GopherQualityFilter,
C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter, all with their
defaults, among them char_duplicates_ratio 0.01), words and sentences as NLTK counts them; on
real and boilerplate-laden documents it keeps and drops the same documents as datatrove 0.10.1
in 99.8% of them (``bench/compare_datatrove.py``). Its repetition rules keep Gopher's
definitions (word characters as the denominator, lower-cased words), which datatrove departs
from (whole-text characters, NLTK tokens as written).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator, model_validator

from curate import batch as B
from curate.registry import Params, Step, Totals, register_step, summed
from curate.steps import quality_metrics as M
from curate.steps.quality_c4 import C4Options, c4_line_edits, write_edits
from curate.steps.quality_text import chunk_word_tokens

Group = Literal["gopher_quality", "c4", "fineweb", "gopher_repetition"]
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)

GOPHER_STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
BULLETS = ["•", "●", "○", "◦", "▪", "‣", "∙", "-", "*", "–"]
DATATROVE_BULLETS = ["•", "-"]  # GopherQualityFilter's
C4_POLICY_PHRASES = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
]

PRESETS: dict[str, dict[str, Any]] = {
    "gopher": {
        "max_dup_line_char_frac": 0.20,
        "c4_require_terminal_punct": True,
        "c4_min_words_per_line": 5,
        "c4_min_sentences": 3,
        "c4_edit_lines": False,
        "fineweb_max_dup_line_char_frac": 0.1,
        "word_definition": "gopher",
        "gopher_bullets": BULLETS,
    },
    "dolma": {
        "max_dup_line_char_frac": 0.30,
        "c4_require_terminal_punct": True,
        "c4_min_words_per_line": 5,
        "c4_min_sentences": 3,
        "c4_edit_lines": False,
        "fineweb_max_dup_line_char_frac": 0.1,
        "word_definition": "gopher",
        "gopher_bullets": BULLETS,
    },
    "fineweb": {
        "max_dup_line_char_frac": 0.20,
        "c4_require_terminal_punct": False,
        "c4_min_words_per_line": 3,
        "c4_min_sentences": 5,
        "c4_edit_lines": True,
        "fineweb_max_dup_line_char_frac": 0.01,
        "word_definition": "nltk",
        "gopher_bullets": DATATROVE_BULLETS,
    },
}
# C4's line rules that delete lines: with c4_edit_lines they edit the text instead of being
# page rules with a share of lines as threshold.
C4_LINE_RULES = frozenset({"c4_no_terminal_punct", "c4_javascript_lines", "c4_policy_lines"})


@dataclass(frozen=True)
class Rule:
    code: str
    group: Group
    metric: str
    bound: Literal["min", "max"]
    threshold: str | float  # a parameter name, or a fixed value
    n: int = 0  # n-gram rules: the n


def _n_gram_rules() -> list[Rule]:
    top = [
        Rule(
            f"top_{n}gram_char_frac",
            "gopher_repetition",
            f"top_{n}gram_char_frac",
            "max",
            f"max_top_{n}gram_char_frac",
            n,
        )
        for n in TOP_NGRAMS
    ]
    dup = [
        Rule(
            f"dup_{n}gram_char_frac",
            "gopher_repetition",
            f"dup_{n}gram_char_frac",
            "max",
            f"max_dup_{n}gram_char_frac",
            n,
        )
        for n in DUP_NGRAMS
    ]
    return top + dup


RULES: tuple[Rule, ...] = (
    Rule("gopher_short_doc", "gopher_quality", "words", "min", "gopher_min_words"),
    Rule("gopher_long_doc", "gopher_quality", "words", "max", "gopher_max_words"),
    Rule(
        "gopher_mean_word_length",
        "gopher_quality",
        "mean_word_length",
        "min",
        "gopher_min_mean_word_length",
    ),
    Rule(
        "gopher_mean_word_length",
        "gopher_quality",
        "mean_word_length",
        "max",
        "gopher_max_mean_word_length",
    ),
    Rule(
        "gopher_symbol_ratio",
        "gopher_quality",
        "symbol_word_ratio",
        "max",
        "gopher_max_symbol_word_ratio",
    ),
    Rule(
        "gopher_bullet_lines",
        "gopher_quality",
        "bullet_lines_frac",
        "max",
        "gopher_max_bullet_lines_frac",
    ),
    Rule(
        "gopher_ellipsis_lines",
        "gopher_quality",
        "ellipsis_lines_frac",
        "max",
        "gopher_max_ellipsis_lines_frac",
    ),
    Rule(
        "gopher_alpha_words",
        "gopher_quality",
        "alpha_words_frac",
        "min",
        "gopher_min_alpha_words_frac",
    ),
    Rule("gopher_stop_words", "gopher_quality", "stop_words", "min", "gopher_min_stop_words"),
    Rule("c4_lorem_ipsum", "c4", "lorem_ipsum", "max", 0),
    Rule("c4_curly_bracket", "c4", "curly_brackets", "max", 0),
    Rule(
        "c4_no_terminal_punct",
        "c4",
        "c4_no_terminal_punct_frac",
        "max",
        "c4_max_no_terminal_punct_frac",
    ),
    Rule(
        "c4_javascript_lines",
        "c4",
        "c4_javascript_lines_frac",
        "max",
        "c4_max_javascript_lines_frac",
    ),
    Rule("c4_policy_lines", "c4", "c4_policy_lines_frac", "max", "c4_max_policy_lines_frac"),
    Rule("c4_too_few_sentences", "c4", "c4_sentences", "min", "c4_min_sentences"),
    Rule("fineweb_line_punct", "fineweb", "line_punct_frac", "min", "fineweb_min_line_punct_frac"),
    Rule(
        "fineweb_short_lines", "fineweb", "short_lines_frac", "max", "fineweb_max_short_lines_frac"
    ),
    Rule(
        "fineweb_dup_line_char_frac",
        "fineweb",
        "dup_line_char_frac",
        "max",
        "fineweb_max_dup_line_char_frac",
    ),
    Rule("fineweb_newline_ratio", "fineweb", "newline_ratio", "max", "fineweb_max_newline_ratio"),
    Rule("dup_line_frac", "gopher_repetition", "dup_line_frac", "max", "max_dup_line_frac"),
    Rule("dup_para_frac", "gopher_repetition", "dup_para_frac", "max", "max_dup_para_frac"),
    Rule(
        "dup_line_char_frac",
        "gopher_repetition",
        "dup_line_char_frac",
        "max",
        "max_dup_line_char_frac",
    ),
    Rule(
        "dup_para_char_frac",
        "gopher_repetition",
        "dup_para_char_frac",
        "max",
        "max_dup_para_char_frac",
    ),
    *_n_gram_rules(),
)
REASON_CODES: tuple[str, ...] = tuple(dict.fromkeys(rule.code for rule in RULES))
NGRAM_METRICS = frozenset(rule.metric for rule in _n_gram_rules())

# Which measurement block each (non n-gram) metric needs, and how it is derived.
_DOC, _LINES, _PARAS, _WORDS = M.DOC, M.LINES, M.PARAGRAPHS, M.WORDS
_METRICS: dict[str, tuple[frozenset[str], pl.Expr]] = {
    "words": (frozenset({_WORDS}), pl.col("words")),
    "mean_word_length": (frozenset({_WORDS}), M.fraction("word_chars", "words")),
    "symbol_word_ratio": (
        frozenset({_WORDS, _DOC}),
        pl.when(pl.col("words") > 0).then(
            pl.max_horizontal("hashes", "ellipses") / pl.col("words")
        ),
    ),
    "bullet_lines_frac": (frozenset({_LINES}), M.fraction("bullet_lines", "lines")),
    "ellipsis_lines_frac": (frozenset({_LINES}), M.fraction("ellipsis_lines", "lines")),
    "alpha_words_frac": (frozenset({_DOC}), M.fraction("alpha_tokens", "tokens")),
    "stop_words": (frozenset({_WORDS}), pl.col("stop_words")),
    "lorem_ipsum": (frozenset({_DOC}), pl.col("lorem_ipsum")),
    "curly_brackets": (frozenset({_DOC}), pl.col("curly_brackets")),
    "c4_no_terminal_punct_frac": (
        frozenset({_LINES}),
        M.fraction("c4_no_terminal_punct_lines", "lines"),
    ),
    "c4_javascript_lines_frac": (
        frozenset({_LINES}),
        M.fraction("c4_javascript_lines", "lines"),
    ),
    "c4_policy_lines_frac": (frozenset({_LINES}), M.fraction("c4_policy_lines", "lines")),
    "c4_sentences": (frozenset(), pl.col("c4_sentences")),  # from quality_c4
    "line_punct_frac": (frozenset({_LINES}), M.fraction("punct_lines", "lines")),
    "short_lines_frac": (frozenset({_LINES}), M.fraction("short_lines", "lines")),
    "newline_ratio": (frozenset({_DOC}), M.fraction("newlines", "tokenizer_words")),
    "dup_line_frac": (frozenset({_LINES}), M.fraction("dup_lines", "lines")),
    "dup_line_char_frac": (frozenset({_LINES}), M.fraction("dup_line_chars", "line_chars")),
    "dup_para_frac": (frozenset({_PARAS}), M.fraction("dup_paras", "paragraphs")),
    "dup_para_char_frac": (frozenset({_PARAS}), M.fraction("dup_para_chars", "para_chars")),
}
# word_definition "nltk": the figures datatrove computes from NLTK word tokens (``_NLTK``:
# quality_text.word_token_counts) and from all lines, blank ones included.
_NLTK = "nltk"
_NLTK_METRICS: dict[str, tuple[frozenset[str], pl.Expr]] = {
    "words": (frozenset({_NLTK}), pl.col("words")),
    "mean_word_length": (frozenset({_NLTK}), M.fraction("word_chars", "words")),
    "symbol_word_ratio": (
        frozenset({_NLTK, _DOC}),
        pl.when(pl.col("tokens") > 0).then(
            pl.max_horizontal("hashes", "ellipses") / pl.col("tokens")
        ),
    ),
    "bullet_lines_frac": (frozenset({_LINES, _NLTK}), M.fraction("bullet_lines", "all_lines")),
    "ellipsis_lines_frac": (
        frozenset({_LINES, _NLTK}),
        M.fraction("ellipsis_lines", "all_lines"),
    ),
    "alpha_words_frac": (frozenset({_NLTK}), M.fraction("alpha_tokens", "tokens")),
    "stop_words": (frozenset({_NLTK}), pl.col("stop_words")),
    "newline_ratio": (frozenset({_DOC, _NLTK}), M.fraction("newlines", "tokens")),
}
# With c4_edit_lines these come from the line edits, and the FineWeb group reads edited text.
_WORDS_OF_TEXT = "words_of_text:original"  # the newline ratio's denominator
_FROM_EDITS = frozenset({"lorem_ipsum", "curly_brackets", "c4_sentences"})


def _frac(default: float, description: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=description)


class QualityParams(Params):
    preset: Literal["gopher", "dolma", "fineweb"] = Field(
        "gopher",
        description="values for the parameters left unset: gopher (Gopher + C4 papers), "
        "dolma (Dolma datasheet), fineweb (datatrove's FineWeb code: C4 line edits, NLTK "
        "words)",
    )
    gopher_quality: bool = Field(True, description="run the Gopher quality rules")
    gopher_repetition: bool = Field(True, description="run the Gopher repetition rules")
    c4: bool = Field(True, description="run the C4 rules")
    fineweb: bool = Field(True, description="run the FineWeb rules")
    disable: list[str] = Field(
        default_factory=list, description="reason codes of single rules to skip"
    )

    gopher_min_words: int = Field(50, ge=0, description="fewer words fail (gopher_short_doc)")
    gopher_max_words: int = Field(100_000, ge=1, description="more words fail (gopher_long_doc)")
    gopher_min_mean_word_length: float = Field(
        3.0, ge=0.0, description="shorter mean word length fails (characters)"
    )
    gopher_max_mean_word_length: float = Field(
        10.0, ge=0.0, description="longer mean word length fails (characters)"
    )
    gopher_max_symbol_word_ratio: float = Field(
        0.1, ge=0.0, description="more '#' or more ellipses ('...', '…') per word fail"
    )
    gopher_max_bullet_lines_frac: float = _frac(
        0.9, "larger share of lines starting with a bullet fails"
    )
    gopher_max_ellipsis_lines_frac: float = _frac(
        0.3, "larger share of lines ending with an ellipsis fails"
    )
    gopher_min_alpha_words_frac: float = _frac(
        0.8, "smaller share of tokens holding a letter fails"
    )
    gopher_min_stop_words: int = Field(
        2, ge=0, description="fewer distinct stop words present fail (gopher_stop_words)"
    )
    gopher_stop_words: list[str] = Field(
        default_factory=lambda: list(GOPHER_STOP_WORDS),
        description="the stop words (compared lower-cased)",
    )
    gopher_bullets: list[str] | None = Field(
        None, description="prefixes that make a line a bullet line (unset: preset)"
    )

    c4_require_terminal_punct: bool | None = Field(
        None,
        description="C4 keeps only lines ending in terminal punctuation (unset: from preset); "
        "false also skips c4_no_terminal_punct",
    )
    c4_max_no_terminal_punct_frac: float = _frac(
        0.5, "larger share of lines without terminal punctuation fails (not a published value)"
    )
    c4_max_javascript_lines_frac: float = _frac(
        0.3, "larger share of lines mentioning javascript fails (not a published value)"
    )
    c4_max_policy_lines_frac: float = _frac(
        0.3, "larger share of lines with a policy phrase fails (not a published value)"
    )
    c4_policy_phrases: list[str] = Field(
        default_factory=lambda: list(C4_POLICY_PHRASES),
        description="phrases that make a line a policy line (compared lower-cased)",
    )
    c4_min_words_per_line: int | None = Field(
        None, ge=0, description="C4 keeps lines with at least this many words (unset: preset)"
    )
    c4_min_sentences: int | None = Field(
        None, ge=0, description="fewer sentences in the lines C4 keeps fail (unset: preset)"
    )
    c4_max_word_length: int = Field(
        1000, ge=1, description="C4 deletes lines with a longer token (characters)"
    )
    c4_edit_lines: bool | None = Field(
        None,
        description="delete the lines C4 deletes (the step then changes text, and the FineWeb "
        "rules measure the edited text) instead of judging the share of such lines "
        "(unset: preset)",
    )
    word_definition: Literal["gopher", "nltk"] | None = Field(
        None,
        description="gopher: words are tokens without outer punctuation, stop words compared "
        "lower-cased; nltk: NLTK word tokens as datatrove counts them, punctuation tokens in "
        "the alphabetic and symbol ratios, stop words compared as written (unset: preset)",
    )

    fineweb_min_line_punct_frac: float = _frac(
        0.12, "smaller share of lines ending in terminal punctuation fails"
    )
    fineweb_short_line_chars: int = Field(
        30, ge=0, description="a line of at most this many characters is short"
    )
    fineweb_max_short_lines_frac: float = _frac(0.67, "larger share of short lines fails")
    fineweb_max_dup_line_char_frac: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="larger share of line characters in duplicate lines fails (unset: preset; "
        "the FineWeb paper says 0.1, the code FineWeb ran used 0.01)",
    )
    fineweb_max_newline_ratio: float = Field(
        0.3, ge=0.0, description="more newlines per word (tokenizer words) fail"
    )

    max_dup_line_frac: float = _frac(0.3, "larger share of duplicate lines fails")
    max_dup_para_frac: float = _frac(0.3, "larger share of duplicate paragraphs fails")
    max_dup_line_char_frac: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="larger share of characters in duplicate lines fails (unset: preset)",
    )
    max_dup_para_char_frac: float = _frac(
        0.2, "larger share of characters in duplicate paragraphs fails"
    )
    max_top_2gram_char_frac: float = _frac(
        0.20, "larger share of word characters in the most frequent 2-gram fails"
    )
    max_top_3gram_char_frac: float = _frac(
        0.18, "larger share of word characters in the most frequent 3-gram fails"
    )
    max_top_4gram_char_frac: float = _frac(
        0.16, "larger share of word characters in the most frequent 4-gram fails"
    )
    max_dup_5gram_char_frac: float = _frac(
        0.15, "larger share of word characters in repeated 5-grams fails"
    )
    max_dup_6gram_char_frac: float = _frac(
        0.14, "larger share of word characters in repeated 6-grams fails"
    )
    max_dup_7gram_char_frac: float = _frac(
        0.13, "larger share of word characters in repeated 7-grams fails"
    )
    max_dup_8gram_char_frac: float = _frac(
        0.12, "larger share of word characters in repeated 8-grams fails"
    )
    max_dup_9gram_char_frac: float = _frac(
        0.11, "larger share of word characters in repeated 9-grams fails"
    )
    max_dup_10gram_char_frac: float = _frac(
        0.10, "larger share of word characters in repeated 10-grams fails"
    )

    @field_validator("disable")
    @classmethod
    def _known_codes(cls, codes: list[str]) -> list[str]:
        unknown = sorted(set(codes) - set(REASON_CODES))
        if unknown:
            raise ValueError(f"unknown reason codes {unknown}; known: {list(REASON_CODES)}")
        return codes

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> QualityParams:
        if self.gopher_min_words > self.gopher_max_words:
            raise ValueError("gopher_min_words must not exceed gopher_max_words")
        if self.gopher_min_mean_word_length > self.gopher_max_mean_word_length:
            raise ValueError(
                "gopher_min_mean_word_length must not exceed gopher_max_mean_word_length"
            )
        return self

    def resolved(self) -> dict[str, Any]:
        """All parameters, with the unset ones taken from the preset."""
        values = self.model_dump()
        for key, value in PRESETS[self.preset].items():
            if values[key] is None:
                values[key] = list(value) if isinstance(value, list) else value
        return values


@dataclass
class QualityTotals(Totals):
    seen: int = summed()
    reasons: Counter[str] = summed(Counter)


def _scatter(frame: pl.DataFrame, rows: np.ndarray, height: int) -> pl.DataFrame:
    """``frame``'s rows placed at ``rows`` of a frame of ``height`` rows, null elsewhere."""
    index = pl.DataFrame({"_row": pl.Series(rows, dtype=pl.Int64)})
    placed = pl.DataFrame({"_row": pl.Series(np.arange(height), dtype=pl.Int64)}).join(
        pl.concat([index, frame], how="horizontal"), on="_row", how="left"
    )
    return placed.drop("_row")


@register_step
class Quality(Step[QualityParams]):
    """Heuristic quality rules for web text; the first failing rule names the reason."""

    name = "quality"
    Params = QualityParams
    parallel_safe = True
    totals_type = QualityTotals
    totals: QualityTotals

    def __init__(self, params: QualityParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self.settings = params.resolved()
        self.edit = bool(self.settings["c4_edit_lines"] and self.settings["c4"])
        # An instance attribute shadows the class's: the runner reads step.changes_text.
        self.changes_text = self.edit
        self.nltk_words = self.settings["word_definition"] == "nltk"
        self.rules = [rule for rule in RULES if self._active(rule)]
        self._marks_exprs: list[pl.Expr] | None = None
        self.line_options = M.LineOptions(
            bullets=tuple(self.settings["gopher_bullets"]),
            short_line_chars=params.fineweb_short_line_chars,
            c4_policy_phrases=tuple(p.lower() for p in params.c4_policy_phrases),
            c4_lines=any(r.code in C4_LINE_RULES for r in self.rules),
            punct_closers=not self.nltk_words,
        )
        self.c4_options = C4Options(
            require_terminal_punct=self.settings["c4_require_terminal_punct"],
            min_words_per_line=self.settings["c4_min_words_per_line"],
            max_word_length=params.c4_max_word_length,
            policy_phrases=tuple(p.lower() for p in params.c4_policy_phrases),
            decide_below=self.settings["c4_min_sentences"],
        )

    def _active(self, rule: Rule) -> bool:
        if not self.settings[rule.group] or rule.code in self.params.disable:
            return False
        if self.edit and rule.code in C4_LINE_RULES:
            return False
        return rule.code != "c4_no_terminal_punct" or self.settings["c4_require_terminal_punct"]

    def _threshold(self, rule: Rule) -> float:
        if isinstance(rule.threshold, str):
            return float(self.settings[rule.threshold])
        return float(rule.threshold)

    def _column(self, rule: Rule) -> str:
        """The column holding a rule's figure: FineWeb's figures of edited text have their own
        (fineweb_dup_line_char_frac and dup_line_char_frac measure different texts then)."""
        if self.edit and rule.group == "fineweb":
            return f"{rule.metric}:edited"
        return rule.metric

    def _fails(self, rule: Rule) -> pl.Expr:
        value = pl.col(self._column(rule))
        limit = self._threshold(rule)
        return value < limit if rule.bound == "min" else value > limit

    def _detail(self, rule: Rule) -> pl.Expr:
        """A failing rule's figure, its value, the threshold and whether that is the least
        (``min``) or most (``max``) a text may have (``B.DETAIL``)."""
        return B.detail_json(
            metric=pl.lit(rule.metric),
            value=pl.col(self._column(rule)).cast(pl.Float64).round(6),
            threshold=pl.lit(self._threshold(rule), pl.Float64),
            bound=pl.lit(rule.bound),
        )

    def measure(self, texts: pl.Series) -> pl.DataFrame:
        """Every figure the active rules read, one row per text (see ``measure_and_edit``)."""
        return self.measure_and_edit(texts)[0]

    def measure_and_edit(self, texts: pl.Series) -> tuple[pl.DataFrame, pl.Series | None]:
        """Every figure the active rules read, one row per text, and with ``c4_edit_lines``
        the edited texts. Figures are computed in stages, each only for the texts that pass
        every rule before it (null elsewhere: a text that failed earlier keeps its reason):
        the figures of the original text, then C4's line edits, then the FineWeb figures of
        the edited text, then the n-gram figures, which cost the most."""
        plain = [r for r in self.rules if not r.n]
        ngram_rules = [r for r in self.rules if r.n]
        columns = list(dict.fromkeys(self._column(r) for r in plain))
        edited = [c for c in columns if c.endswith(":edited")]
        from_edits = [c for c in columns if c in (_FROM_EDITS if self.edit else {"c4_sentences"})]
        original = [c for c in columns if c not in edited and c not in from_edits]
        table = {**_METRICS, **_NLTK_METRICS} if self.nltk_words else _METRICS
        # the n-grams' words come with the first figures when those need words anyway
        words_now = bool(ngram_rules) and any(_WORDS in table[c][0] for c in original)
        # FineWeb's figures of the original text serve the texts C4 leaves as they were
        on_edited = [c.split(":")[0] for c in edited]
        also = {f"{m}:original": table[m] for m in on_edited if m != "newline_ratio"}
        if "newline_ratio" in on_edited:
            words_column = "tokens" if self.nltk_words else "tokenizer_words"
            also[_WORDS_OF_TEXT] = (table["newline_ratio"][0], pl.col(words_column))
        frame, words = self._figures(texts, original, words_now, also)
        edited_texts = None
        if from_edits or self.edit:  # C4's pass over its lines, for the texts still measured
            alive = self._passing(frame, [r for r in plain if r.group == "gopher_quality"])
            rows = np.flatnonzero(alive)
            edits = c4_line_edits(texts.gather(rows), self.c4_options)
            frame = frame.with_columns(_scatter(edits.select(from_edits), rows, texts.len()))
        if self.edit:
            c4_rules = [r for r in plain if r.group == "c4"]
            alive_c4 = (
                self._passing(frame[rows], c4_rules) if c4_rules else np.ones(len(rows), bool)
            )
            same = alive_c4 & edits["untouched"].to_numpy()
            changed = alive_c4 & ~same
            figures = self._figures(edits["text"].filter(changed), on_edited, False)[0]
            frame = frame.with_columns(
                _scatter(
                    figures.rename(dict(zip(on_edited, edited, strict=True))),
                    rows[changed],
                    texts.len(),
                )
            )
            frame = self._unchanged_figures(frame, on_edited, rows[same], edits.filter(same))
            edited_texts = _scatter(edits.select("text"), rows, texts.len())["text"]
        frame = frame.select(columns) if columns else pl.DataFrame()
        if ngram_rules:
            passed = self._passing(frame, plain) if plain else np.ones(texts.len(), dtype=bool)
            if words is None:
                words = self._words(texts, np.flatnonzero(passed))
            ngrams = self._ngram_metrics(words, passed, ngram_rules)
            frame = frame.with_columns(ngrams) if frame.width else pl.DataFrame(ngrams)
        return frame, edited_texts

    def _unchanged_figures(
        self, frame: pl.DataFrame, metrics: list[str], rows: np.ndarray, edits: pl.DataFrame
    ) -> pl.DataFrame:
        """FineWeb's figures of the edited text at ``rows``, where C4 deleted only blank lines
        and outer spaces: those of the original lines, and the newlines between kept lines."""
        index = pl.Series(rows, dtype=pl.Int64)
        columns = []
        for metric in metrics:
            if metric == "newline_ratio":
                words = frame[_WORDS_OF_TEXT].gather(index).cast(pl.Float64)
                newlines = (edits["kept_lines"] - 1).clip(0).cast(pl.Float64)
                values = pl.select(pl.when(words > 0).then(newlines / words)).to_series()
            else:
                values = frame[f"{metric}:original"].gather(index)
            column = frame[f"{metric}:edited"].cast(pl.Float64)
            columns.append(column.scatter(index, values.cast(pl.Float64)))
        return frame.with_columns(columns)

    def _words(self, texts: pl.Series, rows: np.ndarray) -> M.Words:
        """The words of the texts at ``rows`` (the others have none), for the n-grams."""
        stop_words = self.params.gopher_stop_words
        _, words = M.measure(texts.gather(rows), {_WORDS}, self.line_options, stop_words)
        assert words is not None
        doc_chars = np.zeros(texts.len(), dtype=np.float64)
        doc_chars[rows] = words.doc_chars
        return M.Words(rows[words.doc], words.hashes, words.lengths, doc_chars)

    def _passing(self, frame: pl.DataFrame, rules: list[Rule]) -> np.ndarray:
        """Rows failing none of ``rules`` (a null figure passes)."""
        if not rules:
            return np.ones(frame.height, dtype=bool)
        failed = pl.any_horizontal([self._fails(r).fill_null(False) for r in rules])
        return ~frame.select(failed).to_series().to_numpy()

    def _figures(
        self,
        texts: pl.Series,
        metrics: list[str],
        ngrams: bool,
        also: dict[str, tuple[frozenset[str], pl.Expr]] | None = None,
    ) -> tuple[pl.DataFrame, M.Words | None]:
        """The (non n-gram) ``metrics`` of ``texts``, the columns of ``also`` (name: blocks and
        expression), and the texts' words when ``ngrams``."""
        table = {**_METRICS, **_NLTK_METRICS} if self.nltk_words else _METRICS
        table = {**table, **(also or {})}
        metrics = [*metrics, *(also or {})]
        blocks: set[str] = set().union(*(table[m][0] for m in metrics))
        if ngrams:
            blocks.add(_WORDS)
        extra = None
        if _NLTK in blocks:
            # the newline ratio alone needs only the count of tokens
            only_tokens = set(metrics) & set(_NLTK_METRICS) <= {"newline_ratio"}
            stop_words = tuple(self.params.gopher_stop_words)

            def extra(chunk: M.Chunk) -> dict[str, np.ndarray]:
                figures = chunk_word_tokens(chunk, stop_words, only_tokens)
                return {f"nltk_{name}": values for name, values in figures.items()}

        stop_words = self.params.gopher_stop_words
        wanted = {name for m in metrics for name in table[m][1].meta.root_names()}
        raw, words = M.measure(texts, blocks, self.line_options, stop_words, extra, wanted)
        if _NLTK in blocks:
            prepared = M.prepared(texts)
            # str.splitlines: a final newline ends the last line, an empty text has none
            newlines = prepared.str.count_matches("\n")
            all_lines = pl.select(
                pl.when(prepared.str.len_chars() > 0)
                .then(newlines + 1 - prepared.str.ends_with("\n").cast(pl.UInt32))
                .otherwise(0)
            ).to_series()
            nltk = [c for c in raw.columns if c.startswith("nltk_")]
            raw = raw.drop([c.removeprefix("nltk_") for c in nltk], strict=False).with_columns(
                *(raw[c].alias(c.removeprefix("nltk_")) for c in nltk),
                all_lines.cast(pl.Int64).alias("all_lines"),
            )
        if not metrics:
            return pl.DataFrame(height=texts.len()), words
        return raw.select([table[m][1].alias(m) for m in metrics]), words

    def _ngram_metrics(
        self, words: M.Words, passed: np.ndarray, rules: list[Rule]
    ) -> list[pl.Series]:
        repetition = M.NgramRepetition(words, passed)
        columns = []
        for rule in rules:  # RULES lists n rising, as NgramRepetition requires
            if rule.metric.startswith("top_"):
                values = repetition.top_char_frac(rule.n)
            else:
                values = repetition.dup_char_frac(rule.n)
            values = np.where(repetition.measured, values, np.nan)
            columns.append(pl.Series(rule.metric, values).fill_nan(None))
            limit = self._threshold(rule)
            failed = values < limit if rule.bound == "min" else values > limit  # NaN: False
            repetition.drop(failed)  # the first failing rule gives the reason
        return columns

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        self.totals.seen += batch.height
        if batch.height == 0 or not self.rules:
            return batch.with_columns(
                pl.lit(None, pl.String).alias(B.REASON), pl.lit(None, pl.Float64).alias(B.SCORE)
            )
        texts = batch[B.TEXT]
        frame, edited = self.measure_and_edit(texts)
        marks = frame.select(self._marks())
        for reason, count in marks[B.REASON].drop_nulls().value_counts().iter_rows():
            self.totals.reasons[reason] += count
        out = batch.with_columns(marks[B.REASON], marks[B.SCORE], marks[B.DETAIL])
        if edited is not None:  # kept documents take C4's edit; dropped ones stay as they were
            keep = marks[B.REASON].is_null() & texts.is_not_null()
            out = write_edits(out, keep, edited, self.c4_options)
        return out

    def _marks(self) -> list[pl.Expr]:
        """The first failing rule's code, figure and detail, built once: building these
        expressions over every rule costs more than applying them to a small batch."""
        if self._marks_exprs is None:
            self._marks_exprs = [
                pl.coalesce(
                    [pl.when(self._fails(r)).then(pl.lit(r.code)) for r in self.rules]
                ).alias(B.REASON),
                pl.coalesce(
                    [
                        pl.when(self._fails(r)).then(pl.col(self._column(r)).cast(pl.Float64))
                        for r in self.rules
                    ]
                ).alias(B.SCORE),
                # why, in the record's values: the failing rule's figure, value and threshold
                pl.coalesce(
                    [pl.when(self._fails(r)).then(self._detail(r)) for r in self.rules]
                ).alias(B.DETAIL),
            ]
        return self._marks_exprs

    def summary(self) -> dict[str, Any]:
        return {
            "seen": self.totals.seen,
            "marked": sum(self.totals.reasons.values()),
            "reasons": {
                code: self.totals.reasons[code]
                for code in REASON_CODES
                if self.totals.reasons[code]
            },
        }
