"""dedupe_exact: drop records whose normalised text was seen before; keep the first.

What is compared: the whole text, or with ``fields: [...]`` / ``roles: [...]`` only those text
fields or chat turns (``curate.steps.compared``). A record whose compared part is blank (no
assistant turn under ``roles: [assistant]``, empty fields) is then never a duplicate: having
nothing to compare is not sameness. The whole text keeps its old rule (blank texts are equal).

In one process the step folds batch by batch: ``totals`` maps each text hash to the first record
that had it, and a later record with the same hash is marked. Two processes' folds add up (the
earlier input's first records win), and on a cluster the same decision is made in phases:
``keys`` (a 128-bit hash per record) grouped by hash bucket, ``reduce`` (every record after the
first of its text), ``decide`` (marks and clusters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
import xxhash
from pydantic import Field

from curate import batch as B
from curate.registry import (
    Decision,
    Fetch,
    GlobalStep,
    Totals,
    marks_frame,
    register_step,
)
from curate.steps.compared import CompareParams

REASON = "exact_duplicate"
H1, H2, BUCKET, KEPT_ID, TEXTS = "_h1", "_h2", "_bucket", "_kept_id", "_texts"
KEPT_LINE = "_kept_line"
#: hash buckets ``reduce`` runs over on a cluster
BUCKETS = 64


class DedupeExactParams(CompareParams):
    normalize: Literal["none", "whitespace", "lower", "alnum"] = Field(
        "lower",
        description="what is ignored when comparing: none; whitespace runs; + case; "
        "+ punctuation (alnum keeps letters and digits only)",
    )
    min_chars: int = Field(
        0, ge=0, description="texts shorter than this (after normalising) are never duplicates"
    )


def normalized(expr: pl.Expr, how: str) -> pl.Expr:
    if how == "none":
        return expr
    if how in ("lower", "alnum"):
        expr = expr.str.to_lowercase()
    if how == "alnum":
        expr = expr.str.replace_all(r"[^\p{L}\p{N}\s]+", "")
    return expr.str.replace_all(r"\s+", " ").str.strip_chars()


@dataclass
class FirstSeen(Totals):
    """Text hash -> id of the first record with that text (and its input line, when the id
    is not the line: ``_lines``), and each kept id's cluster (the kept id, then the ids of its
    duplicates in input order)."""

    first: dict[bytes, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    first_line: dict[bytes, int] = field(default_factory=dict)

    def __add__(self, later: FirstSeen) -> FirstSeen:
        first = dict(self.first)
        first_line = dict(self.first_line)
        members = {kept: list(group) for kept, group in self.members.items()}
        for digest, record_id in later.first.items():
            if digest not in first and digest in later.first_line:
                first_line[digest] = later.first_line[digest]
            kept = first.setdefault(digest, record_id)
            group = later.members.get(record_id, [record_id])
            # the later part's first record of a text this part saw first is a duplicate too
            tail = group[1:] if kept == record_id else [m for m in group if m != kept]
            if tail:
                members.setdefault(kept, [kept]).extend(tail)
        return FirstSeen(first, members, first_line)


def clusters_of(members: dict[str, list[str]], step: str) -> list[dict[str, Any]]:
    return [
        {
            "cluster": f"exact:{kept}",
            "step": step,
            "kept": kept,
            "members": group,
            "size": len(group),
            "similarity": 1.0,
        }
        for kept, group in members.items()
    ]


def text_hashes(texts: list[str | None], min_chars: int) -> list[bytes | None]:
    """The xxh3-128 digest of each normalised text (None: no text, or shorter than
    ``min_chars``)."""
    return [
        None
        if t is None or len(t) < min_chars
        else xxhash.xxh3_128_digest(t.encode("utf-8", "surrogatepass"))
        for t in texts
    ]


@register_step
class DedupeExact(GlobalStep[DedupeExactParams]):
    """Exact duplicates by a 128-bit xxh3 hash of the normalised text; the first one is kept."""

    name = "dedupe_exact"
    Params = DedupeExactParams
    marks_duplicates = True
    # The first record of a text decides, so one pass in input order is enough here.
    needs_fit = False
    partition_by: ClassVar[str | None] = BUCKET
    totals_type = FirstSeen
    totals: FirstSeen

    def _digests(self, batch: pl.DataFrame) -> list[bytes | None]:
        params = self.params
        compared = batch.select(params.compared_text().alias(B.TEXT))
        text = pl.col(B.TEXT)
        key = normalized(text, params.normalize)
        if params.compares_part:
            key = pl.when(params.nothing_to_compare(text)).then(None).otherwise(key)
        keys = compared.select(key).to_series()
        return text_hashes(keys.to_list(), params.min_chars)

    # -- one pass, in this process ------------------------------------------------------

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        first, members, first_line = self.totals.first, self.totals.members, self.totals.first_line
        duplicate_of: list[str | None] = []
        kept_lines: list[int | None] = []
        rows = zip(batch[B.ID].to_list(), _lines(batch), self._digests(batch), strict=True)
        for record_id, line, digest in rows:
            if digest is not None and line is not None and digest not in first:
                first_line[digest] = line
            kept = None if digest is None else first.setdefault(digest, record_id)
            if kept is None or kept == record_id:
                duplicate_of.append(None)
                kept_lines.append(None)
            else:
                duplicate_of.append(kept)
                kept_lines.append(first_line.get(digest))
                members.setdefault(kept, [kept]).append(record_id)
        dup = pl.Series(B.DUPLICATE_OF, duplicate_of, dtype=pl.String)
        return batch.with_columns(
            dup,
            pl.when(dup.is_not_null()).then(pl.lit(REASON)).alias(B.REASON),
            pl.when(dup.is_not_null()).then(pl.lit(1.0)).alias(B.SCORE),
            pl.when(dup.is_not_null()).then(pl.lit("exact:") + dup).alias(B.CLUSTER),
            _detail(pl.Series(KEPT_LINE, kept_lines, dtype=pl.Int64)),
        )

    def duplicate_clusters(self) -> list[dict[str, Any]]:
        if self.decision is not None:
            return list(self.decision.clusters)
        return clusters_of(self.totals.members, self.name)

    def summary(self) -> dict[str, Any]:
        if self.decision is not None:
            return dict(self.decision.summary)
        return {"clusters": len(self.totals.members), "unique_texts": len(self.totals.first)}

    # -- in phases, on a cluster ----------------------------------------------------------

    def keys(self, batch: pl.DataFrame) -> pl.DataFrame:
        digests = self._digests(batch)
        hashed = [d for d in digests if d is not None]
        keep = pl.Series([d is not None for d in digests], dtype=pl.Boolean)
        high = [int.from_bytes(d[:8], "big") for d in hashed]
        low = [int.from_bytes(d[8:], "big") for d in hashed]
        keys = batch.select(B.RANK, B.ID, pl.Series(B.LINE, _lines(batch), pl.Int64)).filter(keep)
        return keys.with_columns(
            pl.Series(H1, high, dtype=pl.UInt64),
            pl.Series(H2, low, dtype=pl.UInt64),
            (pl.Series(high, dtype=pl.UInt64) % BUCKETS).cast(pl.Int64).alias(BUCKET),
        )

    def reduce(self, part: pl.DataFrame) -> pl.DataFrame:
        """Every record after the first of its text, with the first's id (as in one pass, a
        record whose id equals the first's is not marked), and one row with rank -1 that
        counts the distinct texts of the part."""
        ordered = part.sort(B.RANK)
        first_id = pl.col(B.ID).first().over(H1, H2)
        first_rank = pl.col(B.RANK).first().over(H1, H2)
        first_line = pl.col(B.LINE).first().over(H1, H2)
        dups = (
            ordered.with_columns(
                first_id.alias(KEPT_ID), first_rank.alias("_first"), first_line.alias(KEPT_LINE)
            )
            .filter((pl.col(B.RANK) != pl.col("_first")) & (pl.col(B.ID) != pl.col(KEPT_ID)))
            .select(B.RANK, B.ID, KEPT_ID, KEPT_LINE, pl.lit(0, pl.Int64).alias(TEXTS))
        )
        texts = ordered.select(H1, H2).n_unique() if ordered.height else 0
        count = pl.DataFrame(
            {B.RANK: [-1], B.ID: [None], KEPT_ID: [None], KEPT_LINE: [None], TEXTS: [texts]},
            schema=dups.schema,
        )
        return pl.concat([dups, count])

    def decide(self, reduced: pl.DataFrame, fetch: Fetch, records: int) -> Decision:
        texts = int(reduced[TEXTS].sum())
        dups = reduced.filter(pl.col(B.RANK) >= 0).sort(B.RANK)
        members: dict[str, list[str]] = {}
        for record_id, kept in zip(dups[B.ID].to_list(), dups[KEPT_ID].to_list(), strict=True):
            members.setdefault(kept, [kept]).append(record_id)
        kept_ids = dups[KEPT_ID].to_list()
        marks = marks_frame(
            dups[B.RANK].to_numpy(),
            REASON,
            np.ones(dups.height),
            kept_ids,
            [f"exact:{k}" for k in kept_ids],
            dups.select(_detail(pl.col(KEPT_LINE)))[B.DETAIL].to_list(),
        )
        summary = {"clusters": len(members), "unique_texts": texts}
        return Decision(marks, summary, clusters_of(members, self.name), records)


def _lines(batch: pl.DataFrame) -> list[int | None]:
    """Input lines where the id is not the line (without an id field it is: the id says it,
    and the table of first records stays as small as it was), else None."""
    if B.LINE not in batch.columns:
        return [None] * batch.height
    lines = batch.select(
        pl.when(pl.col(B.ID) != pl.col(B.LINE).cast(pl.String)).then(pl.col(B.LINE))
    ).to_series()
    return lines.to_list()


def _detail(kept_line: pl.Series | pl.Expr) -> pl.Expr:
    """Why a duplicate is marked: the line of the record it repeats (``B.DETAIL``)."""
    line = pl.lit(kept_line) if isinstance(kept_line, pl.Series) else kept_line
    return pl.when(line.is_not_null()).then(B.detail_json(duplicate_of_line=line)).alias(B.DETAIL)
