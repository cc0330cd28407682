"""One chunk of documents as an array of characters: what the ``quality`` figures are made of.

A chunk's texts are joined by ``\\n`` into one numpy array of code units (bytes for ASCII);
``CharTable`` gives each character its classes (``\\s``, ``\\p{P}``, ``\\p{S}``, ``\\p{L}``,
...), filled by polars' own regex engine for each code point met, so that the classes are
exactly those of the expressions in ``curate.steps.quality_metrics``. ``Chunk`` finds tokens,
lines and the rare marked characters; the helpers count positions per document and hash spans.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
import xxhash

# Closing quotes and brackets may follow the terminal mark: `He said "no."` ends a sentence.
CLOSERS = "\"'\u201d\u2019\u00bb)\\]"
ENCODINGS = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}  # code units of a chunk, by width
_LONG_SPAN = 256  # bytes: longer spans are hashed one call each (they are few, being long)

# --- character classes -------------------------------------------------------------------

SPACE, PUNCT_SYMBOL, LETTER, WORD_CHAR, TERMINAL, CLOSER, SPECIAL_CASE = 1, 2, 4, 8, 16, 32, 64
# The rare characters figures look at one by one; one pass finds them all.
MARKED = 128
_MARKED_CHARS = "#{.\n[\x00\u2026"
_CLASS_PATTERNS = {
    SPACE: r"\s",
    PUNCT_SYMBOL: r"[\p{P}\p{S}]",
    LETTER: r"\p{L}",
    WORD_CHAR: r"[\p{L}\p{N}_]",
    TERMINAL: r"\p{Sentence_Terminal}",
    CLOSER: rf"[{CLOSERS}]",
}
# Rust's str::to_lowercase (what polars runs) lowers Σ to ς or σ depending on its neighbours.
_CONTEXT_LOWERED = "\u03a3"
_CODE_POINTS = 0x110000


class CharTable:
    """Class bits and lower case of every code point met so far. Polars' regex engine and
    lower-casing fill it, so the classes are exactly those of the regular expressions.
    ``SPECIAL_CASE`` marks characters whose lower case is not one fixed character."""

    def __init__(self) -> None:
        self.flags = np.zeros(_CODE_POINTS, dtype=np.uint8)
        self.lower = np.arange(_CODE_POINTS, dtype=np.uint32)
        self.known = np.zeros(_CODE_POINTS, dtype=bool)
        self._learn(np.arange(128))
        # bytes.translate tables for ASCII text (bytes >= 128 never occur in it)
        self.ascii_flags = self.flags[:128].tobytes() + bytes(128)
        self.ascii_lower = self.lower[:128].astype(np.uint8).tobytes() + bytes(range(128, 256))

    def learn(self, code_points: np.ndarray) -> None:
        """Classify the code points not seen before."""
        if self.known[code_points].all():
            return
        with _TABLE_LOCK:  # steps in several threads share the table
            self._learn(np.unique(code_points[~self.known[code_points]]))

    def _learn(self, new: np.ndarray) -> None:
        if new.size == 0:  # another thread was first
            return
        chars = pl.Series(list(new.astype("<u4").tobytes().decode("utf-32-le")), dtype=pl.String)
        flags = np.zeros(new.size, dtype=np.uint8)
        for bit, pattern in _CLASS_PATTERNS.items():
            flags |= chars.str.contains(f"^(?:{pattern})$").to_numpy().astype(np.uint8) * bit
        lowered = chars.str.to_lowercase()
        simple = (lowered.str.len_chars() == 1) & (chars != _CONTEXT_LOWERED)
        simple_np = simple.to_numpy()
        single = "".join(lowered.filter(simple).to_list()).encode("utf-32-le")
        self.lower[new[simple_np]] = np.frombuffer(single, dtype="<u4")
        flags[~simple_np] |= SPECIAL_CASE | MARKED
        flags[chars.is_in(list(_MARKED_CHARS)).to_numpy()] |= MARKED
        self.flags[new] = flags
        self.known[new] = True


_TABLE: CharTable | None = None
_TABLE_LOCK = threading.Lock()


def char_table() -> CharTable:
    """The process's table (classes do not depend on any setting)."""
    global _TABLE
    with _TABLE_LOCK:
        if _TABLE is None:
            _TABLE = CharTable()
        return _TABLE


# --- numpy helpers -----------------------------------------------------------------------


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the runs of True in ``mask``."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    if len(mask) and mask[0]:
        edges = np.concatenate(([0], edges))
    if len(mask) and mask[-1]:
        edges = np.append(edges, len(mask))
    return edges[0::2], edges[1::2]


def run_edge(run_starts: np.ndarray, run_ends: np.ndarray, at: np.ndarray, end: bool) -> np.ndarray:
    """For positions inside runs: the end (or start) of the run holding each."""
    k = np.searchsorted(run_starts, at, side="right") - 1
    return run_ends[k] if end else run_starts[k]


def count_between(events: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How many of the sorted ``events`` fall in each [lo, hi)."""
    return np.searchsorted(events, hi) - np.searchsorted(events, lo)


def _fmix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: every input bit reaches every output bit."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


_LOW_BYTES = np.array([(1 << (8 * r)) - 1 for r in range(8)] + [2**64 - 1], dtype=np.uint64)


def _mix_block(h: np.ndarray) -> np.ndarray:
    """One round of hashing: a bijection of the state, so that two spans that differ in one
    block of 8 bytes (and agree elsewhere) never collide."""
    h *= np.uint64(0x9FB21C651E98DF25)
    h ^= h >> np.uint64(31)
    return h


def span_hashes(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each byte span ``buffer[start:end]``; ``buffer`` (uint8) must be followed
    by 8 spare bytes. Equal spans hash equal. Short spans are hashed together, 8 bytes a round
    read through an unaligned uint64 view (most words take one round); long ones with xxh3,
    one call each (few spans are long)."""
    lengths = (ends - starts).astype(np.int64)
    windows = np.ndarray((len(buffer) - 7,), dtype="<u8", buffer=buffer, strides=(1,))
    first = windows[starts] & _LOW_BYTES[np.minimum(lengths, 8)]
    h = _mix_block(first ^ (lengths.astype(np.uint64) * np.uint64(0x27D4EB2F165667C5)))
    more = np.flatnonzero((lengths > 8) & (lengths <= _LONG_SPAN))
    offset = 8
    while more.size:
        left = lengths[more] - offset
        block = windows[starts[more] + offset] & _LOW_BYTES[np.minimum(left, 8)]
        h[more] = _mix_block(h[more] ^ block)
        more = more[left > 8]
        offset += 8
    h = _fmix(h)
    data = memoryview(buffer)
    for i in np.flatnonzero(lengths > _LONG_SPAN).tolist():
        h[i] = xxhash.xxh3_64_intdigest(data[starts[i] : ends[i]])
    return h


def doc_of(doc_starts: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.searchsorted(doc_starts, positions, side="right") - 1


def per_doc_sum(doc: np.ndarray, values: np.ndarray, n_docs: int) -> np.ndarray:
    return np.bincount(doc, weights=values, minlength=n_docs).astype(np.int64)


# --- one chunk of documents as characters ------------------------------------------------


class Chunk:
    """Documents joined by ``\\n`` (and one after the last) as one array of characters; tokens
    and lines never cross documents. Figures are cached as they are first asked for."""

    def __init__(self, texts: pl.Series, table: CharTable) -> None:
        self.texts = texts
        self.table = table
        self.text = "\n".join(texts.to_list()) + "\n"
        lengths = texts.str.len_chars().to_numpy().astype(np.int64)
        self.doc_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        self.doc_ends = self.doc_starts + lengths
        self.n_docs = len(lengths)
        self.ascii = self.text.isascii()
        self._classes: dict[int, np.ndarray] = {}
        # chars: the code units (uint8 for ASCII, else uint16, or uint32 beyond the BMP);
        # raw: their bytes followed by 8 spare ones, for span_hashes
        if self.ascii:
            self._encoded = self.text.encode("ascii")
            self.raw = np.frombuffer(self._encoded + bytes(8), dtype=np.uint8)
            self.chars = self.raw[:-8]
            self.flags = np.frombuffer(self._encoded.translate(table.ascii_flags), np.uint8)
        else:
            code_points = np.frombuffer(self.text.encode("utf-32-le"), dtype="<u4")
            beyond_ascii = code_points[code_points >= 128]
            table.learn(beyond_ascii)
            wide = beyond_ascii.max() > 0xFFFF or table.lower[beyond_ascii].max() > 0xFFFF
            self.chars, self.raw = _padded(code_points, np.uint32 if wide else np.uint16)
            self.flags = table.flags[self.chars]

    @cached_property
    def space(self) -> np.ndarray:
        return (self.flags & SPACE).view(bool)

    def has(self, bit: int) -> np.ndarray:
        """Characters of a class (cached: most classes serve several figures)."""
        if bit not in self._classes:
            self._classes[bit] = (self.flags & bit) != 0
        return self._classes[bit]

    @cached_property
    def lowered_units(self) -> np.ndarray:
        """The characters lower-cased one by one (``SPECIAL_CASE`` ones are left as they are)."""
        if self.ascii:
            text = self._encoded.translate(self.table.ascii_lower)
            return np.frombuffer(text, dtype=np.uint8)
        return self.table.lower[self.chars].astype(self.chars.dtype)

    @cached_property
    def lowered(self) -> np.ndarray:
        """The lower-cased code units as uint8, followed by 8 spare bytes."""
        return np.frombuffer(self.lowered_units.tobytes() + bytes(8), dtype=np.uint8)

    @cached_property
    def _lowered_latin1(self) -> bytes:
        """The lower-cased text with one byte per character, 255 standing for every character
        from 255 up: a phrase without such characters matches it exactly where it matches the
        text, and bytes.find scans one byte per character at memchr speed."""
        if self.ascii:
            return self.lowered_units.tobytes()
        return np.minimum(self.lowered_units, 255).astype(np.uint8).tobytes()

    def find_lowered(self, phrase: str) -> np.ndarray:
        """Every position where ``phrase`` (lower case) starts in the lower-cased text; the
        loop runs once per match, and phrases are rare."""
        if not phrase or max(map(ord, phrase)) > np.iinfo(self.chars.dtype).max:
            return np.zeros(0, dtype=np.int64)
        if max(map(ord, phrase)) < 255:
            text, needle, width = self._lowered_latin1, phrase.encode("latin-1"), 1
        else:
            width = self.chars.dtype.itemsize
            text, needle = self.lowered_units.tobytes(), phrase.encode(ENCODINGS[width])
        found = []
        at = text.find(needle)
        while at >= 0:
            if at % width == 0:  # a match straddling code units is no match
                found.append(at // width)
            at = text.find(needle, at + 1)
        return np.array(found, dtype=np.int64)

    @cached_property
    def _marked(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the MARKED characters, and the characters."""
        positions = np.flatnonzero(self.flags >= MARKED)
        return positions, self.chars[positions]

    def positions_of(self, char: str) -> np.ndarray:
        """Where a character of ``_MARKED_CHARS`` occurs, ascending."""
        positions, chars = self._marked
        return positions[chars == ord(char)]

    def special_case_positions(self) -> np.ndarray:
        """Where a character whose lower case is not one fixed character occurs."""
        positions = self._marked[0]
        return positions[(self.flags[positions] & SPECIAL_CASE) != 0]

    @cached_property
    def tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """[start, end) of every token."""
        return runs(~self.space)

    def events_per_doc(self, events: np.ndarray) -> np.ndarray:
        """How many of the (ascending) positions fall in each document."""
        return count_between(events, self.doc_starts, self.doc_ends)

    @cached_property
    def lines(self) -> Lines:
        return Lines.of(self)

    def substrings(self, starts: np.ndarray, ends: np.ndarray) -> list[str]:
        """The text of a few spans (a loop: only for the spans the arrays cannot measure)."""
        return [self.text[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]

    def byte_spans(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Character spans as spans of ``raw`` (or ``lowered``)."""
        width = self.chars.dtype.itemsize
        return starts * width, ends * width


def _padded(units: np.ndarray, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """``units`` as ``dtype`` in a buffer with 8 spare bytes: (the units, the bytes)."""
    width = np.dtype(dtype).itemsize
    raw = np.zeros(len(units) * width + 8, dtype=np.uint8)
    chars = raw[:-8].view(dtype)
    chars[:] = units
    return chars, raw


# --- lines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lines:
    """Every ``\\n``-separated line of a chunk, and its stripped extent when it is not blank."""

    ends: np.ndarray  # position of each line's "\n"
    doc: np.ndarray  # document of each line
    first_token: np.ndarray  # index of its first token
    token_count: np.ndarray
    kept: np.ndarray  # indices of the non-blank lines
    start: np.ndarray  # stripped extent [start, end) of each non-blank line
    end: np.ndarray

    @classmethod
    def of(cls, chunk: Chunk) -> Lines:
        ends = chunk.positions_of("\n")
        starts = np.concatenate(([0], ends[:-1] + 1))
        token_starts, token_ends = chunk.tokens
        first = np.searchsorted(token_starts, starts)
        count = np.searchsorted(token_starts, ends) - first
        kept = np.flatnonzero(count > 0)
        return cls(
            ends=ends,
            doc=doc_of(chunk.doc_starts, starts),
            first_token=first,
            token_count=count,
            kept=kept,
            start=token_starts[first[kept]],
            end=token_ends[first[kept] + count[kept] - 1],
        )
