"""Who signed a signoff: the Ed25519 signature block of SIGNOFF.json and the consumer's pinned keys.

A SIGNOFF.json proves integrity (the files match the digests it lists). Its optional
``signature`` block proves who wrote it. The block is one extra top-level key, which schema
0.2 readers keep or ignore (spec §1.4: unknown keys are preserved; the reference reader maps
only the six known keys)::

    "signature": {
      "algorithm": "ed25519",
      "canonicalization": "pytest-passport-signoff-v1",
      "public_key": "ssh-ed25519 AAAAC3Nza...",
      "public_key_fingerprint": "SHA256:...",
      "value": "<base64 of the 64-byte signature>"
    }

**Canonical content** (what ``value`` signs): the SIGNOFF.json document as parsed JSON, without
its top-level ``signature`` key, serialized with keys sorted at every level, no whitespace
(``","`` and ``":"`` separators), non-ASCII characters escaped as ``\\uXXXX`` (so the bytes are
ASCII, hence UTF-8), prefixed with the context line ``pytest-passport-signoff-v1\\n``. In
Python: ``CONTEXT + json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()``.
Reformatting the file (indentation, key order) keeps the signature valid; changing any value
(an artifact digest, the verdict, the time) breaks it.

Trust comes only from the consumer: ``--trusted-key FILE`` (repeatable; also an inline
``ssh-ed25519 AAAA...`` line) or ``[tool.pytest_passport] trusted_keys = [...]`` in the
pyproject.toml of the consumer's rootdir (never one inside the checkpoint). The public key
embedded in the block only says which key claims to have signed; it is trusted when it equals
a pinned key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .keys import KeyFileError, PublicKey, load_public_key, parse_public_key, public_of

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from .documents import Signoff

SIGNATURE_KEY = "signature"
ALGORITHM = "ed25519"
CANONICALIZATION = "pytest-passport-signoff-v1"
CONTEXT = b"pytest-passport-signoff-v1\n"
PYPROJECT_TABLE = "pytest_passport"

#: Signature states of a signoff document.
UNSIGNED, MALFORMED, INVALID, VALID = "unsigned", "malformed", "invalid", "valid"
#: What a run established (the ``authenticity`` field of reports).
VERIFIED, INTEGRITY_ONLY, FAILED, SIGNED = "verified", "integrity_only", "failed", "signed"
INTEGRITY_ONLY_TEXT = "integrity only, no authenticity"


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The bytes the signature covers: ``CONTEXT`` + sorted, compact, ASCII JSON minus ``signature``."""
    body = {k: v for k, v in document.items() if k != SIGNATURE_KEY}
    return CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def signature_block(document: Mapping[str, Any], private: Ed25519PrivateKey) -> dict[str, str]:
    """Sign ``document`` (its canonical content) and return the block to store under ``signature``."""
    public = public_of(private)
    value = private.sign(canonical_bytes(document))
    return {
        "algorithm": ALGORITHM,
        "canonicalization": CANONICALIZATION,
        "public_key": public.openssh,
        "public_key_fingerprint": public.fingerprint,
        "value": base64.b64encode(value).decode("ascii"),
    }


def attach_signature(signoff: Signoff, private: Ed25519PrivateKey) -> str:
    """Add (or replace) the signature block of ``signoff``; returns the signer's fingerprint.

    The block is kept in the signoff's unknown-keys map, so the writer emits it as one more
    top-level key after the six schema 0.2 keys.
    """
    from .schema import signoff_to_dict

    signoff.extra.pop(SIGNATURE_KEY, None)
    document = json.loads(json.dumps(signoff_to_dict(signoff)))  # exactly what a reader parses back
    block = signature_block(document, private)
    signoff.extra[SIGNATURE_KEY] = block
    return block["public_key_fingerprint"]


@dataclass(frozen=True)
class SignatureState:
    """What the signature block of one signoff document says, checked against itself."""

    status: str
    reason: str = ""
    key: PublicKey | None = None

    @property
    def fingerprint(self) -> str | None:
        return self.key.fingerprint if self.key else None


def examine(document: Mapping[str, Any]) -> SignatureState:
    """Check the ``signature`` block of a parsed SIGNOFF.json (cryptographically, no trust yet)."""
    if SIGNATURE_KEY not in document:
        return SignatureState(UNSIGNED, "SIGNOFF.json carries no signature")
    block = document[SIGNATURE_KEY]
    if not isinstance(block, dict):
        return SignatureState(MALFORMED, "signature: must be an object")
    algorithm = block.get("algorithm")
    if algorithm != ALGORITHM:
        return SignatureState(MALFORMED, f"signature.algorithm: {algorithm!r} is not supported (expected {ALGORITHM!r})")
    canon = block.get("canonicalization", CANONICALIZATION)
    if canon != CANONICALIZATION:
        return SignatureState(MALFORMED, f"signature.canonicalization: {canon!r} is not supported")
    text = block.get("public_key")
    if not isinstance(text, str):
        return SignatureState(MALFORMED, "signature.public_key: missing or not a string")
    try:
        key = parse_public_key(text.encode("utf-8", "replace"), "signature.public_key")
    except KeyFileError as exc:
        return SignatureState(MALFORMED, f"signature.public_key: {exc.reason}")
    claimed = block.get("public_key_fingerprint")
    if claimed is not None and claimed != key.fingerprint:
        return SignatureState(
            MALFORMED, f"signature.public_key_fingerprint: {claimed!r} is not the fingerprint of signature.public_key ({key.fingerprint})", key
        )
    value = block.get("value")
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        return SignatureState(MALFORMED, "signature.value: not a base64 Ed25519 signature (64 bytes)", key)
    try:
        message = canonical_bytes(document)
    except ValueError as exc:
        return SignatureState(MALFORMED, f"SIGNOFF.json cannot be canonicalized: {exc}", key)
    from cryptography.exceptions import InvalidSignature

    try:
        key.verifier().verify(raw, message)
    except InvalidSignature:
        return SignatureState(INVALID, f"signature does not verify: SIGNOFF.json was changed after key {key.fingerprint} signed it", key)
    return SignatureState(VALID, f"valid signature by key {key.fingerprint}", key)


# --------------------------------------------------------------------------- trusted keys


def load_trusted(values: Iterable[str | Path], base: Path | None = None) -> tuple[PublicKey, ...]:
    """Pinned public keys from files (relative to ``base``) or inline ``ssh-ed25519 AAAA...`` lines."""
    keys: list[PublicKey] = []
    for value in values:
        text = str(value).strip()
        if text.startswith("ssh-ed25519 "):
            keys.append(parse_public_key(text.encode("ascii", "replace"), "inline key"))
            continue
        path = Path(text).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        keys.append(load_public_key(path))
    return tuple(dict.fromkeys(keys))


def _inside(path: Path, root: Path) -> bool:
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    return real == top or top in real.parents


def pyproject_trusted_keys(rootdir: Path, checkpoint_root: Path | None = None) -> tuple[PublicKey, ...]:
    """``[tool.pytest_passport] trusted_keys`` of ``rootdir/pyproject.toml`` (paths relative to it).

    A pyproject.toml inside the checkpoint is never read: the checkpoint cannot pin its own key.
    """
    path = Path(rootdir) / "pyproject.toml"
    if checkpoint_root is not None and _inside(path.parent, checkpoint_root):
        return ()
    try:
        info = os.stat(path)
    except OSError:
        return ()
    if not stat.S_ISREG(info.st_mode):
        return ()
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeyFileError(path, f"cannot read [tool.{PYPROJECT_TABLE}]: {exc}") from None
    table = data.get("tool", {}).get(PYPROJECT_TABLE, {})
    values = table.get("trusted_keys", []) if isinstance(table, dict) else []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise KeyFileError(path, f"[tool.{PYPROJECT_TABLE}] trusted_keys must be a list of paths")
    return load_trusted(values, base=path.parent)


def resolve_trusted(
    explicit: Sequence[str | Path] | None, rootdir: Path | None, checkpoint_root: Path | None
) -> tuple[PublicKey, ...]:
    """``--trusted-key`` values when given (they replace the pyproject list), else the pyproject's."""
    if explicit:
        return load_trusted(explicit)
    if rootdir is None:
        return ()
    return pyproject_trusted_keys(rootdir, checkpoint_root)


# --------------------------------------------------------------------------- reporting


@dataclass
class Authenticity:
    """What a run established about who signed the checkpoint (for summaries, --json and cards)."""

    status: str
    message: str
    signer_fingerprint: str | None = None
    trusted_fingerprints: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "signer_fingerprint": self.signer_fingerprint,
            "trusted_fingerprints": list(self.trusted_fingerprints),
        }


def summarise(status: str | None, details: Mapping[str, Any] | None, message: str = "") -> Authenticity:
    """The authenticity of a run from the ``signoff_signature`` finding (status, details)."""
    details = details or {}
    signer = details.get("signer_fingerprint")
    trusted = list(details.get("trusted_fingerprints") or [])
    if status in ("fail", "failed"):
        return Authenticity(FAILED, message or "signature check failed", signer, trusted)
    if status == "pass" or status == "passed":
        return Authenticity(VERIFIED, f"signed by trusted key {signer}", signer, trusted)
    text = message if message.startswith(INTEGRITY_ONLY_TEXT) else INTEGRITY_ONLY_TEXT + (f": {message}" if message else "")
    return Authenticity(INTEGRITY_ONLY, text, signer, trusted)


def written_by(signoff: Signoff, trusted: Iterable[PublicKey] = ()) -> Authenticity:
    """The authenticity of a signoff this run wrote (or would write, on a dry run)."""
    pinned = [k.fingerprint for k in trusted]
    block = signoff.extra.get(SIGNATURE_KEY)
    signer = block.get("public_key_fingerprint") if isinstance(block, dict) else None
    if signer:
        return Authenticity(SIGNED, f"signed with key {signer}", signer, pinned)
    return Authenticity(INTEGRITY_ONLY, f"{INTEGRITY_ONLY_TEXT}: the signoff is not signed (no --signing-key)", None, pinned)


def summary_line(auth: Authenticity) -> str:
    if auth.status == FAILED:
        return f"authenticity: FAILED: {auth.message}"
    return f"authenticity: {auth.message}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = [
    "ALGORITHM",
    "Authenticity",
    "CANONICALIZATION",
    "CONTEXT",
    "INTEGRITY_ONLY_TEXT",
    "SIGNATURE_KEY",
    "SignatureState",
    "attach_signature",
    "canonical_bytes",
    "examine",
    "load_trusted",
    "pyproject_trusted_keys",
    "resolve_trusted",
    "signature_block",
    "summarise",
    "summary_line",
    "written_by",
]
