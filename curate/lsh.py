"""Locality-sensitive hashing over MinHash signatures: bands, candidate pairs, clusters.

A signature of ``k`` slots is cut into ``bands`` bands of ``rows`` slots; two texts whose
signatures agree on every slot of at least one band become a candidate pair. With Jaccard
similarity s that happens with probability 1 - (1 - s**rows)**bands, an S-curve whose step sits
near the threshold. Candidate pairs can be verified exactly on the shingle sets (``SetTable``,
``exact_jaccard``); verified pairs are joined into clusters (``connected_components``).

Everything works on whole arrays: one sort per band, vectorised union-find.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from curate.minhash import GOLDEN, U64, mix64

#: In a bucket of texts sharing a band, each text is paired with at most this many of the
#: next texts (by position). Buckets of ordinary near-duplicates are far smaller, so they get
#: every pair; a bucket of thousands of copies stays linear in size and is still connected.
BUCKET_WINDOW = 64
# Elements handled per chunk when gathering shingle sets, so temporaries stay bounded.
CHUNK_ELEMENTS = 1 << 22


def collision_probability(similarity: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Probability that two texts with this Jaccard similarity become candidates."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def optimal_bands_rows(
    threshold: float, num_perm: int, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """The (bands, rows) with bands * rows <= num_perm minimising the weighted error area.

    The false positive area is the collision probability integrated over similarities below
    the threshold, the false negative area one minus it integrated above; they are weighted
    ``1 - false_negative_weight`` and ``false_negative_weight``. Ties go to fewer bands.
    """
    grid = np.linspace(0.0, 1.0, 2001)
    below = grid <= threshold
    step = grid[1] - grid[0]
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            p = collision_probability(grid, bands, rows)
            false_pos = _area(np.where(below, p, 0.0), step)
            false_neg = _area(np.where(below, 0.0, 1.0 - p), step)
            error = (1 - false_negative_weight) * false_pos + false_negative_weight * false_neg
            if best is None or error < best[0] - 1e-15:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


def _area(values: np.ndarray, step: float) -> float:
    return float((values[1:] + values[:-1]).sum() * step / 2)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per text and band: shape (texts, bands)."""
    texts = signatures.shape[0]
    view = signatures[:, : bands * rows].reshape(texts, bands, rows)
    acc = np.zeros((texts, bands), dtype=U64)
    for j in range(rows):
        acc *= U64(GOLDEN)
        acc += view[:, :, j]
    acc ^= np.arange(bands, dtype=U64) * U64(0xD1B54A32D192ED03)
    return mix64(acc)


def candidate_pairs(
    keys: np.ndarray, valid: np.ndarray | None = None, window: int = BUCKET_WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (lo < hi, positions) of texts sharing a key in at least one band, sorted, unique.

    ``valid`` (bool per text) leaves texts out, e.g. those without any shingle.
    """
    texts = keys.shape[0]
    positions = np.arange(texts, dtype=np.int64)
    if valid is not None:
        positions = positions[valid]
    codes: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        column = keys[positions, band]
        order = np.argsort(column, kind="stable")  # equal keys stay in position order
        sorted_keys = column[order]
        sorted_pos = positions[order]
        shared = np.zeros(sorted_keys.size, dtype=bool)
        same_as_next = sorted_keys[1:] == sorted_keys[:-1]
        shared[:-1] |= same_as_next
        shared[1:] |= same_as_next
        sorted_keys, sorted_pos = sorted_keys[shared], sorted_pos[shared]
        for distance in range(1, window + 1):
            match = sorted_keys[distance:] == sorted_keys[:-distance]
            if not match.any():
                break
            lo = sorted_pos[:-distance][match]
            hi = sorted_pos[distance:][match]
            codes.append(lo * texts + hi)
    if not codes:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    unique = np.unique(np.concatenate(codes))
    return unique // texts, unique % texts


def connected_components(size: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label of each of ``size`` nodes given edges: the smallest node of its component.

    Vectorised union-find: every edge hooks the larger of its two roots under the smaller,
    then paths are compressed by pointer jumping, until no edge joins two roots.
    """
    labels = np.arange(size, dtype=np.int64)
    if left.size == 0:
        return labels
    nodes, inverse = np.unique(np.concatenate((left, right)), return_inverse=True)
    a, b = inverse[: left.size], inverse[left.size :]
    parent = np.arange(nodes.size, dtype=np.int64)
    while True:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        if not apart.any():
            break
        low = np.minimum(root_a[apart], root_b[apart])
        high = np.maximum(root_a[apart], root_b[apart])
        np.minimum.at(parent, high, low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    # local indices follow the order of the node positions, so the smallest stays smallest
    labels[nodes] = nodes[parent]
    return labels


def segment_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges [start, start + length)."""
    total = int(lengths.sum())
    first = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first, lengths)


def _chunks(sizes: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Split consecutive items into runs whose sizes sum to about ``limit`` (at least one)."""
    ends = np.cumsum(sizes)
    out: list[tuple[int, int]] = []
    start = 0
    while start < sizes.size:
        base = ends[start] - sizes[start]
        stop = max(start + 1, int(np.searchsorted(ends, base + limit, side="right")))
        out.append((start, stop))
        start = stop
    return out


@dataclass
class SetTable:
    """Sets of uint32 values, each sorted and without repeats, stored end to end."""

    values: np.ndarray  # uint32
    offsets: np.ndarray  # int64, one more than there are sets

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_segments(cls, source: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> SetTable:
        """Set i = the distinct values of ``source[starts[i] : starts[i] + lengths[i]]``."""
        values: list[np.ndarray] = []
        counts = np.zeros(starts.size, dtype=np.int64)
        for lo, hi in _chunks(lengths, CHUNK_ELEMENTS):
            raw = np.asarray(source[segment_index(starts[lo:hi], lengths[lo:hi])], dtype=U64)
            owner = np.repeat(np.arange(hi - lo, dtype=U64), lengths[lo:hi])
            keys = np.sort((owner << U64(32)) | raw)
            if keys.size:
                keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
            counts[lo:hi] = np.bincount((keys >> U64(32)).astype(np.int64), minlength=hi - lo)
            values.append((keys & U64(0xFFFFFFFF)).astype(np.uint32))
        offsets = np.zeros(starts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        merged = np.concatenate(values) if values else np.empty(0, dtype=np.uint32)
        return cls(merged, offsets)

    @classmethod
    def from_arrays(cls, sets: list[np.ndarray]) -> SetTable:
        lengths = np.array([s.size for s in sets], dtype=np.int64)
        source = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)
        starts = np.zeros(lengths.size, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        return cls.from_segments(source.astype(np.uint32), starts, lengths)

    def keyed(self, sets: np.ndarray, tags: np.ndarray) -> np.ndarray:
        """The values of ``sets`` end to end, each tagged in its high 32 bits (sorted when
        ``tags`` increase)."""
        lengths = self.lengths[sets]
        values = self.values[segment_index(self.offsets[sets], lengths)]
        return (np.repeat(tags.astype(U64) << U64(32), lengths)) | values


def exact_jaccard(
    table: SetTable, left: np.ndarray, right: np.ndarray, threads: int = 1
) -> np.ndarray:
    """Jaccard similarity of the sets ``left[i]`` and ``right[i]`` (0 when both are empty).

    Per chunk of pairs, both sides are laid end to end tagged with the pair's number, which
    makes each side one sorted array; the smaller set's values are looked up in the larger.
    Chunks run on ``threads`` threads (numpy releases the GIL while searching).
    """
    out = np.zeros(left.size, dtype=np.float64)
    lengths = table.lengths
    swap = lengths[left] > lengths[right]
    small, large = np.where(swap, right, left), np.where(swap, left, right)
    size_s, size_l = lengths[small], lengths[large]

    def chunk(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        tags = np.arange(hi - lo, dtype=np.int64)
        queries = table.keyed(small[lo:hi], tags)
        sorted_keys = table.keyed(large[lo:hi], tags)
        if sorted_keys.size == 0:
            return
        found = np.searchsorted(sorted_keys, queries)
        np.minimum(found, sorted_keys.size - 1, out=found)
        hit = sorted_keys[found] == queries
        shared = np.bincount((queries[hit] >> U64(32)).astype(np.int64), minlength=hi - lo)
        union = size_s[lo:hi] + size_l[lo:hi] - shared
        out[lo:hi] = np.divide(shared, union, out=np.zeros(hi - lo), where=union > 0)

    chunks = _chunks(size_s + size_l, CHUNK_ELEMENTS)
    if threads <= 1 or len(chunks) == 1:
        for bounds in chunks:
            chunk(bounds)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(chunk, chunks))  # each writes its own slice of ``out``
    return out


def brute_force_pairs(
    table: SetTable, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (lo < hi) with Jaccard >= threshold, by counting shared values.

    Ground truth for tests and benchmarks: cost grows with the square of how many sets share
    each value, so keep it to a few thousand sets.
    """
    count = table.offsets.size - 1
    owners = np.repeat(np.arange(count, dtype=np.int64), table.lengths)
    order = np.argsort(table.values, kind="stable")
    values, owners = table.values[order], owners[order]
    codes: list[np.ndarray] = []
    distance = 1
    while distance < values.size:
        match = values[distance:] == values[:-distance]
        if not match.any():
            break
        codes.append(owners[:-distance][match] * count + owners[distance:][match])
        distance += 1
    if not codes:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), np.empty(0)
    pairs, shared = np.unique(np.concatenate(codes), return_counts=True)
    lo, hi = pairs // count, pairs % count
    union = table.lengths[lo] + table.lengths[hi] - shared
    jaccard = shared / union
    keep = jaccard >= threshold
    return lo[keep], hi[keep], jaccard[keep]
