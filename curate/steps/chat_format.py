"""chat_format (step): drop or flag records a trainer cannot use, by the first error found.

The same ``curate.chat_format.Validator`` as the ``chat_format`` audit check: in ``curate
clean`` malformed conversations leave the output (``dropped.jsonl`` gives the code, e.g.
``bad_role``); in ``curate audit`` the step only flags and the check reports every problem.
Warnings (``repeated_role``, ``bad_weight``) never drop a record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from curate import batch as B
from curate.chat_format import ERRORS, ChatFormatParams, Validator, record_problems
from curate.registry import Step, Totals, register_step, summed


@dataclass
class ChatFormatStepTotals(Totals):
    by_code: Counter[str] = summed(Counter)


@register_step
class ChatFormatStep(Step[ChatFormatParams]):
    """Marks records with a chat-format error (reason: the first error's code)."""

    name = "chat_format"
    Params = ChatFormatParams
    parallel_safe = True
    totals_type = ChatFormatStepTotals
    totals: ChatFormatStepTotals

    def __init__(self, params: ChatFormatParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self.validator = Validator(params)
        self.chat: str | None = None
        self.optional: set[str] = set()

    def bind_record_shape(self, fields: Any) -> None:
        self.chat = fields.chat
        self.optional = set(fields.optional)

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        problems = record_problems(self.validator, batch, self.chat, self.optional)
        reasons = [next((code for code, _ in found if code in ERRORS), None) for found in problems]
        self.totals.by_code.update(r for r in reasons if r is not None)
        return batch.with_columns(pl.Series(B.REASON, reasons, dtype=pl.String))

    def summary(self) -> dict[str, Any]:
        return {"by_code": dict(sorted(self.totals.by_code.items()))}
