"""pii: how many records hold personal data, of which kinds, and in which chat roles."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from audit.pii import PiiEngine, PiiParams, blind_spots, segment_frame
from audit.pii_ids import mask_record_ids
from curate.registry import (
    Check,
    Totals,
    add_values,
    register_check,
    register_id_masker,
    summed,
)

EVALUATION = Path(__file__).resolve().parent.parent / "data" / "pii_eval.json"


def detector_evaluation(mode: str) -> dict[str, Any]:
    """The measured quality of this detector mode, shipped with the package (bench/eval_pii.py)."""
    try:
        data = json.loads(EVALUATION.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"note": "no evaluation shipped with this installation"}
    return {
        "description": data["description"],
        "command": data["command"],
        "rows": [r for r in data["rows"] if r["mode"] == mode],
    }


# Chat roles with a metric of their own; other roles (tool, function...) are in details().
ROLE_METRICS = ("user", "assistant", "system")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class PiiTotals(Totals):
    records: int = summed()
    records_with_pii: int = summed()
    findings: int = summed()
    by_entity: Counter[str] = summed(Counter)
    records_by_entity: Counter[str] = summed(Counter)
    role_records: Counter[str] = summed(Counter)
    role_records_with_pii: Counter[str] = summed(Counter)
    regex_timeouts: int = summed()
    #: per entity, the first ``example_limit`` distinct (masked) excerpts
    examples: dict[str, list[str]] = field(default_factory=dict)
    example_limit: int = 0

    def keep_examples(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        for entity, excerpt in pairs:
            kept = self.examples.setdefault(entity, [])
            if excerpt is not None and len(kept) < self.example_limit and excerpt not in kept:
                kept.append(excerpt)

    def __add__(self, later: PiiTotals) -> PiiTotals:
        counts = {
            f.name: add_values(getattr(self, f.name), getattr(later, f.name))
            for f in fields(self)
            if f.name not in ("examples", "example_limit")
        }
        limit = max(self.example_limit, later.example_limit)
        out = PiiTotals(**counts, example_limit=limit)
        out.examples = {entity: list(kept) for entity, kept in self.examples.items()}
        for entity, kept in later.examples.items():
            out.keep_examples((entity, excerpt) for excerpt in kept)
        return out


@register_check
class Pii(Check):
    """Scans every text segment with the PII engine (see audit.pii) and counts findings."""

    name = "pii"
    Params = PiiParams
    metrics: ClassVar[dict[str, str]] = {
        "records": "records scanned",
        "records_with_pii": "records with at least one finding",
        "record_rate": "records with at least one finding / records",
        "findings": "detected values (after overlaps are resolved)",
        "findings_per_1k_records": "findings per 1,000 records",
        **{
            f"{role}_record_rate": f"records with a finding in a {role} message / records "
            f"with a {role} message (chat data; empty otherwise)"
            for role in ROLE_METRICS
        },
    }

    def __init__(self, params: PiiParams, *, seed: int = 0, base_dir: str | None = None) -> None:
        super().__init__(params, seed=seed, base_dir=base_dir)
        self.engine = PiiEngine(params, seed=seed, base_dir=base_dir)

    #: for writers outside the auditors (curate.writer.id_masker): ids with PII masked

    scan_column = "_pii_found"
    totals_type = PiiTotals
    totals: PiiTotals

    def new_totals(self) -> PiiTotals:
        return PiiTotals(example_limit=self.params.max_examples)

    def _scan(self, batch: pl.DataFrame) -> pl.DataFrame:
        before = self.engine.regex_timeouts
        found = self.engine.scan(batch)
        # texts a custom pattern gave up on, counted where the scans ran
        self.totals.regex_timeouts += self.engine.regex_timeouts - before
        return found

    def scan(self, batch: pl.DataFrame) -> pl.Series:
        """Each record's findings, as a list of structs (empty where there are none)."""
        found = self._scan(batch)
        per_row = found.group_by("_row", maintain_order=True).agg(
            pl.struct(pl.exclude("_row")).alias("found")
        )
        rows = pl.DataFrame({"_row": pl.int_range(batch.height, eager=True, dtype=pl.Int64)})
        column = rows.join(per_row, on="_row", how="left", maintain_order="left")["found"]
        return column.fill_null(pl.lit([], column.dtype)).alias(self.scan_column)

    def _found(self, batch: pl.DataFrame) -> pl.DataFrame:
        if self.scan_column not in batch.columns:
            return self._scan(batch)
        return (
            batch.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"), self.scan_column)
            .explode(self.scan_column)
            .drop_nulls(self.scan_column)
            .unnest(self.scan_column)
        )

    def update(self, batch: pl.DataFrame) -> list[dict[str, Any]]:
        found = self._found(batch)
        t = self.totals
        t.records += batch.height
        t.findings += found.height
        t.records_with_pii += found["_row"].n_unique()
        for entity, n in found["entity"].value_counts().iter_rows():
            t.by_entity[entity] += n
        per_entity = found.select("_row", "entity").unique()["entity"].value_counts()
        for entity, n in per_entity.iter_rows():
            t.records_by_entity[entity] += n
        roles = segment_frame(batch).select("_row", "role").drop_nulls().unique()
        for role, n in roles["role"].value_counts().iter_rows():
            t.role_records[role] += n
        hit_roles = found.select("_row", "role").drop_nulls().unique()
        for role, n in hit_roles["role"].value_counts().iter_rows():
            t.role_records_with_pii[role] += n
        t.keep_examples(found.select("entity", "excerpt").iter_rows())
        return found.drop("_row").with_columns(pl.lit(self.name).alias("check")).to_dicts()

    def result(self) -> dict[str, float | int | None]:
        t = self.totals
        out: dict[str, float | int | None] = {
            "records": t.records,
            "records_with_pii": t.records_with_pii,
            "record_rate": _rate(t.records_with_pii, t.records),
            "findings": t.findings,
            "findings_per_1k_records": _rate(1000 * t.findings, t.records),
        }
        for role in ROLE_METRICS:
            out[f"{role}_record_rate"] = _rate(t.role_records_with_pii[role], t.role_records[role])
        return out

    def details(self) -> dict[str, Any]:
        t = self.totals
        return {
            "detector_evaluation": detector_evaluation(self.engine.mode),
            "mode": self.engine.mode,
            "spacy_model": self.engine.spacy_model,
            "blind_spots": blind_spots(self.engine.mode, self.engine.excerpt_note()),
            "excerpt": self.params.excerpt,
            "value_hashes": self.engine.value_hashing,
            "entities_scanned": self.engine.entities,
            "score_threshold": self.params.score_threshold,
            "by_entity": [
                {
                    "entity": entity,
                    "findings": n,
                    "records": t.records_by_entity[entity],
                    "record_rate": _rate(t.records_by_entity[entity], t.records),
                    "examples": t.examples.get(entity, []),
                }
                for entity, n in sorted(t.by_entity.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "by_role": [
                {
                    "role": role,
                    "records": n,
                    "records_with_pii": t.role_records_with_pii[role],
                    "record_rate": _rate(t.role_records_with_pii[role], n),
                }
                for role, n in sorted(t.role_records.items())
            ],
            "regex_timeouts": t.regex_timeouts,
        }


# Record ids are written where records are not (dropped.jsonl of a redacting run, clusters):
# curate's writers mask them with this check's detector, which they find in the registry.
register_id_masker(mask_record_ids)
