"""What differs between the two tasks: inputs, labels, the validation metric, the test figures.

Each task keeps the records it can use (``frame``) with one feature dict per record
(``items``), aligned row by row; splits index into both. Sensitive columns stay in ``frame``
(never in ``items``) and are joined back to the test predictions by row.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import numpy as np
import polars as pl

from curate import batch as B
from curate.errors import InputError, RulesError
from curate.rules import Rules
from finetune import encode, fairness, metrics
from finetune.config import FinetuneConfig
from finetune.data import Records, sensitive_values
from finetune.encode import ListDataset


class Task:
    name: ClassVar[str]
    metric: ClassVar[str]
    greater_is_better: ClassVar[bool]

    def __init__(self, records: Records, rules: Rules, cfg: FinetuneConfig) -> None:
        self.rules = rules
        self.cfg = cfg
        self.frame = records.frame
        self.items: list[dict[str, Any]] = []
        self.dropped: dict[str, int] = {}
        self.class_names: list[str] | None = None

    @property
    def labels(self) -> np.ndarray | None:
        return None

    @property
    def groups(self) -> np.ndarray:
        return self.frame["_group"].to_numpy()

    def keep(self, encoded: encode.Encoded) -> None:
        """Drop the rows the encoder could not use, keeping frame and items aligned."""
        mask = [item is not None for item in encoded.items]
        self.frame = self.frame.filter(pl.Series(mask))
        self.items = [item for item in encoded.items if item is not None]
        for reason, n in encoded.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + n
        if len(self.items) < 3:
            raise InputError(f"only {len(self.items)} usable records: too few to fine-tune")

    def dataset(self, rows: np.ndarray) -> ListDataset:
        return ListDataset([self.items[i] for i in rows])

    def sensitive(self, rows: np.ndarray) -> dict[str, list[str]]:
        return sensitive_values(self.frame[rows.tolist()], list(self.rules.fields.sensitive))

    def ids(self, rows: np.ndarray) -> list[str]:
        return self.frame[B.ID].gather(rows).to_list()

    def prepare(self, tokenizer: Any, max_length: int) -> None:
        raise NotImplementedError

    def collator(self, tokenizer: Any) -> Any:
        raise NotImplementedError

    def compute_metrics(self) -> Any:
        return None

    def class_weights(self, rows: np.ndarray) -> np.ndarray | None:
        return None

    def evaluate(self, model: Any, tokenizer: Any, rows: np.ndarray) -> tuple[dict[str, Any], Any]:
        """Test figures and the raw per-record output (predictions or token losses)."""
        raise NotImplementedError

    def fairness(self, raw: Any, rows: np.ndarray, seed: int) -> dict[str, Any]:
        raise NotImplementedError


class Classification(Task):
    name = "classification"
    metric = "f1_macro"
    greater_is_better = True

    def __init__(self, records: Records, rules: Rules, cfg: FinetuneConfig) -> None:
        super().__init__(records, rules, cfg)
        column = rules.fields.label
        if column is None:
            raise RulesError(f"{rules.source}: classification needs fields.label in the rules")
        missing = int(self.frame[column].is_null().sum())
        if missing:
            self.dropped["no_label"] = missing
        self.frame = self.frame.filter(pl.col(column).is_not_null())
        self.class_names = sorted(set(self.frame[column].to_list()))
        if len(self.class_names) < 2:
            raise InputError(
                f"column {column!r} has {len(self.class_names)} label value(s): need at least 2"
            )
        self.column = column

    @property
    def labels(self) -> np.ndarray:
        assert self.class_names is not None
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[v] for v in self.frame[self.column].to_list()], dtype=np.int64)

    def prepare(self, tokenizer: Any, max_length: int) -> None:
        texts = self.frame[B.TEXT].to_list()
        self.keep(encode.encode_classification(texts, self.labels.tolist(), tokenizer, max_length))

    def collator(self, tokenizer: Any) -> Any:
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer)

    def compute_metrics(self) -> Any:
        from sklearn.metrics import accuracy_score, f1_score

        def compute(prediction: Any) -> dict[str, float]:
            logits = prediction.predictions
            logits = logits[0] if isinstance(logits, tuple) else logits
            predicted = np.asarray(logits).argmax(axis=-1)
            truth = np.asarray(prediction.label_ids)
            return {
                "accuracy": float(accuracy_score(truth, predicted)),
                "f1_macro": float(f1_score(truth, predicted, average="macro", zero_division=0)),
            }

        return compute

    def class_weights(self, rows: np.ndarray) -> np.ndarray | None:
        """Balanced weights n / (k * count_c) from the training rows (``auto``)."""
        if self.cfg.class_weights == "none":
            return None
        assert self.class_names is not None
        k = len(self.class_names)
        counts = np.bincount(self.labels[rows], minlength=k).astype(np.float64)
        return len(rows) / (k * np.maximum(counts, 1.0))

    def evaluate(self, model: Any, tokenizer: Any, rows: np.ndarray) -> tuple[dict[str, Any], Any]:
        assert self.class_names is not None
        logits = metrics.predict_logits(
            model,
            self.dataset(rows),
            self.collator(tokenizer),
            self.cfg.eval_batch_size or self.cfg.batch_size,
        )
        predicted = logits.argmax(axis=-1)
        truth = self.labels[rows]
        return metrics.classification_metrics(truth, predicted, self.class_names), predicted

    def fairness(self, raw: Any, rows: np.ndarray, seed: int) -> dict[str, Any]:
        assert self.class_names is not None
        return fairness.classification_fairness(
            self.labels[rows],
            raw,
            self.class_names,
            self.sensitive(rows),
            positive_label=self.cfg.positive_label,
            n_boot=self.cfg.fairness_bootstrap,
            seed=seed,
            min_group_size=fairness.group_size_rule(self.rules, self.cfg.fairness_min_group_size),
        )

    def distribution(self, rows: np.ndarray) -> dict[str, int]:
        assert self.class_names is not None
        counts = Counter(self.labels[rows].tolist())
        return {name: counts.get(i, 0) for i, name in enumerate(self.class_names)}


class CausalLM(Task):
    name = "causal-lm"
    metric = "loss"
    greater_is_better = False

    def prepare(self, tokenizer: Any, max_length: int) -> None:
        rendered = encode.causal_texts(
            self.frame, self.rules, tokenizer, self.cfg.completion_only_loss
        )
        self.completion_spans = rendered.spans is not None
        self.keep(encode.encode_causal(rendered, tokenizer, max_length))

    def collator(self, tokenizer: Any) -> Any:
        return encode.PadCollator(int(tokenizer.pad_token_id))

    def evaluate(self, model: Any, tokenizer: Any, rows: np.ndarray) -> tuple[dict[str, Any], Any]:
        nll = metrics.token_nll(
            model,
            self.dataset(rows),
            self.collator(tokenizer),
            self.cfg.eval_batch_size or self.cfg.batch_size,
        )
        return metrics.perplexity_metrics(nll), nll

    def fairness(self, raw: Any, rows: np.ndarray, seed: int) -> dict[str, Any]:
        return fairness.causal_fairness(
            raw,
            self.sensitive(rows),
            n_boot=self.cfg.fairness_bootstrap,
            seed=seed,
            min_group_size=fairness.group_size_rule(self.rules, self.cfg.fairness_min_group_size),
        )


TASKS: dict[str, type[Task]] = {"classification": Classification, "causal-lm": CausalLM}
