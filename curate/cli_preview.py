"""``curate preview``: the first records as the model will see them.

Each record is rendered and encoded by ``curate.training_text`` (the code the ``tokens`` check
counts with and ``curate finetune`` trains with): the chat template's text, the characters
that carry the loss marked, and the point where ``max_length`` cuts the record. The tokenizer
comes from the rules' ``tokens`` check, or ``--tokenizer``.

Preview shows your records' text on your terminal (like ``head``); it writes nothing. Record
ids are masked like everywhere else.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from curate import batch as B
from curate import registry
from curate.errors import CurateError as UsageError
from curate.reader import read_batches
from curate.rules import Rules, load_rules
from curate.training_text import load_local_tokenizer, render_frame, tokenize

#: markers of plain output (a pipe, NO_COLOR): trained text and the truncation point
TRAIN_OPEN, TRAIN_CLOSE = "⟦", "⟧"
CUT = "✂"


@dataclass
class TokenSettings:
    tokenizer: str
    max_length: int
    chat_template: str | None
    completion_only: bool
    truncation_side: str


def add_preview_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "preview",
        parents=[common],
        help="print records as the model will see them (template, trained tokens, cut)",
    )
    p.add_argument("data", help="JSONL (.gz, .zst), CSV or Parquet file")
    p.add_argument("--rules", help="rules file or bundled name (default: default)")
    p.add_argument("--n", type=int, default=3, help="records to show (default: 3)")
    p.add_argument(
        "--tokenizer",
        help="tokenizer.json or tokenizer folder (default: the rules' tokens check's)",
    )
    p.add_argument("--max-length", type=int, help="default: the rules' tokens check's, or 2048")
    p.add_argument(
        "--plain",
        action="store_true",
        help=f"mark trained text with {TRAIN_OPEN} {TRAIN_CLOSE} and the cut with {CUT} "
        "instead of colours (the default when stdout is not a terminal)",
    )
    p.set_defaults(func=cmd_preview)


def token_settings(rules: Rules, args: argparse.Namespace) -> TokenSettings:
    spec = next((c for c in rules.checks if c.check == "tokens"), None)
    params: Any = spec.params if spec is not None else None
    tokenizer = args.tokenizer or (params.tokenizer if params is not None else None)
    if tokenizer is None:
        raise UsageError(
            "preview needs a tokenizer: give --tokenizer PATH or add the tokens check to the "
            "rules (check: tokens, tokenizer: PATH)"
        )
    if args.tokenizer is None and params is not None:
        tokenizer = str(params.resolve(rules.base_dir, params.tokenizer))
    template = None
    if params is not None and params.chat_template is not None:
        template = str(params.resolve(rules.base_dir, params.chat_template))
    max_length = args.max_length or (params.max_length if params is not None else 2048)
    if max_length < 2:
        raise UsageError("--max-length must be at least 2")
    return TokenSettings(
        tokenizer,
        max_length,
        template,
        params.completion_only if params is not None else True,
        params.truncation_side if params is not None else "right",
    )


def cmd_preview(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise UsageError("--n must be at least 1")
    rules = load_rules(args.rules)
    settings = token_settings(rules, args)
    tokenizer = load_local_tokenizer(settings.tokenizer, settings.chat_template)
    tokenizer.truncation_side = settings.truncation_side
    frame = None
    first_problem = None
    for read in read_batches(args.data, rules):
        if first_problem is None and read.quarantined:
            first_problem = read.quarantined[0]
        if read.frame.height:
            frame = read.frame.head(args.n)
            break
    if frame is None:
        why = f" (line {first_problem.line}: {first_problem.error})" if first_problem else ""
        raise UsageError(f"{args.data}: no valid record to preview{why}")
    rendered = render_frame(frame, rules.fields, tokenizer, settings.completion_only)
    counted = tokenize(rendered, tokenizer, settings.max_length, keep=False)
    shown_ids = registry.id_masker()(frame[B.ID].to_list(), frame[B.LINE].to_list())
    plain = args.plain or not sys.stdout.isatty()
    out: list[str] = []
    for i in range(frame.height):
        header = (
            f"── record {shown_ids[i]} (line {frame[B.LINE][i]}): "
            f"{counted.lengths[i]} tokens, max_length {settings.max_length}, "
            f"{counted.trainable[i]} trained"
        )
        if rendered.failed[i]:
            why = rendered.reasons[i] if rendered.reasons else None
            out += [header, f"   the chat template refused this record: {_safe(str(why))}", ""]
            continue
        cut_at = _cut_char(rendered.texts[i], tokenizer, settings, rendered.rendered)
        spans = rendered.spans[i] if rendered.spans is not None else [(0, len(rendered.texts[i]))]
        out += [header, _mark(rendered.texts[i], spans, cut_at, plain, settings), ""]
    sys.stdout.write("\n".join(out))
    sys.stdout.flush()
    return 0


def _cut_char(text: str, tokenizer: Any, settings: TokenSettings, rendered: bool) -> int | None:
    """Where truncation cuts ``text`` (a character offset), or None when it all fits."""
    enc = tokenizer(
        text, add_special_tokens=not rendered, return_offsets_mapping=True, verbose=False
    )
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    content = np.flatnonzero(offsets[:, 1] > offsets[:, 0])  # special tokens have no characters
    budget = settings.max_length - (len(offsets) - len(content))
    if len(content) <= budget:
        return None
    if settings.truncation_side == "right":
        return int(offsets[content[max(budget, 0)], 0])
    return int(offsets[content[len(content) - max(budget, 0) - 1], 1])


def _mark(
    text: str, spans: list[tuple[int, int]], cut_at: int | None, plain: bool, s: TokenSettings
) -> str:
    """The text with trained spans and the cut marked (markers in plain mode, else colours)."""
    events: list[tuple[int, int, str]] = []
    for start, end in spans:
        events += [(start, 1, "open"), (end, 0, "close")]
    if cut_at is not None:
        events.append((cut_at, 2, "cut"))
    events.sort()
    green, dim, reset = ("", "", "") if plain else ("\x1b[42;30m", "\x1b[2m", "\x1b[0m")
    parts: list[str] = []
    pos = 0
    inside = False
    cut = False
    for at, _, kind in events:
        parts.append(_safe(text[pos:at]))
        pos = at
        if cut:  # nothing past the cut is trained: no more markers
            continue
        if kind == "open":
            inside = True
            parts.append(TRAIN_OPEN if plain else green)
        elif kind == "close":
            inside = False
            parts.append(TRAIN_CLOSE if plain else reset)
        else:
            cut = True
            side = "after" if s.truncation_side == "right" else "before"
            note = f" {CUT} max_length {s.max_length}: the text {side} this is cut {CUT} "
            closing = (TRAIN_CLOSE if inside else "") if plain else reset
            parts.append(closing + note + ("" if plain else dim))
    parts.append(_safe(text[pos:]))
    return "".join(parts) + ("" if plain else reset)


def _safe(text: str) -> str:
    """Control characters other than newline and tab shown as escapes (no terminal codes)."""
    return "".join(
        c if c in "\n\t" or (c.isprintable() or c == " ") else repr(c)[1:-1] for c in text
    )
