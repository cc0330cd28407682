"""length: mark texts shorter or longer than a bound, in characters, words or tokens.

Tokens are counted with a tokenizer loaded from a local path (a ``tokenizer.json`` file, or a
folder holding one or a transformers tokenizer), never downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field, model_validator

from curate import batch as B
from curate.errors import RulesError
from curate.registry import Params, Step, Totals, highest, lowest, register_step, summed

TokenCounter = Callable[[list[str]], list[int]]


class LengthParams(Params):
    unit: Literal["chars", "words", "tokens"] = Field(
        "chars",
        description="what is counted: characters, whitespace-separated words, or tokens of "
        "`tokenizer`",
    )
    min_length: int = Field(
        0, ge=0, description="texts with fewer units are marked too_short (0: no minimum)"
    )
    max_length: int | None = Field(
        None, ge=1, description="texts with more units are marked too_long (null: no maximum)"
    )
    tokenizer: str | None = Field(
        None,
        description="for unit: tokens, a local tokenizer.json or tokenizer folder, relative "
        "to the rules file",
    )
    drop_empty: bool = Field(
        True, description="mark empty or whitespace-only texts with reason empty"
    )

    @model_validator(mode="after")
    def _consistent(self) -> LengthParams:
        if self.unit == "tokens" and not self.tokenizer:
            raise ValueError("unit: tokens needs tokenizer: <path>")
        if self.max_length is not None and self.max_length < self.min_length:
            raise ValueError("max_length must be at least min_length")
        return self


def load_token_counter(path: Path) -> TokenCounter:
    """A function counting tokens (no special tokens) of many texts at once."""
    if not path.exists():
        raise RulesError(f"length: tokenizer not found: {path}")
    tokenizer_file = path if path.is_file() else path / "tokenizer.json"
    if tokenizer_file.is_file():
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise RulesError(
                "length: unit: tokens needs the 'tokenizers' package (pip install tokenizers)"
            ) from exc
        try:
            fast = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:
            raise RulesError(f"length: cannot load tokenizer {tokenizer_file}: {exc}") from exc

        def count_fast(texts: list[str]) -> list[int]:
            encodings = fast.encode_batch_fast(texts, add_special_tokens=False)
            return [len(e.ids) for e in encodings]

        return count_fast
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise RulesError(
            f"length: {path} has no tokenizer.json; reading other tokenizer formats needs "
            "the 'transformers' package"
        ) from exc
    try:
        slow = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:
        raise RulesError(f"length: cannot load tokenizer from {path}: {exc}") from exc

    def count_slow(texts: list[str]) -> list[int]:
        ids = slow(texts, add_special_tokens=False)["input_ids"]
        return [len(i) for i in ids]

    return count_slow


@dataclass
class LengthTotals(Totals):
    measured: int = summed()
    total: int = summed()
    smallest: int | None = lowest()
    largest: int | None = highest()


@register_step
class Length(Step[LengthParams]):
    """Too short, too long or empty texts (the joined text of a record)."""

    name = "length"
    Params = LengthParams
    parallel_safe = True
    totals_type = LengthTotals
    totals: LengthTotals

    def __init__(self, params: LengthParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self._count_tokens: TokenCounter | None = None
        if params.unit == "tokens" and params.tokenizer:
            path = Path(params.tokenizer).expanduser()
            if not path.is_absolute() and self.base_dir:
                path = Path(self.base_dir) / path
            self._count_tokens = load_token_counter(path)

    def measure(self, texts: pl.Series) -> pl.Series:
        """The length of each text in the configured unit (Int64)."""
        texts = texts.fill_null("")
        if self.params.unit == "chars":
            lengths = texts.str.len_chars()
        elif self.params.unit == "words":
            lengths = texts.str.count_matches(r"\S+")
        else:
            assert self._count_tokens is not None
            lengths = pl.Series(self._count_tokens(texts.to_list()) if len(texts) else [])
        return lengths.cast(pl.Int64)

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        lengths = self.measure(batch[B.TEXT])
        empty = batch[B.TEXT].fill_null("").str.strip_chars() == ""
        reason = (
            pl.when(pl.lit(p.drop_empty) & pl.col("_empty"))
            .then(pl.lit("empty"))
            .when(pl.col("_length") < p.min_length)
            .then(pl.lit("too_short"))
        )
        if p.max_length is not None:
            reason = reason.when(pl.col("_length") > p.max_length).then(pl.lit("too_long"))
        self._record(lengths)
        # why, in the record's values: its length and the bound it broke
        bounds = {"too_short": (p.min_length, "min"), "too_long": (p.max_length, "max")}
        detail = pl.when(pl.col(B.REASON) == "empty").then(
            B.detail_json(metric=pl.lit(p.unit), value=pl.col("_length"))
        )
        for code, (threshold, bound) in bounds.items():
            detail = detail.when(pl.col(B.REASON) == code).then(
                B.detail_json(
                    metric=pl.lit(p.unit),
                    value=pl.col("_length"),
                    threshold=pl.lit(threshold, pl.Int64),
                    bound=pl.lit(bound),
                )
            )
        return (
            batch.with_columns(lengths.alias("_length"), empty.alias("_empty"))
            .with_columns(
                reason.otherwise(pl.lit(None, pl.String)).alias(B.REASON),
                pl.col("_length").cast(pl.Float64).alias(B.SCORE),
            )
            .with_columns(detail.alias(B.DETAIL))
            .drop("_length", "_empty")
        )

    def _record(self, lengths: pl.Series) -> None:
        if lengths.is_empty():
            return
        low, high = int(lengths.min()), int(lengths.max())  # type: ignore[arg-type]
        self.totals += LengthTotals(lengths.len(), int(lengths.sum()), low, high)

    def summary(self) -> dict[str, Any]:
        t = self.totals
        mean = t.total / t.measured if t.measured else None
        return {
            "unit": self.params.unit,
            "min": t.smallest,
            "max": t.largest,
            "mean": round(mean, 2) if mean is not None else None,
        }
