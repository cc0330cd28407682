"""The ``finetune:`` section of the rules: hyper-parameters validated with pydantic.

Sources, later ones winning key by key: the rules files' ``finetune:`` mappings (a child file
over the file it extends), then a ``config`` given to the API (a mapping, a YAML file or a
``FinetuneConfig``), then the command line / keyword overrides. The text, label and sensitive
columns are not repeated here: they are the rules' ``fields`` (the same ones the audit read).

Until ``curate.rules`` carries a ``finetune`` key of its own, the section is read from the raw
YAML of the rules files (``Rules.files``) with the safe loader, and validated here with
``file:line`` errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curate.errors import RulesError
from curate.rules import Rules
from curate.rules_merge import deep_merge
from curate.yamlsafe import YamlDoc, load_yaml

Task = Literal["classification", "causal-lm"]
ReportTo = Literal["auto", "none", "tensorboard", "wandb", "mlflow"]
SECTION = "finetune"
# Full fine-tuning moves pre-trained weights little; LoRA adapters start at zero and need more.
DEFAULT_LR = 2e-5
DEFAULT_LORA_LR = 2e-4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitRatios(_Strict):
    """Shares of the records (by near-duplicate cluster) in each split; they must sum to 1."""

    train: float = Field(0.8, gt=0, lt=1, description="share used to fit the weights")
    validation: float = Field(
        0.1, gt=0, lt=1, description="share for early stopping, best checkpoint and search"
    )
    test: float = Field(0.1, gt=0, lt=1, description="held-out share for the reported metrics")

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitRatios:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must be 1 (got {total:g})")
        return self


class SearchSpace(_Strict):
    """A small hyper-parameter search scored on the validation split."""

    enabled: bool = Field(False, description="run the search (CLI: --search)")
    method: Literal["grid", "random"] = Field(
        "grid",
        description="grid: every combination (at most n_trials, in order); random: n_trials "
        "seeded draws, learning rate log-uniform between the listed extremes",
    )
    learning_rate: list[float] = Field(
        default_factory=lambda: [1e-5, 2e-5, 5e-5], min_length=1, description="learning rates"
    )
    batch_size: list[int] = Field(
        default_factory=lambda: [16], min_length=1, description="per-device batch sizes"
    )
    weight_decay: list[float] = Field(
        default_factory=lambda: [0.0, 0.01], min_length=1, description="weight decays"
    )
    n_trials: int = Field(6, ge=1, le=200, description="most trials to run")

    @model_validator(mode="after")
    def _positive(self) -> SearchSpace:
        if any(lr <= 0 or lr >= 1 for lr in self.learning_rate):
            raise ValueError("learning_rate values must be in (0, 1)")
        if any(b < 1 for b in self.batch_size):
            raise ValueError("batch_size values must be at least 1")
        if any(w < 0 or w >= 1 for w in self.weight_decay):
            raise ValueError("weight_decay values must be in [0, 1)")
        return self


class LoraConfig(_Strict):
    """Low-rank adapters (needs the ``peft`` package); only the adapters are trained."""

    r: int = Field(8, ge=1, le=1024, description="rank of the update matrices")
    alpha: int = Field(16, ge=1, le=4096, description="scaling numerator (alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the adapter input")
    target_modules: list[str] | None = Field(
        None, description="module names to adapt; unset: peft's default for the architecture"
    )


class FinetuneConfig(_Strict):
    """Every training choice of one run; defaults suit a small full fine-tune on CPU."""

    task: Task = Field("classification", description="classification or causal-lm")
    max_length: int | None = Field(
        None,
        ge=8,
        le=131_072,
        description="tokens per record after truncation; unset: the smaller of the tokenizer's "
        "model_max_length, the model's position limit and 512",
    )
    truncation_side: Literal["right", "left"] = Field(
        "right", description="which end of an over-long record is cut"
    )
    learning_rate: float | None = Field(
        None,
        gt=0,
        lt=1,
        description=f"peak learning rate; unset: {DEFAULT_LR:g} ({DEFAULT_LORA_LR:g} with lora), "
        "well below pre-training rates",
    )
    warmup: float = Field(0.1, ge=0, lt=1, description="share of the steps spent warming up")
    lr_scheduler: Literal[
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup"
    ] = Field("linear", description="learning-rate schedule after warm-up")
    batch_size: int = Field(16, ge=1, le=4096, description="per-device batch size")
    eval_batch_size: int | None = Field(
        None, ge=1, le=4096, description="evaluation batch size; unset: batch_size"
    )
    grad_accumulation: int = Field(1, ge=1, le=1024, description="batches per optimiser step")
    epochs: float = Field(3.0, gt=0, le=1000, description="passes over the training split")
    max_steps: int | None = Field(
        None, ge=1, description="stop after this many optimiser steps (overrides epochs)"
    )
    eval_steps: int | None = Field(
        None, ge=1, description="evaluate every N steps; unset: every epoch (or at max_steps)"
    )
    logging_steps: int = Field(10, ge=1, description="steps between lines of metrics.jsonl")
    weight_decay: float = Field(0.01, ge=0, lt=1, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    dropout: float | None = Field(
        None, ge=0, lt=1, description="override the model's dropout probabilities"
    )
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="classification label smoothing")
    early_stopping_patience: int | None = Field(
        2,
        ge=1,
        le=1000,
        description="evaluations without improvement before stopping; null: never stop early "
        "(the best checkpoint is restored either way)",
    )
    class_weights: Literal["auto", "none"] = Field(
        "auto", description="auto: weight the loss by inverse class frequency (balanced)"
    )
    split: SplitRatios = Field(default_factory=SplitRatios)
    group_column: str | None = Field(
        None,
        min_length=1,
        description="records sharing a value of this column stay in one split (e.g. a source "
        "document id); list it in the rules' fields.columns",
    )
    folds: int = Field(
        1, ge=1, le=50, description="K >= 2: also run stratified group K-fold cross-validation"
    )
    search: SearchSpace = Field(default_factory=SearchSpace)
    lora: LoraConfig | None = Field(None, description="train LoRA adapters instead (needs peft)")
    completion_only_loss: bool = Field(
        False,
        description="causal-lm: loss on the assistant turns (chat) or the last text field only",
    )
    positive_label: str | None = Field(
        None, description="favourable label for selection rates; unset: inferred if binary"
    )
    fairness_bootstrap: int = Field(
        200, ge=0, le=100_000, description="bootstrap resamples for the fairness intervals"
    )
    fairness_min_group_size: int | None = Field(
        None,
        ge=1,
        le=10**12,
        description="test groups with fewer records are reported, marked small and left out of "
        "the gaps; unset: the rules' outcome_bias min_group_size (default 30)",
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, description="training and split seed; unset: the rules' seed"
    )
    report_to: ReportTo = Field(
        "auto", description="experiment tracker; auto: tensorboard when it is installed"
    )

    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LORA_LR if self.lora is not None else DEFAULT_LR


def _first_error(exc: ValidationError) -> tuple[tuple[str | int, ...], str]:
    err = exc.errors(include_url=False)[0]
    loc: tuple[str | int, ...] = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc:
        return loc, f"unknown key {loc[-1]!r}"
    msg = err["msg"]
    given = err.get("input")
    if err["type"] != "missing" and not isinstance(given, (dict, list)) and given is not None:
        msg = f"{msg} (got {given!r})"
    return loc, msg


def rules_section(rules: Rules) -> tuple[dict[str, Any], list[YamlDoc]]:
    """The merged ``finetune:`` mapping of the rules files, and the documents that hold one."""
    declared = getattr(rules, SECTION, None)
    docs = [load_yaml(path) for path in rules.files]
    holders = [d for d in docs if isinstance(d.data, dict) and SECTION in d.data]
    if isinstance(declared, dict):
        return dict(declared), holders
    merged: dict[str, Any] = {}
    for doc in reversed(holders):  # rules.files lists the child first
        section = doc.data[SECTION]
        if section is None:
            continue
        if not isinstance(section, dict):
            raise RulesError(f"{doc.path}:{doc.line_of((SECTION,))}: {SECTION}: must be a mapping")
        merged = deep_merge(merged, section)
    return merged, holders


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML file holding either the settings themselves or a ``finetune:`` mapping."""
    doc = load_yaml(path)
    data = doc.data or {}
    if isinstance(data, dict) and set(data) == {SECTION}:
        data = data[SECTION] or {}
    if not isinstance(data, dict):
        raise RulesError(f"{path}:1: a finetune config must be a mapping of keys")
    return data


def resolve_config(
    rules: Rules,
    config: FinetuneConfig | dict[str, Any] | str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> FinetuneConfig:
    """Merge the rules' section, ``config`` and ``overrides`` (unset values ignored); validate."""
    from_rules, holders = rules_section(rules)
    if isinstance(config, FinetuneConfig):
        given = config.model_dump(exclude_unset=True)
        where = "config"
    elif isinstance(config, (str, Path)):
        given = load_config_file(config)
        where = str(config)
    else:
        given = dict(config or {})
        where = "config"
    merged = deep_merge(deep_merge(from_rules, given), {k: v for k, v in (overrides or {}).items()})
    try:
        return FinetuneConfig.model_validate(merged)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        dotted = ".".join(str(p) for p in loc)
        if _lookup(given, loc) is not None or _lookup(overrides or {}, loc) is not None:
            origin = where if _lookup(overrides or {}, loc) is None else "override"
            raise RulesError(f"{origin}: {SECTION}.{dotted}: {msg}") from None
        for doc in holders:
            if doc.has((SECTION, *loc)):
                raise RulesError(
                    f"{doc.path}:{doc.line_of((SECTION, *loc))}: {SECTION}.{dotted}: {msg}"
                ) from None
        raise RulesError(f"{SECTION}.{dotted}: {msg}") from None


def _lookup(data: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        if (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        ):
            data = data[part]
        else:
            return None
    return data


def settings_catalogue() -> list[dict[str, Any]]:
    """Every fine-tune setting (nested ones dotted) with its type, default and doc, in order
    (``curate rules show finetune``)."""
    rows: list[dict[str, Any]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            nested = next(
                (
                    a
                    for a in (annotation, *getattr(annotation, "__args__", ()))
                    if isinstance(a, type) and issubclass(a, BaseModel)
                ),
                None,
            )
            if nested is not None:
                walk(nested, f"{prefix}{name}.")
                continue
            rows.append(
                {
                    "setting": f"{prefix}{name}",
                    "type": annotation.__name__
                    if isinstance(annotation, type)
                    else str(annotation).replace("typing.", ""),
                    "default": info.get_default(call_default_factory=True),
                    "doc": info.description or "",
                }
            )

    walk(FinetuneConfig, "")
    return rows
