"""What may be shown of a text around a finding, and of a record id: nothing in clear that the
detector could have missed.

- ``shape``: the default excerpt. Each word becomes its shape (``Maria`` -> ``Xxxxx``,
  ``0147`` -> ``dddd``, runs of one kind cut at four as spaCy's ``shape_`` does), except the
  common lowercase words of ``KEPT_WORDS`` (function words and the words around contact
  details: "call", "email", "card"...), so an excerpt still says what kind of sentence held
  the value without a name or a missed number in it. Pattern mode cannot see names at all,
  and no mode sees everything.
- ``mask_id``: a record id with every detected value replaced by ``<ENTITY>`` and the
  record's line appended (``<EMAIL_ADDRESS> (line 12)``), so the record can still be found
  (``curate.idmask`` adds ``<MASKED>`` where no entity was detected but one could be).
- ``may_hold_pattern_pii``: a cheap test (one polars pass) of which ids could hold a pattern
  entity at all, so most runs never build a detector for their ids.

This module imports neither presidio nor the engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

# Common lowercase words kept as written in a shape excerpt. No word here is also a common
# first name or surname (will, may, mark, bill, rose, hope, grace... are left out on purpose).
_KEPT = """
    a about above after again all also am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its just me more most
    my no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their theirs them then there these they this those through to too
    under until up very was we were what when where which while who whom why with would you
    your yours yourself please thanks thank hi hello dear regards best sent via reach call
    called calling phone phones telephone tel mobile cell fax number numbers contact
    contacted email emailed mail address account card credit debit payment pay paid charge
    bank transfer iban ssn social security ip server host login password user customer client
    order invoice ticket ref reference id name named date time today tomorrow yesterday
    morning evening night week month year new old back soon later again ok okay yes
    use used using get got send sending write wrote written reply replied message messages
    let know need needs want wants like see saw told tell asked ask said say office home
    work desk team support help issue problem update details info information here
"""
KEPT_WORDS = frozenset([*_KEPT.split(), "I"])
SHAPE_RUN = 4  # runs of one character kind longer than this are cut (spaCy does the same)
WORD_RE = re.compile(r"\w+")


def word_shape(word: str) -> str:
    """``Maria`` -> ``Xxxxx``, ``McDonald`` -> ``XxXxxxx``, ``555`` -> ``ddd``."""
    out: list[str] = []
    last, run = "", 0
    for ch in word:
        kind = "d" if ch.isdigit() else "X" if ch.isupper() else "x" if ch.isalpha() else ch
        run = run + 1 if kind == last else 1
        last = kind
        if run <= SHAPE_RUN:
            out.append(kind)
    return "".join(out)


def shape_words(text: str) -> str:
    """Every word of ``text`` as its shape, except ``KEPT_WORDS`` written in lower case;
    punctuation and spaces stay."""
    return WORD_RE.sub(
        lambda m: m.group() if m.group() in KEPT_WORDS else word_shape(m.group()), text
    )


# Ids without one of these cannot hold a pattern entity: an '@' (e-mail), a colon between hex
# digits (IPv6), digits around a dot (IPv4), seven digits (phones, cards, SSNs, IBANs), or a
# long run of word characters (a crypto wallet). Most ids ("t123", "doc-004512") have none,
# and a run that drops them never builds a detector (seconds) for its ids.
PATTERN_CANDIDATE = r"@|::|[0-9A-Fa-f]:[0-9A-Fa-f]|\d\.\d|(?:\d\D*){7}|\w{26,}"


def may_hold_pattern_pii(ids: Sequence[str | None]) -> list[bool]:
    series = pl.Series(ids, dtype=pl.String)
    return series.str.contains(PATTERN_CANDIDATE).fill_null(False).to_list()


def mask_id(record_id: str, spans: Sequence[tuple[str, int, int]], line: int | None) -> str:
    """``record_id`` with each (entity, start, end) span shown as ``<ENTITY>`` and, when a span
    was found, the record's line after it (``<EMAIL_ADDRESS> (line 12)``): the line is what
    finds the record again. Unchanged without spans."""
    if not spans:
        return record_id
    parts: list[str] = []
    cursor = 0
    for entity, start, end in sorted(spans, key=lambda s: s[1]):
        parts.append(record_id[cursor:start])
        parts.append(f"<{entity}>")
        cursor = end
    parts.append(record_id[cursor:])
    masked = "".join(parts)
    return masked if line is None else f"{masked} (line {line})"
