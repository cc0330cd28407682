"""tokens: how long every record is in the model's tokens, and what training keeps of it.

Records are rendered and encoded by ``curate.training_text`` (the code that builds ``curate
finetune``'s causal-LM examples): chats through the tokenizer's chat template, text records as
training encodes them. A record over ``max_length`` is cut (``truncation_side``); the tokens
that carry the loss (assistant turns or the completion field, with ``completion_only``; else
every token) are counted inside the limit, so a record whose answer falls past the cut shows up
in ``no_trainable_rate`` before a training run wastes it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field

from curate import batch as B
from curate.registry import Check, Params, Totals, id_masker, register_check, summed
from curate.rules import Fields
from curate.training_text import load_local_tokenizer, render_frame, tokenize

HISTOGRAM_BINS = 12


class TokensParams(Params):
    tokenizer: str = Field(
        min_length=1,
        description="a tokenizer.json file or a transformers tokenizer folder, relative to the "
        "rules file (never downloaded)",
    )
    max_length: int = Field(
        2048, ge=2, le=1 << 20, description="the training sequence length (tokens per record)"
    )
    chat_template: str | None = Field(
        None, description="a Jinja chat-template file; default: the tokenizer folder's"
    )
    completion_only: bool = Field(
        True,
        description="loss on assistant turns (chat) or the last text field only; false: on "
        "every token (as finetune.completion_only_loss)",
    )
    truncation_side: Literal["right", "left"] = Field(
        "right", description="which end of an over-long record is cut (as finetune's)"
    )
    max_findings: int = Field(
        1000, ge=0, le=10**9, description="over-limit / no-trainable findings written at most"
    )

    def resolve(self, base_dir: str | None, name: str | None) -> Path | None:
        if name is None:
            return None
        path = Path(name)
        return path if path.is_absolute() or base_dir is None else Path(base_dir) / path

    def used_files(self, base_dir: str | None) -> list[tuple[str, Path]]:
        """The tokenizer's files and the template, hashed into the rules' sha256."""
        files: list[tuple[str, Path]] = []
        tokenizer = self.resolve(base_dir, self.tokenizer)
        if tokenizer is not None and tokenizer.is_dir():
            for name in (
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "chat_template.jinja",
                "chat_template.json",
            ):
                if (tokenizer / name).is_file():
                    files.append((f"tokenizer:{self.tokenizer}/{name}", tokenizer / name))
        elif tokenizer is not None and tokenizer.is_file():
            files.append((f"tokenizer:{self.tokenizer}", tokenizer))
        template = self.resolve(base_dir, self.chat_template)
        if template is not None:
            files.append((f"chat_template:{self.chat_template}", template))
        return files


@dataclass
class TokensTotals(Totals):
    records: int = summed()
    tokens: int = summed()
    over_limit: int = summed()
    trainable: int = summed()
    #: tokens inside the limit of records that train (what one epoch feeds the model)
    epoch_tokens: int = summed()
    no_trainable: int = summed()
    render_failed: int = summed()
    findings: int = summed()
    #: token length -> records (exact percentiles and the histogram, mergeable)
    lengths: Counter[int] = summed(Counter)


def _percentile(lengths: Counter[int], q: float) -> int | None:
    """The nearest-rank percentile of the length distribution."""
    total = sum(lengths.values())
    if not total:
        return None
    rank = max(1, int(np.ceil(q * total)))
    seen = 0
    for length in sorted(lengths):
        seen += lengths[length]
        if seen >= rank:
            return length
    return max(lengths)


@register_check
class Tokens(Check):
    """Token counts under the model's tokenizer and chat template; see the module doc."""

    name = "tokens"
    Params = TokensParams
    metrics: ClassVar[dict[str, str]] = {
        "records": "records counted",
        "total": "tokens of every record, before truncation",
        "mean": "tokens per record (mean, before truncation)",
        "p50": "median tokens per record",
        "p95": "95th percentile of tokens per record",
        "max": "tokens of the longest record",
        "over_limit_rate": "records longer than max_length / records",
        "trainable_total": "tokens that carry the loss, inside max_length",
        "no_trainable_rate": "records left with no trainable token after truncation / records",
        "epoch_tokens": "tokens one epoch feeds the model (records that train, inside max_length)",
        "render_failed": "records the chat template refused to render",
    }
    totals_type = TokensTotals
    totals: TokensTotals
    scan_column = "_tokens_scan"

    def __init__(self, params: TokensParams, *, seed: int = 0, base_dir: str | None = None):
        super().__init__(params, seed=seed, base_dir=base_dir)
        self.params: TokensParams = params
        self.tokenizer = load_local_tokenizer(
            params.resolve(base_dir, params.tokenizer),  # type: ignore[arg-type]
            params.resolve(base_dir, params.chat_template),
        )
        self.tokenizer.truncation_side = params.truncation_side
        self.fields: Fields | None = None

    def bind_record_shape(self, fields: Fields) -> None:
        self.fields = fields

    def scan(self, batch: pl.DataFrame) -> pl.Series:
        """Per record: tokens before truncation, trainable tokens kept, render failure."""
        assert self.fields is not None, "bind_record_shape first"
        rendered = render_frame(batch, self.fields, self.tokenizer, self.params.completion_only)
        counted = tokenize(rendered, self.tokenizer, self.params.max_length, keep=False)
        return pl.DataFrame(
            {
                "length": counted.lengths,
                "trainable": counted.trainable,
                "failed": rendered.failed,
            }
        ).to_struct(self.scan_column)

    def update(self, batch: pl.DataFrame) -> list[dict[str, Any]]:
        scanned = batch[self.scan_column] if self.scan_column in batch.columns else self.scan(batch)
        frame = scanned.struct.unnest()
        lengths = frame["length"].to_numpy()
        trainable = frame["trainable"].to_numpy()
        failed = frame["failed"].to_numpy()
        limit = self.params.max_length
        t = self.totals
        ok = ~failed
        t.records += batch.height
        t.render_failed += int(failed.sum())
        t.tokens += int(lengths[ok].sum())
        over = ok & (lengths > limit)
        t.over_limit += int(over.sum())
        t.trainable += int(trainable.sum())
        no_train = ok & (trainable == 0)
        t.no_trainable += int(no_train.sum())
        t.epoch_tokens += int(np.minimum(lengths, limit)[ok & ~no_train].sum())
        t.lengths.update(lengths[ok].tolist())
        rows = np.flatnonzero(over | no_train | failed)
        room = max(0, self.params.max_findings - t.findings)
        rows = rows[:room]
        if not rows.size:
            return []
        t.findings += int(rows.size)
        lines = batch[B.LINE].to_list()
        ids = batch[B.ID].to_list()
        shown = id_masker(unconfirmed=True)([ids[i] for i in rows], [lines[i] for i in rows])
        out = []
        for row, shown_id in zip(rows.tolist(), shown, strict=True):
            code = (
                "render_failed"
                if failed[row]
                else "no_trainable"
                if no_train[row]
                else "over_limit"
            )
            out.append(
                {
                    "check": self.name,
                    "code": code,
                    "severity": "error" if code != "over_limit" else "warning",
                    "id": shown_id,
                    "line": lines[row],
                    "tokens": int(lengths[row]),
                    "max_length": limit,
                    "trainable": int(trainable[row]),
                }
            )
        return out

    def result(self) -> dict[str, float | int | None]:
        t = self.totals
        counted = t.records - t.render_failed
        return {
            "records": t.records,
            "total": t.tokens,
            "mean": t.tokens / counted if counted else None,
            "p50": _percentile(t.lengths, 0.5),
            "p95": _percentile(t.lengths, 0.95),
            "max": max(t.lengths) if t.lengths else None,
            "over_limit_rate": t.over_limit / t.records if t.records else None,
            "trainable_total": t.trainable,
            "no_trainable_rate": (t.no_trainable + t.render_failed) / t.records
            if t.records
            else None,
            "epoch_tokens": t.epoch_tokens,
            "render_failed": t.render_failed,
        }

    def details(self) -> dict[str, Any]:
        t = self.totals
        limit = self.params.max_length
        top = max([limit, *t.lengths]) if t.lengths else limit
        width = max(1, int(np.ceil(top / HISTOGRAM_BINS)))
        bins: Counter[int] = Counter()
        for length, n in t.lengths.items():
            bins[min(length // width, HISTOGRAM_BINS - 1)] += n
        return {
            "tokenizer": self.params.tokenizer,
            "chat_template": self.params.chat_template
            or ("the tokenizer's" if getattr(self.tokenizer, "chat_template", None) else None),
            "max_length": limit,
            "truncation_side": self.params.truncation_side,
            "completion_only": self.params.completion_only,
            "histogram": [
                {
                    "from": b * width,
                    "to": (b + 1) * width - 1 if b < HISTOGRAM_BINS - 1 else top,
                    "records": bins[b],
                    "over_limit": b * width > limit,
                }
                for b in range(HISTOGRAM_BINS)
            ],
        }
