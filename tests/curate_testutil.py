"""Small helpers the tests share (a module name no installed package uses)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Special tokens of the test tokenizers (the chat roles too: one vocabulary serves both kinds).
SPECIAL_TOKENS = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|user|>", "<|assistant|>", "<|end|>",
]  # fmt: skip


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def word_level_tokenizer(
    words: Iterable[str], folder: Path, *, max_length: int = 64, chat_template: str | None = None
) -> Any:
    """A word-level tokenizer over ``words``, saved in ``folder`` (built offline, no hub).

    The vocabulary is built here, sorted, rather than trained: a trainer breaks frequency ties
    in hash order, which would change token ids (and so results) from run to run. Without a
    chat template, texts are wrapped in [CLS] ... [SEP] as BERT expects.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {
        t: i for i, t in enumerate([*SPECIAL_TOKENS, *sorted(set(words) - set(SPECIAL_TOKENS))])
    }
    raw = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    raw.add_special_tokens(SPECIAL_TOKENS)
    if chat_template is None:
        raw.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        eos_token="<|end|>",
        additional_special_tokens=["<|user|>", "<|assistant|>"],
        model_max_length=max_length,
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)
    return tokenizer


def tiny_bert_classifier(
    folder: Path,
    words: Iterable[str],
    *,
    hidden: int = 32,
    layers: int = 2,
    max_length: int = 64,
    seed: int = 0,
) -> Path:
    """A BERT classifier with random weights (seeded) and a word-level tokenizer over ``words``:
    a base model that knows nothing of the data it will be tuned on."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = word_level_tokenizer(words, folder, max_length=max_length)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=max_length,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def chat_records(seed: int, count: int) -> list[dict[str, Any]]:
    """Chat records whose answers repeat (exactly, or with one word changed) under different
    questions: duplicates only when the assistant turns alone are compared. A few records have
    no assistant turn, some answers come as content parts."""
    import random

    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(400)]
    answers = [" ".join(rng.choices(vocabulary, k=rng.randint(20, 40))) for _ in range(count // 4)]
    out: list[dict[str, Any]] = []
    for i in range(count):
        roll = rng.random()
        answer = rng.choice(answers)
        if roll < 0.3:  # one word changed: a near copy
            words = answer.split()
            words[rng.randrange(len(words))] = "changed"
            answer = " ".join(words)
        elif roll < 0.4:
            answer = " ".join(rng.choices(vocabulary, k=30))
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": " ".join(rng.choices(vocabulary, k=rng.randint(5, 15)))}
        ]
        if roll > 0.97:
            pass  # no answer: nothing to compare under roles: [assistant]
        elif roll > 0.9:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        else:
            messages.append({"role": "assistant", "content": answer})
        out.append({"id": f"c{i}", "messages": messages})
    return out


def repeated_answers(records: list[dict[str, Any]]) -> int:
    """How many records repeat an earlier record's assistant turns (lower-cased, whitespace
    collapsed); records without an assistant turn never do."""
    seen: set[str] = set()
    repeats = 0
    for record in records:
        turns = []
        for message in record["messages"]:
            if message["role"] != "assistant":
                continue
            content = message["content"]
            parts = [content] if isinstance(content, str) else [p["text"] for p in content]
            turns.extend(parts)
        if not turns:
            continue
        key = " ".join("\n\n".join(turns).lower().split())
        repeats += key in seen
        seen.add(key)
    return repeats
