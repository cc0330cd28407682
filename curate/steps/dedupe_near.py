"""dedupe_near: drop records whose shingle sets are near duplicates (MinHash LSH, Jaccard).

Each record is shingled and signed (one-permutation MinHash by default); signatures are cut into
LSH bands; records sharing a band key are candidate pairs, verified on the exact shingle sets;
verified pairs join into clusters and one record per cluster is kept (``resolve``, the one
decision). In one process ``fit`` does it all with shingles spilled to disk; on a cluster the
same decision is made in phases (``keys`` per block, band rows grouped by bucket, candidate
pairs per bucket, ``decide`` on the records in some pair). Records are known by rank (0-based,
in input order among those reaching the step), because ``_id`` values may repeat; a cluster is
named ``near:<rank>`` after the record it keeps.

What is compared: the whole text, or with ``fields: [...]`` / ``roles: [...]`` only those text
fields or chat turns (``curate.steps.compared``); ``keep: longest`` still measures the whole
record. A record whose compared part is blank has no shingles and is never a duplicate (as a
blank text always was).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import orjson
import polars as pl
from pydantic import Field, model_validator

from curate import batch as B
from curate.lsh import (
    SetTable,
    band_keys,
    candidate_pairs,
    connected_components,
    exact_jaccard,
    optimal_bands_rows,
    segment_index,
)
from curate.minhash import (
    EMPTY,
    ShingleOptions,
    Signer,
    estimated_jaccard,
    iter_shingle_groups,
    set_values,
)
from curate.registry import (
    Decision,
    Fetch,
    GlobalStep,
    fetch_ranks,
    id_masker,
    marks_frame,
    register_step,
)
from curate.steps.compared import CompareParams

REASON = "near_duplicate"
# keys / spread / reduce columns (phases on a cluster)
LENGTH, SHINGLES, SIGNATURE, BANDS, SETS = "_len", "_nsh", "_sig", "_keys", "_sets"
BUCKET, BAND, KEY, LO, HI = "_bucket", "_band", "_key", "_lo", "_hi"
#: band-key buckets ``reduce`` runs over on a cluster
BUCKETS = 64
#: example pairs the manifest and the audit report show (the first marked, in input order)
EXAMPLE_PAIRS = 5
# signature rows compared per chunk when estimating similarity
PAIR_CHUNK = 1 << 15
# Before exact verification, candidates whose signature estimate lies this many standard
# deviations (of a k-slot estimate at the threshold) below the threshold are dropped unverified:
# a pair truly at the threshold falls that low with probability ~3e-5, far below the chance
# that banding misses it, and loose candidates are verification work that finds nothing.
PREFILTER_SIGMAS = 4.0


class DedupeNearParams(CompareParams):
    threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="Jaccard similarity of shingle sets that makes a pair"
    )
    shingle: Literal["word", "char", "auto"] = Field(
        "auto",
        description="word n-grams, character n-grams, or auto: characters for texts with "
        "few spaces (Chinese, Japanese, Thai)",
    )
    ngram: int = Field(5, ge=1, le=32, description="words per word shingle")
    char_ngram: int = Field(5, ge=1, le=32, description="characters per character shingle")
    num_perm: int = Field(128, ge=8, le=1024, description="MinHash signature slots")
    signature: Literal["oph", "classic"] = Field(
        "oph",
        description="oph: one hash per shingle, densified (fast); classic: num_perm hashes "
        "per shingle (as datasketch)",
    )
    bands: int | None = Field(
        None, ge=1, le=1024, description="LSH bands; default: derived from threshold"
    )
    rows: int | None = Field(
        None, ge=1, le=1024, description="signature slots per band; default: derived"
    )
    false_negative_weight: float = Field(
        0.95,
        ge=0.0,
        le=1.0,
        description="when deriving bands/rows, weight of missed pairs against false "
        "candidates (these are cheap to drop when verifying)",
    )
    verify: bool = Field(
        True,
        description="check candidate pairs on the exact shingle sets (else trust the "
        "signature estimate)",
    )
    keep: Literal["first", "longest"] = Field(
        "first", description="which record of a cluster is kept (ties: the first)"
    )
    threads: int = Field(
        1, ge=1, le=64, description="threads for shingling and verification (same results)"
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> DedupeNearParams:
        bands, rows = self.bands_rows()
        if bands * rows > self.num_perm:
            raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm = {self.num_perm}")
        return self

    def bands_rows(self) -> tuple[int, int]:
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        if self.bands is not None:
            return self.bands, max(1, self.num_perm // self.bands)
        if self.rows is not None:
            return max(1, self.num_perm // self.rows), self.rows
        return optimal_bands_rows(self.threshold, self.num_perm, self.false_negative_weight)


class _Spill:
    """An append-only uint32 array in an unnamed temporary file, read back memory-mapped:
    shingle sets of a large corpus need not fit in memory."""

    def __init__(self) -> None:
        # closed by close(), after fit: it outlives this call
        self._file = tempfile.TemporaryFile(prefix="curate-dedupe-near-")  # noqa: SIM115
        self.size = 0

    def append(self, values: np.ndarray) -> int:
        start = self.size
        self._file.write(memoryview(np.ascontiguousarray(values, dtype=np.uint32)))
        self.size += values.size
        return start

    def view(self) -> np.ndarray:
        self._file.flush()
        if self.size == 0:
            return np.empty(0, dtype=np.uint32)
        return np.memmap(self._file, dtype=np.uint32, mode="r", shape=(self.size,))

    def close(self) -> None:
        self._file.close()


def _estimates(signatures: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal signature slots for each pair."""
    out = np.empty(left.size, dtype=np.float64)
    for i in range(0, left.size, PAIR_CHUNK):
        out[i : i + PAIR_CHUNK] = estimated_jaccard(
            np.asarray(signatures[left[i : i + PAIR_CHUNK]]),
            np.asarray(signatures[right[i : i + PAIR_CHUNK]]),
        )
    return out


def _exact(
    shingles: np.ndarray,
    set_starts: np.ndarray,
    set_sizes: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    threads: int,
) -> np.ndarray:
    """Jaccard similarity of each pair's shingle sets."""
    if left.size == 0:
        return np.empty(0, dtype=np.float64)
    records = np.unique(np.concatenate((left, right)))
    table = SetTable.from_segments(shingles, set_starts[records], set_sizes[records])
    left, right = np.searchsorted(records, left), np.searchsorted(records, right)
    return exact_jaccard(table, left, right, threads)


def kept_of(keep: str, members: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """For each cluster member (an index in rank order), the index of the record its cluster
    keeps: the first, or the longest (ties: the first)."""
    cluster = labels[members]
    if keep == "first":
        return cluster  # a component's label is its smallest index
    # members are sorted by index, so the stable sort breaks length ties by index
    order = np.lexsort((-lengths[members], cluster))
    first_of_cluster = np.concatenate(([True], cluster[order][1:] != cluster[order][:-1]))
    winners = members[order][first_of_cluster]
    return winners[np.searchsorted(np.unique(cluster), cluster)]


Jaccard = Callable[[np.ndarray, np.ndarray], np.ndarray]


def similarities(
    params: DedupeNearParams,
    signatures: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    jaccard: Jaccard | None,
) -> np.ndarray:
    """Each candidate pair's similarity: its signature estimate, or (``jaccard``) the exact
    Jaccard similarity of the pairs whose estimate is plausible, 0 for the others."""
    threshold = params.threshold
    similarity = _estimates(signatures, lo, hi)
    if jaccard is not None:
        spread = np.sqrt(threshold * (1 - threshold) / params.num_perm)
        plausible = np.flatnonzero(similarity >= threshold - PREFILTER_SIGMAS * spread)
        similarity[:] = 0.0
        similarity[plausible] = jaccard(lo[plausible], hi[plausible])
    return similarity


@dataclass
class Resolved:
    decision: Decision
    #: pairs (ranks lo < hi) at or above the threshold, with their similarity
    linked: tuple[np.ndarray, np.ndarray, np.ndarray]


def resolve(
    params: DedupeNearParams,
    step: str,
    *,
    records: int,
    without_shingles: int,
    lo: np.ndarray,
    hi: np.ndarray,
    ranks: np.ndarray,
    ids: pl.Series,
    lengths: np.ndarray,
    signatures: np.ndarray,
    jaccard: Jaccard | None,
    lines: np.ndarray | None = None,
    candidates: int | None = None,
) -> Resolved:
    """The decision from candidate pairs: verify, join clusters, keep one record per cluster.

    Records are known by index into ``ranks`` (sorted), ``ids``, ``lengths``,
    ``signatures`` and ``lines`` (input lines, when known), which may hold every record or
    only those in some candidate pair; ``jaccard`` gives the exact similarity of index pairs
    (None: trust the signatures). ``candidates`` counts the candidate pairs when those given
    were verified already."""
    similarity = similarities(params, signatures, lo, hi, jaccard)
    linked = similarity >= params.threshold
    labels = connected_components(ranks.size, lo[linked], hi[linked])
    members = np.unique(np.concatenate((lo[linked], hi[linked])))
    kept = kept_of(params.keep, members, labels, lengths)
    dropped, kept_of_dropped = members[members != kept], kept[members != kept]
    if jaccard is not None:
        score = jaccard(dropped, kept_of_dropped)
    else:
        score = _estimates(signatures, dropped, kept_of_dropped)
    kept_ids = ids.gather(kept_of_dropped).cast(pl.String).to_list()
    kept_rank = ranks[kept_of_dropped]
    measure = "jaccard" if jaccard is not None else "estimated_jaccard"
    kept_lines = lines[kept_of_dropped].tolist() if lines is not None else [0] * dropped.size
    detail = [
        orjson.dumps(
            {
                "similarity": round(float(x), 4),
                "measure": measure,
                "duplicate_of_line": line or None,
            }
        ).decode()
        for x, line in zip(score.tolist(), kept_lines, strict=True)
    ]
    marks = marks_frame(
        ranks[dropped], REASON, score, kept_ids, [f"near:{r}" for r in kept_rank.tolist()], detail
    )
    clusters: list[dict[str, Any]] = []
    if dropped.size:
        order = np.lexsort((ranks[dropped], kept_rank))
        d_local, k_local, d_score = dropped[order], kept_of_dropped[order], score[order]
        bounds = np.flatnonzero(np.concatenate(([True], k_local[1:] != k_local[:-1], [True])))
        all_ids = ids.cast(pl.String)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            keeper = int(k_local[a])
            group = all_ids.gather([keeper, *d_local[a:b].tolist()]).to_list()
            clusters.append(
                {
                    "cluster": f"near:{int(ranks[keeper])}",
                    "step": step,
                    "kept": group[0],
                    "members": group,
                    "size": len(group),
                    "similarity": float(d_score[a:b].min()),
                }
            )
    bands, rows = params.bands_rows()
    summary = {
        "docs": records,
        "without_shingles": without_shingles,
        "candidate_pairs": int(lo.size) if candidates is None else candidates,
        "verified_pairs": int(linked.sum()),
        "clusters": int(np.unique(kept).size),
        "removed": int(dropped.size),
        "bands": bands,
        "rows": rows,
        "verify": params.verify,
        "examples": example_pairs(ranks, ids, lines, dropped, kept_of_dropped, score, measure),
    }
    pairs = (ranks[lo[linked]], ranks[hi[linked]], similarity[linked])
    return Resolved(Decision(marks, summary, clusters, records), pairs)


def example_pairs(
    ranks: np.ndarray,
    ids: pl.Series,
    lines: np.ndarray | None,
    dropped: np.ndarray,
    kept: np.ndarray,
    similarity: np.ndarray,
    measure: str,
) -> list[dict[str, Any]]:
    """The first ``EXAMPLE_PAIRS`` marked records (in input order) with the record each
    duplicates and their similarity, for the reports: no text, ids masked (an id may be an
    e-mail address; a masked id says its line, so that the record can be found). Nothing
    here depends on how the input is split into files or blocks."""
    first = np.argsort(ranks[dropped], kind="stable")[:EXAMPLE_PAIRS]
    if first.size == 0:
        return []
    mask = id_masker(unconfirmed=True)
    shown_ids = [None if i is None else str(i) for i in ids.cast(pl.String).to_list()]
    known = lines if lines is not None else np.zeros(ranks.size, dtype=np.int64)
    dropped_lines = [int(known[d]) or None for d in dropped[first]]
    kept_lines = [int(known[k]) or None for k in kept[first]]
    record_ids = mask([shown_ids[d] for d in dropped[first]], dropped_lines)
    kept_ids = mask([shown_ids[k] for k in kept[first]], kept_lines)
    return [
        {
            "id": record_ids[n],
            "duplicate_of": kept_ids[n],
            "similarity": round(float(similarity[first[n]]), 4),
            "measure": measure,
        }
        for n in range(first.size)
    ]


@register_step
class DedupeNear(GlobalStep[DedupeNearParams]):
    """Near duplicates by MinHash LSH over word (or character) shingles, verified exactly."""

    name = "dedupe_near"
    Params = DedupeNearParams
    marks_duplicates = True
    groups_near_copies = True
    partition_by: ClassVar[str | None] = BUCKET
    pair_columns: ClassVar[tuple[str, str] | None] = (LO, HI)

    def __init__(self, params: DedupeNearParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self.bands, self.rows = params.bands_rows()
        self._options = ShingleOptions(params.shingle, params.ngram, params.char_ngram)
        self._signer = Signer(params.num_perm, params.signature, self.seed)
        empty = np.empty(0, dtype=np.int64)
        self._linked: tuple[np.ndarray, np.ndarray, np.ndarray] = (empty, empty, np.empty(0))

    # -- in this process: signatures and shingles spill to disk -------------------------

    def fit(self, batches: Iterable[pl.DataFrame]) -> None:
        shingle_store, signature_store = _Spill(), _Spill()
        ids: list[pl.Series] = []
        lines: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        keys: list[np.ndarray] = []
        set_starts: list[np.ndarray] = []
        set_sizes: list[np.ndarray] = []
        try:
            for frame in batches:
                if frame.height == 0:
                    continue
                signatures, starts, sizes = self._sign(self._compared(frame), shingle_store)
                keys.append(band_keys(signatures, self.bands, self.rows))
                set_starts.append(starts)
                set_sizes.append(sizes)
                ids.append(frame[B.ID].cast(pl.String))
                lines.append(_lines(frame))
                lengths.append(_lengths(frame))
                signature_store.append(signatures.ravel())
            all_ids = pl.concat(ids) if ids else pl.Series(B.ID, [], dtype=pl.String)
            total = all_ids.len()
            starts_all = np.concatenate(set_starts) if keys else np.empty(0, dtype=np.int64)
            sizes_all = np.concatenate(set_sizes) if keys else np.empty(0, dtype=np.int64)
            band = np.concatenate(keys) if keys else np.empty((0, self.bands), dtype=np.uint64)
            lo, hi = candidate_pairs(band, sizes_all > 0)
            shingles = shingle_store.view()
            resolved = resolve(
                self.params,
                self.name,
                records=total,
                without_shingles=int((sizes_all == 0).sum()),
                lo=lo,
                hi=hi,
                ranks=np.arange(total, dtype=np.int64),
                ids=all_ids,
                lengths=np.concatenate(lengths) if keys else np.empty(0, dtype=np.int64),
                signatures=signature_store.view().reshape(total, self.params.num_perm),
                jaccard=(
                    (
                        lambda a, b: _exact(
                            shingles, starts_all, sizes_all, a, b, self.params.threads
                        )
                    )
                    if self.params.verify
                    else None
                ),
                lines=np.concatenate(lines) if keys else None,
            )
        finally:
            shingle_store.close()
            signature_store.close()
        self.decision, self._linked = resolved.decision, resolved.linked
        self._next_rank = 0

    def _spilled_jaccard(
        self, shingles: np.ndarray, starts: np.ndarray, sizes: np.ndarray
    ) -> Jaccard | None:
        if not self.params.verify:
            return None
        threads = self.params.threads
        return lambda a, b: _exact(shingles, starts, sizes, a, b, threads)

    def _compared(self, frame: pl.DataFrame) -> list[str | None]:
        """The text each record is compared on (the whole text unless ``fields``/``roles``)."""
        return frame.select(self.params.compared_text()).to_series().to_list()

    def _sign(
        self, texts: list[str | None], store: _Spill
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Signatures of a batch, and where each record's shingles went in the store."""
        count = len(texts)
        signatures = np.full((count, self.params.num_perm), EMPTY, dtype=np.uint32)
        starts = np.zeros(count, dtype=np.int64)
        sizes = np.zeros(count, dtype=np.int64)
        for group in iter_shingle_groups(texts, self._options, self.params.threads):
            signatures[group.docs] = self._signer.sign(group)
            sizes[group.docs] = group.counts
            if self.params.verify:
                first = store.append(set_values(group.hashes))
                starts[group.docs] = first + group.offsets[:-1]
        return signatures, starts, sizes

    def linked_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """After ``fit``: the pairs (positions lo < hi) at or above the threshold, with their
        similarity (exact if verified, else estimated)."""
        return self._linked

    # -- in phases, on a cluster ----------------------------------------------------------

    def keys(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Per record: rank, id, line, length, signature, band keys and (verify) its shingle
        set."""
        import pyarrow as pa

        store = _Spill()
        try:
            signatures, starts, sizes = self._sign(self._compared(batch), store)
            shingles = np.asarray(store.view())
        finally:
            store.close()
        count = batch.height
        bands = band_keys(signatures, self.bands, self.rows)
        columns: dict[str, Any] = {
            B.RANK: pa.array(batch[B.RANK].to_numpy(), pa.int64()),
            B.ID: pa.array(batch[B.ID].cast(pl.String).to_list(), pa.large_string()),
            B.LINE: pa.array(_lines(batch), pa.int64()),
            LENGTH: pa.array(_lengths(batch), pa.int64()),
            SHINGLES: pa.array(sizes, pa.int64()),
            SIGNATURE: pa.FixedSizeListArray.from_arrays(
                pa.array(signatures.ravel(), pa.uint32()), self.params.num_perm
            ),
            BANDS: pa.FixedSizeListArray.from_arrays(
                pa.array(bands.ravel(), pa.uint64()), self.bands
            ),
        }
        if self.params.verify:
            offsets = np.zeros(count + 1, dtype=np.int64)
            np.cumsum(sizes, out=offsets[1:])
            in_order = shingles[segment_index(starts, sizes)] if count else shingles[:0]
            columns[SETS] = pa.LargeListArray.from_arrays(
                pa.array(offsets), pa.array(in_order, pa.uint32())
            )
        frame = pl.from_arrow(pa.table(columns))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def spread(self, keys: pl.DataFrame) -> pl.DataFrame:
        """One row per (record with shingles, band), bucketed by band key; and one row (band
        -1) counting the records without shingles."""
        valid = keys[SHINGLES].to_numpy() > 0
        band_keys_ = _fixed(keys[BANDS], self.bands, np.uint64)[valid]
        ranks = keys[B.RANK].to_numpy()[valid]
        flat = band_keys_.ravel()
        rows = pl.DataFrame(
            {
                BUCKET: (flat % np.uint64(BUCKETS)).astype(np.int64),
                BAND: np.tile(np.arange(self.bands, dtype=np.int64), ranks.size),
                KEY: flat,
                B.RANK: np.repeat(ranks, self.bands).astype(np.int64),
            },
            schema={BUCKET: pl.Int64, BAND: pl.Int64, KEY: pl.UInt64, B.RANK: pl.Int64},
        )
        empty = pl.DataFrame(
            {BUCKET: [0], BAND: [-1], KEY: [0], B.RANK: [int((~valid).sum())]},
            schema=rows.schema,
        )
        return pl.concat([rows, empty])

    def reduce(self, part: pl.DataFrame) -> pl.DataFrame:
        """Candidate pairs (ranks) of a bucket by the one-process rule, band by band; one row
        (lo -1) carries the count of records without shingles."""
        without = int(part.filter(pl.col(BAND) < 0)[B.RANK].sum() or 0)
        lows: list[np.ndarray] = [np.array([-1], dtype=np.int64)]
        highs: list[np.ndarray] = [np.array([without], dtype=np.int64)]
        bands = part.filter(pl.col(BAND) >= 0).sort(BAND, B.RANK)
        for band in bands.partition_by(BAND, maintain_order=True):
            ranks = band[B.RANK].to_numpy()
            lo, hi = candidate_pairs(band[KEY].to_numpy()[:, None])
            lows.append(ranks[lo])
            highs.append(ranks[hi])
        return pl.DataFrame({LO: np.concatenate(lows), HI: np.concatenate(highs)})

    def verify(self, pairs: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
        """A group's candidate pairs checked where their records are: the pairs at or above
        the threshold, and one row (lo -2) counting the candidates; rows with lo -1 (records
        without shingles) pass."""
        candidates = pairs.filter(pl.col(LO) >= 0).unique().sort(LO, HI)
        lo, hi = candidates[LO].to_numpy(), candidates[HI].to_numpy()
        linked = np.zeros(lo.size, dtype=bool)
        if lo.size:
            table = fetch_ranks(rows, np.unique(np.concatenate((lo, hi))))
            ranks = table[B.RANK].to_numpy()
            a, b = np.searchsorted(ranks, lo), np.searchsorted(ranks, hi)
            signatures = _fixed(table[SIGNATURE], self.params.num_perm, np.uint32)
            similarity = similarities(self.params, signatures, a, b, self._jaccard(table))
            linked = similarity >= self.params.threshold
        counted = pl.DataFrame({LO: [-2], HI: [int(lo.size)]}, schema=pairs.schema)
        verified = pl.DataFrame({LO: lo[linked], HI: hi[linked]}, schema=pairs.schema)
        return pl.concat([pairs.filter(pl.col(LO) == -1), counted, verified])

    def decide(self, reduced: pl.DataFrame, fetch: Fetch, records: int) -> Decision:
        counts = reduced.filter(pl.col(LO) < 0)
        pairs = reduced.filter(pl.col(LO) >= 0)
        width = max(records, 1)
        codes = np.unique(pairs[LO].to_numpy() * width + pairs[HI].to_numpy())
        lo, hi = codes // width, codes % width
        # the records in some verified pair: those in clusters
        table = fetch(np.unique(np.concatenate((lo, hi))))
        ranks = table[B.RANK].to_numpy()
        resolved = resolve(
            self.params,
            self.name,
            records=records,
            without_shingles=int(counts.filter(pl.col(LO) == -1)[HI].sum() or 0),
            lo=np.searchsorted(ranks, lo),
            hi=np.searchsorted(ranks, hi),
            ranks=ranks,
            ids=table[B.ID],
            lengths=table[LENGTH].to_numpy(),
            signatures=_fixed(table[SIGNATURE], self.params.num_perm, np.uint32),
            jaccard=self._jaccard(table),
            lines=table[B.LINE].to_numpy(),
            candidates=int(counts.filter(pl.col(LO) == -2)[HI].sum() or 0),
        )
        self._linked = resolved.linked
        return resolved.decision

    def _jaccard(self, table: pl.DataFrame) -> Jaccard | None:
        """Exact similarity of index pairs of ``table`` (keys rows), None without verify."""
        if not self.params.verify:
            return None
        if not table.height:
            return lambda a, b: np.zeros(a.size)  # no pairs to verify
        column = table[SETS]
        values = np.asarray(column.explode().drop_nulls().to_numpy(), dtype=np.uint32)
        sizes = column.list.len().fill_null(0).to_numpy().astype(np.int64)
        offsets = np.zeros(sizes.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        sets = SetTable.from_segments(values, offsets[:-1], sizes)
        return lambda a, b: exact_jaccard(sets, a, b)


def _lines(frame: pl.DataFrame) -> np.ndarray:
    """Input lines (1-based; 0 where a batch made in code has none)."""
    if B.LINE not in frame.columns:
        return np.zeros(frame.height, dtype=np.int64)
    return frame[B.LINE].fill_null(0).cast(pl.Int64).to_numpy()


def _lengths(frame: pl.DataFrame) -> np.ndarray:
    return frame[B.TEXT].str.len_chars().fill_null(0).cast(pl.Int64).to_numpy()


def _fixed(column: pl.Series, width: int, dtype: Any) -> np.ndarray:
    """A fixed-size list column as a (rows, width) array."""
    if column.len() == 0:
        return np.empty((0, width), dtype=dtype)
    return np.asarray(column.to_numpy(), dtype=dtype).reshape(-1, width)
