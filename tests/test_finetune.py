"""The gated fine-tune: the gate, data preparation, training outputs, folds, search, fairness.

Every model here is built from a config (2 layers, hidden size 32, random weights) with a
word-level tokenizer trained on the test texts: nothing is downloaded. Classification data is a
toy sentiment task (a sentiment word among filler words) that such a model learns in a few
epochs; causal-LM data is short chats.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sklearn")

from curate_testutil import read_jsonl, tiny_bert_classifier, word_level_tokenizer, write_jsonl

from audit.run import run_audit
from curate import registry
from curate.errors import RulesError
from finetune.config import FinetuneConfig, resolve_config
from finetune.run import finetune, search_candidates

POSITIVE = ["great", "excellent", "love", "happy", "wonderful"]
NEGATIVE = ["bad", "awful", "hate", "sad", "terrible"]
FILLER = ["the", "movie", "was", "really", "quite", "and", "plot", "acting", "film", "story"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
ALLOWED_INPUTS = {"input_ids", "attention_mask", "token_type_ids", "labels"}
# Fast training settings for the toy task (no warm-up, a high rate for random weights).
FAST = {"epochs": 10, "learning_rate": 3e-3, "batch_size": 8}
FAST_CONFIG = {"warmup": 0.0, "early_stopping_patience": None, "fairness_bootstrap": 50}


def _classification_records() -> list[dict[str, Any]]:
    rng = random.Random(7)
    records = []
    for i in range(84):
        label = "pos" if i % 3 else "neg"  # imbalanced 2:1
        words = [rng.choice(FILLER) for _ in range(4)]
        for _ in range(2):
            words.insert(
                rng.randrange(len(words) + 1), rng.choice(POSITIVE if label == "pos" else NEGATIVE)
            )
        group = [None, "a", "b", "b"][i % 4]
        records.append({"id": f"r{i}", "text": " ".join(words), "label": label, "group": group})
    # Five exact copies and five near copies (one filler word changed) of earlier records.
    for i in range(5):
        source = records[i * 7]
        records.append({**source, "id": f"exact{i}"})
        words = source["text"].split()
        spot = next(j for j, w in enumerate(words) if w in FILLER)
        words[spot] = "cinema" if words[spot] != "cinema" else "screen"
        records.append({**source, "id": f"near{i}", "text": " ".join(words)})
    return records


def _chat_records() -> list[dict[str, Any]]:
    rng = random.Random(11)
    records = []
    for i in range(36):
        word = rng.choice(POSITIVE + NEGATIVE)
        question = f"was the {rng.choice(FILLER)} {word}"
        answer = f"the film was {word} and the story was {rng.choice(FILLER)}"
        records.append(
            {
                "id": f"c{i}",
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ],
                "group": "a" if i % 2 else "b",
            }
        )
    return records


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Models this small gain nothing from threads, and on a busy machine threads that wait
    for each other make every step many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from transformers import GPT2Config, GPT2LMHeadModel

    root = tmp_path_factory.mktemp("finetune")
    records = _classification_records()
    chats = _chat_records()
    data = write_jsonl(root / "reviews.jsonl", records)
    chat_data = write_jsonl(root / "chats.jsonl", chats)
    texts = (
        [r["text"] for r in records]
        + [m["content"] for r in chats for m in r["messages"]]
        + ["cinema screen"]
    )
    bert_dir, gpt_dir = root / "bert", root / "gpt2"
    words = {w for text in texts for w in text.split()}
    size = {"hidden": 32, "layers": 2, "heads": 2}
    # The "pre-trained" weights are random (seed 0): the same ones every run.
    tiny_bert_classifier(bert_dir, words, hidden=size["hidden"], layers=size["layers"])
    chat_tokenizer = word_level_tokenizer(words, gpt_dir, chat_template=CHAT_TEMPLATE)
    GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(chat_tokenizer),
            n_embd=size["hidden"],
            n_layer=size["layers"],
            n_head=size["heads"],
            n_positions=64,
            bos_token_id=chat_tokenizer.eos_token_id,
            eos_token_id=chat_tokenizer.eos_token_id,
        )
    ).save_pretrained(gpt_dir)
    gate = "gate:\n  - metric: dataset.quarantined_rate\n    threshold: 0.01\n"
    rules = root / "rules.yaml"
    rules.write_text(
        "seed: 3\nfields: {text: text, id: id, label: label, sensitive: [group]}\n"
        "checks:\n  - check: outcome_bias\n    min_group_size: 5\n" + gate
    )
    chat_rules = root / "chat_rules.yaml"
    chat_rules.write_text("seed: 3\nfields: {chat: messages, id: id, sensitive: [group]}\n" + gate)
    return {
        "root": root,
        "data": data,
        "chat_data": chat_data,
        "bert": bert_dir,
        "gpt2": gpt_dir,
        "rules": rules,
        "chat_rules": chat_rules,
    }


@pytest.fixture(scope="module")
def passing_audit(assets: dict[str, Path]) -> Path:
    result = run_audit(assets["data"], assets["root"] / "audit", assets["rules"])
    assert result.passed
    return result.report_dir / "audit.json"


@pytest.fixture(scope="module")
def classification_run(assets: dict[str, Path], passing_audit: Path) -> tuple[Any, list[set[str]]]:
    """One classification run (reused by several tests), recording what forward() received."""
    from transformers.models.bert import modeling_bert

    seen: list[set[str]] = []
    original = modeling_bert.BertForSequenceClassification.forward

    @functools.wraps(original)
    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(set(kwargs))
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(modeling_bert.BertForSequenceClassification, "forward", recording)
        result = finetune(
            assets["data"],
            assets["bert"],
            assets["root"] / "run-cls",
            rules=assets["rules"],
            audit=passing_audit,
            config=FAST_CONFIG,
            **FAST,
        )
    return result, seen


def _refused(cli: Any, run: Path, *args: Any) -> str:
    code, _, err = cli("finetune", *args, "--out", run, "--epochs", "1")
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1
    assert not (run / "model").exists()
    assert not (run / "metrics.json").exists()
    return err


def test_gate_refuses_a_failing_audit(cli: Any, assets: dict[str, Path]) -> None:
    strict = assets["root"] / "strict.yaml"
    strict.write_text(
        "fields: {text: text, label: label}\n"
        "gate:\n  - metric: dataset.records\n    op: '>='\n    threshold: 1000\n"
    )
    run = assets["root"] / "refused-verdict"
    err = _refused(cli, run, assets["data"], "--model", assets["bert"], "--rules", strict)
    assert "verdict is FAIL" in err
    assert (run / "audit" / "audit.json").is_file()  # the audit ran first, into RUN/audit


def test_gate_refuses_a_dataset_hash_mismatch(
    cli: Any, assets: dict[str, Path], passing_audit: Path
) -> None:
    other = assets["root"] / "other.jsonl"
    other.write_bytes(
        assets["data"].read_bytes() + b'{"id": "x", "text": "one more", "label": "pos"}\n'
    )
    err = _refused(
        cli,
        assets["root"] / "refused-data",
        other,
        "--model",
        assets["bert"],
        "--rules",
        assets["rules"],
        "--audit",
        passing_audit,
    )
    assert "dataset sha256 differs" in err


def test_gate_refuses_a_rules_hash_mismatch(
    cli: Any, assets: dict[str, Path], passing_audit: Path
) -> None:
    changed = assets["root"] / "changed.yaml"
    changed.write_text(assets["rules"].read_text().replace("seed: 3", "seed: 4"))
    err = _refused(
        cli,
        assets["root"] / "refused-rules",
        assets["data"],
        "--model",
        assets["bert"],
        "--rules",
        changed,
        "--audit",
        passing_audit,
    )
    assert "rules sha256 differs" in err


def test_gate_refuses_a_tampered_audit(
    cli: Any, assets: dict[str, Path], passing_audit: Path
) -> None:
    data = json.loads(passing_audit.read_text())
    data["metrics"]["dataset.quarantined_rate"] = 0.0001
    tampered = assets["root"] / "tampered" / "audit.json"
    tampered.parent.mkdir()
    tampered.write_text(json.dumps(data))
    err = _refused(
        cli,
        assets["root"] / "refused-tampered",
        assets["data"],
        "--model",
        assets["bert"],
        "--rules",
        assets["rules"],
        "--audit",
        tampered,
    )
    assert "digest" in err


def test_classification_run_writes_every_output(
    classification_run: tuple[Any, list[set[str]]], passing_audit: Path
) -> None:
    from transformers import AutoModelForSequenceClassification

    result, _ = classification_run
    run = result.run_dir
    digest = json.loads(passing_audit.read_text())["digest"]["value"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert result.audit_digest == digest == metrics["audit"]["digest"]
    for name in ("accuracy", "precision_macro", "recall_macro", "f1_macro"):
        assert 0.0 <= metrics["test"][name] <= 1.0
    assert set(metrics["test"]["per_class"]) == {"neg", "pos"}
    # The toy task is learnt: better than always answering the majority class (F1 0.4).
    assert metrics["test"]["f1_macro"] > 0.6
    # Class weights are balanced: the minority class (neg, a third) weighs twice as much.
    weights = metrics["training"]["class_weights"]
    assert weights["neg"] == pytest.approx(2 * weights["pos"], rel=0.25)

    fairness = json.loads((run / "fairness.json").read_text())
    column = fairness["columns"][0]
    assert column["column"] == "group"
    assert {g["group"] for g in column["groups"]} <= {"a", "b", "__missing__"}
    outcome = column["by_outcome"][0]
    assert outcome["positive_label"] == "pos"  # inferred as the audit does: reads as true
    for row in outcome["groups"]:
        for name in ("selection_rate", "false_positive_rate", "false_negative_rate"):
            assert f"{name}_ci" in row
    assert "equalized_odds_difference" in fairness
    assert "demographic_parity_difference" in fairness

    log = read_jsonl(run / "metrics.jsonl")
    assert any("loss" in line and line["run"] == "final" for line in log)
    report = (run / "report.md").read_text()
    assert digest in report and "Outcome disparity" in report
    assert digest in (run / "report.html").read_text()
    card = (run / "model_card.md").read_text()
    assert digest in card and "Intended use" in card and "Disaggregated results" in card
    events = list((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert bool(events) == (importlib.util.find_spec("tensorboard") is not None)
    if events:  # every validation line reaches TensorBoard, the one after the restore too
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        tags = [
            value.tag
            for path in events
            for event in EventFileLoader(str(path)).Load()
            for value in event.summary.value
        ]
        assert tags.count("eval/f1_macro") == sum("eval_f1_macro" in line for line in log) > 1
    model = AutoModelForSequenceClassification.from_pretrained(run / "model")
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert not list(run.glob(".checkpoints-*"))


def test_the_best_checkpoint_is_restored(classification_run: tuple[Any, list[set[str]]]) -> None:
    result, _ = classification_run
    log = read_jsonl(result.run_dir / "metrics.jsonl")
    during = [line["eval_f1_macro"] for line in log if "eval_f1_macro" in line][:-1]
    assert result.metrics["validation"]["f1_macro"] == pytest.approx(max(during))


def test_the_sensitive_column_never_reaches_the_model(
    classification_run: tuple[Any, list[set[str]]],
) -> None:
    _, seen = classification_run
    assert seen, "the forward pass was not recorded"
    received = set().union(*seen)
    assert received <= ALLOWED_INPUTS
    assert "group" not in received


def test_exact_copies_stay_on_one_side_of_the_split(
    classification_run: tuple[Any, list[set[str]]],
) -> None:
    result, _ = classification_run
    splits = json.loads((result.run_dir / "splits.json").read_text())
    where = {rid: name for name in ("train", "validation", "test") for rid in splits[name]}
    for i in range(5):
        assert where[f"r{i * 7}"] == where[f"exact{i}"]


def _documents_with_near_copies(n: int, copies: int) -> list[dict[str, Any]]:
    """Sixty-word documents with distinct made-up words; the first ``copies`` have a near copy
    (the middle word swapped, as a demographic word swap would) under id ``near<i>``."""
    rng = random.Random(5)
    syllables = ["ka", "lo", "mi", "ren", "tas", "vu", "zel", "pho", "dri", "nom"]
    records = []
    for i in range(n):
        words = ["".join(rng.choices(syllables, k=3)) for _ in range(60)]
        records.append({"id": f"d{i}", "text": " ".join(words), "label": "xy"[i % 2]})
        if i < copies:
            words[30] = "swapped"
            records.append({"id": f"near{i}", "text": " ".join(words), "label": "xy"[i % 2]})
    return records


def test_near_copies_stay_on_one_side(tmp_path: Path) -> None:
    registry.load_plugins()
    if "dedupe_near" not in registry.STEPS:
        pytest.skip("curate's dedupe_near step is not available: exact-text groups only")
    import numpy as np

    from curate.rules import load_rules
    from finetune.data import read_records
    from finetune.split import k_folds, train_val_test

    data = write_jsonl(tmp_path / "docs.jsonl", _documents_with_near_copies(60, 10))
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("fields: {text: text, id: id, label: label}\n")
    records = read_records(data, load_rules(rules_file))
    assert "dedupe_near" in records.group_method
    group_of = dict(zip(records.ids, records.groups.tolist(), strict=True))
    assert all(group_of[f"d{i}"] == group_of[f"near{i}"] for i in range(10))
    assert len(set(group_of.values())) == 60  # unrelated documents are not joined
    labels = np.array([0 if v == "x" else 1 for v in records.frame["label"].to_list()])
    config = FinetuneConfig()
    for seed in range(5):
        parts = list(train_val_test(labels, records.groups, config.split, seed).__dict__.values())
        parts += [f.test for f in k_folds(labels, records.groups, 3, config.split, seed)]
        for part in parts:
            ids = {records.ids[j] for j in part}
            assert all((f"d{i}" in ids) == (f"near{i}" in ids) for i in range(10))


def test_group_aware_split_keeps_groups_whole_and_stratifies() -> None:
    import numpy as np

    from finetune.split import train_val_test

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(100), 2)  # 100 pairs
    labels = np.repeat(rng.integers(0, 2, 100), 2)
    split = train_val_test(labels, groups, FinetuneConfig().split, seed=1)
    parts = [set(groups[p].tolist()) for p in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(len(p) for p in (split.train, split.validation, split.test)) == 200
    assert 14 <= len(split.test) <= 26
    share = labels.mean()
    assert abs(labels[split.test].mean() - share) < 0.15
    again = train_val_test(labels, groups, FinetuneConfig().split, seed=1)
    assert (again.test == split.test).all()
    other = train_val_test(labels, groups, FinetuneConfig().split, seed=2)
    assert not (other.test.shape == split.test.shape and (other.test == split.test).all())


def test_the_same_seed_gives_the_same_metrics(
    assets: dict[str, Path], passing_audit: Path, classification_run: tuple[Any, list[set[str]]]
) -> None:
    first, _ = classification_run
    again = finetune(
        assets["data"],
        assets["bert"],
        assets["root"] / "run-cls-again",
        rules=assets["rules"],
        audit=passing_audit,
        config=FAST_CONFIG,
        **FAST,
    )
    assert (again.run_dir / "metrics.json").read_bytes() == (
        first.run_dir / "metrics.json"
    ).read_bytes()
    assert (again.run_dir / "fairness.json").read_bytes() == (
        first.run_dir / "fairness.json"
    ).read_bytes()


def test_k_folds_give_k_results(
    cli: Any, assets: dict[str, Path], passing_audit: Path, tmp_path: Path
) -> None:
    import numpy as np

    settings = tmp_path / "finetune.yaml"
    settings.write_text("finetune:\n  warmup: 0.0\n  fairness_bootstrap: 0\n")
    run = assets["root"] / "run-folds"
    code, out, err = cli(
        "finetune",
        assets["data"],
        "--model",
        assets["bert"],
        "--out",
        run,
        "--rules",
        assets["rules"],
        "--audit",
        passing_audit,
        "--config",
        settings,
        "--folds",
        "3",
        "--epochs",
        "3",
        "--lr",
        "1e-2",
        "--batch-size",
        "8",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["audit_digest"] == json.loads(passing_audit.read_text())["digest"]["value"]
    metrics = json.loads((run / "metrics.json").read_text())
    cv = metrics["cross_validation"]
    assert [f["fold"] for f in cv["folds"]] == [1, 2, 3]
    accuracies = [f["test"]["accuracy"] for f in cv["folds"]]
    assert cv["mean"]["accuracy"] == pytest.approx(np.mean(accuracies))
    assert cv["std"]["accuracy"] == pytest.approx(np.std(accuracies))
    assert "f1_macro" in cv["mean"] and "per_class.neg.recall" in cv["std"]
    folds = json.loads((run / "splits.json").read_text())["folds"]
    assert len(folds) == 3
    tested = [rid for fold in folds for rid in fold]
    assert len(tested) == len(set(tested)) == len(_classification_records())
    assert json.loads((run / "run.json").read_text())["config"]["warmup"] == 0.0


def test_search_scores_every_trial_on_validation(
    assets: dict[str, Path], passing_audit: Path
) -> None:
    space = {
        "enabled": True,
        "learning_rate": [1e-4, 1e-2],
        "batch_size": [8],
        "weight_decay": [0.0],
        "n_trials": 5,
    }
    result = finetune(
        assets["data"],
        assets["bert"],
        assets["root"] / "run-search",
        rules=assets["rules"],
        audit=passing_audit,
        config={**FAST_CONFIG, "search": space, "fairness_bootstrap": 0},
        epochs=3,
    )
    search = result.metrics["search"]
    assert [t["params"]["learning_rate"] for t in search["trials"]] == [1e-4, 1e-2]
    best = max(search["trials"], key=lambda t: t["score"])
    assert search["best_trial"] == best["trial"]
    assert result.metrics["training"]["learning_rate"] == best["params"]["learning_rate"]


def test_random_search_draws_are_seeded_and_in_range() -> None:
    from finetune.config import SearchSpace

    space = SearchSpace(
        method="random", learning_rate=[1e-5, 1e-3], batch_size=[8, 16], n_trials=20
    )
    draws = search_candidates(space, seed=5)
    assert draws == search_candidates(space, seed=5)
    assert draws != search_candidates(space, seed=6)
    assert all(1e-5 <= d["learning_rate"] <= 1e-3 for d in draws)
    assert {d["batch_size"] for d in draws} == {8, 16}


def test_causal_lm_run_on_chats(assets: dict[str, Path]) -> None:
    result = finetune(
        assets["chat_data"],
        assets["gpt2"],
        assets["root"] / "run-causal",
        rules=assets["chat_rules"],
        config={
            "task": "causal-lm",
            "completion_only_loss": True,
            "warmup": 0.0,
            "fairness_bootstrap": 20,
        },
        epochs=4,
        learning_rate=5e-3,
        batch_size=8,
    )
    run = result.run_dir
    assert (run / "audit" / "audit.json").is_file()  # no --audit: audited first
    metrics = json.loads((run / "metrics.json").read_text())
    for part in ("before", "test"):
        assert metrics[part]["perplexity"] == pytest.approx(
            2.718281828 ** metrics[part]["loss"], rel=1e-6
        )
    assert metrics["test"]["loss"] < metrics["before"]["loss"]
    fairness = json.loads((run / "fairness.json").read_text())
    assert {g["group"] for g in fairness["columns"][0]["groups"]} <= {"a", "b"}
    for name in ("report.md", "report.html", "model_card.md", "metrics.jsonl", "run.json"):
        assert (run / name).is_file(), name
    assert (run / "model" / "config.json").is_file()


def test_completion_only_labels_cover_the_assistant_turns(assets: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    from curate.rules import load_rules
    from finetune.data import read_records
    from finetune.encode import IGNORE, causal_texts, encode_causal

    rules = load_rules(assets["chat_rules"])
    tokenizer = AutoTokenizer.from_pretrained(assets["gpt2"])
    frame = read_records(assets["chat_data"], rules).frame.head(3)
    rendered = causal_texts(frame, rules, tokenizer, completion_only=True)
    encoded = encode_causal(rendered, tokenizer, 64)
    for item, record in zip(encoded.items, _chat_records()[:3], strict=True):
        assert item is not None
        kept = [
            t for t, label in zip(item["input_ids"], item["labels"], strict=True) if label != IGNORE
        ]
        answer = record["messages"][1]["content"]
        assert tokenizer.decode(kept) == f"{answer} <|end|>"
        assert record["messages"][0]["content"] not in tokenizer.decode(kept)


def test_lora_adapters_train_and_merge(assets: dict[str, Path]) -> None:
    pytest.importorskip("peft")
    result = finetune(
        assets["chat_data"],
        assets["gpt2"],
        assets["root"] / "run-lora",
        rules=assets["chat_rules"],
        config={
            "task": "causal-lm",
            "lora": {"r": 2, "alpha": 4, "target_modules": ["c_attn"]},
            "fairness_bootstrap": 0,
        },
        max_steps=4,
        batch_size=8,
    )
    assert result.metrics["training"]["learning_rate"] == pytest.approx(2e-4)
    model_dir = result.model_dir
    assert (model_dir / "config.json").is_file()
    assert not (model_dir / "adapter_config.json").exists()  # merged into the weights


def test_config_layers_and_errors_name_the_line(tmp_path: Path) -> None:
    from types import SimpleNamespace

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("fields: {text: text}\nfinetune:\n  epochs: 2\n  batch_size: 4\n")
    rules = SimpleNamespace(files=[str(rules_file)])
    cfg = resolve_config(rules, {"batch_size": 8}, {"epochs": 5})  # type: ignore[arg-type]
    assert (cfg.epochs, cfg.batch_size) == (5, 8)
    assert cfg.resolved_learning_rate() == 2e-5
    rules_file.write_text("fields: {text: text}\nfinetune:\n  epochs: 2\n  learning_rate: 5\n")
    with pytest.raises(RulesError, match=r"rules\.yaml:4: finetune\.learning_rate"):
        resolve_config(rules)  # type: ignore[arg-type]
    with pytest.raises(RulesError, match="train \\+ validation \\+ test must be 1"):
        resolve_config(
            rules,
            {
                "learning_rate": 1e-4,  # type: ignore[arg-type]
                "split": {"train": 0.5, "validation": 0.1, "test": 0.1},
            },
        )


def test_group_column_keeps_its_records_together(tmp_path: Path) -> None:
    from curate.batch import from_texts
    from curate.rules import load_rules
    from finetune.data import group_ids

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("fields: {text: text, columns: [item]}\n")
    frame = from_texts(
        ["alpha one", "beta two", "gamma three", "Alpha  ONE", "delta four"],
        columns={"item": ["1", "2", "1", "3", None]},
    )
    groups, method = group_ids(frame, load_rules(rules_file), "item")
    assert "'item'" in method
    # 0 and 2 share the item; 3 is an exact copy of 0 (case and spaces aside); 1 and 4 alone.
    assert groups[0] == groups[2] == groups[3]
    assert len({groups[0], groups[1], groups[4]}) == 3


def test_groups_follow_any_step_declaring_near_copy_clusters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """finetune knows no step by name: a step of the test's own that declares
    ``groups_near_copies`` joins its clusters (by ``_cluster`` and by ``_duplicate_of``)."""
    import polars as pl

    from curate import batch as B
    from curate.batch import from_texts
    from curate.rules import load_rules
    from finetune.data import group_ids

    class FirstWordClusters(registry.Step[registry.Params]):
        """Marks every record after the first with its first word as a copy of that first one."""

        name = "test_first_word_clusters"
        Params = registry.Params
        groups_near_copies = True

        def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
            word = pl.col(B.TEXT).str.split(" ").list.first()
            later = pl.int_range(pl.len()).over(word) > 0
            return batch.with_columns(
                pl.when(later).then(pl.lit("copy")).alias(B.REASON),
                pl.when(later).then(pl.col(B.ID).first().over(word)).alias(B.DUPLICATE_OF),
            )

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("fields: {text: text}\n")
    frame = from_texts(["red one", "blue two", "red three", "green four", "blue five"])
    rules = load_rules(rules_file)
    _, without = group_ids(frame, rules)
    assert "test_first_word_clusters" not in without
    monkeypatch.setitem(registry.STEPS, FirstWordClusters.name, FirstWordClusters)
    groups, method = group_ids(frame, rules)
    assert "test_first_word_clusters clusters" in method
    assert groups[0] == groups[2] != groups[1] == groups[4] != groups[3]
    assert len({groups[0], groups[1], groups[3]}) == 3


def _fairlearn_reference(
    y_true: Any, y_pred: Any, class_names: list[str], groups: list[str], n_boot: int, seed: int
) -> dict[str, Any]:
    """Per-group figures, intervals and gaps straight from fairlearn's MetricFrame (its own
    pandas bootstrap) and scikit-learn, for one sensitive column, every class one-vs-rest."""
    import numpy as np
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
    )
    from sklearn.metrics import accuracy_score, f1_score

    labels = list(range(len(class_names)))

    def f1_macro(t: Any, p: Any) -> float:
        return float(f1_score(t, p, labels=labels, average="macro", zero_division=0))

    def rows(metrics: dict[str, Any], t: Any, p: Any) -> list[dict[str, Any]]:
        frame = MetricFrame(
            metrics=metrics,
            y_true=t,
            y_pred=p,
            sensitive_features=np.asarray(groups, dtype=object),
            n_boot=n_boot,
            ci_quantiles=[0.025, 0.975],
            random_state=seed,
        )
        out = []
        for group in frame.by_group.index:
            row: dict[str, Any] = {"group": group}
            for metric in frame.by_group.columns:
                row[metric] = float(frame.by_group.loc[group, metric])
                row[f"{metric}_ci"] = [float(c.loc[group, metric]) for c in frame.by_group_ci]
            out.append(row)
        return out

    outcomes = []
    for index, name in enumerate(class_names):
        t, p = (y_true == index).astype(int), (y_pred == index).astype(int)
        rates = {
            "selection_rate": selection_rate,
            "false_positive_rate": false_positive_rate,
            "false_negative_rate": false_negative_rate,
        }
        outcomes.append(
            {
                "positive_label": name,
                "groups": rows(rates, t, p),
                "equalized_odds_difference": equalized_odds_difference(
                    t, p, sensitive_features=groups
                ),
                "demographic_parity_difference": demographic_parity_difference(
                    t, p, sensitive_features=groups
                ),
            }
        )
    overall = rows({"accuracy": accuracy_score, "f1_macro": f1_macro}, y_true, y_pred)
    return {"groups": overall, "by_outcome": outcomes}


def test_fairness_figures_and_intervals_are_fairlearns(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fairlearn")
    import numpy as np

    from finetune import fairness

    rng = np.random.default_rng(4)
    n, class_names = 48, ["a", "b", "c"]
    y_true = rng.integers(0, 3, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 3, n))
    # A one-record group is missing from many resamples; "c" is never predicted for group y.
    groups = ["solo", *["x", "y"] * ((n - 1) // 2), "x"]
    y_pred[[i for i, g in enumerate(groups) if g == "y"]] %= 2
    ours = fairness.classification_fairness(
        y_true, y_pred, class_names, {"g": groups}, positive_label=None, n_boot=12, seed=9
    )
    reference = _fairlearn_reference(y_true, y_pred, class_names, groups, 12, 9)
    column = ours["columns"][0]
    for mine, theirs in zip(column["groups"], reference["groups"], strict=True):
        assert {k: v for k, v in mine.items() if k not in ("records", "small")} == theirs
    for mine, theirs in zip(column["by_outcome"], reference["by_outcome"], strict=True):
        assert [
            {k: v for k, v in g.items() if k not in ("records", "small")} for g in mine["groups"]
        ] == theirs["groups"]
        for gap in ("equalized_odds_difference", "demographic_parity_difference"):
            assert mine[gap] == theirs[gap]
    assert [g["records"] for g in column["groups"]] == [groups.count(g) for g in ("solo", "x", "y")]
    # Resamples drawn in small chunks give the same intervals (memory bound on big test sets).
    monkeypatch.setattr(fairness, "BOOTSTRAP_CHUNK", 3 * n)
    again = fairness.classification_fairness(
        y_true, y_pred, class_names, {"g": groups}, positive_label=None, n_boot=12, seed=9
    )
    assert again == ours
    other = fairness.classification_fairness(
        y_true, y_pred, class_names, {"g": groups}, positive_label=None, n_boot=12, seed=10
    )
    assert other["columns"][0]["groups"] != column["groups"]  # the seed matters


class _Spy:
    """A progress reporter that records what the fine-tune told it."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.updates: list[tuple[int, dict[str, Any]]] = []

    def __call__(self, records: int, done_bytes: int) -> None:
        pass

    def phase(self, name: str, total: int | None = None) -> None:
        self.phases.append((name, total))

    def update(self, completed: int, **fields: Any) -> None:
        self.updates.append((completed, fields))


def test_finetune_reports_phases_and_training_steps(
    assets: dict[str, Path], passing_audit: Path
) -> None:
    spy = _Spy()
    finetune(
        assets["data"],
        assets["bert"],
        assets["root"] / "run-progress",
        rules=assets["rules"],
        audit=passing_audit,
        config=FAST_CONFIG,
        progress=spy,
        **{**FAST, "epochs": 1},
    )
    names = [name for name, _ in spy.phases]
    assert names == ["gate", "encode", "split", "train final", "evaluate", "report"]
    total = dict(spy.phases)["train final"]
    assert total and spy.updates[-1][0] == total  # the bar ends at the last step
    assert [step for step, _ in spy.updates] == list(range(1, total + 1))
