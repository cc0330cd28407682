"""Why one record is kept, dropped or flagged: every step's and check's verdict and values.

Whole-dataset steps (dedup) need every record to decide about one, so the plan runs on the whole
input as an audit runs it (``action: flag``: every step sees every record) through the one
runner (``curate.runner.run_local``), and the record's flags, annotations and check findings
are read off at the end. Steps with an ``annotate`` parameter are run with it on, so that a
kept record shows its values too (the language and its probability, say).

What is shown never holds a record's values in clear: ids are masked by the registered id
masker (an id may be an e-mail address), check findings are named by entity, code, role and
path, never by the value or its excerpt.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.checkpoint import Checkpointer
from curate.errors import InputError
from curate.ledger import StepCount
from curate.pipeline import REDACTABLE
from curate.rules import Rules, build_checks, load_rules
from curate.runner import run_local
from curate.sources import open_source

#: finding keys that say what was found without holding a value of the record
FINDING_KEYS = ("check", "code", "entity", "severity", "role", "path", "metric", "axis", "term")


@dataclass
class StepVerdict:
    id: str
    step: str
    action: str
    verdict: str  # keep | drop | flag | redact
    reason: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordExplained:
    id: str  # masked
    line: int
    fate: str  # "kept", or "dropped by <step> (<reason>)"
    steps: list[StepVerdict]
    #: per check: its findings on the record (``_safe``) and its metrics on the record alone
    checks: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "line": self.line,
            "fate": self.fate,
            "steps": [vars(s) for s in self.steps],
            "checks": self.checks,
        }


class _Capture:
    """A sink that keeps the rows of one id (an audit run drops nothing)."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        self.rows: list[pl.DataFrame] = []
        # every id's line, so that the record a duplicate repeats can be shown with its line
        self.lines: list[pl.DataFrame] = []
        self.quarantine: dict[str, tuple[int, str]] = {}

    def quarantined(self, entries: list[dict[str, Any]]) -> None:
        # without an id field a record's id is its line: a quarantined line can be asked for
        self.quarantine.update((str(e["line"]), (int(e["line"]), e["reason"])) for e in entries)

    def dropped(self, frame: pl.DataFrame, count: StepCount) -> None:
        pass  # action: flag drops nothing

    def kept(self, frame: pl.DataFrame) -> None:
        self.lines.append(frame.select(B.ID, B.LINE))
        found = frame.filter(pl.col(B.ID) == self.record_id)
        if found.height:
            self.rows.append(found)

    def saved_state(self) -> None:
        return None

    def restore_state(self, state: None) -> None:
        pass


def annotating(rules: Rules) -> Rules:
    """The rules with ``annotate`` on for every step whose parameters have it."""
    steps = [
        spec.model_copy(update={"params": spec.params.model_copy(update={"annotate": True})})
        if "annotate" in type(spec.params).model_fields
        else spec
        for spec in rules.steps
    ]
    return rules.model_copy(update={"steps": steps})


def explain(data: Any, rules: Rules | str | Path | None, record_id: str) -> list[RecordExplained]:
    """Every record whose id is ``record_id`` (ids may repeat), explained; an ``InputError``
    when there is none."""
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    registry.load_plugins()
    rules = annotating(rules)
    source = open_source(data)
    sink = _Capture(record_id)
    with tempfile.TemporaryDirectory(prefix="curate-explain-") as work:
        run_local(source, rules, sink, Checkpointer(work), action="flag")
    mask = registry.id_masker()
    if not sink.rows and rules.fields.id is None and record_id in sink.quarantine:
        line, reason = sink.quarantine[record_id]
        return [RecordExplained(record_id, line, f"quarantined ({reason})", [], {})]
    if not sink.rows:
        shown = mask([record_id], None)[0]
        raise InputError(f"{source.label}: no record has the id {shown!r}")
    rows = pl.concat(sink.rows, how="diagonal_relaxed")
    checks = build_checks(rules)
    out = []
    for n in range(rows.height):
        row = rows.slice(n, 1)
        line = int(row[B.LINE][0])
        found = {}
        for spec, check in zip(rules.checks, checks, strict=True):
            findings = [_safe(f) for f in check.update(row) or ()]
            metrics = {k: v for k, v in check.result().items() if v is not None}
            check.take_totals()  # the next record with this id is measured alone
            found[spec.check] = {"findings": findings, "metrics": metrics}
        verdicts = _step_verdicts(rules, row.row(0, named=True), _LineMasker(mask, sink.lines))
        dropped = next((v for v in verdicts if v.verdict == "drop"), None)
        fate = f"dropped by {dropped.id} ({dropped.reason})" if dropped else "kept"
        out.append(RecordExplained(mask([record_id], [line])[0] or "", line, fate, verdicts, found))
    return out


class _LineMasker:
    """Masks an id with the line of the first record that has it (the masker appends the
    line to an id it changed, so that the record can be found)."""

    def __init__(self, mask: registry.IdMasker, lines: list[pl.DataFrame]) -> None:
        self.mask = mask
        self.lines = pl.concat(lines) if lines else pl.DataFrame({B.ID: [], B.LINE: []})

    def __call__(self, record_id: str, line: int | None = None) -> str:
        if line is None:  # the step did not say which line: the first with that id
            hit = self.lines.filter(pl.col(B.ID) == record_id)[B.LINE]
            line = int(hit[0]) if hit.len() else None
        return self.mask([record_id], [line])[0] or ""


def _step_verdicts(rules: Rules, row: dict[str, Any], mask: _LineMasker) -> list[StepVerdict]:
    flags = {f["step"]: f for f in row.get(B.FLAGS) or ()}
    notes = {n["step"]: n for n in row.get(B.NOTES) or ()}
    verdicts = []
    for spec in rules.steps:
        flag = flags.get(spec.id)
        verdict = StepVerdict(spec.id, spec.step, spec.action, "keep")
        if flag is not None:
            # an audit flags what a redacting step would change: in a clean run it is kept
            verdict.verdict = "redact" if flag["reason"] == REDACTABLE else spec.action
            verdict.reason = flag["reason"]
            detail = orjson.loads(flag["detail"]) if flag.get("detail") else {}
            if flag.get("duplicate_of") is not None:
                line = detail.get("duplicate_of_line")
                verdict.values["duplicate_of"] = mask(flag["duplicate_of"], line)
            if flag.get("score") is not None and not detail:
                verdict.values["score"] = flag["score"]
            verdict.values.update(detail)
        elif spec.id in notes and notes[spec.id]["detail"]:
            verdict.values.update(orjson.loads(notes[spec.id]["detail"]))
        line = verdict.values.get("duplicate_of_line")
        if str(verdict.values.get("duplicate_of", "")).endswith(f"(line {line})"):
            del verdict.values["duplicate_of_line"]  # the masked id says it
        verdicts.append(verdict)
    return verdicts


def _safe(finding: dict[str, Any]) -> dict[str, Any]:
    """What a finding says without the record's values (no excerpt, hash, offsets, id)."""
    return {k: finding[k] for k in FINDING_KEYS if finding.get(k) is not None}


def render(explained: list[RecordExplained], source: str) -> str:
    """The plain-text view ``curate explain`` prints (check metrics are in ``--json``)."""
    parts = []
    for record in explained:
        # a masked id already says its line
        where = "" if record.id.endswith(f"(line {record.line})") else f" (line {record.line})"
        lines = [f"record {record.id}{where} of {source}: {record.fate}"]
        if not record.steps and not record.checks:  # quarantined: no step or check saw it
            parts.append(lines[0])
            continue
        lines += ["", "steps (each sees every record, as in `curate audit`):"]
        width = max([len(s.id) for s in record.steps] + [4])
        for s in record.steps:
            values = " ".join(f"{k}={_shown(v)}" for k, v in s.values.items())
            head = f"  {s.id:<{width}}  {s.verdict:<4}"
            reason = f"  {s.reason}" if s.reason else ""
            lines.append((head + reason + (f"  {values}" if values else "")).rstrip())
        lines.append("checks:")
        width = max([len(c) for c in record.checks] + [4])
        for check, measured in record.checks.items():
            lines.append(f"  {check:<{width}}  {_findings_text(measured['findings'])}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _findings_text(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "no findings"
    counts: dict[str, int] = {}
    for f in findings:
        what = " ".join(
            str(f[k]) for k in FINDING_KEYS if k not in ("check", "path", "role") and k in f
        )
        where = ", ".join(f"{k} {f[k]}" for k in ("path", "role") if k in f)
        what = f"{what or 'finding'} ({where})" if where else what or "finding"
        counts[what] = counts.get(what, 0) + 1
    return "; ".join(f"{what} x{n}" if n > 1 else what for what, n in counts.items())


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
