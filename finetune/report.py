"""The run report (Markdown and HTML) and the model card, built from the run's own outputs.

Both are laid out with the audit's document model and renderers (``audit.report``), so a
fine-tuning report reads like an audit report: training figures beside the audit's bias and
privacy summary (PII rates and detector mode, representation, outcome disparity), read from
whatever checks the audit ran (a check it did not run is said to be missing, not zero).
"""

from __future__ import annotations

from typing import Any

from audit.report import html, markdown
from audit.report.document import (
    TO_COMPLETE,
    Document,
    KeyValues,
    Section,
    Table,
    Text,
    fmt,
)

HEADLINE = {
    "classification": ("accuracy", "precision_macro", "recall_macro", "f1_macro"),
    "causal-lm": ("loss", "perplexity", "tokens"),
}


def _ci(value: Any) -> str:
    if not isinstance(value, list) or len(value) != 2:
        return "n/a"
    return f"[{fmt(value[0])}, {fmt(value[1])}]"


def _run_section(run: dict[str, Any]) -> Section:
    audit = run["audit"]
    return Section(
        "Run",
        [
            KeyValues(
                [
                    ("task", run["task"]),
                    ("model", run["model"]["path"]),
                    ("data", run["data"]["path"]),
                    ("data sha256", run["data"]["sha256"]),
                    ("rules", f"{run['rules']['name']} ({run['rules']['source']})"),
                    ("rules sha256", run["rules"]["sha256"]),
                    ("audit", audit["path"]),
                    ("audit digest (sha256)", audit["digest"]),
                    ("seed", run["seed"]),
                    ("max tokens per record", run["max_length"]),
                    ("device", run["device"]),
                    ("wall time (s)", round(run["seconds"], 1)),
                ]
            )
        ],
    )


def settings_section(run: dict[str, Any]) -> Section:
    """Every fine-tune setting with the value the run used."""
    config = dict(run["config"])
    # Settings left to their defaults are stored as None; the report shows what was used.
    if config.get("learning_rate") is None and run.get("learning_rate") is not None:
        config["learning_rate"] = run["learning_rate"]
    items = sorted(flatten_config(config).items())
    return Section("Hyper-parameters (as used)", [KeyValues(items)])


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten_config(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = (
                ", ".join(fmt(v) for v in value) if isinstance(value, list) else value
            )
    return out


def _data_section(metrics: dict[str, Any]) -> Section:
    data = metrics["data"]
    dropped = ", ".join(f"{k}: {v}" for k, v in data["dropped"].items()) or "none"
    section = Section(
        "Data and splits",
        [
            KeyValues(
                [
                    ("valid records read", data["records"]),
                    ("quarantined lines (not used)", data["quarantined"]),
                    ("records used", data["used"]),
                    ("records left out", dropped),
                    ("near-duplicate groups", data["groups"]),
                    ("grouped by", data["group_method"]),
                ]
            ),
            Text(
                "Splits are seeded and group-aware: every record of a near-duplicate group is "
                "in the same split, so the test set holds no near copy of a training record."
            ),
        ],
    )
    splits = metrics["splits"]
    labels = sorted({k for s in splits.values() for k in s.get("labels", {})})
    rows = [
        [name, s["records"], *[s.get("labels", {}).get(k, 0) for k in labels]]
        for name, s in splits.items()
    ]
    section.blocks.append(Table(["split", "records", *labels], rows, caption="split sizes"))
    return section


def results_section(metrics: dict[str, Any]) -> Section:
    task = metrics["task"]
    section = Section("Results")
    headline = HEADLINE[task]
    columns = ["metric", "validation", "test"]
    rows = [[m, metrics["validation"].get(m), metrics["test"].get(m)] for m in headline]
    if "before" in metrics:
        columns = ["metric", "test before fine-tuning", "validation", "test"]
        rows = [
            [m, metrics["before"].get(m), metrics["validation"].get(m), metrics["test"].get(m)]
            for m in headline
        ]
    section.blocks.append(Table(columns, rows, caption="final model (best checkpoint)"))
    baseline = metrics.get("baseline") or {}
    accuracy = metrics["test"].get("accuracy")
    if baseline.get("accuracy") is not None and accuracy is not None:
        versus = (
            f"majority-class baseline {fmt(baseline['accuracy'])} (always predicting "
            f"{baseline['majority_class']!r})"
        )
        section.blocks.append(
            Text(
                f"**Test accuracy {fmt(accuracy)} is below the {versus}**: the model does no "
                "better than the class balance; do not use it as is."
                if accuracy < baseline["accuracy"]
                else f"Test accuracy {fmt(accuracy)} against the {versus}."
            )
        )
    per_class = metrics["test"].get("per_class")
    if per_class:
        section.blocks.append(
            Table(
                ["class", "precision", "recall", "f1", "support"],
                [
                    [c, v["precision"], v["recall"], v["f1"], v["support"]]
                    for c, v in per_class.items()
                ],
                caption="test, per class",
            )
        )
    training = metrics["training"]
    section.blocks.append(KeyValues([(k.replace("_", " "), v) for k, v in training.items()]))
    cv = metrics.get("cross_validation")
    if cv:
        keys = [k for k in cv["mean"] if k.split(".")[0] in headline or k.startswith("per_class")]
        section.children.append(
            Section(
                f"Cross-validation ({len(cv['folds'])} stratified group folds)",
                [
                    Table(
                        ["metric", "mean", "std"], [[k, cv["mean"][k], cv["std"][k]] for k in keys]
                    ),
                    Table(
                        ["fold", "train", "validation", "test", *headline],
                        [
                            [
                                f["fold"],
                                f["sizes"]["train"],
                                f["sizes"]["validation"],
                                f["sizes"]["test"],
                                *[f["test"].get(m) for m in headline],
                            ]
                            for f in cv["folds"]
                        ],
                    ),
                ],
            )
        )
    search = metrics.get("search")
    if search:
        params = list(search["trials"][0]["params"]) if search["trials"] else []
        section.children.append(
            Section(
                f"Hyper-parameter search ({search['method']}, scored on validation "
                f"{search['metric']})",
                [
                    Table(
                        ["trial", *params, search["metric"], "epochs run"],
                        [
                            [
                                t["trial"],
                                *[t["params"][p] for p in params],
                                t["score"],
                                t["epochs_run"],
                            ]
                            for t in search["trials"]
                        ],
                    ),
                    KeyValues([("best trial", search["best_trial"])]),
                ],
            )
        )
    return section


def _group(row: dict[str, Any]) -> str:
    return f"{row['group']} (small)" if row.get("small") else str(row["group"])


def fairness_section(fairness: dict[str, Any] | None) -> Section:
    section = Section("Disaggregated test results")
    if fairness is None:
        section.blocks.append(Text("No sensitive column is set (rules fields.sensitive)."))
        return section
    boot = fairness["bootstrap"]
    section.blocks.append(
        Text(
            f"Intervals: {boot['resamples']} seeded bootstrap resamples of the test records "
            f"(quantiles {boot['quantiles'][0]}, {boot['quantiles'][1]}; seed {boot['seed']})."
        )
    )
    minimum = fairness.get("min_group_size")
    if minimum and minimum > 1:
        section.blocks.append(
            Text(
                f"Groups with fewer than {minimum} test records (the data audit's small-group "
                "rule) are marked small: shown, but left out of the gaps between groups."
            )
        )
    for column in fairness["columns"]:
        child = Section(f"By {column['column']}")
        if fairness["task"] == "classification":
            child.blocks.append(
                Table(
                    ["group", "records", "accuracy", "accuracy CI", "F1 macro", "F1 CI"],
                    [
                        [
                            _group(g),
                            g["records"],
                            g["accuracy"],
                            _ci(g.get("accuracy_ci")),
                            g["f1_macro"],
                            _ci(g.get("f1_macro_ci")),
                        ]
                        for g in column["groups"]
                    ],
                )
            )
            for outcome in column["by_outcome"]:
                child.blocks.append(
                    Table(
                        ["group", "selection rate", "CI", "FPR", "CI", "FNR", "CI"],
                        [
                            [
                                _group(g),
                                g["selection_rate"],
                                _ci(g.get("selection_rate_ci")),
                                g["false_positive_rate"],
                                _ci(g.get("false_positive_rate_ci")),
                                g["false_negative_rate"],
                                _ci(g.get("false_negative_rate_ci")),
                            ]
                            for g in outcome["groups"]
                        ],
                        caption=f"positive outcome: {outcome['positive_label']}",
                    )
                )
            child.blocks.append(
                KeyValues(
                    [
                        ("equalized odds difference", column["equalized_odds_difference"]),
                        ("demographic parity difference", column["demographic_parity_difference"]),
                    ]
                )
            )
        else:
            child.blocks.append(
                Table(
                    ["group", "records", "tokens", "perplexity", "CI"],
                    [
                        [
                            _group(g),
                            g["records"],
                            g["tokens"],
                            g["perplexity"],
                            _ci(g.get("perplexity_ci")),
                        ]
                        for g in column["groups"]
                    ],
                )
            )
            child.blocks.append(
                KeyValues([("largest / smallest group perplexity", column["perplexity_ratio"])])
            )
        section.children.append(child)
    return section


def _audit_section(audit: dict[str, Any]) -> Section:
    metrics = audit.get("metrics", {})
    details = audit.get("details", {})
    section = Section(
        "Audit summary: bias and privacy",
        [
            KeyValues(
                [
                    ("verdict", audit.get("verdict", "n/a").upper()),
                    ("created", audit.get("created")),
                    ("records", (audit.get("counts") or {}).get("records")),
                ]
            ),
            Table(
                ["gate check", "value", "threshold", "status"],
                [
                    [
                        c.get("name"),
                        c.get("value"),
                        f"{c.get('op')} {fmt(c.get('threshold'))}",
                        str(c.get("status", "")).upper(),
                    ]
                    for c in audit.get("checks", [])
                ],
            ),
        ],
    )
    pii = Section("Personal data (PII)")
    pii_metrics = [(k, v) for k, v in metrics.items() if k.startswith("pii.")]
    if pii_metrics:
        found = details.get("pii", {})
        pii.blocks.append(
            KeyValues(
                [
                    ("detector mode", found.get("mode", "not recorded")),
                    ("spaCy model", found.get("spacy_model")),
                    *pii_metrics,
                ]
            )
        )
        if found.get("by_entity"):
            pii.blocks.append(
                Table(
                    ["entity", "findings", "records", "record rate"],
                    [
                        [e["entity"], e["findings"], e["records"], e["record_rate"]]
                        for e in found["by_entity"]
                    ],
                )
            )
        if found.get("blind_spots"):
            pii.blocks.append(Text(f"Detector blind spots: {found['blind_spots']}"))
    else:
        pii.blocks.append(Text("The audit ran no pii check: personal data was not measured."))
    rep = Section("Representation")
    scores = [
        (k.removeprefix("representation."), v)
        for k, v in metrics.items()
        if k.startswith("representation.") and v is not None
    ]
    rep.blocks.append(
        KeyValues(scores)
        if scores
        else Text("The audit ran no representation check (or found no group mentions).")
    )
    outcome = Section("Outcome disparity in the labels")
    bias = [
        (k.removeprefix("outcome_bias."), v)
        for k, v in metrics.items()
        if k.startswith("outcome_bias.")
    ]
    if bias:
        outcome.blocks.append(KeyValues(bias))
        for column in (details.get("outcome_bias") or {}).get("columns", []):
            rows = [
                [
                    g["group"],
                    g["count"],
                    g["share"],
                    "; ".join(f"{r['class']}: {fmt(r['rate'])}" for r in g.get("rates", [])),
                ]
                for g in column.get("groups", [])
            ]
            outcome.blocks.append(
                Table(
                    ["group", "records", "share", "label rate"],
                    rows,
                    caption=f"by {column.get('column')}",
                )
            )
    else:
        outcome.blocks.append(Text("The audit ran no outcome_bias check."))
    labels = (details.get("dataset") or {}).get("labels")
    composition = Section("Label distribution (audit)")
    composition.blocks.append(
        Table(["label", "records"], [[k, v] for k, v in labels.items()])
        if labels
        else Text("No label column was audited.")
    )
    section.children += [pii, rep, outcome, composition]
    return section


def _history_section(history: list[dict[str, Any]], metrics: dict[str, Any]) -> Section:
    """Validation lines of the training that made the saved model; the last one is the
    evaluation of the restored best checkpoint."""
    metric, name = metrics["training"]["metric"], metrics["training"]["run"]
    rows, finished = [], False
    for line in history:
        if line.get("run") != name:
            continue
        finished = finished or "train_runtime" in line
        if f"eval_{metric}" in line:
            when = "best checkpoint, restored" if finished else "during training"
            rows.append(
                [
                    line.get("step"),
                    line.get("epoch"),
                    when,
                    line.get("eval_loss"),
                    line.get(f"eval_{metric}"),
                ]
            )
    return Section(
        f"Validation during training ({name})",
        [Table(["step", "epoch", "when", "eval loss", f"eval {metric}"], rows)],
    )


def build_report(
    run: dict[str, Any],
    metrics: dict[str, Any],
    fairness: dict[str, Any] | None,
    audit: dict[str, Any],
    history: list[dict[str, Any]],
) -> Document:
    return Document(
        title=f"curate finetune: {run['task']} on {run['data']['path']}",
        verdict=audit.get("verdict", "fail"),
        sections=[
            _run_section(run),
            results_section(metrics),
            fairness_section(fairness),
            _audit_section(audit),
            _data_section(metrics),
            _history_section(history, metrics),
            settings_section(run),
        ],
    )


def render_report(doc: Document) -> tuple[str, str]:
    return markdown.render(doc), html.render(doc)


def build_model_card(
    run: dict[str, Any],
    metrics: dict[str, Any],
    fairness: dict[str, Any] | None,
    audit: dict[str, Any],
) -> Document:
    task = run["task"]
    headline = HEADLINE[task]
    intended = (
        "A text classifier over the labels " + ", ".join(metrics["classes"])
        if task == "classification"
        else "A language model adapted to the style and content of the training records"
    )
    test_rows = [[m, metrics["test"].get(m)] for m in headline]
    cv = metrics.get("cross_validation")
    if cv:
        test_rows = [
            [m, metrics["test"].get(m), cv["mean"].get(m), cv["std"].get(m)] for m in headline
        ]
    disaggregated = fairness_section(fairness)
    disaggregated.title = "Disaggregated results"
    caveats = [
        f"The test split holds {metrics['splits']['test']['records']} records; figures on "
        "small groups carry wide intervals (see the bootstrap intervals).",
        "Near-duplicate grouping is " + metrics["data"]["group_method"] + "; copies it misses "
        "can still leak between splits.",
        "The data audit measures the training file, not the model: a passing audit does not "
        "show that the model is unbiased or free of memorised personal data.",
        "Sensitive attributes were not model inputs, but the texts can still encode them.",
    ]
    if task == "causal-lm":
        caveats.append(
            "Perplexity measures fit to held-out text, not the quality or safety of generated text."
        )
    return Document(
        title=f"Model card: {run['model']['path']} fine-tuned for {task}",
        verdict=audit.get("verdict", "fail"),
        sections=[
            Section(
                "Model details",
                [
                    KeyValues(
                        [
                            ("base model", run["model"]["path"]),
                            ("task", task),
                            (
                                "fine-tuning",
                                "LoRA adapters merged into the weights"
                                if run["config"].get("lora")
                                else "full fine-tuning",
                            ),
                            ("learning rate", run["learning_rate"]),
                            ("epochs run", metrics["training"]["epochs_run"]),
                            ("seed", run["seed"]),
                            ("tool", f"curate {run['tool']['version']}"),
                        ]
                    )
                ],
            ),
            Section(
                "Intended use",
                [
                    Text(intended + ", for the purpose the training data was collected for."),
                    KeyValues([("primary users", TO_COMPLETE), ("out-of-scope uses", TO_COMPLETE)]),
                ],
            ),
            Section(
                "Training data",
                [
                    KeyValues(
                        [
                            ("file", run["data"]["path"]),
                            ("sha256", run["data"]["sha256"]),
                            ("records used", metrics["data"]["used"]),
                            (
                                "audit",
                                f"{audit.get('verdict', 'n/a').upper()} under rules "
                                f"{run['rules']['name']} (sha256 {run['rules']['sha256']})",
                            ),
                            ("audit digest (sha256)", run["audit"]["digest"]),
                        ]
                    )
                ],
            ),
            Section(
                "Evaluation",
                [
                    Table(
                        ["metric", "test", "cv mean", "cv std"] if cv else ["metric", "test"],
                        test_rows,
                    )
                ],
            ),
            disaggregated,
            Section("Caveats and recommendations", [Text(f"- {c}") for c in caveats]),
        ],
    )
