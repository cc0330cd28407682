"""The parts of a record id that could hold personal data a detector misses without context.

A phone number used as an id has no "call me on" beside it, an e-mail at an unknown domain
passes no validator: an id is masked where it could hold such a value, whether or not an entity
was detected there. A harmless id masked costs its reader a line number (given beside it); a
missed value shown leaks it. Used for the pii check's findings (``audit.pii``) and, in a run
that redacts personal data, for every id curate writes beside a withheld record
(``curate.writer``). Plain regular expressions: the core needs no auditor for this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

UNCONFIRMED = re.compile(
    r"[^\s@<>()\[\],;\"']+@[^\s@<>()\[\],;\"']+"  # anything around an '@'
    r"|(?:[0-9A-Fa-f]{0,4}:){2,}[0-9A-Fa-f]{0,4}"  # IPv6-like (and times)
    r"|\d{1,3}(?:\.\d{1,3}){3}"  # IPv4-like
    r"|\+?\(?\d(?:[\s().\-/]*\d){6,}"  # seven digits or more, separators between them
    r"|(?=\w*[G-Zg-z])\w{26,}"  # a long run that is not a hex digest (a wallet address)
)
MASK = "<MASKED>"
LINE_SUFFIX = " (line "


def unconfirmed_spans(
    record_id: str, spans: Sequence[tuple[str, int, int]] = ()
) -> list[tuple[str, int, int]]:
    """The parts of ``record_id`` outside the detected ``spans`` that could still be personal
    data, as ``("MASKED", start, end)``."""
    return [
        ("MASKED", m.start(), m.end())
        for m in UNCONFIRMED.finditer(record_id)
        if not any(m.start() < end and start < m.end() for _, start, end in spans)
    ]


def mask_unconfirmed(shown: str | None, line: int | None = None) -> str | None:
    """An id as a writer shows it (perhaps already masked, ``<EMAIL_ADDRESS> (line 3)``) with
    its unconfirmed parts masked too; the record's line is added when it was not there."""
    if not shown:
        return shown
    head, suffix, tail = shown.partition(LINE_SUFFIX)
    spans = unconfirmed_spans(head)
    if not spans:
        return shown
    parts, cursor = [], 0
    for _, start, end in spans:
        parts += [head[cursor:start], MASK]
        cursor = end
    masked = "".join(parts) + head[cursor:]
    if suffix:
        return masked + suffix + tail
    return masked if line is None else f"{masked}{LINE_SUFFIX}{line})"
