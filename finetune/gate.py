"""The training gate: train only on exactly the bytes an audit passed, under the same rules.

Four checks, in this order, each refusing with one line that names what differs:

1. the audit result's digest verifies (an edited ``audit.json`` is refused), and so does its
   signature when ``CURATE_SIGNING_KEY`` is set; ``require_signed`` refuses an audit without
   a signature that verifies (see ``audit.signing``);
2. the audit's dataset sha256 equals the sha256 of the file to train on;
3. the audit's rules sha256 equals the sha256 of the rules loaded now;
4. the audit's verdict is ``pass``.

With no audit given, the audit runs first (into ``<run>/audit/``) and is read back from disk,
so the same four checks apply to it. There is no override: a refusal exits 1 and nothing is
trained or written under ``<run>/model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.run import run_audit
from audit.signing import SignatureError, TamperedError, load_audit
from curate.errors import EXIT_GATE_FAILED, CurateError
from curate.reader import file_sha256
from curate.rules import Rules


class GateRefused(CurateError):
    """The fine-tuning gate refused: no passing audit of these bytes under these rules."""

    exit_code = EXIT_GATE_FAILED


@dataclass(frozen=True)
class GatePass:
    """What the run records about the audit that let it train."""

    audit: dict[str, Any]
    audit_path: Path
    digest: str
    data_sha256: str
    rules_sha256: str
    ran_audit: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.audit_path),
            "digest": self.digest,
            "verdict": self.audit["verdict"],
            "created": self.audit.get("created"),
            "data_sha256": self.data_sha256,
            "rules_sha256": self.rules_sha256,
            "ran_by_finetune": self.ran_audit,
        }


def _short(digest: object) -> str:
    return f"{str(digest)[:12]}…" if isinstance(digest, str) and len(digest) > 12 else str(digest)


def _read(path: Path, require_signed: bool) -> dict[str, Any]:
    try:
        return load_audit(path, verify=True, require_signed=require_signed)
    except TamperedError as exc:
        raise GateRefused(f"finetune gate: audit digest check failed: {exc}") from None
    except SignatureError as exc:
        raise GateRefused(f"finetune gate: audit signature check failed: {exc}") from None
    except CurateError as exc:  # missing or unreadable audit: nothing vouches for the data
        raise GateRefused(f"finetune gate: no usable audit: {exc}") from None


def check_gate(
    data_path: str | Path,
    rules: Rules,
    audit: str | Path | None,
    run_dir: str | Path,
    *,
    require_signed: bool = False,
) -> GatePass:
    """Return the passing audit, or raise ``GateRefused`` naming the failed check."""
    data_path = Path(data_path)
    ran = audit is None
    if audit is None:
        audit_dir = Path(run_dir) / "audit"
        run_audit(data_path, audit_dir, rules)
        audit_path = audit_dir / "audit.json"
    else:
        audit_path = Path(audit)
        if audit_path.is_dir():
            audit_path = audit_path / "audit.json"
    result = _read(audit_path, require_signed)

    data_sha = file_sha256(data_path)
    audited_data = (result.get("input") or {}).get("sha256")
    if audited_data != data_sha:
        raise GateRefused(
            f"finetune gate: dataset sha256 differs: audit {audit_path} covers "
            f"{_short(audited_data)}, {data_path} is {_short(data_sha)} (audit this file)"
        )
    audited_rules = (result.get("rules") or {}).get("sha256")
    if audited_rules != rules.sha256:
        raise GateRefused(
            f"finetune gate: rules sha256 differs: audit {audit_path} used "
            f"{_short(audited_rules)}, rules {rules.source} are {_short(rules.sha256)} "
            "(audit with these rules)"
        )
    if result.get("verdict") != "pass":
        failed = [
            str(c.get("name"))
            for c in result.get("checks", [])
            if c.get("status") in ("fail", "missing") and c.get("severity") == "fail"
        ]
        listed = f" (failed: {', '.join(failed)})" if failed else ""
        raise GateRefused(
            f"finetune gate: audit verdict is {str(result.get('verdict')).upper()}, "
            f"not PASS{listed}: {audit_path}"
        )
    return GatePass(
        audit=result,
        audit_path=audit_path,
        digest=str(result["digest"]["value"]),
        data_sha256=data_sha,
        rules_sha256=rules.sha256,
        ran_audit=ran,
    )
