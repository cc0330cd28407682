"""The compliance report as plain data: sections of text, tables, key-value lists and charts.

Built once from the audit result; the Markdown and HTML renderers only lay it out, so the two
reports always say the same thing.
"""

from __future__ import annotations

from typing import Any

from audit.gate import NO_EVIDENCE, status_label
from audit.report.blocks import (  # noqa: F401  (re-exported: the renderers import them here)
    TO_COMPLETE,
    Block,
    Chart,
    Document,
    KeyValues,
    Section,
    Table,
    Text,
    anchor,
    fmt,
    fmt_check,
    percent,
)
from audit.report.finetuning import CHECKS as FINETUNING_CHECKS
from audit.report.finetuning import readiness


def _generic(title: str, data: Any, depth: int = 0) -> Section:
    """Lay out a check's ``details`` without knowing its shape: scalars, rows, nested dicts."""
    section = Section(title)
    if not isinstance(data, dict):
        section.blocks.append(Text(fmt(data), markup=False))
        return section
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, (dict, list))]
    if scalars:
        section.blocks.append(KeyValues(scalars))
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            columns: list[str] = []
            for row in value:
                columns += [
                    c for c in row if c not in columns and not isinstance(row[c], (dict, list))
                ]
            section.blocks.append(
                Table(columns, [[r.get(c) for c in columns] for r in value], caption=key)
            )
        elif isinstance(value, list):
            section.blocks.append(KeyValues([(key, ", ".join(fmt(v) for v in value) or "none")]))
        elif isinstance(value, dict) and value:
            if all(not isinstance(v, (dict, list)) for v in value.values()) and depth > 0:
                section.blocks.append(Table([key, "value"], [[k, v] for k, v in value.items()]))
            elif depth < 3:
                section.children.append(_generic(key, value, depth + 1))
    return section


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _decision(result: dict[str, Any]) -> Section:
    checks = result["checks"]
    failed = [c for c in checks if c["status"] in ("fail", "missing") and c["severity"] == "fail"]
    no_evidence = sum(c["status"] == NO_EVIDENCE for c in checks)
    summary = (
        f"Verdict: **{result['verdict'].upper()}**. {len(checks)} gate checks, "
        f"{len(failed)} failing, {_count(sum(c['status'] == 'warn' for c in checks), 'warning')}"
        + (f", {no_evidence} without enough evidence to judge (not gated)." if no_evidence else ".")
    )
    rows = [
        [
            c["name"],
            c["metric"],
            fmt_check(c, c["value"]),
            f"{c['op']} {fmt_check(c, c['threshold'])}",
            c["severity"],
            status_label(c["status"]),
        ]
        for c in checks
    ]
    blocks: list[Block] = [Text(summary)]
    if rows:
        blocks.append(Table(["check", "metric", "value", "threshold", "severity", "status"], rows))
    else:
        blocks.append(Text("The rules define no gate checks: the verdict passes by default."))
    return Section("Decision summary", blocks)


def shown_rules_path(path: str) -> str:
    """A bundled rules file as ``bundled:default.yaml`` (older audits stored install paths)."""
    from curate.rules import bundled_rules_dir, display_path

    return display_path(path, bundled_rules_dir())


def _provenance(result: dict[str, Any]) -> Section:
    data, rules = result["input"], result["rules"]
    return Section(
        "Identity and provenance",
        [
            KeyValues(
                [
                    ("dataset", data["path"]),
                    ("dataset sha256", data["sha256"]),
                    ("format / size", f"{data['format']}, {data['bytes']} bytes"),
                    ("rules", f"{rules['name']} ({shown_rules_path(rules['source'])})"),
                    ("rules files", ", ".join(shown_rules_path(f) for f in rules["files"])),
                    ("rules sha256", rules["sha256"]),
                    ("seed", rules["seed"]),
                    ("tool", f"curate {result['tool']['version']}"),
                    ("created", result["created"]),
                    ("report digest (sha256)", result.get("digest", {}).get("value", "n/a")),
                ]
            )
        ],
    )


def _configuration(result: dict[str, Any]) -> Section:
    config = result["rules_config"]
    rows = [
        [
            s["id"],
            s["step"],
            ", ".join(f"{k}={fmt(v)}" for k, v in s.items() if k not in ("id", "step", "action")),
        ]
        for s in config["steps"]
    ]
    checks = [
        [c["check"], ", ".join(f"{k}={fmt(v)}" for k, v in c.items() if k != "check")]
        for c in config["checks"]
    ]
    fields = config["fields"]
    blocks: list[Block] = [
        KeyValues(
            [
                (k, fmt(v) if not isinstance(v, list) else ", ".join(v) or "none")
                for k, v in fields.items()
            ]
        ),
        Text("Cleaning steps ran in score-only mode: they flag records and remove nothing."),
    ]
    if rows:
        blocks.append(Table(["step id", "step", "parameters"], rows, caption="steps"))
    if checks:
        blocks.append(Table(["check", "parameters"], checks, caption="checks"))
    return Section("Appendix: configuration", blocks)


def _composition(result: dict[str, Any]) -> Section:
    counts = result["counts"]
    ds = result["details"]["dataset"]
    m = result["metrics"]
    section = Section(
        "Composition and quality",
        [
            KeyValues(
                [
                    ("records", counts["records"]),
                    ("valid", counts["records"] - counts["quarantined"]),
                    ("quarantined (malformed)", counts["quarantined"]),
                    ("blank lines skipped", counts["blank_lines_skipped"]),
                    ("empty texts", fmt(m.get("dataset.empty_text_rate"))),
                    ("mean length (chars)", fmt(m.get("dataset.mean_chars"))),
                    ("label imbalance ratio", fmt(m.get("dataset.label_imbalance_ratio"))),
                ]
            )
        ],
    )
    if ds.get("quarantined_by_reason"):
        section.blocks.append(
            Table(
                ["reason", "records"],
                list(ds["quarantined_by_reason"].items()),
                caption="quarantined by reason",
            )
        )
    if ds.get("quarantine_examples"):
        section.blocks.append(
            Table(
                ["line", "reason", "error"],
                [[q["line"], q["reason"], q["error"]] for q in ds["quarantine_examples"]],
                caption="first quarantined records (raw text withheld)",
            )
        )
    lengths = ds["length_chars"]
    section.blocks.append(
        KeyValues([("length " + k, fmt(v)) for k, v in lengths["quantiles"].items()])
    )
    section.blocks.append(
        Chart(
            "Text length (characters)",
            [
                (f"{b['from']}–{b['to'] - 1 if b['to'] else '…'}", b["count"])
                for b in lengths["histogram"]
            ],
        )
    )
    if ds.get("languages"):
        section.blocks.append(Chart("Languages", list(ds["languages"].items())[:15]))
    if ds.get("labels"):
        section.blocks.append(Chart("Labels", list(ds["labels"].items())))
    if ds.get("roles"):
        section.blocks.append(Table(["chat role", "segments"], list(ds["roles"].items())))
    steps = result["details"].get("steps", [])
    rows = []
    for step in steps:
        for reason, n in step["flagged_by_reason"].items():
            rows.append([step["id"], reason, n, n / max(1, step["in"])])
        if step["changed"]:
            rows.append(
                [
                    step["id"],
                    "(text changed)",
                    step["changed"],
                    step["changed"] / max(1, step["in"]),
                ]
            )
    if rows:
        section.blocks.append(
            Table(
                ["step", "reason", "records", "share"],
                rows,
                caption="records flagged by the cleaning steps",
            )
        )
    for step in steps:
        examples = (step.get("summary") or {}).get("examples") or []
        if examples:
            section.blocks.append(_example_pairs(step["id"], examples))
    return section


def _example_pairs(step_id: str, examples: list[dict[str, Any]]) -> Table:
    """A duplicate step's example pairs: masked ids and similarity; excerpts only when the
    step gave PII-safe ones."""
    columns = [("record", "id"), ("duplicate of", "duplicate_of"), ("similarity", "similarity")]
    columns += [
        (title, key)
        for title, key in (("text (masked)", "excerpt"), ("kept (masked)", "kept_excerpt"))
        if any(e.get(key) for e in examples)
    ]
    measures = sorted({str(e["measure"]) for e in examples if e.get("measure")})
    measured = f"; similarity: {', '.join(m.replace('_', ' ') for m in measures)}"
    return Table(
        [title for title, _ in columns],
        [[e.get(key) for _, key in columns] for e in examples],
        caption=f"example pairs flagged by {step_id} (first {len(examples)} in input order; "
        f"personal data in ids masked{measured if measures else ''})",
    )


PRIVACY_CHECKS = ("pii",)
BIAS_CHECKS = ("representation", "outcome_bias")


def _collapsed_row(result: dict[str, Any], check: str, metric: str) -> Any:
    return result["metrics"].get(f"collapsed.{check}.{metric}")


def _pii(result: dict[str, Any]) -> Section:
    d = result["details"]["pii"]
    m = result["metrics"]
    section = Section("Personal data (PII)")
    section.blocks.append(
        KeyValues(
            [
                (
                    "detector mode",
                    d["mode"] + (f" ({d['spacy_model']})" if d.get("spacy_model") else ""),
                ),
                ("score threshold", d["score_threshold"]),
                ("entities scanned", ", ".join(d["entities_scanned"])),
                (
                    "records with PII",
                    f"{m.get('pii.records_with_pii')} of {m.get('pii.records')} "
                    f"({fmt(m.get('pii.record_rate'))})",
                ),
                ("after duplicate removal", fmt(_collapsed_row(result, "pii", "record_rate"))),
            ]
        )
    )
    section.blocks.append(Text("Blind spots: " + "; ".join(d["blind_spots"]) + "."))
    rows = [[e["entity"], e["findings"], e["records"], e["record_rate"]] for e in d["by_entity"]]
    if rows:
        section.blocks.append(
            Table(
                ["entity", "findings", "records", "record rate"],
                rows,
                caption="findings per entity",
            )
        )
        section.blocks.append(Chart("PII findings per entity", [(r[0], r[1]) for r in rows]))
        examples = [
            [e["entity"], x if isinstance(x, str) else x.get("excerpt")]
            for e in d["by_entity"]
            for x in e.get("examples", [])
        ]
        if examples:
            section.blocks.append(
                Table(
                    ["entity", "masked excerpt"],
                    examples,
                    caption="evidence (values masked; findings.jsonl has every finding)",
                )
            )
    else:
        section.blocks.append(Text("No personal data was found by the configured detector."))
    roles = [
        [r["role"], r["records"], r["records_with_pii"], r["record_rate"]] for r in d["by_role"]
    ]
    if roles:
        section.blocks.append(Table(["chat role", "records", "with PII", "rate"], roles))
    evaluation = d.get("detector_evaluation") or {}
    if evaluation.get("rows"):
        section.children.append(
            Section(
                "Detector quality (measured on benchmark data, not on this dataset)",
                [
                    Text(
                        "How well the configured detector finds personal data, measured once on "
                        "labelled benchmark sentences shipped with curate; these figures are "
                        "not measurements of this dataset. "
                        + evaluation["description"]
                        + f" Measured with `{evaluation['command']}`."
                    ),
                    Table(
                        ["set", "entity", "labelled", "predicted", "precision", "recall", "F2"],
                        [
                            [
                                r["set"],
                                r["entity"],
                                r["gold"],
                                r["predicted"],
                                r["precision"],
                                r["recall"],
                                r["f2"],
                            ]
                            for r in evaluation["rows"]
                        ],
                    ),
                ],
            )
        )
    return section


def _representation(result: dict[str, Any]) -> Section:
    d = result["details"]["representation"]
    section = Section("Representation in text")
    section.blocks.append(
        Text(
            "Mentions of demographic groups are counted with the lexicons below (whole words, "
            "case-insensitive). The representation score is the total variation distance of the "
            "group shares from uniform (0 = even, higher = skewed); the association score is the "
            "same distance over co-occurrence with occupation and adjective words (HELM). Lexicon "
            "counts cannot read meaning: treat axes with few mentions as indicative only."
        )
    )
    minimum = d.get("min_mentions")
    if minimum:
        section.blocks.append(
            Text(
                f"Axes with fewer than {minimum} mentions are not scored: too few to judge skew "
                "(the gate says not enough evidence)."
            )
        )
    rows = [
        [
            a["axis"],
            a["mentions"] if a.get("enough_evidence", True) else f"{a['mentions']} (too few)",
            a["representation_score"],
            a["association_score"],
            _collapsed_row(result, "representation", f"{a['axis']}_representation_score"),
        ]
        for a in d["axes"]
    ]
    section.blocks.append(
        Table(
            ["axis", "mentions", "representation", "association", "representation after dedup"],
            rows,
        )
    )
    for axis in d["axes"]:
        if axis["mentions"]:
            section.blocks.append(
                Chart(
                    f"Group shares: {axis['axis']}",
                    [(g["group"], g["count"]) for g in axis["groups"]],
                )
            )
    section.blocks.append(
        Table(
            ["axis", "lexicon", "source"],
            [[a["axis"], a["lexicon"], a["source"]] for a in d["axes"]],
            caption="lexicons and where their terms come from",
        )
    )
    return section


def _outcome(result: dict[str, Any]) -> Section:
    d = result["details"]["outcome_bias"]
    section = Section("Outcome disparity by sensitive attribute")
    section.blocks.append(
        KeyValues(
            [
                ("label", d.get("label")),
                ("sensitive attributes", ", ".join(d.get("sensitive") or []) or "none"),
                ("minimum group size for gating", d.get("min_group_size")),
                ("records without a label", d.get("missing_labels")),
            ]
        )
    )
    for column in d.get("columns", []):
        rows = [
            [
                g["group"],
                g["count"],
                g["share"],
                r["class"],
                r["rate"],
                r["wilson_low"],
                r["wilson_high"],
                "yes" if g["small"] else "",
            ]
            for g in column["groups"]
            for r in g["rates"]
        ]
        child = Section(
            f"{column['column']}",
            [
                KeyValues(
                    [
                        (
                            "demographic parity difference",
                            fmt(column["demographic_parity_difference"]),
                        ),
                        ("demographic parity ratio", fmt(column["demographic_parity_ratio"])),
                        ("groups too small to gate", column["small_groups"]),
                    ]
                ),
                Table(
                    [
                        "group",
                        "count",
                        "share",
                        "class",
                        "positive rate",
                        "95% low",
                        "95% high",
                        "small",
                    ],
                    rows,
                ),
                Chart(
                    f"Group shares: {column['column']}",
                    [(g["group"], g["count"]) for g in column["groups"]],
                ),
            ],
        )
        if column["small_groups"]:
            child.blocks.append(
                Text(
                    "Groups marked small have fewer records than the minimum: their rates are "
                    "shown with wide intervals and are not gated."
                )
            )
        section.children.append(child)
    return section


SPECIFIC = {"pii": _pii, "representation": _representation, "outcome_bias": _outcome}


def _check_sections(
    result: dict[str, Any], names: tuple[str, ...], title: str, empty: str
) -> Section:
    section = Section(title)
    details = result["details"]
    for name in names:
        if name in details and name in SPECIFIC:
            try:
                section.children.append(SPECIFIC[name](result))
                continue
            except (KeyError, TypeError, AttributeError):
                pass  # an older or different details shape: fall back to the generic layout
        if name in details:
            child = _generic(name, details[name])
            charts = details[name].get("charts") if isinstance(details[name], dict) else None
            for chart in charts or []:
                child.blocks.append(Chart(chart["title"], [tuple(i) for i in chart["items"]]))
            section.children.append(child)
    if not section.children:
        section.blocks.append(Text(empty))
    return section


def _answer(answers: dict[str, str], key: str) -> str:
    return answers.get(key) or TO_COMPLETE


def _mitigations(result: dict[str, Any], answers: dict[str, str]) -> Section:
    steps = result["rules_config"]["steps"]
    text = (
        "An audit measures and removes nothing. The rules configure these cleaning steps, which "
        "`curate clean` applies (its manifest.json records what each removed): "
        + (", ".join(f"{s['id']} ({s['action']})" for s in steps) or "none")
        + "."
    )
    return Section(
        "Mitigations",
        [
            Text(text),
            KeyValues([("mitigations applied upstream", _answer(answers, "mitigations"))]),
        ],
    )


def _datasheet(result: dict[str, Any], datasheet: dict[str, Any] | None) -> Section:
    counts = result["counts"]
    answers = (datasheet or {}).get("answers", {})
    blocks: list[Block] = [
        Text("After Gebru et al., Datasheets for Datasets. Measured values are filled in.")
    ]
    if datasheet:
        source = (
            f"Answers from `{datasheet['source']}` (sha256 {datasheet['sha256'][:16]}…), "
            "kept beside audit.json in datasheet.json."
        )
        if not datasheet.get("current"):
            source += " They were attached to an earlier audit of this folder."
        blocks.append(Text(source))
    else:
        blocks.append(
            Text("Answer the open questions in a YAML file and pass it with `--datasheet FILE`.")
        )
    blocks.append(
        KeyValues(
            [
                ("Motivation: purpose of the dataset", _answer(answers, "motivation")),
                (
                    "Composition: instances",
                    f"{counts['records']} records, {counts['quarantined']} malformed",
                ),
                ("Composition: personal data", "see Privacy"),
                ("Collection process and sources", _answer(answers, "collection")),
                ("Preprocessing / cleaning", "see Mitigations and Appendix: configuration"),
                ("Uses: intended and out of scope", _answer(answers, "uses")),
                ("Distribution and licence", _answer(answers, "distribution")),
                ("Maintenance: owner and contact", _answer(answers, "maintenance")),
            ]
        )
    )
    return Section("Datasheet", blocks)


def _article10(result: dict[str, Any], answers: dict[str, str]) -> Section:
    has = set(result["details"])
    rows = [
        [
            "10(2)(a) design choices",
            "Appendix: configuration (rules sha256 " + result["rules"]["sha256"][:12] + "…)",
        ],
        ["10(2)(b) collection and origin", _answer(answers, "collection")],
        ["10(2)(c) preparation: cleaning, labelling", "Composition and quality; Mitigations"],
        ["10(2)(d) assumptions", _answer(answers, "assumptions")],
        ["10(2)(e) availability, quantity, suitability", "Composition and quality"],
        [
            "10(2)(f) examination for possible biases",
            "Representation and bias"
            if has & set(BIAS_CHECKS)
            else "not measured: no bias check configured",
        ],
        ["10(2)(g) measures against biases", "Mitigations; " + _answer(answers, "bias_measures")],
        [
            "10(2)(h) data gaps and shortcomings",
            "Decision summary (failing checks); " + _answer(answers, "gaps"),
        ],
        [
            "10(3) relevant, representative, free of errors",
            "Composition and quality; Representation and bias",
        ],
        ["10(4) geographical, behavioural, functional setting", _answer(answers, "setting")],
        [
            "10(5) special categories of personal data",
            "Privacy" if "pii" in has else "not measured: no PII check configured",
        ],
    ]
    return Section(
        "EU AI Act Article 10 crosswalk", [Table(["obligation", "evidence in this report"], rows)]
    )


def _sign_off(signoffs: list[dict[str, Any]]) -> Section:
    if not signoffs:
        return Section(
            "Reviewer sign-off",
            [
                Text(
                    "Not signed. A reviewer signs with `curate signoff REPORT_DIR --reviewer NAME "
                    "--decision approve|reject [--note TEXT]`; the record is bound to this "
                    "audit's digest."
                )
            ],
        )
    rows = [
        [
            r.get("reviewer"),
            r.get("role") or "",
            str(r.get("decision", "")).upper(),
            r.get("note") or "",
            r.get("signed_at"),
            "valid for this audit" if r["valid"] else f"NOT VALID: {r['problem']}",
        ]
        for r in signoffs
    ]
    valid = [r for r in signoffs if r["valid"]]
    latest = (
        f"Latest valid decision: **{valid[-1]['decision'].upper()}** by {valid[-1]['reviewer']} "
        f"({valid[-1]['signed_at']})."
        if valid
        else "No sign-off is valid for this audit."
    )
    return Section(
        "Reviewer sign-off",
        [
            Text(latest),
            Table(
                ["reviewer", "role", "decision", "note", "signed (UTC)", "binding"],
                rows,
                caption="sign-offs in signoff.json, each bound to the audit digest, its "
                "signature and the datasheet answers",
            ),
        ],
    )


def build(result: dict[str, Any], attached: dict[str, Any] | None = None) -> Document:
    """The report of ``result``; ``attached``: datasheet and sign-offs (``audit.attestation``)."""
    attached = attached or {}
    datasheet = attached.get("datasheet")
    answers = (datasheet or {}).get("answers", {})
    # Results first; the configuration that produced them is an appendix.
    sections = [
        _decision(result),
        _provenance(result),
        _composition(result),
        _check_sections(
            result, PRIVACY_CHECKS, "Privacy", "Not measured: the rules configure no PII check."
        ),
        _check_sections(
            result,
            BIAS_CHECKS,
            "Representation and bias",
            "Not measured: the rules configure no bias check.",
        ),
    ]
    ready = readiness(result)
    if ready is not None:
        sections.append(ready)
    known = ("dataset", "steps", "collapsed", *PRIVACY_CHECKS, *BIAS_CHECKS, *FINETUNING_CHECKS)
    others = tuple(k for k in result["details"] if k not in known)
    if others:
        sections.append(_check_sections(result, others, "Other checks", ""))
    sections += [
        _mitigations(result, answers),
        _datasheet(result, datasheet),
        _article10(result, answers),
        _sign_off(attached.get("signoffs", [])),
        _configuration(result),
    ]
    return Document(f"Data audit: {result['input']['path']}", result["verdict"], sections)
