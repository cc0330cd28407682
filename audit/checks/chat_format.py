"""chat_format: is every record a conversation (or instruction) a trainer can use?

Chat records (``fields.chat``) are checked as read against OpenAI's chat format by
``curate.chat_format.Validator``; text records (instruction / prompt-completion fields) for
blank required fields.

Each problem is one line of findings.jsonl with a stable ``code``, its ``severity``, the
record's (masked) id and line and the JSON pointer ``path`` of the offending value; messages
never quote the data. ``invalid_rate`` (records with an error / records) is what gates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from curate import batch as B
from curate.chat_format import (
    ERRORS,
    WARNINGS,
    ChatFormatParams,
    Problem,
    Validator,
    record_problems,
)
from curate.registry import Check, Totals, id_masker, register_check, summed
from curate.rules import Fields


@dataclass
class ChatFormatTotals(Totals):
    records: int = summed()
    invalid: int = summed()
    with_warning: int = summed()
    findings: Counter[str] = summed(Counter)
    records_by_code: Counter[str] = summed(Counter)


@register_check
class ChatFormat(Check):
    """Structural problems of chat records, and empty fields of instruction records."""

    name = "chat_format"
    Params = ChatFormatParams
    metrics: ClassVar[dict[str, str]] = {
        "records": "records checked",
        "invalid_records": "records with at least one error",
        "invalid_rate": "records with at least one error / records",
        "warning_rate": "records with a warning and no error / records",
        "findings": "problems found (errors and warnings)",
    }
    totals_type = ChatFormatTotals
    totals: ChatFormatTotals
    checks_structure = True

    def __init__(self, params: ChatFormatParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self.params: ChatFormatParams = params
        self.validator = Validator(params)
        self.chat: str | None = None
        self.optional: set[str] = set()

    def bind_record_shape(self, fields: Fields) -> None:
        self.chat = fields.chat
        self.optional = set(fields.optional)

    def _problems(self, batch: pl.DataFrame) -> list[list[Problem]]:
        return record_problems(self.validator, batch, self.chat, self.optional)

    def update(self, batch: pl.DataFrame) -> list[dict[str, Any]]:
        problems = self._problems(batch)
        t = self.totals
        t.records += batch.height
        hit_rows = [i for i, found in enumerate(problems) if found]
        if not hit_rows:
            return []
        lines = batch[B.LINE].to_list()
        ids = batch[B.ID]
        mask = id_masker(unconfirmed=True)
        shown = mask([ids[i] for i in hit_rows], [lines[i] for i in hit_rows])
        findings: list[dict[str, Any]] = []
        limit = self.params.max_findings_per_record
        for row, shown_id in zip(hit_rows, shown, strict=True):
            found = problems[row]
            codes = {code for code, _ in found}
            if codes & ERRORS.keys():
                t.invalid += 1
            else:
                t.with_warning += 1
            t.records_by_code.update(codes)
            t.findings.update(code for code, _ in found)
            for code, pointer in found[:limit]:
                findings.append(
                    {
                        "check": self.name,
                        "code": code,
                        "severity": "error" if code in ERRORS else "warning",
                        "id": shown_id,
                        "line": lines[row],
                        "path": pointer,
                        "message": ERRORS.get(code) or WARNINGS[code],
                    }
                )
        return findings

    def result(self) -> dict[str, float | int | None]:
        t = self.totals
        return {
            "records": t.records,
            "invalid_records": t.invalid,
            "invalid_rate": t.invalid / t.records if t.records else None,
            "warning_rate": t.with_warning / t.records if t.records else None,
            "findings": sum(t.findings.values()),
        }

    def details(self) -> dict[str, Any]:
        t = self.totals
        return {
            "format": "chat" if self.chat is not None else "text fields",
            "roles_allowed": list(self.params.roles),
            "by_code": [
                {
                    "code": code,
                    "severity": "error" if code in ERRORS else "warning",
                    "meaning": ERRORS.get(code) or WARNINGS.get(code, ""),
                    "findings": t.findings[code],
                    "records": t.records_by_code[code],
                    "record_rate": t.records_by_code[code] / t.records if t.records else None,
                }
                for code in [*ERRORS, *WARNINGS]
                if t.findings[code]
            ],
        }
