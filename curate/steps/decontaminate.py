"""decontaminate: drop records that share a word n-gram with an evaluation set.

Both sides are normalised the same way (NFKC, lowercase, punctuation removed, split on white
space), so case and punctuation differences still match. Every run of ``n`` words is hashed to
64 bits: each distinct word by xxh3 (stable across runs and versions), then the n-gram by a
polynomial over its word hashes, computed for a whole batch with ``n`` numpy operations. The
eval n-grams are kept as one sorted array and looked up with ``searchsorted``.

N-grams never span two records, two eval fields or two eval records. Text without white space
between words (Chinese, Japanese, Thai) counts as one word per run, so this step only sees
contamination of such text when a whole run matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import xxhash
from pydantic import Field

from curate import batch as B
from curate.errors import InputError
from curate.registry import Params, Step, Totals, register_step, summed

REASON_OVERLAP = "eval_overlap"
_PUNCTUATION = r"[^\p{L}\p{N}\s]+"
# Odd, so every power of it is odd and no word of an n-gram can cancel out of the hash.
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_EVAL_CHUNK = 20_000  # eval texts hashed at a time
# The prefilter table has ~16 slots per eval n-gram (about 6% false candidates), at most 2^26
# (64 MB): it answers most lookups with one gather instead of a binary search.
_MIN_TABLE_BITS, _MAX_TABLE_BITS = 16, 26


class DecontaminateParams(Params):
    eval_file: str = Field(
        "", description="JSONL file of evaluation records (relative to the rules file)"
    )
    eval_fields: list[str] = Field(
        default_factory=lambda: ["text"],
        description="fields of each eval record to read (strings, or lists/objects of strings)",
    )
    n: int = Field(13, ge=1, le=1000, description="words per n-gram")
    min_overlap: int = Field(
        1, ge=1, description="drop a record sharing at least this many distinct n-grams"
    )


def words_of(texts: pl.Series) -> pl.Series:
    """Normalised words of each text (a list per text; null text gives null)."""
    return (
        texts.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(_PUNCTUATION, "")
        .str.extract_all(r"\S+")
    )


def _word_hashes(words: pl.Series) -> np.ndarray:
    distinct = words.unique()
    hashes = pl.Series(
        [xxhash.xxh3_64_intdigest(w.encode("utf-8")) for w in distinct.to_list()],
        dtype=pl.UInt64,
    )
    return words.replace_strict(distinct, hashes, return_dtype=pl.UInt64).to_numpy()


def ngram_hashes(word_lists: pl.Series, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, hash) of every n-gram of every row, rows ascending."""
    lengths = word_lists.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = word_lists.explode().drop_nulls()  # empty and null lists explode to a null
    total = len(flat)
    if total < n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    word_hash = _word_hashes(flat)
    row_of_word = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    windows = total - n + 1
    combined = np.zeros(windows, dtype=np.uint64)
    for offset in range(n):  # Horner: sum of h[i + j] * M^(n-1-j), wrapping mod 2^64
        combined = combined * _MULTIPLIER + word_hash[offset : offset + windows]
    inside_one_row = row_of_word[:windows] == row_of_word[n - 1 :]
    return row_of_word[:windows][inside_one_row], combined[inside_one_row]


def distinct_per_row(rows: np.ndarray, hashes: np.ndarray, height: int) -> np.ndarray:
    """How many distinct hashes each row has."""
    if len(rows) == 0:
        return np.zeros(height, dtype=np.int64)
    order = np.lexsort((hashes, rows))
    rows, hashes = rows[order], hashes[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (hashes[1:] != hashes[:-1])
    return np.bincount(rows[first], minlength=height)


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings_in(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings_in(item)]
    return []


class EvalNgrams:
    """The sorted distinct n-gram hashes of an eval file, and what was read."""

    def __init__(self, path: Path, fields: list[str], n: int) -> None:
        self.docs = 0
        self.docs_shorter_than_n = 0
        chunks: list[np.ndarray] = []
        texts: list[str] = []
        owners: list[int] = []  # eval record (0-based) of each text
        with open(path, "rb") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                record = self._parse(path, line_no, line)
                strings = [s for f in fields for s in _strings_in(record.get(f))]
                if not strings:
                    continue
                texts.extend(strings)
                owners.extend([self.docs] * len(strings))
                self.docs += 1
                if len(texts) >= _EVAL_CHUNK:
                    chunks.append(self._hash(texts, owners, n))
                    texts, owners = [], []
        if texts:
            chunks.append(self._hash(texts, owners, n))
        if self.docs == 0:
            raise InputError(f"{path}: no eval records with a text in fields {fields}")
        self.hashes = np.unique(np.concatenate(chunks)) if chunks else np.zeros(0, np.uint64)
        wanted = int(np.ceil(np.log2(max(16 * len(self.hashes), 2))))
        self._shift = np.uint64(64 - min(max(wanted, _MIN_TABLE_BITS), _MAX_TABLE_BITS))
        # indexed by the top bits of a hash, the best mixed ones of the polynomial hash
        self._maybe = np.zeros(1 << (64 - int(self._shift)), dtype=bool)
        self._maybe[self.hashes >> self._shift] = True

    @staticmethod
    def _parse(path: Path, line_no: int, line: bytes) -> dict[str, Any]:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path}:{line_no}: invalid JSON in the eval file: {exc}") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{line_no}: eval records must be JSON objects")
        return record

    def _hash(self, texts: list[str], owners: list[int], n: int) -> np.ndarray:
        rows, hashes = ngram_hashes(words_of(pl.Series(texts, dtype=pl.String)), n)
        owner = np.asarray(owners, dtype=np.int64)
        with_ngrams = np.unique(owner[rows])
        self.docs_shorter_than_n += len(np.unique(owner)) - len(with_ngrams)
        return hashes

    def __len__(self) -> int:
        return len(self.hashes)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        if len(self.hashes) == 0:
            return found
        candidates = np.flatnonzero(self._maybe[hashes >> self._shift])
        wanted = hashes[candidates]
        at = np.minimum(np.searchsorted(self.hashes, wanted), len(self.hashes) - 1)
        found[candidates] = self.hashes[at] == wanted
        return found


@dataclass
class DecontaminateTotals(Totals):
    checked: int = summed()
    overlapping: int = summed()


@register_step
class Decontaminate(Step[DecontaminateParams]):
    """Drops records sharing >= ``min_overlap`` distinct word n-grams with an eval file."""

    name = "decontaminate"
    Params = DecontaminateParams
    parallel_safe = True
    totals_type = DecontaminateTotals
    totals: DecontaminateTotals

    def __init__(self, params: DecontaminateParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        if not params.eval_file:
            raise ValueError("step 'decontaminate': 'eval_file' is required (a JSONL file)")
        path = Path(params.eval_file).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = Path(self.base_dir) / path
        if not path.is_file():
            raise InputError(f"step 'decontaminate': eval_file not found: {path}")
        self.eval_path = path
        self.eval = EvalNgrams(path, params.eval_fields, params.n)

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        rows, hashes = ngram_hashes(words_of(batch[B.TEXT]), self.params.n)
        hit = self.eval.contains(hashes)
        shared = distinct_per_row(rows[hit], hashes[hit], batch.height)
        marked = pl.Series(shared >= self.params.min_overlap)
        self.totals += DecontaminateTotals(batch.height, int(marked.sum()))
        overlap = pl.Series(shared, dtype=pl.Int64)
        # why, in the record's values: how many of its n-grams the eval set holds, against
        # the step's min_overlap
        detail = B.detail_json(
            metric=pl.lit(f"eval_{self.params.n}grams_shared"),
            value=overlap,
            min_overlap=pl.lit(self.params.min_overlap, pl.Int64),
        )
        return batch.with_columns(
            pl.when(marked).then(pl.lit(REASON_OVERLAP)).alias(B.REASON),
            pl.when(marked).then(pl.Series(shared, dtype=pl.Float64)).alias(B.SCORE),
            pl.when(marked).then(detail).alias(B.DETAIL),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "eval_file": str(self.eval_path),
            "n": self.params.n,
            "eval_docs": self.eval.docs,
            "eval_docs_shorter_than_n": self.eval.docs_shorter_than_n,
            "eval_ngrams": len(self.eval),
            "records_checked": self.totals.checked,
            "records_overlapping": self.totals.overlapping,
            "overlap_rate": round(self.totals.overlapping / self.totals.checked, 6)
            if self.totals.checked
            else 0.0,
        }
