"""Sentences and NLTK word tokens for the ``quality`` step, counted over whole batches.

C4 (TFDS ``c4_utils``) and datatrove count sentences with NLTK's punkt model, and datatrove
(hence FineWeb) counts words with NLTK's ``word_tokenize`` (punkt sentences, then the Treebank
rules). Neither is a dependency: punkt needs a trained model that cannot be downloaded here,
and both run one Python call per text, which is what made the reference chain slow. This
module reproduces their decisions with fixed rules, on the character arrays of
``quality_metrics.Chunk`` (numpy passes, no per-token Python).

Sentences (punkt's decisions, with fixed word lists instead of its trained tables):

- a sentence may end after a token (a run of non-space characters) whose last character
  before any closing quotes and brackets is ``.``, ``?`` or ``!``, when another token follows;
  the text after the last end is a sentence too (an unterminated last sentence counts), and a
  next token made only of closing marks joins the sentence before it;
- ``?`` and ``!`` always end a sentence;
- ``.`` after an abbreviation (``ABBREVIATIONS``: titles, company forms, months, a few dotted
  forms such as ``U.S.``; compared lower-cased) or an initial (one letter) ends one only when
  the next word is a capitalised common sentence opener (``SENTENCE_STARTERS``): ``Dr. Smith``
  and ``J. Smith`` go on, ``Inc. The`` ends;
- ``.`` after a number ends one unless the next word is in lower case; an ellipsis ends one
  when the next word is capitalised;
- after any other word ``.`` ends a sentence, whatever follows. punkt does the same: ``e.g.``
  is not among its abbreviations, so "e.g. its" is two sentences, and neither are most dotted
  forms ("U.S.C.", "L.R."), which this module leaves out of its list too.

Word tokens (NLTK's Treebank rules as counts): ``? ! ; @ # $ % & *``, brackets, quotes other
than the apostrophe, runs of two or more dots, runs of ``-`` longer than one, runs of
backticks or apostrophes longer than one, ``,``/``:`` not followed by a digit, and an
apostrophe opening a word are tokens of their own; clitics (``n't``, ``'s``, ``'m``, ``'d``,
``'ll``, ``'re``, ``'ve``, a final apostrophe) and the second half of ``cannot``, ``gonna``,
``gotta``, ``wanna``, ``gimme``, ``lemme`` are split from their word; so is the period that
ends a sentence (as above). A token is a *word* when it holds a character outside datatrove's
``PUNCTUATION_SET``, *alphabetic* when it holds a letter; stop words are compared as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import polars as pl

from curate.steps import quality_metrics as M


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Abbreviations after which "." rarely ends an English sentence (lower case, without the final
# period): titles, company forms, months, US states, dotted forms. A hand-made list, not
# punkt's trained one; months punkt splits after ("Mar.", "Jun.", "Jul.") are left out.
ABBREVIATIONS = _word_set(
    """
    mr mrs ms dr prof rev gen col lt sgt capt cmdr adm gov sen rep pres supt hon messrs mme
    jr sr st mt ft rd ave blvd inc ltd co corp bros plc llc
    jan feb aug sept oct nov dec vs cf approx est fig nos vol pp
    ala ariz ark calif colo conn fla kan ky md mich minn mont neb nev okla ore pa tenn tex va
    vt wis wyo u.s u.k u.n a.m p.m d.c
    """
)
# Common words that open sentences: after an abbreviation or an initial, a capitalised one of
# these starts a new sentence (punkt's orthographic and frequent-starter heuristics).
SENTENCE_STARTERS = _word_set(
    """
    a an the it he she we they i you this that these those there here his her its their our
    my your but and or so yet if when while after before since although though however
    in on at for from by with as to of meanwhile moreover nevertheless instead thus indeed
    also many most some both according
    """
)
_LONGEST_ABBREVIATION = max(map(len, ABBREVIATIONS))
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
CLOSERS = "\"'\u201d\u2019\u00bb)]}"
OPENERS = "\"'([{\u201c\u2018\u00ab"
# Characters NLTK always makes tokens of their own (apostrophes and dots are handled apart).
SEPARATE = ';@#$%&?!*[](){}<>"\u00ab\u201c\u2018\u201e\u201d\u2019\u00bb'
# NLTK's two-part words: the second part starts after the third character.
TWO_PART_WORDS = ("cannot", "gonna", "gotta", "wanna", "gimme", "lemme")
# datatrove's PUNCTUATION_SET (utils/text.py): ASCII and CJK punctuation, control characters
# and the sentence terminals of many scripts. A token made only of these is not a word.
PUNCTUATION = (
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    + "".join(chr(x) for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b))
    + "᪩？⁈．꩞﹗፧꡶꘎⁉࠾᪨᱿᥅﹒።܂؞꛳؟꧉܀꓿᜵៖꯫۔꡷｡៕߹⸮.࠹꫰꤯᭞፨꣏࠷?！։꣎॥᭛᠃!၊⁇᭟⸼꩝。꧈꫱᙮។꛷៚᥄᪪᭚࠽।။᱾꘏܁᜶‼‽᪫﹖៙᰻"
    + "\u1b7d\u061d\u1b7e\u2e54\u2e53"
)
_DOT, _DASH, _BACKTICK, _APOSTROPHE, _COMMA, _COLON = map(ord, ".-`',:")


@cache
def _lookup(chars: str) -> np.ndarray:
    """A table over all code points: True for ``chars``."""
    table = np.zeros(0x110000, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table


def _hash_set(words: Sequence[str], dtype: np.dtype) -> np.ndarray:
    return np.sort(M.string_hashes(sorted(words), dtype))


def _in(hashes: np.ndarray, table: np.ndarray) -> np.ndarray:
    slot = np.minimum(np.searchsorted(table, hashes), len(table) - 1)
    return table[slot] == hashes


def _skip(
    inside: Callable[[np.ndarray], np.ndarray],
    at: np.ndarray,
    limit: np.ndarray,
    forward: bool,
) -> np.ndarray:
    """From each position of ``at``, move over the characters for which ``inside`` (given
    positions) holds, forward up to ``limit`` (exclusive) or backward down to it. The runs
    crossed are short (quotes, brackets, a word), so a few steps over the few positions still
    moving are cheaper than a pass over every character."""
    pos = at.copy()
    moving = np.arange(len(pos))
    while moving.size:
        p = pos[moving]
        if forward:
            go = p < limit[moving]
            go[go] = inside(p[go])
        else:
            go = p > limit[moving]
            go[go] = inside(p[go] - 1)
        moving = moving[go]
        pos[moving] += 1 if forward else -1
    return pos


class _Tokens:
    """The whitespace tokens of a chunk and the sentence ends among them."""

    def __init__(self, chunk: M.Chunk) -> None:
        self.chunk = chunk
        chars = chunk.chars
        self.starts, self.ends = chunk.tokens
        self.doc = M.doc_of(chunk.doc_starts, self.starts)
        # the token without its closing marks: core [start, core_end)
        closer = _lookup(CLOSERS)[chars[self.ends - 1]]
        self.core_end = self.ends.copy()
        closed = np.flatnonzero(closer)
        if closed.size:
            self.core_end[closed] = _skip(
                self._among(CLOSERS), self.ends[closed], self.starts[closed], forward=False
            )
        last = chars[np.maximum(self.core_end - 1, 0)]
        is_mark = (last == _DOT) | (last == ord("?")) | (last == ord("!"))
        self.candidates = np.flatnonzero(is_mark & (self.core_end > self.starts))

    def _among(self, chars: str) -> Callable[[np.ndarray], np.ndarray]:
        table, text = _lookup(chars), self.chunk.chars
        return lambda positions: table[text[positions]]

    def sentence_ends(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token indices after which a sentence ends, whether each is the text's last token,
        and whether NLTK splits a period from the word there."""
        chunk, chars, k = self.chunk, self.chunk.chars, self.candidates
        end = self.core_end[k]
        last = np.ones(len(k), dtype=bool)
        has_next = k + 1 < len(self.starts)
        last[has_next] = self.doc[k[has_next] + 1] != self.doc[k[has_next]]
        mark = chars[end - 1]
        ellipsis = (mark == _DOT) & (end - 2 >= self.starts[k]) & (chars[end - 2] == _DOT)
        period = (mark == _DOT) & ~ellipsis
        # the word before the mark, without opening marks
        word_start = _skip(self._among(OPENERS), self.starts[k], end - 1, forward=True)
        word_len = end - 1 - word_start
        # the next token's first character after opening and closing marks
        nxt = np.minimum(k + 1, len(self.starts) - 1)
        first = _skip(
            self._among(OPENERS + CLOSERS), self.starts[nxt], self.ends[nxt], forward=True
        )
        only_marks = first >= self.ends[nxt]
        first = np.minimum(first, len(chars) - 1)
        letter = chunk.has(M.LETTER)
        lowered = chunk.table.lower[chars[first]]
        upper = letter[first] & (lowered != chars[first])
        lower = letter[first] & ~upper
        # only short words can be abbreviations: only those are hashed
        abbreviation = np.zeros(len(k), dtype=bool)
        short = np.flatnonzero(period & (word_len > 0) & (word_len <= _LONGEST_ABBREVIATION))
        hashes = M.span_hashes(chunk.lowered, *chunk.byte_spans(word_start[short], end[short] - 1))
        abbreviation[short] = _in(hashes, _hash_set(tuple(ABBREVIATIONS), chars.dtype))
        initial = (word_len == 1) & letter[word_start]
        opener_word = np.zeros(len(k), dtype=bool)
        asked = np.flatnonzero(upper & (abbreviation | initial))
        opener_word[asked] = self._is_starter(first[asked], letter)
        # punkt's numbers: digits, with dots, commas and dashes inside; their first and last
        # characters tell them apart well enough
        digit = _lookup("0123456789")
        lead = word_start + _lookup("-.,")[chars[word_start]]
        number = (word_len > 0) & digit[chars[np.minimum(lead, end - 1)]] & digit[chars[end - 2]]
        ends = np.select(
            [last, only_marks, ~period & ~ellipsis, ellipsis, abbreviation | initial, number],
            [True, False, True, upper, opener_word, ~lower],
            default=True,
        )
        joined = ~_lookup(SEPARATE + ".")[chars[np.maximum(end - 2, 0)]]
        split = period & ends & (word_len > 0) & joined
        return k[ends], last[ends], split[ends]

    def _is_starter(self, first: np.ndarray, letter: np.ndarray) -> np.ndarray:
        """Whether the letters from ``first`` on, lower-cased, are a sentence opener."""
        stop = _skip(letter.__getitem__, first, np.full(len(first), len(letter)), forward=True)
        hashes = M.span_hashes(self.chunk.lowered, *self.chunk.byte_spans(first, stop))
        return _in(hashes, _hash_set(tuple(SENTENCE_STARTERS), self.chunk.chars.dtype))


def sentence_counts(texts: pl.Series) -> np.ndarray:
    """Sentences per text (0 for a text without a token)."""
    out = np.zeros(texts.len(), dtype=np.int64)
    texts = M.prepared(texts)
    table = M.char_table()
    for docs in M.chunks(texts):
        chunk = M.Chunk(texts.gather(docs), table)
        tokens = _Tokens(chunk)
        ends, last, _ = tokens.sentence_ends()
        has_token = chunk.events_per_doc(tokens.starts) > 0
        inner = np.bincount(tokens.doc[ends[~last]], minlength=chunk.n_docs)
        out[docs] = np.where(has_token, inner + 1, 0)
    return out


def word_token_counts(
    texts: pl.Series, stop_words: Sequence[str] = STOP_WORDS, only_tokens: bool = False
) -> pl.DataFrame:
    """Per text, over NLTK word tokens: ``tokens`` (all), ``alpha_tokens`` (holding a letter),
    ``words`` (holding a character that is not punctuation), ``word_chars`` (their
    characters) and ``stop_words`` (distinct ``stop_words`` present, compared as written);
    only ``tokens`` with ``only_tokens``."""
    names = ["tokens"] if only_tokens else ["tokens", "alpha_tokens", "words", "word_chars"]
    names += [] if only_tokens else ["stop_words"]
    columns = {name: np.zeros(texts.len(), dtype=np.int64) for name in names}
    texts = M.prepared(texts)
    table = M.char_table()
    for docs in M.chunks(texts):
        chunk = M.Chunk(texts.gather(docs), table)
        figures = chunk_word_tokens(chunk, stop_words, only_tokens)
        for name in names:
            columns[name][docs] = figures[name]
    return pl.DataFrame(columns)


def chunk_word_tokens(
    chunk: M.Chunk, stop_words: Sequence[str], only_tokens: bool = False
) -> dict[str, np.ndarray]:
    """``word_token_counts`` of the documents of one chunk."""
    chars = chunk.chars
    n = len(chars)
    space = np.append(chunk.space, True)  # one past the end counts as a space
    tokens = _Tokens(chunk)
    cut = np.zeros(n + 1, dtype=bool)  # a token of NLTK's starts here
    cut[tokens.starts] = True
    separate = np.flatnonzero(_lookup(SEPARATE)[chars])
    cut[separate] = cut[separate + 1] = True
    for code, shortest in ((_DOT, 2), (_DASH, 2), (_BACKTICK, 1), (_APOSTROPHE, 2)):
        starts, ends = M.runs(chars == code)
        long = ends - starts >= shortest
        cut[starts[long]] = cut[ends[long]] = True
    comma = np.flatnonzero((chars == _COMMA) | (chars == _COLON))
    digit = _lookup("0123456789")
    comma = comma[~digit[chars[np.minimum(comma + 1, n - 1)]]]
    cut[comma] = cut[comma + 1] = True
    ends, _, split = tokens.sentence_ends()
    cut[tokens.core_end[ends[split]] - 1] = True  # before the clitics, as in NLTK
    _cut_clitics(chunk, cut, space)
    piece_starts, piece_ends = _pieces(cut, space)
    piece_starts, piece_ends = _split_two_part_words(chunk, piece_starts, piece_ends)
    figures = {"tokens": chunk.events_per_doc(piece_starts)}
    if only_tokens:
        return figures
    doc = M.doc_of(chunk.doc_starts, piece_starts)
    # only spaces lie between a token's end and the next token's start
    alpha = np.logical_or.reduceat(chunk.has(M.LETTER), piece_starts)
    word = alpha.copy()  # a letter is no punctuation; the other tokens are few
    others = np.flatnonzero(~alpha)
    if others.size:
        lengths = piece_ends[others] - piece_starts[others]
        offsets = np.repeat(piece_starts[others] - np.cumsum(lengths) + lengths, lengths)
        inside = offsets + np.arange(offsets.size)
        plain = ~_lookup(PUNCTUATION)[chars[inside]]
        word[others] = np.logical_or.reduceat(plain, np.cumsum(lengths) - lengths)
    lengths = piece_ends - piece_starts
    figures |= {
        "alpha_tokens": M.per_doc_sum(doc, alpha, chunk.n_docs),
        "words": M.per_doc_sum(doc, word, chunk.n_docs),
        "word_chars": M.per_doc_sum(doc, np.where(word, lengths, 0), chunk.n_docs),
        "stop_words": _stop_words(chunk, doc, piece_starts, piece_ends, stop_words),
    }
    return figures


def _pieces(cut: np.ndarray, space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of every token: from a cut that is no space to the next cut or space."""
    bounds = np.flatnonzero(cut | space)
    first = np.flatnonzero(~space[bounds[:-1]])  # the last bound is the end: never a start
    return bounds[first], bounds[first + 1]


def _cut_clitics(chunk: M.Chunk, cut: np.ndarray, space: np.ndarray) -> None:
    """Split clitics from the end of a token part (before a space or a cut). Every clitic holds
    an apostrophe, and apostrophes are rare: only their neighbourhoods are looked at."""
    chars = chunk.chars
    n = len(chars)
    apostrophes = np.flatnonzero(chars == _APOSTROPHE)
    if not apostrophes.size:
        return
    _cut_opening_apostrophes(chunk, cut, apostrophes)
    for suffix, offset in (
        *((c, 1) for c in ("n't", "N'T")),
        *((c, 0) for c in ("'ll", "'LL", "'re", "'RE", "'ve", "'VE", "'s", "'S", "'m", "'M")),
        *((c, 0) for c in ("'d", "'D", "'")),
    ):
        at = apostrophes - offset
        stop = at + len(suffix)
        keep = (at >= 1) & (stop <= n)
        at, stop = at[keep], stop[keep]
        match = (cut[stop] | space[stop]) & ~space[at - 1] & (chars[at - 1] != _APOSTROPHE)
        for i, c in enumerate(suffix):
            match &= chars[np.minimum(at + i, n - 1)] == ord(c)
            if i:
                match &= ~cut[at + i]
        cut[at[match]] = True


def _cut_opening_apostrophes(chunk: M.Chunk, cut: np.ndarray, apostrophes: np.ndarray) -> None:
    """An apostrophe opening a word is a token of its own, unless a clitic follows it ("'s",
    "'re", ...: NLTK's rule, which keeps "'s" whole)."""
    chars = chunk.chars
    word = chunk.has(M.WORD_CHAR)
    n = len(chars)
    at = apostrophes[apostrophes + 1 < n]
    opening = word[at + 1] & ((at == 0) | ~word[np.maximum(at - 1, 0)])
    at = at[opening]
    lowered = chunk.table.lower[chars[np.minimum(at[:, None] + np.arange(1, 4), n - 1)]]
    clitic = np.zeros(len(at), dtype=bool)
    for suffix in ("re", "ve", "ll", "m", "t", "s", "d", "n"):
        match = ~word[np.minimum(at + 1 + len(suffix), n - 1)]
        for i, c in enumerate(suffix):
            match &= lowered[:, i] == ord(c)
        clitic |= match
    cut[at[~clitic] + 1] = True


def _split_two_part_words(
    chunk: M.Chunk, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The tokens with "cannot" and the like split after their third character."""
    first = "".join({w[0] for w in TWO_PART_WORDS})
    candidates = np.flatnonzero(
        ((ends - starts == 5) | (ends - starts == 6))
        & _lookup(first + first.upper())[chunk.chars[starts]]
    )
    if not candidates.size:
        return starts, ends
    s, e = starts[candidates], ends[candidates]
    hashes = M.span_hashes(chunk.lowered, *chunk.byte_spans(s, e))
    found = candidates[_in(hashes, _hash_set(TWO_PART_WORDS, chunk.chars.dtype))]
    if not found.size:
        return starts, ends
    second = starts[found] + 3
    ends = ends.copy()
    ends[found] = second
    at = found + 1
    return np.insert(starts, at, second), np.insert(ends, at, e[np.isin(candidates, found)])


def _stop_words(
    chunk: M.Chunk,
    doc: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    stop_words: Sequence[str],
) -> np.ndarray:
    """Distinct stop words per document among the tokens [starts, ends), compared as written."""
    words = sorted(set(stop_words))
    if not words:
        return np.zeros(chunk.n_docs, dtype=np.int64)
    lengths = np.array(sorted({len(w) for w in words}))
    # few tokens have a stop word's length and first and last characters: only those are hashed
    chars = chunk.chars
    sized = np.flatnonzero(
        _lookup("".join({w[0] for w in words if w}))[chars[starts]]
        & _lookup("".join({w[-1] for w in words if w}))[chars[ends - 1]]
        & np.isin(ends - starts, lengths)
    )
    hashes = M.span_hashes(chunk.raw, *chunk.byte_spans(starts[sized], ends[sized]))
    table = _hash_set(tuple(words), chunk.chars.dtype)
    found = _in(hashes, table)
    which = np.searchsorted(table, hashes[found])
    pairs = np.unique(doc[sized[found]] * (len(words) + 1) + which)
    return np.bincount(pairs // (len(words) + 1), minlength=chunk.n_docs).astype(np.int64)
