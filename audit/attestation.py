"""What people add to an audit: datasheet answers and reviewer sign-offs, each in its own file.

Both live beside audit.json, never inside the rendered reports, so ``curate report`` can
re-render without losing them:

- ``datasheet.json``: the answers from a YAML file the user keeps (``--datasheet FILE``),
  with that file's sha256 and the digest of the audit it was attached to;
- ``signoff.json``: every sign-off, each bound to the audit's digest (and its ``signature``
  when the audit is signed) and to the datasheet's sha256, with a digest of its own. A sign-off
  whose audit, signature or datasheet no longer match is shown as not valid for this audit.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curate.atomic import write_json
from curate.errors import CurateError, InputError
from curate.yamlsafe import load_yaml

SIGNOFF_FILE = "signoff.json"
DATASHEET_FILE = "datasheet.json"
MAX_DATASHEET_BYTES = 64 << 10
MAX_ANSWER_CHARS = 4000
Decision = Literal["approve", "reject"]


class DatasheetAnswers(BaseModel):
    """The questions a reviewer answers (after Gebru et al. and EU AI Act Article 10)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    motivation: str | None = Field(None, description="Motivation: purpose of the dataset")
    collection: str | None = Field(None, description="Collection process and sources")
    uses: str | None = Field(None, description="Uses: intended and out of scope")
    distribution: str | None = Field(None, description="Distribution and licence")
    maintenance: str | None = Field(None, description="Maintenance: owner and contact")
    mitigations: str | None = Field(None, description="Mitigations applied upstream")
    assumptions: str | None = Field(None, description="Assumptions about what the data measures")
    setting: str | None = Field(
        None, description="Geographical, behavioural and functional setting of intended use"
    )
    bias_measures: str | None = Field(None, description="Measures against the biases found")
    gaps: str | None = Field(None, description="Known data gaps and shortcomings")


QUESTIONS = {name: f.description or name for name, f in DatasheetAnswers.model_fields.items()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "digest"}
    return _sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _now() -> str:
    """UTC time; SOURCE_DATE_EPOCH pins it (reproducible documentation and tests)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def read_datasheet(path: str | Path) -> dict[str, Any]:
    """Validate a datasheet YAML; errors name ``file:line`` and the key (exit 2)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the datasheet: {exc.strerror}") from None
    if len(raw) > MAX_DATASHEET_BYTES:
        raise InputError(f"{path}: datasheet is {len(raw)} bytes, over {MAX_DATASHEET_BYTES}")
    doc = load_yaml(path, what="datasheet")
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: a datasheet is a mapping of question: answer")
    answers: dict[str, str] = {}
    for key, value in data.items():
        line = doc.line_of((str(key),))
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "; ".join(value)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{path}:{line}: {key}: an answer is text (got {value!r})")
        if value is not None and len(value) > MAX_ANSWER_CHARS:
            raise InputError(f"{path}:{line}: {key}: answer longer than {MAX_ANSWER_CHARS}")
        answers[str(key)] = value.strip() if value else value
    try:
        DatasheetAnswers.model_validate(answers)
    except ValidationError as exc:
        import difflib

        key = str(exc.errors()[0]["loc"][0])
        match = difflib.get_close_matches(key, list(QUESTIONS), n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        raise InputError(
            f"{path}:{doc.line_of((key,))}: unknown question {key!r}{hint}; "
            f"the questions are {', '.join(QUESTIONS)}"
        ) from None
    return {
        "kind": "curate-datasheet",
        "source": path.name,
        "sha256": _sha256(raw),
        "answers": {k: v for k, v in answers.items() if v},
    }


def attach_datasheet(report_dir: Path, audit: dict[str, Any], record: dict[str, Any]) -> None:
    """Store the answers beside audit.json, bound to this audit."""
    write_json(report_dir / DATASHEET_FILE, {**record, "audit_digest": audit["digest"]["value"]})


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None


def sign(
    report_dir: Path,
    audit: dict[str, Any],
    *,
    reviewer: str,
    decision: Decision,
    note: str = "",
    role: str = "",
) -> dict[str, Any]:
    """Append a sign-off bound to this audit (and its datasheet); return the record."""
    if not reviewer.strip():
        raise CurateError("--reviewer must name the reviewer")
    datasheet = _read_json(report_dir / DATASHEET_FILE)
    record: dict[str, Any] = {
        "reviewer": reviewer.strip(),
        "role": role.strip(),
        "decision": decision,
        "note": note.strip(),
        "signed_at": _now(),
        "audit_digest": audit["digest"]["value"],
        "audit_signature": audit.get("signature"),
        "datasheet_sha256": datasheet.get("sha256") if isinstance(datasheet, dict) else None,
    }
    record["digest"] = _digest(record)
    existing = _read_json(report_dir / SIGNOFF_FILE) or {"kind": "curate-signoff", "records": []}
    existing["records"].append(record)
    write_json(report_dir / SIGNOFF_FILE, existing)
    return record


def attachments(report_dir: Path, audit: dict[str, Any]) -> dict[str, Any]:
    """The datasheet and sign-offs beside an audit, each marked valid for it or not (and why)."""
    digest = audit.get("digest", {}).get("value")
    out: dict[str, Any] = {"datasheet": None, "signoffs": []}
    datasheet = _read_json(report_dir / DATASHEET_FILE)
    if isinstance(datasheet, dict) and isinstance(datasheet.get("answers"), dict):
        datasheet["current"] = datasheet.get("audit_digest") == digest
        out["datasheet"] = datasheet
    signoffs = _read_json(report_dir / SIGNOFF_FILE) or {}
    for record in signoffs.get("records", []) if isinstance(signoffs, dict) else []:
        if not isinstance(record, dict):
            continue
        problem = ""
        if record.get("digest") != _digest(record):
            problem = "the sign-off record was edited"
        elif record.get("audit_digest") != digest:
            problem = "signed for another audit"
        elif record.get("audit_signature") != audit.get("signature"):
            problem = "the audit's signature changed"
        elif record.get("datasheet_sha256") != (datasheet or {}).get("sha256"):
            problem = "the datasheet answers changed"
        out["signoffs"].append({**record, "valid": not problem, "problem": problem})
    return out
