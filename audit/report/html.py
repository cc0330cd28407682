"""HTML layout of the report document: one self-contained offline file, charts as inline SVG."""

from __future__ import annotations

import re
from html import escape

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

# The report loads nothing: no script, font, image or stylesheet from anywhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}
@media (max-width:900px){table{display:block;overflow-x:auto}}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.verdict{font-size:1.4em;padding:.4em .8em;display:inline-block;
border-radius:4px;color:#fff}.pass{background:#2e7d32}.fail{background:#c62828}
.status-FAIL,.status-MISSING{color:#c62828;font-weight:bold}.status-PASS{color:#2e7d32}
.status-WARN{color:#ef6c00}caption{text-align:left;font-style:italic}dl{display:grid;
grid-template-columns:max-content minmax(0,1fr);gap:.2em 1em}dt{font-weight:bold}
dd{margin:0;overflow-wrap:anywhere}figure{margin:.5em 0 1em}figcaption{font-style:italic}
svg.chart{display:block;max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif}
code{font-size:.92em;background:#f3f3f3;padding:0 .2em}
"""
# _italic_ only as a whole word, so snake_case names and __missing__ stay as they are.
ITALIC = re.compile(r"(?<!\w)_(?![_\s])(.+?)(?<![_\s])_(?!\w)")
CODE = re.compile(r"`([^`]+)`")
LABEL_CHARS = 24


def _inline(text: str) -> str:
    """Escape, then allow the marks the document uses: **bold**, _italic_ and `code`."""
    out = escape(text)
    while out.count("**") >= 2:
        out = out.replace("**", "<strong>", 1).replace("**", "</strong>", 1)
    out = CODE.sub(r"<code>\1</code>", out)
    return ITALIC.sub(r"<em>\1</em>", out)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _chart(chart: Chart) -> str:
    items = [(str(k), float(v)) for k, v in chart.items]
    if not items:
        return ""
    top = max(v for _, v in items) or 1.0
    bar_h, label_w, bar_w = 18, 160, 420
    height = bar_h * len(items) + 8
    total_w = label_w + bar_w + 80
    parts = [
        f"<figure><figcaption>{escape(chart.title)}</figcaption>"
        f'<svg class="chart" role="img" aria-label="{escape(chart.title)}" '
        f'width="{total_w}" height="{height}" viewBox="0 0 {total_w} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * bar_h
        width = max(1.0, bar_w * value / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(_short(label))}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{bar_h - 4}" '
            'fill="#4a78b5">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            f'<text x="{label_w + width + 4:.1f}" y="{y + 13}">{escape(fmt(value))}</text>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _table(block: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
    rows = []
    for row in block.rows:
        cells = []
        for col, value in zip(block.columns, row, strict=True):
            css = f' class="status-{escape(fmt(value))}"' if col == "status" else ""
            cells.append(f"<td{css}>{_inline(fmt(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _section(section: Section, level: int) -> str:
    ident = f' id="{escape(anchor(section.title))}"' if level == 2 else ""
    out = [f"<section{ident}><h{level}>{escape(section.title)}</h{level}>"]
    for block in section.blocks:
        if isinstance(block, Text):
            out.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, KeyValues):
            out.append(
                "<dl>"
                + "".join(
                    f"<dt>{escape(str(k))}</dt><dd>{_inline(fmt(v))}</dd>" for k, v in block.items
                )
                + "</dl>"
            )
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Chart):
            out.append(_chart(block))
    out += [_section(child, min(level + 1, 6)) for child in section.children]
    out.append("</section>")
    return "".join(out)


def render(doc: Document) -> str:
    contents = "".join(
        f'<li><a href="#{escape(anchor(s.title))}">{escape(s.title)}</a></li>' for s in doc.sections
    )
    body = f"<nav><h2>Contents</h2><ol>{contents}</ol></nav>" + "".join(
        _section(s, 2) for s in doc.sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(doc.title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(doc.title)}</h1><p><span class="verdict {escape(doc.verdict)}">'
        f"Verdict: {escape(doc.verdict.upper())}</span></p>{body}</body></html>\n"
    )
