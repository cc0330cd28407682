"""Keyed signatures of audit results: HMAC-SHA256 with a shared secret, or Ed25519 key pairs.

An audit's ``digest`` is an unkeyed sha256 of its content: it shows an accident (a truncated or
hand-edited file), not an attack, since whoever edits the verdict can recompute it. The
``signature`` beside it cannot be recomputed without a key:

- ``hmac-sha256``: an HMAC of the digest under the secret in ``CURATE_SIGNING_KEY``. Whoever
  verifies holds the secret, so whoever verifies can also sign.
- ``ed25519``: a signature of the digest by the private key in the PEM file that
  ``CURATE_SIGNING_PRIVATE_KEY`` names (the auditing job's); it is verified with the public key
  in the PEM file that ``CURATE_SIGNING_PUBLIC_KEY`` names (or the one of the private key, when
  only that is set). The training side then holds nothing that can sign. Needs the
  ``cryptography`` package (``pip install 'curate[sign]'``).

Rules: an audit is written signed with the private key when one is named, else with the HMAC
secret when it is set. Reading one (``curate report --verify``, ``curate diff``, the fine-tune
gate) requires, when any verifying key is set, a signature that verifies under a key of its
algorithm; when none is set, a signature cannot be checked and is ignored, unless the reader
asks for one (``curate finetune --require-signed``), which then refuses. ``load_audit`` is
that reading: the digest (``content_digest``), then the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from curate.errors import EXIT_GATE_FAILED, CurateError, InputError

KEY_ENV = "CURATE_SIGNING_KEY"
PRIVATE_KEY_ENV = "CURATE_SIGNING_PRIVATE_KEY"
PUBLIC_KEY_ENV = "CURATE_SIGNING_PUBLIC_KEY"
ALGORITHM = "hmac-sha256"
ED25519 = "ed25519"
#: binds the MAC or signature to its purpose: the same key used elsewhere never yields an
#: audit signature
_CONTEXT = b"curate-audit-signature-v1:"
MIN_KEY_BYTES = 16
MAX_KEY_FILE_BYTES = 16 * 1024  # a PEM Ed25519 key is about 120 bytes


class SignatureError(CurateError):
    """An audit result is unsigned where a signature is required, or its signature is wrong."""

    exit_code = EXIT_GATE_FAILED


def signing_key() -> bytes | None:
    """The HMAC key from the environment, or None when it is unset or empty."""
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


# --- Ed25519 ---------------------------------------------------------------------------------


def _key_file(env: str) -> bytes | None:
    """The bytes of the key file an environment variable names (None when unset or empty);
    a missing, unreadable or oversized file is one line naming the variable, never its
    content."""
    name = os.environ.get(env, "")
    if not name:
        return None
    path = Path(name)
    try:
        if not path.is_file():
            raise CurateError(f"{env}: {path} is not a file (it must name a PEM key file)")
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise CurateError(f"{env}: {path} is too large to be a PEM Ed25519 key")
        return path.read_bytes()
    except OSError as exc:
        raise CurateError(f"{env}: cannot read {path}: {exc.strerror or exc}") from None


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise CurateError(
            f"{PRIVATE_KEY_ENV} / {PUBLIC_KEY_ENV}: Ed25519 signatures need the cryptography "
            "package (pip install 'curate[sign]')"
        ) from None
    return serialization


def _private_key() -> Any | None:
    """The Ed25519 private key of ``CURATE_SIGNING_PRIVATE_KEY`` (None when unset)."""
    pem = _key_file(PRIVATE_KEY_ENV)
    if pem is None:
        return None
    serialization = _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # not PEM, encrypted, other kind
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise CurateError(
            f"{PRIVATE_KEY_ENV}: not an unencrypted PEM Ed25519 private key "
            "(make one with `openssl genpkey -algorithm ed25519 -out audit-signing.pem`)"
        )
    return key


def _public_key() -> Any | None:
    """The Ed25519 public key to verify with: ``CURATE_SIGNING_PUBLIC_KEY``'s, else the one of
    the private key (None when neither is set)."""
    pem = _key_file(PUBLIC_KEY_ENV)
    if pem is None:
        private = _private_key()
        return private.public_key() if private is not None else None
    serialization = _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise CurateError(
            f"{PUBLIC_KEY_ENV}: not a PEM Ed25519 public key (make one from the private key "
            "with `openssl pkey -in audit-signing.pem -pubout -out audit-signing.pub`)"
        )
    return key


def _public_id(public_key: Any) -> str:
    """sha256 of the raw public key: says which key signed, without being a secret."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _ed25519_ok(public_key: Any, digest: str, value: str) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(bytes.fromhex(value), _CONTEXT + digest.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


# --- signing and checking --------------------------------------------------------------------


def signature_for(digest: str, key: bytes | None = None) -> dict[str, str] | None:
    """The ``signature`` block for an audit with this content digest (None without a key):
    Ed25519 when a private key is named, else HMAC-SHA256 (``key``, or the environment's)."""
    if key is None:
        private = _private_key()
        if private is not None:
            value = private.sign(_CONTEXT + digest.encode()).hex()
            return {"algorithm": ED25519, "value": value, "key": _public_id(private.public_key())}
        key = signing_key()
    if key is None:
        return None
    return {"algorithm": ALGORITHM, "value": _mac(key, digest)}


def _verifiers() -> dict[str, Callable[[str, str], bool]]:
    """algorithm -> check(digest, value), for each kind of key the environment holds."""
    out: dict[str, Callable[[str, str], bool]] = {}
    key = signing_key()
    if key is not None:
        out[ALGORITHM] = lambda digest, value: hmac.compare_digest(value, _mac(key, digest))
    public = _public_key()
    if public is not None:
        out[ED25519] = lambda digest, value: _ed25519_ok(public, digest, value)
    return out


def check_keys() -> None:
    """Load every key the environment names, so that a bad one stops a run at its start (one
    line, exit 2) rather than after the work."""
    signing_key()
    _public_key()


def can_verify() -> bool:
    """Whether the environment holds a key that checks signatures."""
    return bool(_verifiers())


def check_signature(data: dict[str, Any], where: str, *, required: bool = False) -> bool:
    """Verify ``data``'s signature under the environment's keys; True when it was verified.

    The content digest must have been checked already: the signature covers the digest.
    Raises ``SignatureError`` when a signature is required (a key is set, or ``required``)
    and is missing, of an algorithm no key is set for, or wrong.
    """
    verifiers = _verifiers()
    block = data.get("signature")
    if not verifiers:
        if required:
            raise SignatureError(
                f"{where}: cannot check the audit's signature: {KEY_ENV} and {PUBLIC_KEY_ENV} "
                "are not set"
            )
        return False
    if not isinstance(block, dict) or not block.get("value"):
        raise SignatureError(f"{where}: the audit result is not signed (a signing key is set)")
    algorithm = block.get("algorithm")
    if algorithm not in (ALGORITHM, ED25519):
        raise SignatureError(f"{where}: unknown signature algorithm {str(algorithm)!r:.40}")
    if algorithm not in verifiers:
        raise SignatureError(
            f"{where}: the audit is signed with {algorithm}, and no key to check that is set "
            f"({KEY_ENV if algorithm == ALGORITHM else PUBLIC_KEY_ENV})"
        )
    digest = str((data.get("digest") or {}).get("value"))
    if not verifiers[algorithm](digest, str(block["value"])):
        raise SignatureError(
            f"{where}: signature mismatch: the audit result was not signed with this key "
            "(edited, or signed by another key)"
        )
    return True


def content_digest(data: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of the audit result, without the digest and signature."""
    body = {k: v for k, v in data.items() if k not in ("digest", "signature")}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def load_audit(
    path: str | Path, *, verify: bool = True, require_signed: bool = False
) -> dict[str, Any]:
    """Read an audit.json (or its folder); with ``verify``, refuse one whose digest differs.

    With ``verify``, the signature is checked too when a verifying key is set (see the module
    doc); ``require_signed`` refuses an audit whose signature was not verified.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "audit.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: audit file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid audit.json: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict) or data.get("kind") != "curate-audit":
        raise InputError(f"{path}: not a curate audit result")
    if verify:
        recorded = (data.get("digest") or {}).get("value")
        if recorded != content_digest(data):
            raise TamperedError(
                f"{path}: digest mismatch: the audit result was edited after it was written"
            )
        check_signature(data, str(path), required=require_signed)
    elif require_signed:
        raise TamperedError(f"{path}: a signed audit was required but not verified")
    return data


class TamperedError(CurateError):
    """An audit result whose content no longer matches its digest."""

    exit_code = EXIT_GATE_FAILED
