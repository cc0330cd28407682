"""``curate finetune``: gate, prepare, train (with optional search and K folds), report.

The gate (``finetune.gate``) runs before any model is loaded; nothing is trained or written to
``<run>/model`` unless it passes. Then: read the records with the rules' fields, group near
duplicates, tokenise, split (seeded, stratified, group-aware), train, evaluate on the test
split, disaggregate by the sensitive columns, save the model and write the outputs:

``metrics.json``, ``fairness.json`` (with sensitive columns), ``metrics.jsonl`` (every training
log line), ``splits.json`` (record ids per split), ``run.json`` (provenance, timings),
``report.md`` / ``report.html``, ``model_card.md``, ``model/`` and ``tensorboard/`` (when
tensorboard is installed). ``metrics.json`` holds no timings, so equal seeds give equal files.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from curate.atomic import write_json, write_text
from curate.errors import InputError, RulesError
from curate.progress import start_phase
from curate.rules import Rules, load_rules
from curate.version import __version__
from finetune import report
from finetune.config import FinetuneConfig, SearchSpace, resolve_config
from finetune.data import read_records
from finetune.encode import ensure_pad_token
from finetune.gate import GatePass, check_gate
from finetune.metrics import summarize_folds
from finetune.split import Split, k_folds, train_val_test
from finetune.tasks import TASKS, Task
from finetune.train import (
    DependencyError,
    LogSink,
    ModelSource,
    Trained,
    load_base_model,
    load_tokenizer,
    resolve_max_length,
    save_model,
    train_once,
)

REQUIRED = ("torch", "transformers", "accelerate", "sklearn")
#: What a run writes into its folder; ``--overwrite`` removes these (and only these) first.
RUN_OUTPUTS = (
    "model",
    "tensorboard",
    "metrics.json",
    "fairness.json",
    "metrics.jsonl",
    "splits.json",
    "run.json",
    "report.md",
    "report.html",
    "model_card.md",
)
VERSIONED = ("torch", "transformers", "accelerate", "scikit-learn", "fairlearn", "peft")


@dataclass
class FinetuneResult:
    run_dir: Path
    model_dir: Path
    metrics: dict[str, Any]
    fairness: dict[str, Any] | None
    audit_digest: str
    config: FinetuneConfig


def _require_packages() -> None:
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise DependencyError(
            f"curate finetune needs {', '.join(missing)}: pip install 'curate[finetune]'"
        )


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def search_candidates(space: SearchSpace, seed: int) -> list[dict[str, Any]]:
    """Grid: the combinations in order (at most n_trials). Random: seeded draws, the learning
    rate log-uniform between the smallest and largest listed value."""
    if space.method == "grid":
        combos = itertools.product(space.learning_rate, space.batch_size, space.weight_decay)
        return [
            {"learning_rate": lr, "batch_size": bs, "weight_decay": wd}
            for lr, bs, wd in itertools.islice(combos, space.n_trials)
        ]
    rng = np.random.default_rng(seed)
    low, high = np.log(min(space.learning_rate)), np.log(max(space.learning_rate))
    return [
        {
            "learning_rate": float(np.exp(rng.uniform(low, high)))
            if high > low
            else space.learning_rate[0],
            "batch_size": int(rng.choice(space.batch_size)),
            "weight_decay": float(rng.choice(space.weight_decay)),
        }
        for _ in range(space.n_trials)
    ]


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers draws a bar for every checkpoint it loads or writes: noise in a run log."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class _Runner:
    """Holds what every training of one run shares."""

    def __init__(
        self, task: Task, tokenizer: Any, base: Any, seed: int, scratch: Path, logs: LogSink
    ) -> None:
        self.task = task
        self.tokenizer = tokenizer
        self.base = base
        self.seed = seed
        self.scratch = scratch
        self.logs = logs

    def train(self, name: str, cfg: FinetuneConfig, split: Split) -> Trained:
        task = self.task
        return train_once(
            name=name,
            base_model=self.base,
            tokenizer=self.tokenizer,
            cfg=cfg,
            task=task.name,
            seed=self.seed,
            train_set=task.dataset(split.train),
            validation_set=task.dataset(split.validation),
            collator=task.collator(self.tokenizer),
            compute_metrics=task.compute_metrics(),
            metric=task.metric,
            greater_is_better=task.greater_is_better,
            class_weights=task.class_weights(split.train),
            scratch=self.scratch,
            logs=self.logs,
        )

    def score(self, trained: Trained) -> float:
        value = trained.best_metric
        if value is None or not np.isfinite(value):
            return -np.inf
        return float(value) if self.task.greater_is_better else -float(value)

    def search(
        self, cfg: FinetuneConfig, split: Split
    ) -> tuple[Trained, FinetuneConfig, dict[str, Any]]:
        best: tuple[float, Trained, FinetuneConfig, int] | None = None
        trials = []
        for number, params in enumerate(search_candidates(cfg.search, self.seed), start=1):
            trial_cfg = cfg.model_copy(update=params)
            trained = self.train(f"trial-{number}", trial_cfg, split)
            score = self.score(trained)
            trials.append(
                {
                    "trial": number,
                    "params": params,
                    "score": trained.best_metric,
                    "epochs_run": trained.epochs_run,
                }
            )
            if best is None or score > best[0]:
                best = (score, trained, trial_cfg, number)
            else:
                del trained
        assert best is not None
        summary = {
            "method": cfg.search.method,
            "metric": f"validation {self.task.metric}",
            "trials": trials,
            "best_trial": best[3],
        }
        return best[1], best[2], summary


def _validation_figures(logged: dict[str, Any], task: str) -> dict[str, Any]:
    """The Trainer's validation log without timings (they differ between equal runs)."""
    out = {
        k: v
        for k, v in logged.items()
        if k not in ("runtime", "epoch") and not k.endswith("_per_second")
    }
    if task == "causal-lm" and out.get("loss") is not None:
        out["perplexity"] = float(np.exp(min(out["loss"], 700.0)))
    return out


def majority_baseline(labels: dict[str, int]) -> dict[str, Any]:
    """The test accuracy of always predicting the most frequent test class."""
    total = sum(labels.values())
    if not total:
        return {"majority_class": None, "accuracy": None}
    top = max(labels, key=lambda name: (labels[name], name))
    return {"majority_class": top, "accuracy": labels[top] / total}


def _split_summary(task: Task, split: Split) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rows in (
        ("train", split.train),
        ("validation", split.validation),
        ("test", split.test),
    ):
        entry: dict[str, Any] = {"records": len(rows)}
        if task.class_names is not None:
            entry["labels"] = task.distribution(rows)  # type: ignore[attr-defined]
        out[name] = entry
    return out


def _check_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Refuse a run folder holding anything but an earlier refused run's ``audit/``."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir}: the run folder is a file")
    entries = sorted(p.name for p in run_dir.iterdir()) if run_dir.is_dir() else []
    if entries and entries != ["audit"] and not overwrite:
        shown = ", ".join(entries[:4]) + (", …" if len(entries) > 4 else "")
        raise InputError(
            f"{run_dir}: the run folder is not empty ({shown}): choose a new folder, or pass "
            "--overwrite to replace an earlier run's outputs"
        )


def _clear_outputs(run_dir: Path) -> None:
    """Remove an earlier run's outputs (so models and TensorBoard runs never mix)."""
    for name in RUN_OUTPUTS:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def finetune(
    data: str | Path,
    model: str | Path,
    out: str | Path,
    rules: Rules | str | Path | None = None,
    audit: str | Path | None = None,
    *,
    config: FinetuneConfig | dict[str, Any] | str | Path | None = None,
    overwrite: bool = False,
    progress: Any = None,
    require_signed: bool = False,
    **overrides: Any,
) -> FinetuneResult:
    """Fine-tune ``model`` on ``data`` if an audit of exactly that file passed under ``rules``.

    ``overrides`` are ``FinetuneConfig`` fields (``epochs=1``, ``learning_rate=3e-5``,
    ``search={"enabled": True}``); ``None`` values are ignored. They win over ``config``, which
    wins over the rules' ``finetune:`` section. A run folder that is not empty is refused
    unless ``overwrite`` (which removes the earlier run's outputs once the gate has passed); a
    refused run writes nothing, except the audit it ran itself (``<run>/audit``, which says why).
    ``progress`` (``curate.progress``) hears the phases and every training step.
    ``require_signed`` refuses an audit without a signature that verifies under
    ``CURATE_SIGNING_KEY``.
    """
    started = time.perf_counter()
    _require_packages()
    data_path, run_dir = Path(data), Path(out)
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    cfg = resolve_config(rules, config, {k: v for k, v in overrides.items() if v is not None})
    source = ModelSource.from_path(model)
    if not data_path.exists():  # a file, or a saved `datasets` folder
        raise InputError(f"{data_path}: input not found")
    if cfg.task == "classification" and rules.fields.label is None:
        raise RulesError(f"{rules.source}: classification needs fields.label in the rules")
    _check_run_dir(run_dir, overwrite)
    start_phase(progress, "audit" if audit is None else "gate")
    # with `audit` given, writes nothing
    gate = check_gate(data_path, rules, audit, run_dir, require_signed=require_signed)
    run_dir.mkdir(parents=True, exist_ok=True)
    if overwrite:
        _clear_outputs(run_dir)

    with _no_progress_bars():
        return _train_and_report(data_path, run_dir, rules, cfg, source, gate, started, progress)


def _train_and_report(
    data_path: Path,
    run_dir: Path,
    rules: Rules,
    cfg: FinetuneConfig,
    source: ModelSource,
    gate: GatePass,
    started: float,
    progress: Any = None,
) -> FinetuneResult:
    seed = cfg.seed if cfg.seed is not None else rules.seed
    start_phase(progress, "encode")
    records = read_records(data_path, rules, cfg.group_column, expect_sha256=gate.data_sha256)
    task = TASKS[cfg.task](records, rules, cfg)
    tokenizer = load_tokenizer(source, cfg)
    ensure_pad_token(tokenizer)
    base = load_base_model(source, cfg, seed, task.class_names, tokenizer.pad_token_id)
    max_length = resolve_max_length(cfg, tokenizer, base)
    task.prepare(tokenizer, max_length)
    start_phase(progress, "split")
    split = train_val_test(task.labels, task.groups, cfg.split, seed)

    logs = LogSink(run_dir, cfg.report_to, progress)
    scratch = Path(tempfile.mkdtemp(prefix=".checkpoints-", dir=run_dir))
    runner = _Runner(task, tokenizer, base, seed, scratch, logs)
    results: dict[str, Any] = {"task": task.name}
    try:
        if task.name == "causal-lm":
            results["before"] = task.evaluate(base, tokenizer, split.test)[0]
        search = None
        if cfg.search.enabled:
            final, cfg, search = runner.search(cfg, split)
        else:
            final = runner.train("final", cfg, split)
        folds: list[Split] = []
        fold_results = []
        if cfg.folds >= 2:
            folds = k_folds(task.labels, task.groups, cfg.folds, cfg.split, seed)
            for number, fold in enumerate(folds, start=1):
                trained = runner.train(f"fold-{number}", cfg, fold)
                fold_metrics = task.evaluate(trained.model, tokenizer, fold.test)[0]
                fold_results.append(
                    {
                        "fold": number,
                        "sizes": fold.sizes(),
                        "epochs_run": trained.epochs_run,
                        "test": fold_metrics,
                    }
                )
                del trained
        start_phase(progress, "evaluate")
        test_metrics, raw = task.evaluate(final.model, tokenizer, split.test)
        fairness = task.fairness(raw, split.test, seed) if rules.fields.sensitive else None
        save_model(final.model, tokenizer, run_dir / "model")
        logs.commit()
    except BaseException:
        logs.abort()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    results.update(
        {
            "classes": task.class_names,
            "validation": _validation_figures(final.validation, task.name),
            "test": test_metrics,
            "training": {
                "run": final.name,
                "metric": task.metric,
                "best_validation_metric": final.best_metric,
                "epochs_run": final.epochs_run,
                "learning_rate": cfg.resolved_learning_rate(),
                "batch_size": cfg.batch_size,
                "weight_decay": cfg.weight_decay,
            },
            "data": {
                "records": records.height,
                "quarantined": records.quarantined,
                "used": len(task.items),
                "dropped": task.dropped,
                "groups": len(np.unique(task.groups)),
                "group_method": records.group_method,
            },
            "splits": _split_summary(task, split),
            "audit": gate.to_json(),
        }
    )
    if task.name == "classification":
        results["baseline"] = majority_baseline(results["splits"]["test"].get("labels") or {})
        results["training"]["class_weights"] = (
            None
            if cfg.class_weights == "none"
            else dict(
                zip(task.class_names or [], task.class_weights(split.train).tolist(), strict=True)
            )
        )
    if fold_results:
        results["cross_validation"] = {
            "folds": fold_results,
            **summarize_folds([f["test"] for f in fold_results]),
        }
    if search is not None:
        results["search"] = search
    start_phase(progress, "report")
    _write_outputs(
        run_dir,
        results,
        fairness,
        gate,
        task,
        split,
        folds,
        cfg,
        seed,
        max_length,
        source,
        rules,
        data_path,
        started,
        final,
    )
    return FinetuneResult(run_dir, run_dir / "model", results, fairness, gate.digest, cfg)


def _write_outputs(
    run_dir: Path,
    results: dict[str, Any],
    fairness: dict[str, Any] | None,
    gate: GatePass,
    task: Task,
    split: Split,
    folds: list[Split],
    cfg: FinetuneConfig,
    seed: int,
    max_length: int,
    source: ModelSource,
    rules: Rules,
    data_path: Path,
    started: float,
    final: Trained,
) -> None:
    import orjson
    import torch

    write_json(run_dir / "metrics.json", results)
    if fairness is not None:
        write_json(run_dir / "fairness.json", fairness)
    write_json(
        run_dir / "splits.json",
        {
            "seed": seed,
            "group_method": results["data"]["group_method"],
            **{
                name: task.ids(rows)
                for name, rows in (
                    ("train", split.train),
                    ("validation", split.validation),
                    ("test", split.test),
                )
            },
            "folds": [task.ids(f.test) for f in folds],
        },
    )
    run = {
        "tool": {"name": "curate", "version": __version__},
        "task": task.name,
        "data": {"path": str(data_path), "sha256": gate.data_sha256},
        "rules": {"name": rules.name, "source": rules.shown_source, "sha256": rules.sha256},
        "audit": gate.to_json(),
        "model": {
            "path": str(Path(source.folder) / (source.gguf_file or "")),
            "output": str(run_dir / "model"),
        },
        "config": cfg.model_dump(mode="json"),
        "learning_rate": cfg.resolved_learning_rate(),
        "seed": seed,
        "max_length": max_length,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "versions": _versions(),
        "seconds": time.perf_counter() - started,
        "final_training_seconds": final.seconds,
    }
    write_json(run_dir / "run.json", run)
    history = [
        orjson.loads(line) for line in (run_dir / "metrics.jsonl").read_bytes().splitlines() if line
    ]
    doc = report.build_report(run, results, fairness, gate.audit, history)
    text, page = report.render_report(doc)
    write_text(run_dir / "report.md", text)
    write_text(run_dir / "report.html", page)
    card = report.build_model_card(run, results, fairness, gate.audit)
    write_text(run_dir / "model_card.md", report.render_report(card)[0])
