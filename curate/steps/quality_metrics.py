"""Measurements behind the ``quality`` step: per-document figures for a whole batch at once.

Units (shared by every rule, so that the figures agree with each other):

- *token*: a maximal run of non-whitespace characters.
- *word*: a token with leading and trailing punctuation and symbols removed; a token made only
  of punctuation or symbols (``--``, ``|``, ``...``) is not a word. Repetition compares words
  lower-cased, and counts a word's characters without the surrounding punctuation.
- *line*: a line of the text (``\\r\\n`` and ``\\r`` count as ``\\n``), stripped; blank lines are
  ignored by every line figure.
- *paragraph*: the text between blank lines, stripped.
- a *duplicate* line, paragraph or n-gram is a copy of an earlier one in the same document (the
  first occurrence is not a duplicate, as in Gopher and datatrove).

The regular expressions below define the units; running them token by token over every text
is what made the step slow, so the figures come from arrays instead. A batch is cut into chunks
of whole documents (ASCII documents apart: they are measured as bytes); a chunk's texts are
joined by ``\\n`` into one numpy array of characters, and a table gives each character its
classes (``\\s``, ``\\p{P}``, ``\\p{S}``, ``\\p{L}``, ...). Polars' own regex engine fills
that table for each code point met, so the classes are exactly those of the expressions. Every
figure is a few numpy passes over the characters, or over the sparse positions those passes
find (token edges, punctuation runs, line ends), counted per document with
``searchsorted``. Words, lines and paragraphs are compared through 64-bit hashes of their
characters. The chunk, its character table and the array helpers are
``curate.steps.quality_chars``.

What a per-character view cannot reproduce exactly goes through the expressions in polars, for
the few spans concerned: lines holding a ``[`` (C4 deletes citation marks before it looks at a
line), words and lines holding a character whose lower case is not one fixed character (``İ``,
and ``Σ``, which lowers by context), and ``lorem ipsum`` (case-insensitive: ``ſ`` is an ``s``).

N-gram figures work on one flat array of word hashes per batch: repeated n-grams are found level
by level, n = 2, 3, ..., each level only among the starts of repeated (n-1)-grams (an n-gram
repeats only where both of its (n-1)-grams do), so few candidates remain after n = 2; documents
that already failed a rule are dropped between levels.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.steps.quality_chars import (
    CLOSER,
    CLOSERS,
    ENCODINGS,
    LETTER,
    PUNCT_SYMBOL,
    SPACE,
    TERMINAL,
    WORD_CHAR,
    Chunk,
    char_table,
    doc_of,
    per_doc_sum,
    run_edge,
    runs,
    span_hashes,
)

# A word: from its first to its last character that is neither punctuation, symbol nor space.
WORD = r"[^\s\p{P}\p{S}](?:\S*[^\s\p{P}\p{S}])?"
TOKEN = r"\S+"
TERMINAL_END = rf"\p{{Sentence_Terminal}}[{CLOSERS}]*$"
ELLIPSIS = r"\.\.\.|\u2026"
# Wikipedia-style citation marks that C4 deletes before looking at a line's last character.
CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
# What a word tokenizer (NLTK-style) would count: runs of word characters, runs of punctuation.
TOKENIZER_WORD = r"[\p{L}\p{N}_]+|[^\p{L}\p{N}_\s]+"
LOREM_IPSUM = r"(?i)lorem ipsum"
JAVASCRIPT = "javascript"

_NGRAM_PRIME = np.uint64(0x100000001B3)
_DOC_MIX = np.uint64(0x9E3779B97F4A7C15)
_CHUNK_CHARS = 1 << 20  # characters per chunk: its arrays stay in cache, its overhead is small


def prepared(texts: pl.Series) -> pl.Series:
    """Null as empty text, and one newline convention."""
    texts = texts.fill_null("")
    if texts.str.contains("\r", literal=True).any():
        texts = texts.str.replace_all(r"\r\n?", "\n")
    return texts


def fraction(part: str, whole: str) -> pl.Expr:
    """part / whole, null when whole is 0 (a rule with nothing to measure passes)."""
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole))


# --- document counts ---------------------------------------------------------------------


def document_counts(chunk: Chunk, wanted: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """Counts over the whole text: tokens, symbols, newlines, C4's page-level markers (those of
    ``wanted``, all by default, and a few that cost nothing)."""
    wanted = COLUMNS[DOC] if wanted is None else wanted
    starts = chunk.tokens[0]
    figures: dict[str, np.ndarray] = {}
    if "alpha_tokens" in wanted:
        # a token without a letter is a run of non-letters with a space on either side
        bare_starts, bare_ends = runs(~chunk.space & ~chunk.has(LETTER))
        whole = chunk.space[bare_starts - 1] & chunk.space[bare_ends]  # chars[-1] is "\n"
        bare = chunk.events_per_doc(bare_starts[whole])
        figures["alpha_tokens"] = chunk.events_per_doc(starts) - bare
    if "tokenizer_words" in wanted:
        # a tokenizer word starts where the class (space, word character, other) changes to
        # a class other than space
        kind = chunk.flags & (SPACE | WORD_CHAR)
        changes = np.flatnonzero((kind[1:] != kind[:-1]) & (kind[1:] != SPACE)) + 1
        if kind[0] != SPACE:
            changes = np.concatenate(([0], changes))
        figures["tokenizer_words"] = chunk.events_per_doc(changes)
    if "lorem_ipsum" in wanted:
        # case-insensitive matching (also of "ſ" for "s") is left to the regex engine
        lorem = chunk.texts.str.count_matches(LOREM_IPSUM).to_numpy().astype(np.int64)
        figures["lorem_ipsum"] = lorem
    dots = chunk.positions_of(".")
    # runs of dots: breaks where the next dot is not the next character
    breaks = np.flatnonzero(np.diff(dots) != 1) + 1
    dot_starts = dots[np.concatenate(([0], breaks))] if dots.size else dots
    dot_ends = dots[np.append(breaks, dots.size) - 1] + 1 if dots.size else dots
    ellipses = per_doc_sum(
        doc_of(chunk.doc_starts, dot_starts), (dot_ends - dot_starts) // 3, chunk.n_docs
    )
    if not chunk.ascii:
        ellipses += chunk.events_per_doc(chunk.positions_of("\u2026"))
    return figures | {
        "tokens": chunk.events_per_doc(starts),
        "hashes": chunk.events_per_doc(chunk.positions_of("#")),
        "ellipses": ellipses,
        "newlines": chunk.events_per_doc(chunk.lines.ends),
        "curly_brackets": chunk.events_per_doc(chunk.positions_of("{")),
    }


# --- lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineOptions:
    """Settings of the line-level rules (bullets, C4 line filters, FineWeb short lines)."""

    bullets: tuple[str, ...]
    short_line_chars: int
    c4_policy_phrases: tuple[str, ...]
    c4_lines: bool = True  # measure C4's line figures (not when C4 edits the lines instead)
    # a line ending in terminal punctuation may end with closing quotes or brackets after it
    # (datatrove's FineWeb rule looks at the very last character)
    punct_closers: bool = True


def line_stats(chunk: Chunk, opts: LineOptions) -> dict[str, np.ndarray]:
    """Per-document line counts for the Gopher, C4, FineWeb and repetition line rules.

    C4's line figures: lines not ending in terminal punctuation (or ending in an ellipsis;
    citation marks removed first), mentioning javascript, holding a policy phrase. The lines
    C4 keeps, and their sentences, are ``quality_c4``'s.
    """
    lines = chunk.lines
    start, end = lines.start, lines.end
    doc = lines.doc[lines.kept]
    chars = end - start
    ellipsis = _ends_with_ellipsis(chunk, start, end)
    terminal = _ends_with_terminal(chunk, start, end)
    javascript = _contains_any(chunk, start, end, [JAVASCRIPT] if opts.c4_lines else [])
    policy = _contains_any(chunk, start, end, opts.c4_policy_phrases if opts.c4_lines else [])
    c4_terminal = terminal & ~ellipsis
    special = _lines_needing_strings(chunk, start, end) if opts.c4_lines else np.zeros(0)
    if special.size:
        text = pl.Series(chunk.substrings(start[special], end[special]), dtype=pl.String)
        exact = _line_figures_from_strings(text, opts.c4_policy_phrases)
        c4_terminal[special] = exact["c4_terminal"]
        javascript[special] = exact["javascript"]
        policy[special] = exact["policy"]
    duplicate = _later_copies(doc, span_hashes(chunk.raw, *chunk.byte_spans(start, end)))
    n = chunk.n_docs

    def total(values: np.ndarray) -> np.ndarray:
        return per_doc_sum(doc, values, n)

    return {
        "lines": total(np.ones(len(doc))),
        "line_chars": total(chars),
        "bullet_lines": total(_starts_with_any(chunk, start, end, opts.bullets)),
        "ellipsis_lines": total(ellipsis),
        "punct_lines": total(terminal if opts.punct_closers else chunk.has(TERMINAL)[end - 1]),
        "c4_no_terminal_punct_lines": total(~c4_terminal),
        "c4_javascript_lines": total(javascript),
        "c4_policy_lines": total(policy),
        "short_lines": total(chars <= opts.short_line_chars),
        "dup_lines": total(duplicate),
        "dup_line_chars": total(np.where(duplicate, chars, 0)),
    }


def _ends_with_ellipsis(chunk: Chunk, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    c = chunk.chars
    dots = (end - start >= 3) & (c[end - 1] == 46) & (c[end - 2] == 46) & (c[end - 3] == 46)
    return dots | (c[end - 1] == 0x2026)


def _ends_with_terminal(chunk: Chunk, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """TERMINAL_END: the last character before any closing quotes or brackets is terminal."""
    last = end - 1
    closer = chunk.has(CLOSER)
    closed = np.flatnonzero(closer[last])
    if closed.size:
        last = last.copy()
        last[closed] = run_edge(*runs(closer), last[closed], end=False) - 1
    return (last >= start) & chunk.has(TERMINAL)[last]


def _starts_with_any(
    chunk: Chunk, start: np.ndarray, end: np.ndarray, prefixes: Sequence[str]
) -> np.ndarray:
    found = np.zeros(len(start), dtype=bool)
    last = len(chunk.chars) - 1
    for prefix in prefixes:
        codes = [ord(c) for c in prefix]
        if codes and max(codes) > np.iinfo(chunk.chars.dtype).max:
            continue
        match = end - start >= len(codes)
        for k, code in enumerate(codes):
            match &= chunk.chars[np.minimum(start + k, last)] == code
        found |= match
    return found


def _contains_any(
    chunk: Chunk, start: np.ndarray, end: np.ndarray, phrases: Sequence[str]
) -> np.ndarray:
    """Lines whose lower-cased text holds one of ``phrases`` (given lower-cased)."""
    found = np.zeros(len(start), dtype=bool)
    if not len(start) or not phrases:
        return found
    if "" in phrases:  # the empty phrase is in every line
        return ~found
    at, stop = _phrase_spans(chunk, phrases)
    line = np.searchsorted(start, at, side="right") - 1
    inside = (line >= 0) & (stop <= end[line])
    found[line[inside]] = True
    return found


def _phrase_spans(chunk: Chunk, phrases: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Where one of ``phrases`` occurs in the lower-cased text: (start, end) of each match.

    In ASCII text, ASCII case-insensitive matching (Aho-Corasick, in polars) finds them in the
    text itself. When no phrase has outer spaces or a newline, a match lies inside the stripped
    line holding its first character, so that character stands for the match."""
    if chunk.ascii and all(p == p.strip() and "\n" not in p for p in phrases):
        offsets = chunk.texts.str.find_many(list(phrases), ascii_case_insensitive=True)
        per_doc = offsets.list.len().to_numpy()
        at = np.repeat(chunk.doc_starts, per_doc) + offsets.explode().drop_nulls().to_numpy()
        return at, at + 1
    found = [(chunk.find_lowered(p), len(p)) for p in phrases]
    return np.concatenate([at for at, _ in found]), np.concatenate([at + n for at, n in found])


def _lines_needing_strings(chunk: Chunk, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Lines (indices into start/end) that hold a "[" or a character with a special lower case."""
    marks = np.union1d(chunk.positions_of("["), chunk.special_case_positions())
    if marks.size == 0:
        return marks
    line = np.searchsorted(start, marks, side="right") - 1
    inside = (line >= 0) & (marks < end[line])
    return np.unique(line[inside])


def _line_figures_from_strings(
    lines: pl.Series, policy_phrases: Sequence[str]
) -> dict[str, np.ndarray]:
    """The C4 line figures by the regular expressions, for the lines the arrays cannot do."""
    line = pl.col("line")
    c4_line = line.str.replace_all(CITATION, "").str.strip_chars()
    c4_ellipsis = c4_line.str.ends_with("...") | c4_line.str.ends_with("\u2026")
    lowered = line.str.to_lowercase()
    policy = lowered.str.contains_any(list(policy_phrases)) if policy_phrases else pl.lit(False)
    figures = pl.DataFrame({"line": lines}).select(
        (c4_line.str.contains(TERMINAL_END) & ~c4_ellipsis).alias("c4_terminal"),
        lowered.str.contains(JAVASCRIPT, literal=True).alias("javascript"),
        policy.alias("policy"),
    )
    return {name: figures[name].to_numpy() for name in figures.columns}


def _later_copies(doc: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """True for each item equal to an earlier one of the same document."""
    keys = hashes ^ ((doc.astype(np.uint64) + np.uint64(1)) * _DOC_MIX)
    first = np.unique(keys, return_index=True)[1]
    later = np.ones(len(keys), dtype=bool)
    later[first] = False
    return later


# --- paragraphs --------------------------------------------------------------------------


def paragraph_stats(chunk: Chunk) -> dict[str, np.ndarray]:
    """Per-document paragraph counts and duplicate paragraphs (count and characters).

    A paragraph is a run of non-blank lines; ``\\x00`` counts as a space here, as it did when
    paragraphs were split on a NUL separator (texts holding it are measured with it replaced).
    """
    if chunk.positions_of("\x00").size:
        replaced = chunk.texts.str.replace_all("\x00", " ", literal=True)
        return paragraph_stats(Chunk(replaced, chunk.table))
    lines = chunk.lines
    blank = lines.token_count == 0
    # a paragraph starts on a non-blank line after a blank one or a document boundary
    same_doc = lines.doc[1:] == lines.doc[:-1]
    follows_text = np.zeros(len(blank), dtype=bool)
    follows_text[1:] = ~blank[:-1] & same_doc
    precedes_text = np.zeros(len(blank), dtype=bool)
    precedes_text[:-1] = ~blank[1:] & same_doc
    first = ~blank & ~follows_text
    last = ~blank & ~precedes_text
    # lines.start/end are indexed by non-blank line; map paragraph edges onto that index
    rank = np.cumsum(~blank) - 1
    start = lines.start[rank[first]]
    end = lines.end[rank[last]]
    doc = lines.doc[first]
    chars = end - start
    duplicate = _later_copies(doc, span_hashes(chunk.raw, *chunk.byte_spans(start, end)))
    n = chunk.n_docs
    return {
        "paragraphs": per_doc_sum(doc, np.ones(len(doc)), n),
        "para_chars": per_doc_sum(doc, chars, n),
        "dup_paras": per_doc_sum(doc, duplicate, n),
        "dup_para_chars": per_doc_sum(doc, np.where(duplicate, chars, 0), n),
    }


# --- words -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """Every word of a batch in one flat array; each document's words are contiguous."""

    doc: np.ndarray  # int64: which document each word belongs to
    hashes: np.ndarray  # uint64 hash of the lower-cased word
    lengths: np.ndarray  # int64 characters of the word
    doc_chars: np.ndarray  # float64 characters of all words, per document


def word_spans(chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of every word: each token with its outer punctuation and symbols cut."""
    token_starts, token_ends = chunk.tokens
    punct = chunk.has(PUNCT_SYMBOL)
    punct_runs = runs(punct)
    starts = token_starts.copy()
    lead = np.flatnonzero(punct[starts])
    starts[lead] = run_edge(*punct_runs, starts[lead], end=True)
    ends = token_ends.copy()
    trail = np.flatnonzero(punct[ends - 1])
    ends[trail] = run_edge(*punct_runs, ends[trail] - 1, end=False)
    is_word = starts < ends
    return starts[is_word], ends[is_word]


def _word_hashes(chunk: Chunk, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Hashes of the lower-cased words. Words with a character whose lower case is not one
    fixed character are lower-cased by polars, as strings."""
    hashes = span_hashes(chunk.lowered, *chunk.byte_spans(starts, ends))
    special = chunk.special_case_positions()
    if special.size:
        word = np.searchsorted(starts, special, side="right") - 1
        word = np.unique(word[(word >= 0) & (special < ends[word])])
        text = pl.Series(chunk.substrings(starts[word], ends[word]), dtype=pl.String)
        lower = text.str.to_lowercase().to_list()
        hashes[word] = string_hashes(lower, chunk.chars.dtype)
    return hashes


def string_hashes(texts: Sequence[str], dtype: np.dtype) -> np.ndarray:
    """``span_hashes`` of strings written in the code units of a chunk (``dtype``), so that they
    compare with its words. A string an ASCII chunk cannot hold starts with byte 0xFF, which no
    ASCII text has, and so matches none of its words."""
    width = np.dtype(dtype).itemsize

    def encoded(text: str) -> bytes:
        if width == 1 and not text.isascii():
            return b"\xff" + text.encode("utf-8", "surrogatepass")
        return text.encode(ENCODINGS[width], "surrogatepass")

    parts = [encoded(text) for text in texts]
    lengths = np.array([len(part) for part in parts], dtype=np.int64)
    ends = np.cumsum(lengths)
    buffer = np.frombuffer(b"".join(parts) + bytes(8), dtype=np.uint8)
    return span_hashes(buffer, ends - lengths, ends)


def word_stats(
    chunk: Chunk, stop_words: Collection[str]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Per-document word figures (count, characters, distinct stop words), and each word's
    document, hash and length."""
    starts, ends = word_spans(chunk)
    hashes = _word_hashes(chunk, starts, ends)
    lengths = ends - starts
    per_doc = chunk.events_per_doc(starts)
    doc = np.repeat(np.arange(chunk.n_docs), per_doc)
    stops = sorted({s.lower() for s in stop_words})
    stop_hashes = string_hashes(stops, chunk.chars.dtype)
    is_stop = np.isin(hashes, stop_hashes)
    # distinct (document, stop word) pairs
    pairs = np.unique(
        doc[is_stop] * (len(stops) + 1) + np.searchsorted(np.sort(stop_hashes), hashes[is_stop])
    )
    figures = {
        "words": per_doc,
        "word_chars": per_doc_sum(doc, lengths, chunk.n_docs),
        "stop_words": np.bincount(pairs // (len(stops) + 1), minlength=chunk.n_docs),
    }
    return figures, doc, hashes, lengths


# --- a batch ---------------------------------------------------------------------------

DOC, LINES, PARAGRAPHS, WORDS = "doc", "lines", "paragraphs", "words"
COLUMNS = {  # the figures of each block
    DOC: (
        *("tokens", "alpha_tokens", "hashes", "ellipses", "newlines", "tokenizer_words"),
        *("lorem_ipsum", "curly_brackets"),
    ),
    LINES: (
        *("lines", "line_chars", "bullet_lines", "ellipsis_lines", "punct_lines"),
        *("c4_no_terminal_punct_lines", "c4_javascript_lines", "c4_policy_lines"),
        *("short_lines", "dup_lines", "dup_line_chars"),
    ),
    PARAGRAPHS: ("paragraphs", "para_chars", "dup_paras", "dup_para_chars"),
    WORDS: ("words", "word_chars", "stop_words"),
}


def chunks(texts: pl.Series) -> list[np.ndarray]:
    """Indices of the documents of each chunk: about ``_CHUNK_CHARS`` characters each, ASCII
    texts apart from the others (they are measured as bytes, a quarter of the memory)."""
    lengths = texts.str.len_chars().to_numpy().astype(np.int64)
    is_ascii = texts.str.len_bytes().to_numpy() == lengths
    out = []
    for group in (np.flatnonzero(is_ascii), np.flatnonzero(~is_ascii)):
        if not group.size:
            continue
        total = np.cumsum(lengths[group] + 1)
        cuts = np.searchsorted(total, np.arange(_CHUNK_CHARS, total[-1], _CHUNK_CHARS))
        out.extend(part for part in np.split(group, np.unique(cuts) + 1) if part.size)
    return out


def measure(
    texts: pl.Series,
    blocks: Collection[str],
    opts: LineOptions,
    stop_words: Collection[str],
    extra: Callable[[Chunk], dict[str, np.ndarray]] | None = None,
    wanted: Collection[str] | None = None,
) -> tuple[pl.DataFrame, Words | None]:
    """The figures of ``blocks`` (``COLUMNS``), one row per text, and the words of the texts
    when WORDS is asked for; ``extra`` adds figures of its own, chunk by chunk. ``wanted``
    limits the DOC figures computed (the others are 0)."""
    texts = prepared(texts)
    table = char_table()
    names = [name for block in COLUMNS if block in blocks for name in COLUMNS[block]]
    columns = {name: np.zeros(texts.len(), dtype=np.int64) for name in names}
    word_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for docs in chunks(texts):
        chunk = Chunk(texts.gather(docs), table)
        figures: dict[str, np.ndarray] = {}
        if DOC in blocks:
            figures |= document_counts(chunk, wanted)
        if LINES in blocks:
            figures |= line_stats(chunk, opts)
        if PARAGRAPHS in blocks:
            figures |= paragraph_stats(chunk)
        if WORDS in blocks:
            word_figures, doc, hashes, lengths = word_stats(chunk, stop_words)
            figures |= word_figures
            word_parts.append((docs[doc], hashes, lengths))
        if extra is not None:
            figures |= extra(chunk)
        for name, values in figures.items():
            columns.setdefault(name, np.zeros(texts.len(), dtype=np.int64))[docs] = values
    words = None
    if WORDS in blocks:
        doc, hashes, lengths = (
            np.concatenate([part[i] for part in word_parts] or [np.zeros(0, dtype)])
            for i, dtype in enumerate((np.int64, np.uint64, np.int64))
        )
        words = Words(doc, hashes, lengths, columns["word_chars"].astype(np.float64))
    return pl.DataFrame(columns), words


# --- n-grams -----------------------------------------------------------------------------


def _repeated(keys: np.ndarray) -> np.ndarray:
    """True for each key that occurs more than once.

    Sorting bare uint64 values is several times faster than an argsort, so each key's index is
    written into its low bits and the tagged keys sorted; keys sharing their high bits end up
    side by side with their indices at hand. Those few candidates (real repeats, and the odd key
    that shares only the high bits) are then compared in full."""
    size = len(keys)
    out = np.zeros(size, dtype=bool)
    if size < 2:
        return out
    low = np.uint64((1 << (size - 1).bit_length()) - 1)
    tagged = (keys & ~low) | np.arange(size, dtype=np.uint64)
    tagged.sort()
    high = tagged & ~low
    same = high[1:] == high[:-1]
    if not same.any():
        return out
    paired = np.zeros(size, dtype=bool)
    paired[1:] = same
    paired[:-1] |= same
    candidates = (tagged[paired] & low).astype(np.intp)
    order = np.argsort(keys[candidates], kind="stable")
    ordered = keys[candidates][order]
    equal = ordered[1:] == ordered[:-1]
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] = equal
    repeated[:-1] |= equal
    out[candidates[order[repeated]]] = True
    return out


class NgramRepetition:
    """Gopher's n-gram figures over a ``Words`` table, for the documents still measured.

    Level n holds the start of every n-gram that occurs more than once in its document; level
    n + 1 looks only at starts i where the n-grams at i and i + 1 both repeat, the only places
    a repeated (n + 1)-gram can start. Ask for n rising (2, 3, ...)."""

    def __init__(self, words: Words, measured: np.ndarray) -> None:
        self.words = words
        self.measured = measured.copy()
        self._char_prefix = np.concatenate(([0], np.cumsum(words.lengths)))
        # word hashes made distinct per document: equal n-gram keys then mean equal n-grams
        # of one document, with no document column to carry along
        doc_mix = (words.doc.astype(np.uint64) + np.uint64(1)) * _DOC_MIX
        self._word_keys = words.hashes ^ doc_mix
        self._n = 1
        self._starts = np.zeros(0, dtype=np.int64)  # ascending
        self._keys = np.zeros(0, dtype=np.uint64)  # key of the n-gram at each start

    def drop(self, docs: np.ndarray) -> None:
        """Stop measuring the documents where ``docs`` (bool per document) is true."""
        self.measured &= ~docs
        keep = self.measured[self.words.doc[self._starts]]
        self._starts, self._keys = self._starts[keep], self._keys[keep]

    def _advance(self, n: int) -> None:
        if n < self._n:
            raise ValueError("n-grams must be asked for in increasing n")
        keys, doc = self._word_keys, self.words.doc
        while self._n < n:
            if self._n == 1:
                # every pair of neighbours; the few repeated pairs that cross documents or lie
                # in documents no longer measured are dropped afterwards
                grams = keys[:-1] * _NGRAM_PRIME + keys[1:]
                starts = np.flatnonzero(_repeated(grams))
                starts = starts[(doc[starts] == doc[starts + 1]) & self.measured[doc[starts]]]
                self._starts, self._keys = starts, grams[starts]
            else:
                both = self._starts[1:] == self._starts[:-1] + 1
                starts = self._starts[:-1][both]
                grams = self._keys[:-1][both] * _NGRAM_PRIME + keys[starts + self._n]
                repeated = _repeated(grams)
                self._starts, self._keys = starts[repeated], grams[repeated]
            self._n += 1

    def _occurrences(self) -> tuple[np.ndarray, np.ndarray]:
        """The repeated n-grams' starts grouped by n-gram (each group in text order), and
        which of them open a group (the first occurrence)."""
        order = np.argsort(self._keys, kind="stable")
        ordered = self._keys[order]
        opens = np.ones(len(order), dtype=bool)
        opens[1:] = ordered[1:] != ordered[:-1]
        return self._starts[order], opens

    def _covered_chars(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Characters per document of the words inside any of the n-grams starting at the
        (ascending) ``starts``; a word inside several of them counts once."""
        following = np.append(starts[1:], np.iinfo(np.int64).max)
        stop = np.minimum(starts + n, following)  # n-grams never cross documents
        chars = self._char_prefix[stop] - self._char_prefix[starts]
        return np.bincount(self.words.doc[starts], weights=chars, minlength=self._n_docs)

    @property
    def _n_docs(self) -> int:
        return len(self.words.doc_chars)

    def _as_fraction(self, chars: np.ndarray) -> np.ndarray:
        total = self.words.doc_chars
        out = np.zeros(self._n_docs, dtype=np.float64)
        np.divide(chars, total, out=out, where=total > 0)
        return out

    def top_char_frac(self, n: int) -> np.ndarray:
        """Characters covered by the occurrences of the most frequent n-gram / all word
        characters. Ties go to the longer n-gram, then to the one seen first; an n-gram seen
        once is no repetition (0)."""
        self._advance(n)
        if not self._starts.size:
            return np.zeros(self._n_docs, dtype=np.float64)
        starts, opens = self._occurrences()
        group = np.cumsum(opens) - 1
        first = starts[opens]
        count = np.diff(np.append(np.flatnonzero(opens), len(starts)))
        chars = self._char_prefix[first + n] - self._char_prefix[first]
        doc = self.words.doc[first]
        ranked = np.lexsort((first, -chars, -count, doc))
        best = ranked[np.append(True, doc[ranked][1:] != doc[ranked][:-1])]
        is_best = np.zeros(len(first), dtype=bool)
        is_best[best] = True
        return self._as_fraction(self._covered_chars(np.sort(starts[is_best[group]]), n))

    def dup_char_frac(self, n: int) -> np.ndarray:
        """Characters of words covered by any repeat of an earlier n-gram of the same document
        / all word characters; a word covered by several repeats counts once."""
        self._advance(n)
        if not self._starts.size:
            return np.zeros(self._n_docs, dtype=np.float64)
        starts, opens = self._occurrences()
        return self._as_fraction(self._covered_chars(np.sort(starts[~opens]), n))
