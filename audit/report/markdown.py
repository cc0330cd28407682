"""Markdown layout of the report document.

Every value from the data or the rules (labels, group names, roles, file and check names) is
text: line breaks of any kind (``\\r`` included) become spaces, so nothing can start a heading
or a list, and the characters of inline markup are backslash-escaped, so nothing becomes a link,
an image, HTML or emphasis. The report's own marks (``**Verdict**``, the reviewer's blanks) are
the only markup; audit.md is pasted into CI job summaries, where injected markup would render.
"""

from __future__ import annotations

import re

from audit.report.document import (
    TO_COMPLETE,
    Chart,
    Document,
    KeyValues,
    Section,
    Table,
    Text,
    anchor,
    fmt,
)

_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_INLINE = re.compile(r"([\\`*_\[\]<>|!&~])")


def escape(text: str) -> str:
    """Plain text for one line of Markdown: no line breaks, no active inline markup."""
    return _INLINE.sub(r"\\\1", _BREAKS.sub(" ", text))


def _cell(value: object) -> str:
    if value == TO_COMPLETE:
        return TO_COMPLETE  # the report's own blank for the reviewer, in italics
    return escape(fmt(value))


def _table(columns: list[str], rows: list[list[object]]) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _section(section: Section, level: int) -> list[str]:
    out = [f"{'#' * level} {escape(section.title)}", ""]
    for block in section.blocks:
        if isinstance(block, Text):
            out += [block.text if block.markup else escape(block.text), ""]
        elif isinstance(block, KeyValues):
            out += [f"- **{_cell(k)}**: {_cell(v)}" for k, v in block.items] + [""]
        elif isinstance(block, Table):
            if block.caption:
                out += [f"*{escape(block.caption)}*", ""]
            out += [*_table(block.columns, block.rows), ""]
        elif isinstance(block, Chart):
            out += [
                f"*{escape(block.title)}*",
                "",
                *_table(["", "count"], [list(i) for i in block.items]),
                "",
            ]
    for child in section.children:
        out += _section(child, min(level + 1, 6))
    return out


def render(doc: Document) -> str:
    lines = [f"# {escape(doc.title)}", "", f"**Verdict: {escape(doc.verdict.upper())}**", ""]
    lines += ["**Contents**", ""]
    lines += [
        f"{i}. [{escape(s.title)}](#{anchor(s.title)})" for i, s in enumerate(doc.sections, 1)
    ]
    lines.append("")
    for section in doc.sections:
        lines += _section(section, 2)
    return "\n".join(lines).rstrip() + "\n"
