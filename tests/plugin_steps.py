"""A user's own steps and check, registered from outside curate (tests/test_plugins.py).

Nothing in curate names them: the engines run them from what they declare. Workers learn of
this module from ``curate.registry.plugin_modules()`` (or ``CURATE_PLUGINS``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from curate import batch as B
from curate.registry import (
    Check,
    Decision,
    Fetch,
    GlobalStep,
    Params,
    Step,
    Totals,
    highest,
    marks_frame,
    register_check,
    register_step,
    summed,
)

FIRST_WORD = "_first_word"


class WordParams(Params):
    word: str = "forbidden"


@dataclass
class WordTotals(Totals):
    records: int = summed()
    hits: int = summed()
    first_words: Counter[str] = summed(Counter)


@register_step
class MarkWord(Step[WordParams]):
    """Per record: marks texts holding ``word``; counts first words."""

    name = "plugin_mark_word"
    Params = WordParams
    parallel_safe = True
    totals_type = WordTotals
    totals: WordTotals

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        hit = batch[B.TEXT].str.contains(self.params.word, literal=True).fill_null(False)
        first = batch[B.TEXT].str.extract(r"^(\w+)", 1).drop_nulls().to_list()
        self.totals += WordTotals(batch.height, int(hit.sum()), Counter(first))
        return batch.with_columns(
            pl.when(hit).then(pl.lit("plugin_word")).alias(B.REASON),
        )

    def summary(self) -> dict[str, Any]:
        t = self.totals
        return {"records": t.records, "hits": t.hits, "top": t.first_words.most_common(3)}


class NoParams(Params):
    pass


@register_step
class OnePerFirstWord(GlobalStep[NoParams]):
    """Whole dataset: keeps the first record of each first word, marks the others."""

    name = "plugin_one_per_first_word"
    Params = NoParams
    partition_by: ClassVar[str | None] = "_bucket"

    def keys(self, batch: pl.DataFrame) -> pl.DataFrame:
        word = pl.col(B.TEXT).str.extract(r"^(\w+)", 1).fill_null("")
        return batch.select(
            B.RANK,
            pl.col(B.ID),
            word.alias(FIRST_WORD),
            (word.hash(seed=7) % 5).cast(pl.Int64).alias("_bucket"),
        )

    def reduce(self, part: pl.DataFrame) -> pl.DataFrame:
        ordered = part.sort(B.RANK)
        kept = pl.col(B.ID).first().over(FIRST_WORD).alias("_kept")
        later = pl.col(B.RANK) != pl.col(B.RANK).first().over(FIRST_WORD)
        return ordered.with_columns(kept).filter(later).select(B.RANK, "_kept")

    def decide(self, reduced: pl.DataFrame, fetch: Fetch, records: int) -> Decision:
        marked = reduced.sort(B.RANK)
        first = fetch(np.array([0], dtype=np.int64))  # the fetch seam works on every engine
        marks = marks_frame(
            marked[B.RANK].to_numpy(),
            "plugin_same_first_word",
            duplicate_of=marked["_kept"].to_list(),
        )
        summary = {"records": records, "marked": marked.height, "first_id": first[B.ID].to_list()}
        return Decision(marks, summary, records=records)


@dataclass
class LetterTotals(Totals):
    records: int = summed()
    letters: int = summed()
    longest: int | None = highest()
    scanned: int = summed()  # counted where the scan ran


@register_check
class Letters(Check):
    """Letters per record; a scan that may run in any process, and totals."""

    name = "plugin_letters"
    Params = NoParams
    metrics: ClassVar[dict[str, str]] = {
        "letters_per_record": "letters / records",
        "longest": "most letters in one record",
    }
    scan_column = "_plugin_letters"
    totals_type = LetterTotals
    totals: LetterTotals

    def scan(self, batch: pl.DataFrame) -> pl.Series:
        self.totals.scanned += batch.height
        return batch[B.TEXT].str.count_matches(r"\p{L}").cast(pl.Int64).alias("_plugin_letters")

    def update(self, batch: pl.DataFrame) -> list[dict[str, Any]]:
        letters = batch[self.scan_column] if self.scan_column in batch.columns else self.scan(batch)
        if batch.height:
            self.totals += LetterTotals(batch.height, int(letters.sum()), int(letters.max()))
        many = batch.filter(letters > 60)
        return [
            {"check": self.name, "id": i, "letters": int(n)}
            for i, n in zip(
                many[B.ID].to_list(), letters.filter(letters > 60).to_list(), strict=True
            )
        ]

    def result(self) -> dict[str, float | int | None]:
        t = self.totals
        return {
            "letters_per_record": t.letters / t.records if t.records else None,
            "longest": t.longest,
        }

    def details(self) -> dict[str, Any]:
        return {"scanned": self.totals.scanned}
