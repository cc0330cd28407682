"""Reading the audited file into memory, and the near-duplicate groups that splits respect.

Records are read with curate's reader and the rules' ``fields`` (the same records the audit
saw; quarantined lines are left out). Each record gets a group id so that a record and its near
copy always land in the same split: groups join records that a step declaring
``groups_near_copies`` (curate's near-duplicate step) puts in one cluster (run in fit + apply,
with the rules' parameters for it if the rules configure it, so with the same
``fields``/``roles`` choice of what is compared), records whose whole text is equal after
lower-casing and collapsing whitespace, and, with ``finetune.group_column``, records that share
that column's value. Without such a step only the exact-text groups remain (``group_method``
says which).
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
from curate.lsh import connected_components
from curate.reader import read_batches
from curate.rules import Rules
from curate.steps.dedupe_exact import normalized

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


def _equal_edges(keys: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining each row to the first row of equal key (nulls never join)."""
    frame = pl.DataFrame({"key": keys, "row": np.arange(keys.len(), dtype=np.int64)})
    joined = frame.drop_nulls("key").with_columns(pl.col("row").first().over("key").alias("to"))
    joined = joined.filter(pl.col("row") != pl.col("to"))
    return joined["row"].to_numpy(), joined["to"].to_numpy()


def _cluster_edges(frame: pl.DataFrame, marked: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a step's duplicate marks: a record to the one it duplicates (by id, its last
    row), and records that share a cluster."""
    lefts, rights = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    if B.DUPLICATE_OF in marked.columns:
        rows = (
            pl.DataFrame(
                {"id": frame[B.ID].cast(pl.String), "to": np.arange(frame.height, dtype=np.int64)}
            )
            .group_by("id")
            .agg(pl.col("to").last())
        )
        duplicates = (
            pl.DataFrame(
                {
                    "id": marked[B.DUPLICATE_OF].cast(pl.String),
                    "row": np.arange(marked.height, dtype=np.int64),
                }
            )
            .drop_nulls("id")
            .join(rows, on="id", how="inner")
        )
        lefts.append(duplicates["row"].to_numpy())
        rights.append(duplicates["to"].to_numpy())
    if B.CLUSTER in marked.columns:
        left, right = _equal_edges(marked[B.CLUSTER])
        lefts.append(left)
        rights.append(right)
    return np.concatenate(lefts), np.concatenate(rights)


def _near_copy_steps(rules: Rules) -> list[registry.Step[Any]]:
    """The steps that declare ``groups_near_copies``, with the rules' parameters for them (the
    first configuration of each) or their defaults."""
    registry.load_plugins()
    steps = []
    for name, cls in sorted(registry.STEPS.items()):
        if not cls.groups_near_copies:
            continue
        configured = next((s for s in rules.steps if s.step == name), None)
        params = configured.params if configured is not None else cls.Params()
        step = cls(params, seed=rules.seed, base_dir=rules.base_dir)
        step.bind_record_shape(rules.fields)
        steps.append(step)
    return steps


def group_ids(
    frame: pl.DataFrame, rules: Rules, group_column: str | None = None
) -> tuple[np.ndarray, str]:
    """One integer per row (the first row of its group); rows that share it are (near)
    duplicates of each other, or share a value of ``group_column``."""
    exact = frame.select(normalized(pl.col(B.TEXT), "lower")).to_series()
    hashes = pl.Series(
        [xxhash.xxh3_128_hexdigest(t.encode("utf-8", "surrogatepass")) for t in exact.to_list()]
    )
    edges = [_equal_edges(hashes)]
    method = "exact text (lower-cased, whitespace collapsed)"
    for step in _near_copy_steps(rules):
        if step.needs_fit:
            step.fit([frame])
        marked = step.apply(frame)
        if marked.height != frame.height:
            raise RuntimeError(f"{step.name} changed the number of rows")
        edges.append(_cluster_edges(frame, marked))
        method = f"{step.name} clusters + {method}"
    if group_column is not None:
        edges.append(_equal_edges(frame[group_column]))
        method = f"{method} + equal {group_column!r}"
    left = np.concatenate([e[0] for e in edges])
    right = np.concatenate([e[1] for e in edges])
    return connected_components(frame.height, left, right), method


def sensitive_values(frame: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """Group value per row for each sensitive column; null is its own group."""
    return {c: frame[c].fill_null(MISSING_GROUP).to_list() for c in columns}
