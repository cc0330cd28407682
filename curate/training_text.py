"""Records as training sees them: rendered text, the characters that carry the loss, tokens.

One implementation serves the ``tokens`` audit check, ``curate preview`` and ``curate
finetune``'s causal-LM examples, so what the audit counts is what training holds.

- Chat records are rendered with the tokenizer's chat template (``add_generation_prompt``
  false) from the messages as read, with each turn's text taken from the record's segments (so
  normalisation or redaction by earlier steps is what the model sees) and every other key
  (``tool_calls``, ``name``...) kept for templates that render them. The rendered text is encoded
  without adding special tokens again. Without a template: ``role: content`` lines and the
  end-of-text token.
- Text records are the segments joined, closed by the end-of-text token, encoded as the
  tokenizer encodes them (with its special tokens).
- Loss spans (``completion_only``): the assistant turns whose ``weight`` is not 0 (chat), or the
  last text field (``text: [prompt, completion]``). Spans are character ranges mapped to tokens
  through the fast tokenizer's offsets.
- Truncation is the tokenizer's own: a record longer than ``max_length`` is encoded again with
  ``truncation=True`` so special tokens are kept the way training keeps them.

transformers is imported by the callers that load a tokenizer; this module only calls it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from curate import batch as B
from curate.errors import InputError
from curate.records import path_parts
from curate.yamlsafe import read_limited

IGNORE = -100
Span = tuple[int, int]
#: a chat-template file the rules name is read with this limit
MAX_TEMPLATE_BYTES = 1 << 20


def load_local_tokenizer(path: str | Path, chat_template: str | Path | None = None) -> Any:
    """A fast tokenizer from a local ``tokenizer.json`` file or a transformers tokenizer folder
    (never downloaded), with the chat template of a Jinja file when one is given."""
    target = Path(path)
    try:
        from transformers import AutoTokenizer, PreTrainedTokenizerFast
    except ImportError:
        raise InputError(
            "counting tokens needs transformers: pip install transformers (torch is not needed)"
        ) from None
    if not target.exists():
        raise InputError(f"tokenizer {str(target)!r}: no such file or folder")
    try:
        if target.is_dir():
            tokenizer = AutoTokenizer.from_pretrained(str(target), local_files_only=True)
        else:
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(target))
    except Exception as exc:  # transformers raises many types for a folder it cannot read
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"tokenizer {str(target)!r}: cannot be loaded ({first[:200]})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise InputError(f"tokenizer {str(target)!r}: a fast tokenizer is needed (for offsets)")
    if chat_template is not None:
        raw = read_limited(Path(chat_template), MAX_TEMPLATE_BYTES, "chat template")
        tokenizer.chat_template = raw.decode("utf-8", "replace")
    return tokenizer


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


# -- rendering -----------------------------------------------------------------------------


def chat_messages(raw: str | None, field: str, segments: Sequence[dict[str, Any]]) -> list[dict]:
    """The record's messages with each turn's text from ``segments`` (the text after the
    steps). Keys other than ``content`` stay as read; ``content`` of a turn without segments
    stays as read (null for an assistant turn that only calls a tool)."""
    texts: dict[int, dict[str, str]] = {}
    for seg in segments:
        parts = path_parts(str(seg["path"]))
        if len(parts) >= 3 and parts[0] == field and parts[1].isdigit():
            key = "/".join(parts[2:])
            texts.setdefault(int(parts[1]), {})[key] = seg["text"] or ""
    read: Any = None
    if raw is not None:
        try:
            record = orjson.loads(raw)
            read = record.get(field) if isinstance(record, dict) else None
        except orjson.JSONDecodeError:
            read = None
    if not isinstance(read, list):  # a row read from CSV/Parquet without its structure
        return [
            {"role": roles_of(segments).get(i, "user"), "content": "".join(parts.values())}
            for i, parts in sorted(texts.items())
        ]
    messages: list[dict] = []
    for i, message in enumerate(read):
        if not isinstance(message, dict):
            continue
        out = copy.copy(message)
        new = texts.get(i, {})
        if "content" in new:
            out["content"] = new["content"]
        elif isinstance(message.get("content"), list):
            content = copy.deepcopy(message["content"])
            for j, part in enumerate(content):
                if f"content/{j}/text" in new and isinstance(part, dict):
                    part["text"] = new[f"content/{j}/text"]
            out["content"] = content
        messages.append(out)
    return messages


def roles_of(segments: Sequence[dict[str, Any]]) -> dict[int, str]:
    out: dict[int, str] = {}
    for seg in segments:
        parts = path_parts(str(seg["path"]))
        if len(parts) >= 2 and parts[1].isdigit():
            out[int(parts[1])] = seg["role"] or "user"
    return out


def content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text") or ""
            for p in content
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def trains_on(message: dict[str, Any]) -> bool:
    """An assistant turn carries the loss unless its ``weight`` is 0 (OpenAI's format)."""
    return message.get("role") == "assistant" and message.get("weight", 1) != 0


def template_spans(messages: list[dict[str, Any]], tokenizer: Any) -> tuple[str, list[Span]]:
    """The conversation rendered by the chat template, and the character range of each
    trained assistant turn (found by rendering the conversation up to it)."""

    def render(msgs: list[dict[str, Any]], generation: bool = False) -> str:
        return str(
            tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=generation)
        )

    full = render(messages)
    spans: list[Span] = []
    cursor = 0
    for k, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        try:
            before = render(messages[:k], generation=True) if k else ""
            through = full if k == len(messages) - 1 else render(messages[: k + 1])
        except Exception:  # some templates refuse partial conversations
            before, through = "", ""
        if before and full.startswith(through) and through.startswith(before):
            start, cursor = len(before), len(through)
        else:
            text = content_text(message)
            start = full.find(text, cursor) if text else -1
            if start < 0:
                continue
            cursor = start + len(text)
        if trains_on(message):
            spans.append((start, cursor))
    return full, spans


def plain_chat(messages: list[dict[str, Any]], eos: str) -> tuple[str, list[Span]]:
    """``role: content`` lines closed by end-of-text, for tokenizers without a template."""
    lines: list[str] = []
    spans: list[Span] = []
    pos = 0
    for message in messages:
        prefix = f"{message.get('role')}: "
        line = prefix + content_text(message)
        if trains_on(message):
            spans.append((pos + len(prefix), pos + len(line)))
        lines.append(line)
        pos += len(line) + 1
    text = "\n".join(lines) + eos
    if spans and spans[-1][1] == len(text) - len(eos):  # a closing reply learns to stop too
        spans[-1] = (spans[-1][0], len(text))
    return text, spans


@dataclass
class Rendered:
    """Texts to encode, their loss spans (None: every token trains) and whether the texts are
    rendered already (then the tokenizer must not add special tokens again). A record the
    chat template refused is an empty text with ``failed`` set."""

    texts: list[str]
    spans: list[list[Span]] | None
    rendered: bool
    failed: list[bool]
    #: why the template refused a record (its error's first line), else None
    reasons: list[str | None] = field(default_factory=list)


def render_records(
    *,
    chat_field: str | None,
    text_fields: Sequence[str],
    raws: Sequence[str | None],
    texts: Sequence[str],
    segments: Sequence[Sequence[dict[str, Any]]],
    tokenizer: Any,
    completion_only: bool,
) -> Rendered:
    eos = tokenizer.eos_token or ""
    out: list[str] = []
    spans: list[list[Span]] = []
    failed: list[bool] = []
    reasons: list[str | None] = []
    if chat_field is not None:
        template = has_chat_template(tokenizer)
        for raw, segs in zip(raws, segments, strict=True):
            messages = chat_messages(raw, chat_field, segs)
            try:
                text, found = (
                    template_spans(messages, tokenizer) if template else plain_chat(messages, eos)
                )
                reason = None
            except Exception as exc:  # a template that raises on this conversation (jinja)
                text, found = "", []
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            failed.append(reason is not None)
            reasons.append(reason)
            out.append(text)
            spans.append(found)
        return Rendered(out, spans if completion_only else None, template, failed, reasons)
    last_field = text_fields[-1] if len(text_fields) > 1 else None
    for text, segs in zip(texts, segments, strict=True):
        full = text + eos
        found: list[Span] = []
        if last_field is not None and segs and path_parts(str(segs[-1]["path"]))[0] == last_field:
            found = [(len(text) - len(segs[-1]["text"] or ""), len(full))]
        out.append(full)
        spans.append(found)
        failed.append(False)
    train_spans = spans if completion_only and last_field is not None else None
    return Rendered(out, train_spans, False, failed)


def render_frame(frame: Any, fields: Any, tokenizer: Any, completion_only: bool) -> Rendered:
    """``render_records`` over a batch (its ``_raw``, ``_text`` and ``_segments`` columns) read
    with the rules' ``fields`` (``curate.rules.Fields``)."""
    raws = frame[B.RAW].to_list() if B.RAW in frame.columns else [None] * frame.height
    return render_records(
        chat_field=fields.chat,
        text_fields=fields.text_fields,
        raws=raws,
        texts=frame[B.TEXT].to_list(),
        segments=frame[B.SEGMENTS].to_list(),
        tokenizer=tokenizer,
        completion_only=completion_only,
    )


# -- tokens --------------------------------------------------------------------------------


@dataclass
class Tokenized:
    """Per record: tokens before truncation, the token ids and labels training uses (labels
    None when ``keep`` was false) and how many of the kept tokens carry the loss."""

    lengths: np.ndarray
    trainable: np.ndarray
    input_ids: list[list[int]] | None
    labels: list[list[int]] | None


def _loss_mask(offsets: np.ndarray, spans: list[Span]) -> np.ndarray:
    """Tokens whose first character lies inside a span (special tokens have empty offsets)."""
    if not spans or offsets.size == 0:
        return np.zeros(len(offsets), dtype=bool)
    bounds = np.asarray(spans, dtype=np.int64)
    starts, ends = offsets[:, 0], offsets[:, 1]
    which = np.searchsorted(bounds[:, 0], starts, side="right") - 1
    inside = (which >= 0) & (starts < bounds[np.maximum(which, 0), 1])
    return inside & (ends > starts)


def tokenize(
    rendered: Rendered, tokenizer: Any, max_length: int, *, keep: bool = True
) -> Tokenized:
    """Encode rendered records as training does; ``keep``: also return ids and labels."""
    texts = rendered.texts
    offsets_needed = rendered.spans is not None
    options = {
        "add_special_tokens": not rendered.rendered,
        "return_offsets_mapping": offsets_needed,
        "return_attention_mask": False,
        "verbose": False,
    }
    enc = tokenizer(texts, truncation=False, **options)
    n = len(texts)
    # records over the limit, encoded again in one call with the tokenizer's own truncation
    # (it keeps special tokens the way training keeps them)
    over = [i for i in range(n) if not rendered.failed[i] and len(enc["input_ids"][i]) > max_length]
    cut = (
        tokenizer([texts[i] for i in over], truncation=True, max_length=max_length, **options)
        if over
        else None
    )
    cut_row = {i: k for k, i in enumerate(over)}
    lengths = np.zeros(n, dtype=np.int64)
    trainable = np.zeros(n, dtype=np.int64)
    all_ids: list[list[int]] = []
    all_labels: list[list[int]] = []
    for i in range(n):
        if rendered.failed[i]:
            if keep:
                all_ids.append([])
                all_labels.append([])
            continue
        ids = enc["input_ids"][i]
        offsets = enc["offset_mapping"][i] if offsets_needed else None
        lengths[i] = len(ids)
        if i in cut_row:
            assert cut is not None
            ids = cut["input_ids"][cut_row[i]]
            offsets = cut["offset_mapping"][cut_row[i]] if offsets_needed else None
        if rendered.spans is None:
            mask = np.ones(len(ids), dtype=bool)
        else:
            mask = _loss_mask(np.asarray(offsets, dtype=np.int64).reshape(-1, 2), rendered.spans[i])
        trainable[i] = int(mask.sum())
        if keep:
            all_ids.append(list(ids))
            all_labels.append(np.where(mask, np.asarray(ids, dtype=np.int64), IGNORE).tolist())
    return Tokenized(lengths, trainable, all_ids if keep else None, all_labels if keep else None)
