"""Model fairness follows the data audit's small-group rule; accuracy is read against the
majority-class baseline."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("fairlearn")

from audit.report import markdown
from audit.report.document import Document
from curate.rules import load_rules
from finetune import fairness
from finetune.report import fairness_section, results_section
from finetune.run import majority_baseline


def _predictions() -> tuple[np.ndarray, np.ndarray, list[str]]:
    # Two groups of 40 with similar selection rates, and a group of 3 always selected.
    y_true = np.array([0, 1] * 40 + [1, 1, 1])
    y_pred = np.array([0, 1] * 20 + [0, 1, 1, 1] * 10 + [1, 1, 1])
    groups = ["a"] * 40 + ["b"] * 40 + ["tiny"] * 3
    return y_true, y_pred, groups


def test_small_groups_are_marked_and_left_out_of_the_gaps() -> None:
    y_true, y_pred, groups = _predictions()
    kw = {"positive_label": "yes", "n_boot": 20, "seed": 1}
    everyone = fairness.classification_fairness(
        y_true, y_pred, ["no", "yes"], {"g": groups}, **kw, min_group_size=1
    )
    ruled = fairness.classification_fairness(
        y_true, y_pred, ["no", "yes"], {"g": groups}, **kw, min_group_size=30
    )
    column = ruled["columns"][0]
    assert column["small_groups"] == ["tiny"]
    assert [g["small"] for g in column["groups"]] == [False, False, True]
    # Selection rates: a 0.5, b 0.75, tiny 1.0; the tiny group no longer drives the gap.
    assert everyone["demographic_parity_difference"] == pytest.approx(0.5)
    assert ruled["demographic_parity_difference"] == pytest.approx(0.25)
    assert ruled["min_group_size"] == 30
    text = markdown.render(Document("t", "pass", [fairness_section(ruled)]))
    assert "| tiny (small) | 3 |" in text
    assert "fewer than 30 test records (the data audit's small-group rule)" in text


def test_every_group_small_means_no_gap() -> None:
    y_true, y_pred, groups = _predictions()
    result = fairness.classification_fairness(
        y_true, y_pred, ["no", "yes"], {"g": groups}, positive_label="yes", n_boot=0, seed=1,
        min_group_size=1000,
    )  # fmt: skip
    assert result["demographic_parity_difference"] is None
    one_large = fairness.classification_fairness(
        y_true, y_pred, ["no", "yes"], {"g": ["a"] * 80 + ["tiny"] * 3}, positive_label="yes",
        n_boot=0, seed=1, min_group_size=30,
    )  # fmt: skip
    assert one_large["demographic_parity_difference"] is None  # one group: no gap, not 0
    nll = np.ones((6, 2))
    causal = fairness.causal_fairness(nll, {"g": ["a"] * 5 + ["b"]}, n_boot=0, seed=0,
                                      min_group_size=3)  # fmt: skip
    assert causal["columns"][0]["small_groups"] == ["b"]
    assert causal["columns"][0]["perplexity_ratio"] is None  # one gated group: no ratio


def test_the_rule_comes_from_the_data_audit(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "fields: {text: text, label: y, sensitive: [g]}\n"
        "checks:\n  - check: outcome_bias\n    min_group_size: 12\n"
    )
    assert fairness.group_size_rule(load_rules(path), None) == 12
    assert fairness.group_size_rule(load_rules(path), 5) == 5
    assert fairness.group_size_rule(load_rules("default"), None) == 30


def _results(accuracy: float) -> dict:
    return {
        "task": "classification",
        "validation": {"accuracy": accuracy},
        "test": {"accuracy": accuracy},
        "training": {"epochs_run": 1},
        "baseline": majority_baseline({"pos": 8, "neg": 2}),
    }


def test_report_says_when_accuracy_is_below_the_majority_baseline() -> None:
    below = markdown.render(Document("t", "pass", [results_section(_results(0.7))]))
    assert "**Test accuracy 0.7 is below the majority-class baseline 0.8 (always predicting " \
        "'pos')**" in below  # fmt: skip
    above = markdown.render(Document("t", "pass", [results_section(_results(0.9))]))
    assert "below" not in above and "against the majority-class baseline 0.8" in above
