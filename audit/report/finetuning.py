"""The report's fine-tuning-readiness section: chat format, tokens, trainable tokens.

Built from the ``chat_format`` and ``tokens`` checks' metrics and details; absent when the
rules configure neither (pre-training audits).
"""

from __future__ import annotations

from typing import Any

from audit.report.blocks import Chart, KeyValues, Section, Table, Text, fmt, percent

CHECKS = ("chat_format", "tokens")


def readiness(result: dict[str, Any]) -> Section | None:
    details = result["details"]
    if not any(name in details for name in CHECKS):
        return None
    section = Section("Fine-tuning readiness")
    metrics = result["metrics"]
    if "chat_format" in details:
        section.children.append(_format(details["chat_format"], metrics))
    else:
        section.blocks.append(
            Text("Record structure not checked: the rules configure no chat_format check.")
        )
    if "tokens" in details:
        section.children.append(_tokens(details["tokens"], metrics))
    else:
        section.blocks.append(
            Text(
                "Tokens not counted: add the tokens check with the model's tokenizer to see "
                "lengths, truncation and trainable tokens."
            )
        )
    return section


def _format(details: dict[str, Any], metrics: dict[str, Any]) -> Section:
    section = Section("Format")
    section.blocks.append(
        KeyValues(
            [
                ("format", details.get("format")),
                ("records checked", metrics.get("chat_format.records")),
                ("records with an error", metrics.get("chat_format.invalid_records")),
                ("error rate", percent(metrics.get("chat_format.invalid_rate"))),
                ("warning rate (no error)", percent(metrics.get("chat_format.warning_rate"))),
                ("roles allowed", fmt(details.get("roles_allowed"))),
            ]
        )
    )
    rows = [
        [r["code"], r["severity"], r["meaning"], r["records"], percent(r["record_rate"])]
        for r in details.get("by_code", [])
    ]
    if rows:
        section.blocks.append(
            Table(
                ["code", "severity", "meaning", "records", "rate"],
                rows,
                caption="problems by code (each is a line of findings.jsonl with its line and "
                "JSON path)",
            )
        )
    else:
        section.blocks.append(Text("No structural problem found."))
    return section


def _tokens(details: dict[str, Any], metrics: dict[str, Any]) -> Section:
    section = Section("Tokens")
    limit = details.get("max_length")
    section.blocks.append(
        KeyValues(
            [
                ("tokenizer", details.get("tokenizer")),
                ("chat template", details.get("chat_template") or "none (role: content lines)"),
                ("max_length", limit),
                ("truncation side", details.get("truncation_side")),
                (
                    "loss on",
                    "assistant turns / completion"
                    if details.get("completion_only")
                    else "every token",
                ),
                ("total tokens", metrics.get("tokens.total")),
                ("tokens per record: mean", fmt(metrics.get("tokens.mean"))),
                (
                    "p50 / p95 / max",
                    f"{fmt(metrics.get('tokens.p50'))} / "
                    f"{fmt(metrics.get('tokens.p95'))} / {fmt(metrics.get('tokens.max'))}",
                ),
                ("records over max_length (cut)", percent(metrics.get("tokens.over_limit_rate"))),
                ("trainable tokens inside max_length", metrics.get("tokens.trainable_total")),
                (
                    "records left with no trainable token",
                    percent(metrics.get("tokens.no_trainable_rate")),
                ),
                ("training tokens per epoch", metrics.get("tokens.epoch_tokens")),
                ("records the template refused", metrics.get("tokens.render_failed")),
            ]
        )
    )
    items: list[tuple[str, float]] = []
    for row in details.get("histogram", []):
        label = f"{row['from']}–{row['to']}"
        if limit is not None and row["from"] <= limit <= row["to"]:
            label += " ◂ max_length"
        elif limit is not None and row["from"] > limit:
            label += " (cut)"
        items.append((label, row["records"]))
    if items:
        section.blocks.append(Chart(f"Records by length in tokens (max_length {limit})", items))
    return section
