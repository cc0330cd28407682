"""Turning records into token ids for the model (and nothing else: no sensitive column).

Classification: the record's text (the rules' text fields joined, or the chat's turns) with
its label id. Causal LM: chat records rendered with the tokenizer's chat template when it has
one (else ``role: content`` lines), text records as they are, both closed by the end-of-text
token. With ``completion_only_loss`` the labels keep only the tokens of the assistant turns
(chat) or of the last text field (``text: [prompt, completion]``); the other positions are
-100, which the loss ignores. Spans are found in characters and mapped to tokens through the
fast tokenizer's offsets, so it works for any template that renders turns in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from curate.errors import InputError
from curate.rules import Rules
from curate.training_text import IGNORE, Rendered, render_frame, tokenize

__all__ = ["IGNORE", "Encoded", "causal_texts", "encode_causal"]


@dataclass
class Encoded:
    """Feature dicts aligned with the rows given (None where a row cannot be used)."""

    items: list[dict[str, Any] | None]
    dropped: dict[str, int] = field(default_factory=dict)


def ensure_pad_token(tokenizer: Any) -> None:
    """Decoder tokenizers often have no pad token; reuse end-of-text (padding is masked)."""
    if tokenizer.pad_token is None:
        for candidate in (tokenizer.eos_token, tokenizer.unk_token):
            if candidate is not None:
                tokenizer.pad_token = candidate
                return
        raise InputError("the tokenizer has no pad, end-of-text or unknown token to pad with")


def encode_classification(
    texts: list[str], label_ids: list[int], tokenizer: Any, max_length: int
) -> Encoded:
    enc = tokenizer(texts, truncation=True, max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    items: list[dict[str, Any] | None] = []
    for i, label in enumerate(label_ids):
        item: dict[str, Any] = {k: enc[k][i] for k in keys}
        item["labels"] = label
        items.append(item)
    return Encoded(items)


def causal_texts(
    frame: pl.DataFrame, rules: Rules, tokenizer: Any, completion_only: bool
) -> Rendered:
    """Texts to train on and the character spans that carry the loss (``curate.training_text``,
    the code the ``tokens`` audit check counts with)."""
    return render_frame(frame, rules.fields, tokenizer, completion_only)


def encode_causal(rendered: Rendered, tokenizer: Any, max_length: int) -> Encoded:
    """Token ids and labels (-100 outside the loss spans); a record left with no token that
    carries the loss after truncation, or that the template refused, is dropped."""
    if rendered.spans is not None and not getattr(tokenizer, "is_fast", False):
        raise InputError("completion_only_loss needs a fast tokenizer (for character offsets)")
    tokens = tokenize(rendered, tokenizer, max_length)
    assert tokens.input_ids is not None and tokens.labels is not None
    items: list[dict[str, Any] | None] = []
    dropped = 0
    for i, ids in enumerate(tokens.input_ids):
        if rendered.failed[i] or tokens.trainable[i] == 0 or len(ids) < 2:
            items.append(None)
            dropped += 1
            continue
        items.append(
            {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": tokens.labels[i]}
        )
    return Encoded(items, {"no_loss_tokens_after_truncation": dropped} if dropped else {})


class PadCollator:
    """Right-pads a causal-LM batch: pad id for inputs, 0 for the mask, -100 for labels."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(item["input_ids"]) for item in items)
        fill = {"input_ids": self.pad_id, "attention_mask": 0, "labels": IGNORE}
        return {
            key: torch.tensor(
                [item[key] + [pad] * (width - len(item[key])) for item in items], dtype=torch.long
            )
            for key, pad in fill.items()
        }


class ListDataset:
    """A map-style dataset over feature dicts (what ``Trainer`` needs, without ``datasets``)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]
