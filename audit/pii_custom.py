"""Custom PII recognizers declared in YAML: the schema, loading and the regex safety check.

A file under ``rules/recognizers/`` (or anywhere, named by the ``recognizers:`` parameter of
``pii`` / ``redact_pii``) lists recognizers of two kinds::

    version: 1
    recognizers:
      - name: employee_id            # regexes, each with a score, raised by context words
        entity: EMPLOYEE_ID
        patterns:
          - regex: '\\bEMP-\\d{6}\\b'
            score: 0.6
        context: [employee, badge]
      - name: codenames              # a deny-list: these words, whole, always match
        entity: CODENAME
        deny_list: [Bluebird, Nightjar]

Rules are data: a pattern is compiled here (with the ``regex`` module, so matching can be
given a timeout), and patterns whose shape backtracks exponentially, a repeated group that
itself holds a repetition such as ``(a+)+`` or ``(\\w*\\s?)*``, are rejected before any text
is read. This module does not import presidio.
"""

from __future__ import annotations

from pathlib import Path

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curate.errors import RulesError
from curate.yamlsafe import load_yaml

ENTITY_NAME = r"^[A-Z][A-Z0-9_]*$"
RECOGNIZER_NAME = r"^[a-z][a-z0-9_]*$"
MAX_PATTERN_CHARS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternSpec(_Strict):
    """One regular expression and the score a match gets before context."""

    name: str | None = Field(None, description="label shown in explanations")
    regex: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS)
    score: float = Field(0.5, gt=0.0, le=1.0, description="score of a match without context")

    @field_validator("regex")
    @classmethod
    def _safe_regex(cls, pattern: str) -> str:
        try:
            regex.compile(pattern)
        except regex.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        nested = nested_quantifier(pattern)
        if nested is not None:
            raise ValueError(
                f"regex repeats a group that repeats inside ({nested!r}): it can take "
                "exponential time; write it without the nested repetition"
            )
        slow = backtracks(pattern)
        if slow is not None:
            raise ValueError(
                f"regex takes over {PROBE_SECONDS}s on {slow!r}: it backtracks "
                "exponentially (overlapping alternatives under a repetition?)"
            )
        return pattern


class RecognizerSpec(_Strict):
    """A custom recognizer: regex patterns or a deny-list, for one entity."""

    name: str = Field(pattern=RECOGNIZER_NAME, description="unique snake_case name")
    entity: str = Field(pattern=ENTITY_NAME, description="entity reported, e.g. EMPLOYEE_ID")
    patterns: list[PatternSpec] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list, description="words matched whole")
    score: float = Field(0.85, gt=0.0, le=1.0, description="score of a deny-list match")
    context: list[str] = Field(
        default_factory=list, description="words that raise a match's score when just before it"
    )
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> RecognizerSpec:
        if bool(self.patterns) == bool(self.deny_list):
            raise ValueError("give either 'patterns' or 'deny_list' (exactly one)")
        if any(not word.strip() for word in self.deny_list):
            raise ValueError("deny_list holds an empty word")
        return self

    def compiled(self) -> list[tuple[regex.Pattern[str], float, str]]:
        """(compiled pattern, score, label) for each pattern; a deny-list is one pattern."""
        flags = regex.VERSION1 if self.case_sensitive else regex.VERSION1 | regex.IGNORECASE
        if self.deny_list:
            words = sorted({w.strip() for w in self.deny_list}, key=len, reverse=True)
            alternation = "|".join(regex.escape(w) for w in words)
            # Lookarounds instead of \b so that words starting or ending in punctuation work.
            body = rf"(?<![\w])(?:{alternation})(?![\w])"
            return [(regex.compile(body, flags), self.score, f"{self.name}:deny_list")]
        return [
            (regex.compile(p.regex, flags), p.score, p.name or f"{self.name}:{i}")
            for i, p in enumerate(self.patterns)
        ]


class RecognizerFile(_Strict):
    version: int = Field(1, ge=1, le=1)
    recognizers: list[RecognizerSpec] = Field(min_length=1)


def recognizer_path(ref: str, base_dir: str | None) -> Path:
    """Where a ``recognizers:`` entry points; only a .yaml or .yml file is accepted, so that
    no other file (``/etc/shadow``) is parsed and quoted in an error."""
    path = Path(ref)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if path.resolve().suffix.lower() not in (".yaml", ".yml"):
        raise RulesError(f"{path}: a recognizer file must be a .yaml or .yml file")
    return path


def load_recognizer_files(paths: list[str], base_dir: str | None) -> list[RecognizerSpec]:
    """Load and validate every file; relative paths are read from ``base_dir``."""
    specs: list[RecognizerSpec] = []
    seen: dict[str, Path] = {}
    for ref in paths:
        path = recognizer_path(ref, base_dir)
        doc = load_yaml(path, "recognizer file")
        try:
            parsed = RecognizerFile.model_validate(doc.data or {})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc)
            raise RulesError(
                f"{path}:{doc.line_of(loc) or 1}: {where + ': ' if where else ''}{err['msg']}"
            ) from None
        for spec in parsed.recognizers:
            if spec.name in seen:
                raise RulesError(
                    f"{path}: recognizer {spec.name!r} is also defined in {seen[spec.name]}"
                )
            seen[spec.name] = path
            specs.append(spec)
    return specs


# --- catastrophic backtracking ---------------------------------------------------------------

PROBE_SECONDS = 0.2
# Long enough that any exponential pattern runs out of time on any machine (even one that
# grows as slowly as (a|aaaa)+, ~1.38^n: 9e8 steps at 64), short enough that a linear or
# polynomial pattern takes microseconds even on a loaded one: the verdict does not depend on
# how fast the machine is, only on how the pattern grows.
_PROBE_LENGTH = 64
_PROBE_BASE = "a1 -._@/x"


def _times_out(compiled: regex.Pattern[str], text: str) -> bool:
    try:
        compiled.search(text, timeout=PROBE_SECONDS)
    except TimeoutError:
        return True
    return False


def backtracks(pattern: str) -> str | None:
    """A short text on which ``pattern`` runs out of time, or None.

    The static scan below misses overlapping alternatives (``(a|a)+$``, ``(\\d|1)*x``); they
    show on a run of one repeated character followed by a character that makes the match
    fail. Each character the pattern names (and a few common ones) is tried. A timeout is
    tried once more before it counts: a process paused by a busy machine loses wall-clock time
    once, an exponential pattern loses it every time.
    """
    try:
        compiled = regex.compile(pattern, regex.VERSION1 | regex.IGNORECASE)
    except regex.error:
        return None
    chars = dict.fromkeys(c for c in pattern + _PROBE_BASE if c.isprintable() and c != "\\")
    for c in chars:
        for tail in ("\x00", "!"):
            text = c * _PROBE_LENGTH + tail
            if _times_out(compiled, text) and _times_out(compiled, text):
                return text
    return None


# --- nested quantifiers -------------------------------------------------------------------

_QUANTIFIER = regex.compile(r"(?:\*|\+|\?|\{(\d*)(,(\d*))?\})[?+]?")
# An outer repetition this wide or more, over a variable-length body, backtracks badly.
_WIDE = 10


def _quantifier_at(pattern: str, i: int) -> tuple[int | None, int | None, int]:
    """(min, max or None for unbounded, width) of a quantifier starting at ``i``.

    ``(1, 1, 0)`` when there is none. A lazy or possessive suffix is part of the width.
    """
    m = _QUANTIFIER.match(pattern, i)
    if m is None:
        return 1, 1, 0
    head = m.group(0)[0]
    if head == "*":
        return 0, None, len(m.group(0))
    if head == "+":
        return 1, None, len(m.group(0))
    if head == "?":
        return 0, 1, len(m.group(0))
    low, comma, high = m.group(1), m.group(2), m.group(3)
    if not low and not comma:
        return 1, 1, 0  # "{}": a literal brace
    lo = int(low or 0)
    if comma is None:
        return lo, lo, len(m.group(0))
    return lo, (int(high) if high else None), len(m.group(0))


def _skip_class(pattern: str, i: int) -> int:
    """Index just after the character class opening at ``i``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ']' is a literal
    depth = 1
    while j < len(pattern) and depth:
        c = pattern[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            depth += 1  # regex V1 allows nested sets
        elif c == "]":
            depth -= 1
        j += 1
    return j


def _skip_group_prefix(pattern: str, i: int) -> int:
    """Index after '(' and any '?...' marker, so the marker's '?' or '<' is not read as syntax."""
    j = i + 1
    if j >= len(pattern) or pattern[j] != "?":
        return j
    j += 1
    if pattern.startswith(("P<", "<"), j) and not pattern.startswith(("<=", "<!"), j):
        end = pattern.find(">", j)
        return len(pattern) if end < 0 else end + 1
    while j < len(pattern) and pattern[j] in "aiLmsuxV01-:=!<>|'":
        j += 1
        if pattern[j - 1] in ":=!>|":
            break
    return j


def nested_quantifier(pattern: str) -> str | None:
    """The first widely repeated group whose body varies in length (``(a+)+``), or None.

    A group repeated without bound (``*``, ``+``, ``{n,}``) or ten times or more, whose body
    itself holds a variable repetition (``*``, ``+``, ``?``, ``{m,n}``), can backtrack
    exponentially. A scan over the pattern's syntax (escapes, classes, group markers), not a
    full parser: it errs towards rejecting. Alternations with overlapping branches,
    ``(a|a)+``, are not caught; the matching timeout bounds them.
    """
    starts: list[int] = []
    varies: list[bool] = [False]  # per open group: does its body hold a variable repetition?
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "(":
            starts.append(i)
            varies.append(False)
            i = _skip_group_prefix(pattern, i)
            continue
        start, inner = i, False
        if c == ")" and starts:
            start, inner = starts.pop(), varies.pop()
            i += 1
        elif c == "\\":
            i += 2
        elif c == "[":
            i = _skip_class(pattern, i)
        else:
            i += 1
        low, high, width = _quantifier_at(pattern, i)
        wide = high is None or high - (low or 0) >= _WIDE
        if inner and wide and width:
            return pattern[start : i + width]
        varies[-1] |= inner or (high is None or high != low)
        i += width
    return None
