"""One training run with the transformers ``Trainer`` (transformers 5 API), and model I/O.

- The pre-trained model is loaded once per fine-tuning run (seeded, so a new classification head
  starts the same way every time) and deep-copied for every training (final, fold, trial).
- A model folder with ``config.json``, or a GGUF file (``--model dir/x.gguf`` or a folder holding
  one ``.gguf``): transformers dequantises it to float32 (needs the ``gguf`` package).
- Early stopping on the validation metric, with the best checkpoint restored at the end;
  checkpoints go to a scratch folder that is deleted after each training.
- Classification loss: cross-entropy with class weights and label smoothing (a ``Trainer``
  subclass), so imbalanced labels are not ignored.
- ``remove_unused_columns`` stays on: only the model's own inputs reach ``forward`` (the datasets
  never hold the sensitive columns in the first place).
- Logs: every ``Trainer`` log line goes to ``metrics.jsonl`` (a callback), and to TensorBoard
  event files under ``<run>/tensorboard/<name>/`` when tensorboard is installed (flushed every
  few seconds rather than after every line; the writers are closed when the run ends).
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from curate.atomic import AtomicWriter
from curate.errors import CurateError, InputError
from finetune.config import FinetuneConfig

DROPOUT_KEYS = (
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "classifier_dropout",
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "hidden_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "summary_first_dropout",
)
POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "n_ctx")
DEFAULT_MAX_LENGTH = 512


class DependencyError(CurateError):
    """An optional package the configuration asks for is not installed."""


@dataclass(frozen=True)
class ModelSource:
    """Where the pre-trained weights are: a folder, and the GGUF file in it if any."""

    folder: str
    gguf_file: str | None = None

    @classmethod
    def from_path(cls, path: str | Path) -> ModelSource:
        path = Path(path)
        if path.is_file() and path.suffix == ".gguf":
            return cls(str(path.parent), path.name)
        if not path.is_dir():
            raise InputError(f"{path}: model not found (a model folder or a .gguf file)")
        if not (path / "config.json").is_file():
            ggufs = sorted(p.name for p in path.glob("*.gguf"))
            if len(ggufs) == 1:
                return cls(str(path), ggufs[0])
            if ggufs:
                raise InputError(f"{path}: several .gguf files; name one with --model")
            raise InputError(f"{path}: no config.json or .gguf file: not a model folder")
        return cls(str(path))

    def kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def load_tokenizer(source: ModelSource, cfg: FinetuneConfig) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.folder, **source.kwargs())
    tokenizer.truncation_side = cfg.truncation_side
    return tokenizer


def load_base_model(
    source: ModelSource,
    cfg: FinetuneConfig,
    seed: int,
    labels: list[str] | None,
    pad_token_id: int | None,
) -> Any:
    """The pre-trained model with the task head; seeded so a new head is reproducible."""
    import torch
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        set_seed,
    )

    if source.gguf_file and importlib.util.find_spec("gguf") is None:
        raise DependencyError("loading a .gguf model needs the 'gguf' package (pip install gguf)")
    config = AutoConfig.from_pretrained(source.folder, **source.kwargs())
    if cfg.dropout is not None:
        for key in DROPOUT_KEYS:
            if isinstance(getattr(config, key, None), (int, float)):
                setattr(config, key, cfg.dropout)
    if getattr(config, "pad_token_id", None) is None and pad_token_id is not None:
        config.pad_token_id = pad_token_id
    set_seed(seed)
    if labels is not None:
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {name: i for i, name in enumerate(labels)}
        model = AutoModelForSequenceClassification.from_pretrained(
            source.folder,
            config=config,
            dtype=torch.float32,
            ignore_mismatched_sizes=True,
            **source.kwargs(),
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(
            source.folder, config=config, dtype=torch.float32, **source.kwargs()
        )
    if source.gguf_file:
        # The weights are dequantised to float32 already; the quantiser's marks only block
        # training ("purely quantized model") and saving.
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None and hasattr(quantizer, "remove_quantization_config"):
            quantizer.remove_quantization_config(model)
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return model


def resolve_max_length(cfg: FinetuneConfig, tokenizer: Any, model: Any) -> int:
    if cfg.max_length is not None:
        return cfg.max_length
    limits = [DEFAULT_MAX_LENGTH]
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    for key in POSITION_KEYS:
        value = getattr(model.config, key, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
            break
    return min(limits)


def with_lora(model: Any, cfg: FinetuneConfig, task: str) -> Any:
    if cfg.lora is None:
        return model
    if importlib.util.find_spec("peft") is None:
        raise DependencyError("finetune.lora needs the 'peft' package (pip install peft)")
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS if task == "classification" else TaskType.CAUSAL_LM,
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
    )
    return get_peft_model(model, lora)


def save_model(model: Any, tokenizer: Any, target: Path) -> None:
    """Write the model (LoRA merged into the weights) and tokenizer; the folder appears whole."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


TENSORBOARD_FLUSH_SECONDS = 2.0  # TensorBoard's page reloads every 30 s


def _tensorboard_writer_class() -> type[Any]:
    from torch.utils.tensorboard import SummaryWriter

    class ThrottledWriter(SummaryWriter):  # type: ignore[misc]
        """transformers' ``TensorBoardCallback`` flushes after every log line, and a flush
        waits for the writer's thread to drain its queue: hundreds of waits in a run. This
        writer flushes at most every ``TENSORBOARD_FLUSH_SECONDS``; ``close()`` writes all."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.flushed = time.monotonic()

        def flush(self) -> None:
            now = time.monotonic()
            if now - self.flushed >= TENSORBOARD_FLUSH_SECONDS:
                self.flushed = now
                super().flush()

    return ThrottledWriter


def _progress_callback(progress: Any, name: str) -> Any:
    """Reports a training as a phase with a bar: optimizer step of max steps, last loss."""
    from transformers import TrainerCallback

    from curate.progress import start_phase

    class StepProgress(TrainerCallback):  # type: ignore[misc]
        loss: float | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            start_phase(progress, f"train {name}", state.max_steps or None)

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if logs and "loss" in logs:
                self.loss = float(logs["loss"])

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            fields = {"loss": self.loss} if self.loss is not None else {}
            update = getattr(progress, "update", None)
            if update is not None:
                update(state.global_step, **fields)

    return StepProgress()


class LogSink:
    """Shared by every training of a run: ``metrics.jsonl`` lines and TensorBoard folders."""

    def __init__(self, run_dir: Path, report_to: str, progress: Any = None) -> None:
        self.progress = progress  # curate.progress protocol: a phase and a bar per training
        self.jsonl = AtomicWriter(run_dir / "metrics.jsonl")
        self.run_dir = run_dir
        self.writers: list[Any] = []
        installed = importlib.util.find_spec("tensorboard") is not None
        if report_to == "tensorboard" and not installed:
            raise DependencyError("--report-to tensorboard needs the 'tensorboard' package")
        self.tensorboard = installed and report_to in ("auto", "tensorboard")
        # wandb / mlflow are the Trainer's own integrations; tensorboard is wired here so that
        # its folder is under the run (the Trainer's would follow an environment variable).
        self.trainer_report_to = report_to if report_to in ("wandb", "mlflow") else "none"

    def callbacks(self, name: str) -> list[Any]:
        from transformers import TrainerCallback

        sink = self

        class JsonlLog(TrainerCallback):  # type: ignore[misc]
            def on_log(
                self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
            ) -> None:
                line = {
                    "run": name,
                    "step": state.global_step,
                    "epoch": state.epoch,
                    **(logs or {}),
                }
                sink.jsonl.write_line(orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY))

        out: list[Any] = [JsonlLog()]
        if self.progress is not None:
            out.append(_progress_callback(self.progress, name))
        if self.tensorboard:
            from transformers.integrations import TensorBoardCallback

            folder = str(self.run_dir / "tensorboard" / name)
            writer_class = _tensorboard_writer_class()

            def open_writer(log_dir: str | None = None) -> Any:
                # The callback closes its writer when training ends and opens another for the
                # evaluation after it (in the Trainer's scratch folder, deleted, never closed):
                # every writer writes to this run's folder and is closed with the sink.
                writer = writer_class(log_dir=folder)
                self.writers.append(writer)
                return writer

            callback = TensorBoardCallback(tb_writer=open_writer())
            callback._SummaryWriter = open_writer
            out.append(callback)
        return out

    def _close_writers(self) -> None:
        for writer in self.writers:
            writer.close()  # a second close does nothing
        self.writers.clear()

    def commit(self) -> None:
        self._close_writers()
        self.jsonl.commit()

    def abort(self) -> None:
        self._close_writers()
        self.jsonl.abort()


@dataclass
class Trained:
    name: str
    model: Any
    trainer: Any
    validation: dict[str, Any]
    best_metric: float | None
    epochs_run: float
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)


def _weighted_trainer_class() -> type[Any]:
    import torch
    from transformers import Trainer

    class WeightedLossTrainer(Trainer):  # type: ignore[misc]
        """Cross-entropy with class weights and label smoothing (per-batch mean)."""

        loss_is_scaled_for_ga = False  # a per-batch mean: the Trainer divides by GA steps

        def __init__(
            self,
            *args: Any,
            class_weights: np.ndarray | None = None,
            label_smoothing: float = 0.0,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self.class_weights = (
                torch.tensor(class_weights, dtype=torch.float32)
                if class_weights is not None
                else None
            )
            self.label_smoothing = label_smoothing

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            inputs = dict(inputs)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits
            weight = (
                self.class_weights.to(logits.device, logits.dtype)
                if self.class_weights is not None
                else None
            )
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.size(-1)),
                labels.view(-1),
                weight=weight,
                label_smoothing=self.label_smoothing,
            )
            return (loss, outputs) if return_outputs else loss

    return WeightedLossTrainer


def train_once(
    *,
    name: str,
    base_model: Any,
    tokenizer: Any,
    cfg: FinetuneConfig,
    task: str,
    seed: int,
    train_set: Any,
    validation_set: Any,
    collator: Callable[[list[dict[str, Any]]], Any],
    compute_metrics: Callable[[Any], dict[str, float]] | None,
    metric: str,
    greater_is_better: bool,
    class_weights: np.ndarray | None,
    scratch: Path,
    logs: LogSink,
) -> Trained:
    import torch
    from transformers import (
        EarlyStoppingCallback,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(seed)
    model = with_lora(copy.deepcopy(base_model), cfg, task)
    by_steps = cfg.eval_steps is not None or cfg.max_steps is not None
    every = cfg.eval_steps or cfg.max_steps
    out_dir = scratch / name
    args = TrainingArguments(
        output_dir=str(out_dir),
        eval_strategy="steps" if by_steps else "epoch",
        save_strategy="steps" if by_steps else "epoch",
        eval_steps=every if by_steps else None,
        save_steps=every if by_steps else None,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=greater_is_better,
        save_total_limit=1,
        save_only_model=True,
        learning_rate=cfg.resolved_learning_rate(),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.eval_batch_size or cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accumulation,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        warmup_steps=cfg.warmup,  # below 1: a share of the steps
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        logging_strategy="steps",
        logging_steps=cfg.logging_steps,
        report_to=logs.trainer_report_to,
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
        remove_unused_columns=True,
        label_names=["labels"],
        prediction_loss_only=compute_metrics is None,
        dataloader_num_workers=0,
    )
    callbacks = logs.callbacks(name)
    if cfg.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    common: dict[str, Any] = {
        "model": model,
        "args": args,
        "data_collator": collator,
        "train_dataset": train_set,
        "eval_dataset": validation_set,
        "processing_class": tokenizer,
        "compute_metrics": compute_metrics,
        "callbacks": callbacks,
    }
    if task == "classification":
        trainer = _weighted_trainer_class()(
            **common, class_weights=class_weights, label_smoothing=cfg.label_smoothing
        )
    else:
        trainer = Trainer(**common)
    trainer.remove_callback(PrinterCallback)  # logs go to metrics.jsonl, not stdout
    started = time.perf_counter()
    try:
        trainer.train()
        validation = trainer.evaluate(validation_set)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return Trained(
        name=name,
        model=trainer.model,
        trainer=trainer,
        validation={k.removeprefix("eval_"): v for k, v in validation.items()},
        best_metric=trainer.state.best_metric,
        epochs_run=float(trainer.state.epoch or 0.0),
        seconds=time.perf_counter() - started,
        history=list(trainer.state.log_history),
    )
