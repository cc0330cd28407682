"""Reading the audited file into memory, and the near-duplicate groups that splits respect.

Records are read with curate's reader and the rules' ``fields`` (the same records the audit
saw; quarantined lines are left out). Each record gets a group id so that a record and its near
copy always land in the same split: groups join records that curate's ``dedupe_near`` step puts
in one cluster (run in fit + apply, with the rules' parameters for it if the rules configure
it, so with the same ``fields``/``roles`` choice of what is compared), records whose whole text
is equal after lower-casing and collapsing whitespace, and, with
``finetune.group_column``, records that share that column's value. Without the ``dedupe_near``
step only the exact-text groups remain (``group_method`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from curate import batch as B
from curate import registry
from curate.errors import InputError
from curate.inputfile import ReadRecord
from curate.reader import read_batches
from curate.rules import Rules
from curate.steps.dedupe_exact import normalized

NEAR_STEP = "dedupe_near"
MISSING_GROUP = "__missing__"


@dataclass
class Records:
    """The valid records of one file: ids, texts, segments and the user's columns."""

    frame: pl.DataFrame
    quarantined: int
    group_method: str

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def ids(self) -> list[str]:
        return self.frame[B.ID].to_list()

    @property
    def groups(self) -> np.ndarray:
        return self.frame["_group"].to_numpy()


def read_records(
    path: str | Path,
    rules: Rules,
    group_column: str | None = None,
    expect_sha256: str | None = None,
) -> Records:
    """The records to train on; with ``expect_sha256`` (the audited bytes' digest), the bytes
    this read consumed must be those: a file swapped after the gate passed is refused."""
    frames: list[pl.DataFrame] = []
    quarantined = 0
    seen = ReadRecord()
    for read in read_batches(path, rules, seen):
        quarantined += len(read.quarantined)
        if read.frame.height:
            frames.append(read.frame)
    got = seen.fingerprint.sha256 if seen.fingerprint is not None else None
    if expect_sha256 is not None and got != expect_sha256:
        raise InputError(
            f"{path}: the file changed after the gate checked it (sha256 {str(got)[:12]}…, "
            f"audited {expect_sha256[:12]}…): nothing was trained"
        )
    if not frames:
        raise InputError(f"{path}: no valid records to train on")
    frame = pl.concat(frames, how="vertical_relaxed")
    if group_column is not None and group_column not in frame.columns:
        raise InputError(
            f"finetune.group_column {group_column!r} is not read: add it to the rules' "
            "fields.columns"
        )
    groups, method = group_ids(frame, rules, group_column)
    return Records(
        frame.with_columns(pl.Series("_group", groups, dtype=pl.Int64)), quarantined, method
    )


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, int(self.parent[i])
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def union_members(self, members: np.ndarray) -> None:
        for other in members[1:]:
            self.union(int(members[0]), int(other))


def _join_equal(uf: _UnionFind, keys: pl.Series) -> None:
    """Union the rows whose key is equal (nulls never join)."""
    frame = pl.DataFrame({"key": keys, "row": np.arange(keys.len())}).drop_nulls("key")
    for members in (
        frame.group_by("key").agg(pl.col("row")).filter(pl.col("row").list.len() > 1)["row"]
    ):
        uf.union_members(members.to_numpy())


def _near_step(rules: Rules) -> registry.Step[Any] | None:
    registry.load_plugins()
    cls = registry.STEPS.get(NEAR_STEP)
    if cls is None:
        return None
    configured = next((s for s in rules.steps if s.step == NEAR_STEP), None)
    params = configured.params if configured is not None else cls.Params()
    return cls(params, seed=rules.seed, base_dir=rules.base_dir)


def group_ids(
    frame: pl.DataFrame, rules: Rules, group_column: str | None = None
) -> tuple[np.ndarray, str]:
    """One integer per row; rows that share it are (near) duplicates of each other, or share
    a value of ``group_column``."""
    uf = _UnionFind(frame.height)
    exact = frame.select(normalized(pl.col(B.TEXT), "lower")).to_series()
    hashes = pl.Series(
        [xxhash.xxh3_128_hexdigest(t.encode("utf-8", "surrogatepass")) for t in exact.to_list()]
    )
    _join_equal(uf, hashes)
    method = "exact text (lower-cased, whitespace collapsed)"
    step = _near_step(rules)
    if step is not None:
        if step.needs_fit:
            step.fit([frame])
        marked = step.apply(frame)
        if marked.height != frame.height:
            raise RuntimeError(f"{NEAR_STEP} changed the number of rows")
        row_of = {rid: i for i, rid in enumerate(frame[B.ID].to_list())}
        if B.DUPLICATE_OF in marked.columns:
            for i, kept in enumerate(marked[B.DUPLICATE_OF].to_list()):
                if kept is not None and kept in row_of:
                    uf.union(i, row_of[kept])
        if B.CLUSTER in marked.columns:
            _join_equal(uf, marked[B.CLUSTER])
        method = f"{NEAR_STEP} clusters + {method}"
    if group_column is not None:
        _join_equal(uf, frame[group_column])
        method = f"{method} + equal {group_column!r}"
    roots = np.fromiter(
        (uf.find(i) for i in range(frame.height)), dtype=np.int64, count=frame.height
    )
    return roots, method


def sensitive_values(frame: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """Group value per row for each sensitive column; null is its own group."""
    return {c: frame[c].fill_null(MISSING_GROUP).to_list() for c in columns}
