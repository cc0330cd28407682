"""Report renderers: the audit result (audit.json) -> Markdown, HTML, JUnit XML and SARIF.

The Markdown and HTML end with a marker holding the sha256 of the text above it, so a later
``curate report`` can tell a file it wrote from one a person edited and refuse to overwrite the
edit (datasheet answers and sign-offs belong in their own files: see ``audit.attestation``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from audit.attestation import attachments
from audit.report import document, html, junit, markdown, sarif
from curate.atomic import write_text
from curate.errors import CurateError

MARKER = "<!-- curate-rendered sha256:{} -->\n"
MARKER_RE = re.compile(r"<!-- curate-rendered sha256:([0-9a-f]{64}) -->\n\Z")
EDITABLE = ("audit.md", "audit.html")


def _marked(text: str) -> str:
    return text + MARKER.format(hashlib.sha256(text.encode()).hexdigest())


def hand_edited(path: Path) -> bool:
    """True if ``path`` is a rendered report whose text no longer matches its marker."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    match = MARKER_RE.search(text)
    if match is None:
        return False  # written before markers existed: nothing to compare with
    body = text[: match.start()]
    return hashlib.sha256(body.encode()).hexdigest() != match.group(1)


def refuse_hand_edits(report_dir: Path) -> None:
    edited = [name for name in EDITABLE if hand_edited(report_dir / name)]
    if edited:
        raise CurateError(
            f"{report_dir / edited[0]}: edited by hand since curate wrote it; re-rendering would "
            "lose the edit. Put datasheet answers in a YAML file (--datasheet FILE) and sign "
            "with `curate signoff`, or pass --overwrite to discard the edit"
        )


def render_all(result: dict[str, Any], report_dir: str | Path) -> None:
    report_dir = Path(report_dir)
    doc = document.build(result, attachments(report_dir, result))
    write_text(report_dir / "audit.md", _marked(markdown.render(doc) + "\n"))
    write_text(report_dir / "audit.html", _marked(html.render(doc)))
    write_text(report_dir / "junit.xml", junit.render(result))
    write_text(report_dir / "audit.sarif", sarif.render(result, report_dir))
