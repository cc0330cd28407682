"""Keyed signatures of audit results: HMAC-SHA256 with a secret from ``CURATE_SIGNING_KEY``.

An audit's ``digest`` is an unkeyed sha256 of its content: it shows an accident (a truncated or
hand-edited file), not an attack, since whoever edits the verdict can recompute it. The
``signature`` beside it is an HMAC of that digest under a secret key that only the auditing job
holds (a CI secret in the job's environment), so an edited audit cannot be re-signed.

Rules: when the key is set, an audit is written signed, and reading one (``curate report
--verify``, ``curate diff``, the fine-tune gate) requires a signature that verifies under the
key; when it is not set, a signature cannot be checked and is ignored, unless the reader asks
for one (``curate finetune --require-signed``), which then refuses.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from curate.errors import EXIT_GATE_FAILED, CurateError

KEY_ENV = "CURATE_SIGNING_KEY"
ALGORITHM = "hmac-sha256"
#: binds the MAC to its purpose: the same key used elsewhere never yields an audit signature
_CONTEXT = b"curate-audit-signature-v1:"
MIN_KEY_BYTES = 16


class SignatureError(CurateError):
    """An audit result is unsigned where a signature is required, or its signature is wrong."""

    exit_code = EXIT_GATE_FAILED


def signing_key() -> bytes | None:
    """The key from the environment, or None when it is unset or empty."""
    value = os.environ.get(KEY_ENV, "")
    if not value:
        return None
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        raise CurateError(
            f"{KEY_ENV} is {len(key)} bytes: use a random secret of at least {MIN_KEY_BYTES} "
            "(e.g. `openssl rand -hex 32`)"
        )
    return key


def _mac(key: bytes, digest: str) -> str:
    return hmac.new(key, _CONTEXT + digest.encode(), hashlib.sha256).hexdigest()


def signature_for(digest: str, key: bytes | None = None) -> dict[str, str] | None:
    """The ``signature`` block for an audit with this content digest (None without a key)."""
    key = key if key is not None else signing_key()
    if key is None:
        return None
    return {"algorithm": ALGORITHM, "value": _mac(key, digest)}


def check_signature(data: dict[str, Any], where: str, *, required: bool = False) -> bool:
    """Verify ``data``'s signature under the environment's key; True when it was verified.

    The content digest must have been checked already: the signature covers the digest.
    Raises ``SignatureError`` when a signature is required (the key is set, or ``required``)
    and is missing or wrong.
    """
    key = signing_key()
    block = data.get("signature")
    if key is None:
        if required:
            raise SignatureError(
                f"{where}: cannot check the audit's signature: {KEY_ENV} is not set"
            )
        return False
    if not isinstance(block, dict) or not block.get("value"):
        raise SignatureError(f"{where}: the audit result is not signed ({KEY_ENV} is set)")
    if block.get("algorithm") != ALGORITHM:
        raise SignatureError(f"{where}: unknown signature algorithm {block.get('algorithm')!r}")
    digest = str((data.get("digest") or {}).get("value"))
    if not hmac.compare_digest(str(block["value"]), _mac(key, digest)):
        raise SignatureError(
            f"{where}: signature mismatch: the audit result was not signed with this key "
            "(edited, or signed by another key)"
        )
    return True
