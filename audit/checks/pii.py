"""pii: how many records hold personal data, of which kinds, and in which chat roles."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from audit.pii import PiiEngine, PiiParams, blind_spots, segment_frame
from audit.pii_ids import mask_record_ids
from curate.registry import Check, register_check

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
        self.records = 0
        self.records_with_pii = 0
        self.findings = 0
        self.by_entity: Counter[str] = Counter()
        self.records_by_entity: Counter[str] = Counter()
        self.role_records: Counter[str] = Counter()
        self.role_records_with_pii: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self.regex_timeouts = 0

    #: for writers outside the auditors (curate.writer.id_masker): ids with PII masked
    mask_record_ids = staticmethod(mask_record_ids)

    scan_column = "_pii_found"
    #: texts a custom pattern gave up on, counted where the scans ran
    running: ClassVar[dict[str, str]] = {"regex_timeouts": "sum"}

    def _scan(self, batch: pl.DataFrame) -> pl.DataFrame:
        before = self.engine.regex_timeouts
        found = self.engine.scan(batch)
        self.regex_timeouts += self.engine.regex_timeouts - before
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
        self.records += batch.height
        self.findings += found.height
        self.records_with_pii += found["_row"].n_unique()
        for entity, n in found["entity"].value_counts().iter_rows():
            self.by_entity[entity] += n
        per_entity = found.select("_row", "entity").unique()["entity"].value_counts()
        for entity, n in per_entity.iter_rows():
            self.records_by_entity[entity] += n
        roles = segment_frame(batch).select("_row", "role").drop_nulls().unique()
        for role, n in roles["role"].value_counts().iter_rows():
            self.role_records[role] += n
        hit_roles = found.select("_row", "role").drop_nulls().unique()
        for role, n in hit_roles["role"].value_counts().iter_rows():
            self.role_records_with_pii[role] += n
        self._keep_examples(found)
        return found.drop("_row").with_columns(pl.lit(self.name).alias("check")).to_dicts()

    def _keep_examples(self, found: pl.DataFrame) -> None:
        limit = self.params.max_examples
        for entity, excerpt in found.select("entity", "excerpt").iter_rows():
            kept = self.examples.setdefault(entity, [])
            if excerpt is not None and len(kept) < limit and excerpt not in kept:
                kept.append(excerpt)

    def result(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {
            "records": self.records,
            "records_with_pii": self.records_with_pii,
            "record_rate": _rate(self.records_with_pii, self.records),
            "findings": self.findings,
            "findings_per_1k_records": _rate(1000 * self.findings, self.records),
        }
        for role in ROLE_METRICS:
            out[f"{role}_record_rate"] = _rate(
                self.role_records_with_pii[role], self.role_records[role]
            )
        return out

    def details(self) -> dict[str, Any]:
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
                    "records": self.records_by_entity[entity],
                    "record_rate": _rate(self.records_by_entity[entity], self.records),
                    "examples": self.examples.get(entity, []),
                }
                for entity, n in sorted(self.by_entity.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "by_role": [
                {
                    "role": role,
                    "records": n,
                    "records_with_pii": self.role_records_with_pii[role],
                    "record_rate": _rate(self.role_records_with_pii[role], n),
                }
                for role, n in sorted(self.role_records.items())
            ],
            "regex_timeouts": self.regex_timeouts,
        }
