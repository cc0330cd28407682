"""The building blocks of a report (text, tables, key-value lists, charts) and how values
are shown in them; ``audit.report.document`` assembles them, the renderers lay them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TO_COMPLETE = "_to be completed by the reviewer_"


@dataclass
class Text:
    text: str
    #: False: the text comes from the data and is shown as it is, never read as markup
    markup: bool = True


@dataclass
class KeyValues:
    items: list[tuple[str, Any]]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Chart:
    title: str
    items: list[tuple[str, float]]


Block = Text | KeyValues | Table | Chart


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)


@dataclass
class Document:
    title: str
    verdict: str
    sections: list[Section]


def anchor(title: str) -> str:
    """The link target of a heading, as GitHub makes it (lower case, spaces to dashes)."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value and not value.strip():
        return repr(value)  # a separator such as "\n\n" would otherwise show as nothing
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return f"{value:.3g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt(v)}" for k, v in value.items()) or "none"
    return str(value)


def percent(value: Any) -> str:
    """A share as a percentage: 0.0021 -> 0.21%."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return fmt(value)
    shown = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{shown or '0'}%"


def fmt_check(check: dict[str, Any], value: Any) -> str:
    """A gate value or threshold as the check's name states it (a percent if it says %)."""
    return percent(value) if "%" in str(check.get("name", "")) else fmt(value)
