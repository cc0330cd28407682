"""Edit a JSON record in its text: replace the values at some paths, keep every other byte.

A step that changes a record's text must not rewrite the rest of it: a parse and re-serialise
turns ``123456789012345678901234567890`` into ``1.2345678901234568e+29``, ``1E2`` into
``100.0`` and drops ``1e999``. So the record's raw text is scanned (with the standard
library's JSON scanner, which gives positions) to the span of each value to replace, and
only those spans are rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.decoder import scanstring
from typing import Any

import orjson

_SPACE = frozenset(" \t\n\r")
_DECODER = json.JSONDecoder()


class SpliceError(ValueError):
    """The raw text is not the JSON object the path expects."""


def _ws(s: str, i: int) -> int:
    # Most records have no or one space between tokens: a loop beats a regex call there.
    while s[i] in _SPACE:
        i += 1
    return i


def _end(s: str, i: int) -> int:
    """Index just after the JSON value starting at ``i``."""
    if s[i] == '"':  # the common case, a string: the C scanner without building objects
        return scanstring(s, i + 1)[1]
    try:
        return _DECODER.raw_decode(s, i)[1]
    except json.JSONDecodeError as exc:
        raise SpliceError(str(exc)) from None


def _members(s: str, i: int) -> Iterable[tuple[str, int, int]]:
    """(key, value start, value end) of each member of the object whose ``{`` is at ``i``."""
    if s[i] != "{":
        raise SpliceError(f"expected an object at {i}")
    i = _ws(s, i + 1)
    if s[i] == "}":
        return
    while True:
        if s[i] != '"':
            raise SpliceError(f"expected a key at {i}")
        key, i = scanstring(s, i + 1)
        i = _ws(s, i)
        if s[i] != ":":
            raise SpliceError(f"expected ':' at {i}")
        start = _ws(s, i + 1)
        end = _end(s, start)
        yield key, start, end
        i = _ws(s, end)
        if s[i] == "}":
            return
        if s[i] != ",":
            raise SpliceError(f"expected ',' or '}}' at {i}")
        i = _ws(s, i + 1)


def _items(s: str, i: int) -> Iterable[tuple[int, int]]:
    """(start, end) of each element of the array whose ``[`` is at ``i``."""
    i = _ws(s, i + 1)
    if s[i] == "]":
        return
    while True:
        end = _end(s, i)
        yield i, end
        i = _ws(s, end)
        if s[i] == "]":
            return
        if s[i] != ",":
            raise SpliceError(f"expected ',' or ']' at {i}")
        i = _ws(s, i + 1)


def _descend(raw: str, start: int, parts: list[str]) -> tuple[int, int]:
    """(start, end) of the value at ``parts`` below the value starting at ``start``."""
    end = _end(raw, start)
    for part in parts:
        if raw[start] == "{":
            found = None
            for key, a, b in _members(raw, start):
                if key == part:
                    found = (a, b)  # the last duplicate wins, as with every JSON parser
            if found is None:
                raise SpliceError(f"no key {part!r}")
            start, end = found
        elif raw[start] == "[":
            index = int(part)
            for n, (a, b) in enumerate(_items(raw, start)):
                if n == index:
                    start, end = a, b
                    break
            else:
                raise SpliceError(f"no element {index}")
        else:
            raise SpliceError(f"{part!r} is inside a scalar")
    return start, end


def value_span(raw: str, parts: list[str]) -> tuple[int, int]:
    """(start, end) of the value at ``parts`` (object keys, array indices as strings)."""
    return _descend(raw, _ws(raw, 0), parts)


def splice(raw: str, values: list[tuple[list[str], Any]], top: dict[str, Any] | None = None) -> str:
    """``raw`` with each path's value replaced and each ``top`` key set on the outer object.

    Values are written with orjson; nothing else in ``raw`` changes. The outer object is
    scanned once, whatever the number of paths.
    """
    start = _ws(raw, 0)
    members: dict[str, tuple[int, int]] = {}
    for key, a, b in _members(raw, start):
        members[key] = (a, b)  # the last duplicate wins
    edits: list[tuple[int, int, str]] = []
    for parts, value in values:
        if not parts or parts[0] not in members:
            raise SpliceError(f"no key {parts[:1]!r}")
        first = members[parts[0]]
        a, b = _descend(raw, first[0], parts[1:]) if len(parts) > 1 else first
        edits.append((a, b, orjson.dumps(value).decode()))
    added = []
    for key, value in (top or {}).items():
        text = orjson.dumps(value).decode()
        if key in members:
            edits.append((*members[key], text))
        else:
            added.append(f"{orjson.dumps(key).decode()}:{text}")
    if added:
        close = raw.rindex("}")  # the outer object's end: only whitespace may follow it
        edits.append((close, close, ("," if members else "") + ",".join(added)))
    out = raw
    for a, b, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:a] + text + out[b:]
    return out
