"""C4's line edits, as C4 (TFDS ``c4_utils``) and datatrove's ``C4QualityFilter`` apply them.

Each line of a text (Python's ``splitlines`` boundaries), stripped, is looked at in turn:

1. a line with a token longer than ``max_word_length`` characters is deleted;
2. Wikipedia citation marks (``[1]``, ``[edit]``, ``[citation needed]``) are removed;
3. where terminal punctuation is required, a line that does not end with it (or ends with an
   ellipsis) is deleted;
4. a line with fewer than ``min_words_per_line`` tokens (counted before step 2) is deleted;
5. a line holding "lorem ipsum" (any case) drops the whole document;
6. a line mentioning "javascript" (any case) is deleted;
7. a line holding ``{`` drops the whole document;
8. a line holding a policy phrase (any case) is deleted;
9. the line is kept, and its sentences counted (``quality_text.sentence_counts``).

The kept lines, joined by newlines and stripped, are the edited text; a document whose kept
lines hold fewer than ``min_sentences`` sentences is dropped by the caller. Steps 5 and 7 only
see lines that survived the steps before them, as in both references: "lorem ipsum" on a
two-word line, or a curly bracket in a javascript notice, deletes that line, not the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from curate import batch as B
from curate.steps.normalize import batch_separator
from curate.steps.quality_text import sentence_counts

# Python's str.splitlines boundaries (after \r\n and \r became \n)
LINE_BREAKS = r"[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
TERMINAL_END = r"\p{Sentence_Terminal}[\"'\u201d\u2019\u00bb)\]]*$"


@dataclass(frozen=True)
class C4Options:
    require_terminal_punct: bool
    min_words_per_line: int
    max_word_length: int
    policy_phrases: tuple[str, ...]  # lower-cased
    # count sentences only for texts with fewer kept lines than this (each kept line holds a
    # sentence at least, so the others pass): null elsewhere; None counts everywhere
    decide_below: int | None = None


def c4_line_edits(texts: pl.Series, opts: C4Options) -> pl.DataFrame:
    """One row per text: ``text`` (the kept lines), ``lorem_ipsum`` and ``curly_brackets``
    (1 when a line that reached that test holds it, else 0), ``c4_sentences``, ``kept_lines``
    and ``untouched`` (no line but blank ones deleted, no citation mark removed: the edited
    text's lines are the text's own)."""
    line = pl.col("line")
    lines = (
        pl.DataFrame({"line": texts.fill_null("").str.replace_all(r"\r\n?", "\n")})
        .with_columns(line.str.replace_all(LINE_BREAKS, "\n").str.split("\n"))
        .with_row_index("doc")
        .explode("line")
        .with_columns(line.fill_null("").str.strip_chars())
    )
    cited = line.str.replace_all(CITATION, "")
    lowered = pl.col("cited").str.to_lowercase()
    # enough tokens: the first min_words_per_line of them exist (cheaper than counting all)
    enough = (
        line.str.contains(rf"^(?:\S+\s+){{{opts.min_words_per_line - 1}}}\S")
        if opts.min_words_per_line > 0
        else pl.lit(True)
    )
    survives = enough & ~line.str.contains(rf"\S{{{opts.max_word_length + 1}}}")
    if opts.require_terminal_punct:
        stripped = pl.col("cited").str.strip_chars()
        ellipsis = stripped.str.ends_with("...") | stripped.str.ends_with("\u2026")
        survives = survives & stripped.str.contains(TERMINAL_END) & ~ellipsis
    policy = _contains_any(lowered, opts.policy_phrases)
    marked = (
        lines.with_columns(cited.alias("cited"))
        .with_columns(survives.alias("survives"))
        .with_columns(
            (pl.col("survives") & lowered.str.contains("lorem ipsum", literal=True)).alias("lorem"),
            (pl.col("survives") & ~lowered.str.contains("javascript", literal=True)).alias("no_js"),
        )
        .with_columns(
            (pl.col("no_js") & pl.col("cited").str.contains("{", literal=True)).alias("curly"),
            (pl.col("no_js") & ~policy).alias("kept"),
        )
    )
    per_doc = marked.group_by("doc", maintain_order=True).agg(
        pl.col("cited").filter("kept").str.join("\n").str.strip_chars().alias("text"),
        pl.col("lorem").any().cast(pl.Int64).alias("lorem_ipsum"),
        pl.col("curly").any().cast(pl.Int64).alias("curly_brackets"),
        pl.col("kept").sum().alias("kept_lines"),
        # nothing but blank lines and outer spaces went: the lines are those of the text
        (
            (pl.col("kept") | (line.str.len_chars() == 0)).all()
            & (pl.col("cited") == line).filter("kept").all()
            & (opts.min_words_per_line > 0)
        ).alias("untouched"),
    )
    counted = np.ones(texts.len(), dtype=bool)
    if opts.decide_below is not None:
        counted = per_doc["kept_lines"].to_numpy() < opts.decide_below
    kept = marked.filter("kept")
    if opts.decide_below is not None:
        kept = kept.filter(pl.col("doc").is_in(np.flatnonzero(counted).tolist()))
    sentences = np.bincount(
        kept["doc"].to_numpy(),
        weights=sentence_counts(kept["cited"]),
        minlength=texts.len(),
    ).astype(np.int64)
    column = pl.Series("c4_sentences", sentences)
    column = pl.select(pl.when(pl.Series(counted)).then(column)).to_series().alias("c4_sentences")
    return per_doc.drop("doc").with_columns(column)


def _contains_any(lowered: pl.Expr, phrases: Sequence[str]) -> pl.Expr:
    if not phrases:
        return pl.lit(False)
    return lowered.str.contains_any(list(phrases))


def write_edits(
    batch: pl.DataFrame, keep: pl.Series, edited: pl.Series, opts: C4Options
) -> pl.DataFrame:
    """The batch with C4's edits written into the segments of the ``keep`` rows (``_text``
    rebuilt, ``_changed`` set where the text changed). A row with one segment takes
    ``edited`` (the edit of its ``_text``) as it is; a row with several segments (chat turns,
    several fields) has each segment edited on its own, so that every edit lands in the field
    it came from."""
    keep = keep.fill_null(False)
    single = keep & (batch[B.SEGMENTS].list.len() == 1)
    first = pl.col(B.SEGMENTS).list.first()
    segment = pl.struct(
        first.struct.field("path").alias("path"),
        first.struct.field("role").alias("role"),
        pl.lit(edited).alias("text"),
    )
    out = batch.with_columns(
        pl.when(pl.lit(single))
        .then(pl.concat_list(segment))
        .otherwise(pl.col(B.SEGMENTS))
        .cast(B.SEGMENT_DTYPE)
        .alias(B.SEGMENTS),
        (
            pl.col(B.CHANGED)
            | (pl.lit(single) & (pl.lit(edited) != pl.col(B.TEXT))).fill_null(False)
        ).alias(B.CHANGED),
        pl.when(pl.lit(single)).then(pl.lit(edited)).otherwise(pl.col(B.TEXT)).alias(B.TEXT),
    )
    several = keep & ~single
    if not several.any():
        return out
    every_sentence = replace(opts, decide_below=None)

    def edit(texts: pl.Series) -> pl.Series:
        return c4_line_edits(texts, every_sentence)["text"]

    row = "__quality_row"
    out = out.with_row_index(row)
    parts = [out.filter(~several), B.update_text(out.filter(several), edit, batch_separator(out))]
    return pl.concat(parts).sort(row).drop(row)
