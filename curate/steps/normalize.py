"""normalize: repair and tidy text in place (Unicode form, mojibake, invisible characters,
whitespace, optionally HTML) so later steps and the model see one spelling of each text.

Every stage is a polars string expression over all segments of a batch at once, except the two
that need a Python library (ftfy for mojibake, ``html.unescape`` for entities); those run only on
the few strings a cheap regex picks out, so clean text never reaches them.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import polars as pl
from pydantic import Field

from curate import batch as B
from curate.registry import Params, Step, Totals, register_step, summed

# UTF-8 read as cp1252/Latin-1 turns each multi-byte character into a lead byte shown as one of
# Â..ô followed by continuation bytes shown as U+0080..U+00BF or cp1252's punctuation for
# 0x80..0x9F. Raw C1 controls (U+0080..U+009F) are cp1252 text read as Latin-1. Only strings
# with one of these pairs can hold fixable mojibake, so only they go through ftfy.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
MOJIBAKE_HINT = rf"[\x{{C2}}-\x{{F4}}][\x{{80}}-\x{{BF}}{_CP1252_HIGH}]|[\x{{80}}-\x{{9F}}]"

# Every line-break convention becomes "\n" before controls are removed, so that a lone "\r" or
# a form feed still separates lines instead of gluing them together.
LINE_BREAKS = r"\r\n|[\r\x0B\x0C\x{85}\x{2028}\x{2029}]"
ANSI_ESCAPES = r"\x1B\[[0-9;?]*[ -/]*[@-~]"
CONTROLS = r"[\p{Cc}&&[^\n\t]]"
# Zero-width space, word joiner, BOM/ZWNBSP, soft hyphen, Mongolian vowel separator, and the
# bidi embeddings, overrides, isolates and marks (the "Trojan source" characters).
INVISIBLES = (
    r"[\x{200B}\x{2060}\x{FEFF}\x{AD}\x{180E}"
    r"\x{200E}\x{200F}\x{61C}\x{202A}-\x{202E}\x{2066}-\x{2069}]"
)
# ZWNJ and ZWJ spell words in Persian and Indic scripts and join emoji sequences.
JOINERS = r"[\x{200C}\x{200D}]"
HSPACE = r"[\t\p{Zs}]"

# Tags whose content is never text, and tags that end a line when rendered.
HTML_SKIPPED_BLOCKS = (
    r"(?is)<(script|style|head|template)\b[^>]*>.*?</(script|style|head|template)\s*>"
    r"|<!--.*?-->"
)
HTML_LINE_TAGS = r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6]|pre|blockquote|table|ul|ol)\s*>"
HTML_TAG = r"</?[A-Za-z][^<>]*>|<![A-Za-z][^<>]*>"
HTML_ENTITY = r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?"

KINDS = ("html", "mojibake", "unicode", "invisible", "whitespace")


class NormalizeParams(Params):
    form: Literal["NFKC", "NFC", "none"] = Field(
        "NFKC",
        description="Unicode normal form: NFKC also folds ligatures, full-width and other "
        "compatibility forms; NFC only composes accents",
    )
    fix_mojibake: bool = Field(
        True, description="repair UTF-8 decoded with the wrong codec (cafÃ© -> café) with ftfy"
    )
    remove_invisible: bool = Field(
        True,
        description="remove control characters (but newline and tab), terminal escapes, "
        "zero-width and bidi-control characters",
    )
    keep_joiners: bool = Field(
        True, description="keep ZWJ/ZWNJ, which Persian, Indic scripts and emoji need"
    )
    collapse_whitespace: bool = Field(
        True,
        description="runs of spaces/tabs become one space, line ends are trimmed, "
        "blank lines are capped at max_blank_lines",
    )
    keep_indent: bool = Field(
        True, description="leave the leading whitespace of lines alone (code, nested lists)"
    )
    max_blank_lines: int = Field(
        2, ge=0, le=1000, description="longest run of blank lines kept when collapsing whitespace"
    )
    strip_html: bool = Field(
        False, description="remove HTML tags, comments and script/style blocks; unescape entities"
    )
    drop_empty: bool = Field(
        False, description="mark records whose text became empty (reason empty_after_normalize)"
    )


@cache
def _ftfy_fixer() -> Callable[[str], str]:
    import ftfy

    # Only the encoding repairs: every other change is either done by the stages below (so it
    # is the same whether or not a string looked like mojibake) or is not ours to make (quotes).
    config = ftfy.TextFixerConfig(
        unescape_html=False,
        remove_terminal_escapes=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        fix_line_breaks=False,
        remove_control_chars=False,
        normalization=None,
        explain=False,
    )
    return lambda text: ftfy.fix_text(text, config)


def _map_matching(
    texts: pl.Series, pattern: str, fn: Callable[[str], str]
) -> tuple[pl.Series, int]:
    """Apply a one-string Python function only where ``pattern`` matches; also say how often."""
    hits = texts.str.contains(pattern).fill_null(False)
    count = int(hits.sum())
    if not count:
        return texts, 0
    fixed = pl.Series([fn(t) for t in texts.filter(hits).to_list()], dtype=pl.String)
    return texts.clone().scatter(hits.arg_true(), fixed), count


def batch_separator(batch: pl.DataFrame, default: str = "\n\n") -> str:
    """The string the reader put between segments, recovered from a row with several segments.

    Steps are not told ``fields.join``; any row with two or more non-null segments shows it, and
    it is checked against that row before use. Rows with a single segment do not need it.
    """
    lengths = batch[B.SEGMENTS].list.len()
    for position in (lengths >= 2).arg_true().to_list():
        texts = [s["text"] for s in batch[B.SEGMENTS][position]]
        joined = batch[B.TEXT][position]
        if any(t is None for t in texts) or joined is None:
            continue
        gap = (len(joined) - sum(len(t) for t in texts)) // (len(texts) - 1)
        start = len(texts[0])
        separator = joined[start : start + gap]
        if separator.join(texts) == joined:
            return separator
    return default


@dataclass
class NormalizeTotals(Totals):
    changed: Counter[str] = summed(Counter)  # segments changed, per stage
    mojibake_candidates: int = summed()


@register_step
class Normalize(Step[NormalizeParams]):
    """Normalises text in place: each segment (chat message, field) separately."""

    name = "normalize"
    Params = NormalizeParams
    changes_text = True
    parallel_safe = True
    totals_type = NormalizeTotals
    totals: NormalizeTotals

    def _stages(self) -> list[tuple[str, Callable[[pl.Series], pl.Series]]]:
        p = self.params
        stages: list[tuple[str, Callable[[pl.Series], pl.Series]]] = []
        if p.strip_html:
            stages.append(("html", self._strip_html))
        if p.fix_mojibake:
            stages.append(("mojibake", self._fix_mojibake))
        if p.form != "none":
            stages.append(("unicode", lambda s: s.str.normalize(p.form)))
        if p.remove_invisible:
            stages.append(("invisible", self._remove_invisible))
        if p.collapse_whitespace:
            stages.append(("whitespace", self._collapse_whitespace))
        return stages

    def _strip_html(self, texts: pl.Series) -> pl.Series:
        texts = (
            texts.str.replace_all(HTML_SKIPPED_BLOCKS, "")
            .str.replace_all(HTML_LINE_TAGS, "\n")
            .str.replace_all(HTML_TAG, "")
        )
        return _map_matching(texts, HTML_ENTITY, html.unescape)[0]

    def _fix_mojibake(self, texts: pl.Series) -> pl.Series:
        fixed, candidates = _map_matching(texts, MOJIBAKE_HINT, _ftfy_fixer())
        self.totals.mojibake_candidates += candidates
        return fixed

    def _remove_invisible(self, texts: pl.Series) -> pl.Series:
        texts = (
            texts.str.replace_all(LINE_BREAKS, "\n")
            .str.replace_all(ANSI_ESCAPES, "")
            .str.replace_all(CONTROLS, "")
            .str.replace_all(INVISIBLES, "")
        )
        if not self.params.keep_joiners:
            texts = texts.str.replace_all(JOINERS, "")
        return texts

    def _collapse_whitespace(self, texts: pl.Series) -> pl.Series:
        p = self.params
        texts = texts.str.replace_all(LINE_BREAKS, "\n").str.replace_all(rf"(?m){HSPACE}+$", "")
        if p.keep_indent:
            texts = texts.str.replace_all(rf"(\S){HSPACE}+", "${1} ")
        else:
            texts = texts.str.replace_all(rf"(?m)^{HSPACE}+", "").str.replace_all(
                rf"{HSPACE}+", " "
            )
        return (
            texts.str.replace_all(
                rf"\n{{{p.max_blank_lines + 2},}}", "\n" * (p.max_blank_lines + 1)
            )
            .str.replace_all(r"^\n+", "")
            .str.replace_all(r"\s+$", "")
        )

    def _transform(self, texts: pl.Series) -> pl.Series:
        for kind, stage in self._stages():
            after = stage(texts)
            self.totals.changed[kind] += int((after != texts).fill_null(False).sum())
            texts = after
        return texts

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        out = B.update_text(batch, self._transform, batch_separator(batch))
        if not self.params.drop_empty:
            return out.with_columns(pl.lit(None, pl.String).alias(B.REASON))
        became_empty = _segment_chars(out) == 0
        was_empty = _segment_chars(batch) == 0
        return out.with_columns(
            pl.when(became_empty & ~was_empty)
            .then(pl.lit("empty_after_normalize"))
            .otherwise(pl.lit(None, pl.String))
            .alias(B.REASON)
        )

    def summary(self) -> dict[str, Any]:
        return {
            "segments_changed": {k: self.totals.changed[k] for k, _ in self._stages()},
            "mojibake_candidates": self.totals.mojibake_candidates,
        }


def _segment_chars(batch: pl.DataFrame) -> pl.Series:
    """Characters over all segments of each row (separators excluded)."""
    return batch.select(
        pl.col(B.SEGMENTS)
        .list.eval(pl.element().struct.field("text").str.len_chars())
        .list.sum()
        .fill_null(0)
    ).to_series()
