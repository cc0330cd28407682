"""Markdown layout of the report document."""

from __future__ import annotations

from audit.report.document import (
    Chart,
    Document,
    KeyValues,
    Section,
    Table,
    Text,
    anchor,
    fmt,
)


def _cell(value: object) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def _table(columns: list[str], rows: list[list[object]]) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _section(section: Section, level: int) -> list[str]:
    out = [f"{'#' * level} {section.title}", ""]
    for block in section.blocks:
        if isinstance(block, Text):
            out += [block.text, ""]
        elif isinstance(block, KeyValues):
            out += [f"- **{_cell(k)}**: {_cell(v)}" for k, v in block.items] + [""]
        elif isinstance(block, Table):
            if block.caption:
                out += [f"*{block.caption}*", ""]
            out += [*_table(block.columns, block.rows), ""]
        elif isinstance(block, Chart):
            out += [
                f"*{block.title}*",
                "",
                *_table(["", "count"], [list(i) for i in block.items]),
                "",
            ]
    for child in section.children:
        out += _section(child, min(level + 1, 6))
    return out


def render(doc: Document) -> str:
    lines = [f"# {doc.title}", "", f"**Verdict: {doc.verdict.upper()}**", "", "**Contents**", ""]
    lines += [f"{i}. [{s.title}](#{anchor(s.title)})" for i, s in enumerate(doc.sections, 1)]
    lines.append("")
    for section in doc.sections:
        lines += _section(section, 2)
    return "\n".join(lines).rstrip() + "\n"
