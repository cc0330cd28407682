"""The ``quality`` step as it was before it was vectorised over characters: the test oracle.

A faithful copy of the polars/numpy implementation that ``curate/steps/quality_metrics.py`` and
``Quality.measure``/``apply`` had before the character-array rewrite. The rule table, the
parameters and the presets are imported from the step (they define the semantics and did not
change); everything that measures is copied here unchanged, with one exception: the most
frequent n-gram is picked with ``maintain_order=True``, so that among n-grams of equal count and
length the one seen first wins (the old code left such ties to hash order, which made the
score of those rare documents non-deterministic). The new step breaks ties the same way.

Only tests and ``bench/bench_quality.py`` import this module.

Changed on purpose since (issue 17): ``c4_sentences`` counts sentences as NLTK's punkt does
(``quality_text.sentence_counts``, pinned by its own tests) instead of "a terminal mark
followed by a space", over the lines C4 keeps as C4's code decides them (``c4_sentences``
below: lines split where Python's ``splitlines`` splits, tokens counted before citation marks
are removed). The presets' new settings (``c4_edit_lines``, ``word_definition: nltk``) are
not reproduced here: the tests compare them with datatrove's behaviour instead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.steps.quality import RULES, QualityParams, Rule
from curate.steps.quality_text import sentence_counts

# A word: from its first to its last character that is neither punctuation, symbol nor space.
WORD = r"[^\s\p{P}\p{S}](?:\S*[^\s\p{P}\p{S}])?"
TOKEN = r"\S+"
# Closing quotes and brackets may follow the terminal mark: `He said "no."` ends a sentence.
CLOSERS = "\"'\u201d\u2019\u00bb)\\]"
TERMINAL_END = rf"\p{{Sentence_Terminal}}[{CLOSERS}]*$"
LINE_BREAKS = r"[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"  # str.splitlines, besides \n
ELLIPSIS = r"\.\.\.|\u2026"
# Wikipedia-style citation marks that C4 deletes before looking at a line's last character.
CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
# What a word tokenizer (NLTK-style) would count: runs of word characters, runs of punctuation.
TOKENIZER_WORD = r"[\p{L}\p{N}_]+|[^\p{L}\p{N}_\s]+"
BLANK_LINE_RUN = r"\n[^\S\n]*\n\s*"
PARAGRAPH_SEP = "\x00"

_NGRAM_PRIME = np.uint64(0x100000001B3)
_DOC_MIX = np.uint64(0x9E3779B97F4A7C15)


def prepared(texts: pl.Series) -> pl.Series:
    """Null as empty text, and one newline convention."""
    return texts.fill_null("").str.replace_all(r"\r\n?", "\n")


def _per_doc(stats: pl.DataFrame, n_docs: int) -> pl.DataFrame:
    """Aggregates keyed by ``doc`` -> one row per document (0..n_docs-1), missing counts 0."""
    base = pl.DataFrame({"doc": pl.Series(range(n_docs), dtype=pl.UInt32)})
    joined = base.join(stats.with_columns(pl.col("doc").cast(pl.UInt32)), on="doc", how="left")
    return joined.fill_null(0).drop("doc")


def fraction(part: str, whole: str) -> pl.Expr:
    """part / whole, null when whole is 0 (a rule with nothing to measure passes)."""
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole))


def document_counts(texts: pl.Series) -> pl.DataFrame:
    """Counts over the whole text: tokens, symbols, newlines, C4's page-level markers."""
    t = pl.col("t")
    return pl.DataFrame({"t": texts}).select(
        t.str.count_matches(TOKEN).alias("tokens"),
        t.str.count_matches(r"\S*\p{L}\S*").alias("alpha_tokens"),
        t.str.count_matches("#", literal=True).alias("hashes"),
        t.str.count_matches(ELLIPSIS).alias("ellipses"),
        t.str.count_matches("\n", literal=True).alias("newlines"),
        t.str.count_matches(TOKENIZER_WORD).alias("tokenizer_words"),
        t.str.count_matches(r"(?i)lorem ipsum").alias("lorem_ipsum"),
        t.str.count_matches("{", literal=True).alias("curly_brackets"),
    )


@dataclass(frozen=True)
class LineOptions:
    """Settings of the line-level rules (bullets, C4 line filters, FineWeb short lines)."""

    bullets: tuple[str, ...]
    short_line_chars: int
    c4_require_terminal_punct: bool
    c4_min_words_per_line: int
    c4_max_word_length: int
    c4_policy_phrases: tuple[str, ...]


def _any_prefix(expr: pl.Expr, prefixes: Sequence[str]) -> pl.Expr:
    if not prefixes:
        return pl.lit(False)
    out = expr.str.starts_with(prefixes[0])
    for prefix in prefixes[1:]:
        out = out | expr.str.starts_with(prefix)
    return out


def line_stats(texts: pl.Series, opts: LineOptions) -> pl.DataFrame:
    """Per-document line counts for the Gopher, C4, FineWeb and repetition line rules.

    C4 keeps a line only if it has no word longer than ``c4_max_word_length``, ends in terminal
    punctuation but not an ellipsis (citation marks removed first), has at least
    ``c4_min_words_per_line`` words and mentions neither javascript nor a policy phrase;
    ``c4_sentences`` counts the sentences of the lines C4 would keep.
    """
    line = pl.col("line")
    c4_line = line.str.replace_all(CITATION, "").str.strip_chars()
    lines = (
        pl.DataFrame({"line": texts.str.split("\n")})
        .with_row_index("doc")
        .explode("line")
        .with_columns(line.str.strip_chars())
        .filter(line.str.len_chars() > 0)
    )
    ellipsis_end = line.str.ends_with("...") | line.str.ends_with("\u2026")
    c4_ellipsis_end = c4_line.str.ends_with("...") | c4_line.str.ends_with("\u2026")
    c4_terminal = c4_line.str.contains(TERMINAL_END) & ~c4_ellipsis_end
    lowered = line.str.to_lowercase()
    javascript = lowered.str.contains("javascript", literal=True)
    if opts.c4_policy_phrases:
        policy = lowered.str.contains_any(list(opts.c4_policy_phrases))
    else:
        policy = pl.lit(False)
    chars = line.str.len_chars()
    duplicate = ~pl.struct("doc", "line").is_first_distinct()
    stats = (
        lines.with_columns(chars.alias("chars"), duplicate.alias("duplicate"))
        .group_by("doc")
        .agg(
            pl.len().alias("lines"),
            pl.col("chars").sum().alias("line_chars"),
            _any_prefix(line, opts.bullets).sum().alias("bullet_lines"),
            ellipsis_end.sum().alias("ellipsis_lines"),
            line.str.contains(TERMINAL_END).sum().alias("punct_lines"),
            (~c4_terminal).sum().alias("c4_no_terminal_punct_lines"),
            javascript.sum().alias("c4_javascript_lines"),
            policy.sum().alias("c4_policy_lines"),
            (pl.col("chars") <= opts.short_line_chars).sum().alias("short_lines"),
            pl.col("duplicate").sum().alias("dup_lines"),
            pl.col("chars").filter(pl.col("duplicate")).sum().alias("dup_line_chars"),
        )
    )
    return _per_doc(stats, texts.len()).with_columns(c4_sentences(texts, opts))


def c4_sentences(texts: pl.Series, opts: LineOptions) -> pl.Series:
    """Sentences of the lines C4 keeps (lorem ipsum and curly brackets are page rules here)."""
    line = pl.col("line")
    c4_line = line.str.replace_all(CITATION, "")
    lines = (
        pl.DataFrame({"line": texts.str.replace_all(LINE_BREAKS, "\n").str.split("\n")})
        .with_row_index("doc")
        .explode("line")
        .with_columns(line.fill_null("").str.strip_chars())
    )
    stripped = c4_line.str.strip_chars()
    ellipsis = stripped.str.ends_with("...") | stripped.str.ends_with("\u2026")
    lowered = c4_line.str.to_lowercase()
    policy = (
        lowered.str.contains_any(list(opts.c4_policy_phrases))
        if opts.c4_policy_phrases
        else pl.lit(False)
    )
    kept = lines.filter(
        ~line.str.contains(rf"\S{{{opts.c4_max_word_length + 1}}}")
        & (
            (stripped.str.contains(TERMINAL_END) & ~ellipsis)
            if opts.c4_require_terminal_punct
            else pl.lit(True)
        )
        & (line.str.count_matches(TOKEN) >= opts.c4_min_words_per_line)
        & ~lowered.str.contains("javascript", literal=True)
        & ~policy
    ).select("doc", c4_line)
    counts = sentence_counts(kept["line"])
    per_doc = np.bincount(kept["doc"].to_numpy(), weights=counts, minlength=texts.len())
    return pl.Series("c4_sentences", per_doc.astype(np.int64))


def paragraph_stats(texts: pl.Series) -> pl.DataFrame:
    """Per-document paragraph counts and duplicate paragraphs (count and characters)."""
    para = pl.col("para")
    split = (
        texts.str.replace_all(PARAGRAPH_SEP, " ", literal=True)
        .str.replace_all(BLANK_LINE_RUN, PARAGRAPH_SEP)
        .str.split(PARAGRAPH_SEP)
    )
    stats = (
        pl.DataFrame({"para": split})
        .with_row_index("doc")
        .explode("para")
        .with_columns(para.str.strip_chars())
        .filter(para.str.len_chars() > 0)
        .with_columns(
            para.str.len_chars().alias("chars"),
            (~pl.struct("doc", "para").is_first_distinct()).alias("duplicate"),
        )
        .group_by("doc")
        .agg(
            pl.len().alias("paragraphs"),
            pl.col("chars").sum().alias("para_chars"),
            pl.col("duplicate").sum().alias("dup_paras"),
            pl.col("chars").filter(pl.col("duplicate")).sum().alias("dup_para_chars"),
        )
    )
    return _per_doc(stats, texts.len())


@dataclass(frozen=True)
class Words:
    """Every word of a batch in one flat array, documents one after the other."""

    doc: np.ndarray  # int64, non-decreasing: which document each word belongs to
    hashes: np.ndarray  # uint64 hash of the lower-cased word
    lengths: np.ndarray  # int64 characters of the word
    n_docs: int

    def subset(self, keep_docs: np.ndarray) -> Words:
        """Only the words of documents where ``keep_docs`` (bool per document) is true."""
        mask = keep_docs[self.doc]
        return Words(self.doc[mask], self.hashes[mask], self.lengths[mask], self.n_docs)

    def chars_per_doc(self, weights: np.ndarray | None = None) -> np.ndarray:
        w = self.lengths if weights is None else weights
        return np.bincount(self.doc, weights=w, minlength=self.n_docs)


def word_stats(texts: pl.Series, stop_words: Collection[str]) -> tuple[pl.DataFrame, Words]:
    """Per-document word figures (count, characters, distinct stop words) and the flat words."""
    word = pl.col("word")
    flat = (
        pl.DataFrame({"word": texts.str.extract_all(WORD)})
        .with_row_index("doc")
        .explode("word")
        .filter(word.is_not_null())
        .with_columns(word.str.to_lowercase().alias("lower"), word.str.len_chars().alias("len"))
    )
    stops = pl.Series(sorted({s.lower() for s in stop_words}), dtype=pl.String)
    stats = flat.group_by("doc").agg(
        pl.len().alias("words"),
        pl.col("len").sum().alias("word_chars"),
        pl.col("lower")
        .filter(pl.col("lower").is_in(stops.implode()))
        .n_unique()
        .alias("stop_words"),
    )
    words = Words(
        doc=flat["doc"].cast(pl.Int64).to_numpy(),
        hashes=flat["lower"].hash(seed=0).to_numpy(),
        lengths=flat["len"].cast(pl.Int64).to_numpy(),
        n_docs=texts.len(),
    )
    return _per_doc(stats, texts.len()), words


class NgramRepetition:
    """Gopher's n-gram figures over a ``Words`` table, n rising from 2 (rolling hashes)."""

    def __init__(self, words: Words) -> None:
        self.words = words
        self._n = 1
        self._ngram_hashes = words.hashes
        self._char_prefix = np.concatenate(([0], np.cumsum(words.lengths)))
        self._total_chars = words.chars_per_doc()

    def _advance(self, n: int) -> None:
        if n < self._n:
            raise ValueError("n-grams must be asked for in increasing n")
        while self._n < n:
            # hash of words[i : i + n] from the hash of words[i : i + n - 1]
            self._ngram_hashes = (
                self._ngram_hashes[:-1] * _NGRAM_PRIME + self.words.hashes[self._n :]
            )
            self._n += 1

    def _starts_and_keys(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions where an n-gram starts inside one document, and its (doc, n-gram) key."""
        self._advance(n)
        doc = self.words.doc
        if len(doc) < n:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.astype(np.uint64)
        starts = np.flatnonzero(doc[: len(doc) - n + 1] == doc[n - 1 :])
        mix = (doc[starts].astype(np.uint64) + np.uint64(1)) * _DOC_MIX
        return starts, self._ngram_hashes[starts] ^ mix

    def _as_fraction(self, chars: np.ndarray) -> np.ndarray:
        total = self._total_chars
        out = np.zeros(self.words.n_docs, dtype=np.float64)
        np.divide(chars, total, out=out, where=total > 0)
        return out

    def _covered_chars(self, gram_starts: np.ndarray, n: int) -> np.ndarray:
        """Characters per document of the words inside any of the n-grams starting at
        ``gram_starts``; a word inside several of them counts once."""
        size = len(self.words.doc) + 1
        # +1 where an n-gram starts, -1 after it ends: a running sum > 0 marks covered words
        edges = np.bincount(gram_starts, minlength=size) - np.bincount(
            gram_starts + n, minlength=size
        )
        is_covered = np.cumsum(edges[:-1]) > 0
        return self.words.chars_per_doc(self.words.lengths * is_covered)

    def _repeated(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Start positions and keys of the n-grams that occur more than once in their
        document. Most n-grams of real text are unique, so a sort of the keys finds the few
        repeated values and everything after works on those alone."""
        starts, keys = self._starts_and_keys(n)
        ordered = np.sort(keys)
        repeated_values = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if repeated_values.size == 0:
            return starts[:0], keys[:0]
        slot = np.searchsorted(repeated_values, keys)
        np.minimum(slot, repeated_values.size - 1, out=slot)
        is_repeated = repeated_values[slot] == keys
        return starts[is_repeated], keys[is_repeated]

    def top_char_frac(self, n: int) -> np.ndarray:
        """Characters covered by the occurrences of the most frequent n-gram / all word
        characters. Ties go to the longer n-gram; an n-gram seen once is no repetition (0)."""
        starts, keys = self._repeated(n)
        if len(starts) == 0:
            return np.zeros(self.words.n_docs, dtype=np.float64)
        grams = pl.DataFrame(
            {
                "key": keys,
                "doc": self.words.doc[starts],
                "chars": self._char_prefix[starts + n] - self._char_prefix[starts],
            }
        )
        top_keys = (
            grams.group_by("key", maintain_order=True)  # ties: the first seen (see module doc)
            .agg(pl.len().alias("count"), pl.col("doc").first(), pl.col("chars").first())
            .group_by("doc")
            .agg(
                pl.col("key")
                .sort_by(["count", "chars"], descending=[True, True], maintain_order=True)
                .first()
            )
        )["key"]
        is_top = grams["key"].is_in(top_keys.implode()).to_numpy()
        return self._as_fraction(self._covered_chars(starts[is_top], n))

    def dup_char_frac(self, n: int) -> np.ndarray:
        """Characters of words covered by any repeat of an earlier n-gram of the same document
        / all word characters; a word covered by several repeats counts once."""
        starts, keys = self._repeated(n)
        if len(starts) == 0:
            return np.zeros(self.words.n_docs, dtype=np.float64)
        later_copies = starts[~pl.Series(keys).is_first_distinct().to_numpy()]
        return self._as_fraction(self._covered_chars(later_copies, n))


# Which measurement block each (non n-gram) metric needs, and how it is derived.
_DOC, _LINES, _PARAS, _WORDS = "doc", "lines", "paragraphs", "words"
_METRICS: dict[str, tuple[frozenset[str], pl.Expr]] = {
    "words": (frozenset({_WORDS}), pl.col("words")),
    "mean_word_length": (frozenset({_WORDS}), fraction("word_chars", "words")),
    "symbol_word_ratio": (
        frozenset({_WORDS, _DOC}),
        pl.when(pl.col("words") > 0).then(
            pl.max_horizontal("hashes", "ellipses") / pl.col("words")
        ),
    ),
    "bullet_lines_frac": (frozenset({_LINES}), fraction("bullet_lines", "lines")),
    "ellipsis_lines_frac": (frozenset({_LINES}), fraction("ellipsis_lines", "lines")),
    "alpha_words_frac": (frozenset({_DOC}), fraction("alpha_tokens", "tokens")),
    "stop_words": (frozenset({_WORDS}), pl.col("stop_words")),
    "lorem_ipsum": (frozenset({_DOC}), pl.col("lorem_ipsum")),
    "curly_brackets": (frozenset({_DOC}), pl.col("curly_brackets")),
    "c4_no_terminal_punct_frac": (
        frozenset({_LINES}),
        fraction("c4_no_terminal_punct_lines", "lines"),
    ),
    "c4_javascript_lines_frac": (
        frozenset({_LINES}),
        fraction("c4_javascript_lines", "lines"),
    ),
    "c4_policy_lines_frac": (frozenset({_LINES}), fraction("c4_policy_lines", "lines")),
    "c4_sentences": (frozenset({_LINES}), pl.col("c4_sentences")),
    "line_punct_frac": (frozenset({_LINES}), fraction("punct_lines", "lines")),
    "short_lines_frac": (frozenset({_LINES}), fraction("short_lines", "lines")),
    "newline_ratio": (frozenset({_DOC}), fraction("newlines", "tokenizer_words")),
    "dup_line_frac": (frozenset({_LINES}), fraction("dup_lines", "lines")),
    "dup_line_char_frac": (frozenset({_LINES}), fraction("dup_line_chars", "line_chars")),
    "dup_para_frac": (frozenset({_PARAS}), fraction("dup_paras", "paragraphs")),
    "dup_para_char_frac": (frozenset({_PARAS}), fraction("dup_para_chars", "para_chars")),
}


class ReferenceQuality:
    """``_reason`` and ``_score`` per text, computed the old way (one call per batch)."""

    def __init__(self, params: QualityParams) -> None:
        self.params = params
        self.settings = params.resolved()
        self.rules = [rule for rule in RULES if self._active(rule)]
        self.line_options = LineOptions(
            bullets=tuple(self.settings["gopher_bullets"]),
            short_line_chars=params.fineweb_short_line_chars,
            c4_require_terminal_punct=self.settings["c4_require_terminal_punct"],
            c4_min_words_per_line=self.settings["c4_min_words_per_line"],
            c4_max_word_length=params.c4_max_word_length,
            c4_policy_phrases=tuple(p.lower() for p in params.c4_policy_phrases),
        )

    def _active(self, rule: Rule) -> bool:
        if not self.settings[rule.group] or rule.code in self.params.disable:
            return False
        return rule.code != "c4_no_terminal_punct" or self.settings["c4_require_terminal_punct"]

    def _threshold(self, rule: Rule) -> float:
        if isinstance(rule.threshold, str):
            return float(self.settings[rule.threshold])
        return float(rule.threshold)

    def _fails(self, rule: Rule) -> pl.Expr:
        value = pl.col(rule.metric)
        limit = self._threshold(rule)
        return value < limit if rule.bound == "min" else value > limit

    def measure(self, texts: pl.Series) -> pl.DataFrame:
        """Every figure the active rules read, one row per text. N-gram figures are computed
        only for the texts that pass every other rule (null elsewhere): they cost the most."""
        texts = prepared(texts)
        plain = [r for r in self.rules if not r.n]
        ngram_rules = [r for r in self.rules if r.n]
        metrics = list(dict.fromkeys(r.metric for r in plain))
        blocks: set[str] = set().union(*(_METRICS[m][0] for m in metrics))
        parts: list[pl.DataFrame] = []
        words: Words | None = None
        if _DOC in blocks:
            parts.append(document_counts(texts))
        if _LINES in blocks:
            parts.append(line_stats(texts, self.line_options))
        if _PARAS in blocks:
            parts.append(paragraph_stats(texts))
        if _WORDS in blocks or ngram_rules:
            word_table, words = word_stats(texts, self.params.gopher_stop_words)
            parts.append(word_table)
        frame = pl.DataFrame()
        if metrics:
            raw = pl.concat(parts, how="horizontal")
            frame = raw.select([_METRICS[m][1].alias(m) for m in metrics])
        if ngram_rules and words is not None:
            passed = np.ones(texts.len(), dtype=bool)
            if plain:
                failed = pl.any_horizontal([self._fails(r).fill_null(False) for r in plain])
                passed = ~frame.select(failed).to_series().to_numpy()
            columns = self._ngram_metrics(words, passed, ngram_rules)
            frame = frame.with_columns(columns) if frame.width else pl.DataFrame(columns)
        return frame

    def _ngram_metrics(
        self, words: Words, passed: np.ndarray, rules: list[Rule]
    ) -> list[pl.Series]:
        repetition = NgramRepetition(words.subset(passed))
        columns = []
        for rule in rules:  # RULES lists n rising, as NgramRepetition requires
            if rule.metric.startswith("top_"):
                values = repetition.top_char_frac(rule.n)
            else:
                values = repetition.dup_char_frac(rule.n)
            column = pl.Series(rule.metric, np.where(passed, values, np.nan)).fill_nan(None)
            columns.append(column)
        return columns

    def marks(self, texts: pl.Series | list[str | None]) -> pl.DataFrame:
        """Columns ``_reason`` and ``_score``, one row per text (``apply`` without a batch)."""
        texts = pl.Series("t", texts, dtype=pl.String)
        if texts.len() == 0 or not self.rules:
            return pl.DataFrame(
                {"_reason": [None] * texts.len(), "_score": [None] * texts.len()},
                schema={"_reason": pl.String, "_score": pl.Float64},
            )
        frame = self.measure(texts)
        return frame.select(
            pl.coalesce([pl.when(self._fails(r)).then(pl.lit(r.code)) for r in self.rules]).alias(
                "_reason"
            ),
            pl.coalesce(
                [
                    pl.when(self._fails(r)).then(pl.col(r.metric).cast(pl.Float64))
                    for r in self.rules
                ]
            ).alias("_score"),
        )
