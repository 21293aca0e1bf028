"""Interoperability with OpenSSF model-signing (``model_signing``, key mode).

How the two relate: a SIGNOFF.json is a manifest (path → sha256 of the passport and every
declared file) plus a verdict, optionally signed with Ed25519. model-signing signs a
manifest of every file under the model directory (minus an ignore list) as an in-toto
statement in a DSSE envelope inside a Sigstore bundle, with an EC key (P-256/384/521).

* :func:`statement` turns the signoff's manifest into that in-toto statement: the signoff's
  artifacts and SIGNOFF.json itself are the resources (so the verdict is covered too); every
  other file under the root goes to ``ignore_paths``. The export re-hashes each artifact and
  refuses if one changed since signing.
* :func:`export` signs the statement with an EC private key into a bundle that
  ``model_signing verify key DIR --public_key ec.pub --signature out.sig`` accepts. It needs
  only ``cryptography``, not the model-signing package.
* :func:`verify` checks a bundle made by ``model_signing sign key`` (or by :func:`export`)
  with the model-signing library (extra ``model-signing``), then binds it to SIGNOFF.json:
  every signoff artifact must be a resource with the same digest. The gate runs it as the
  ``model_signing_signature`` check when ``--model-signing-signature`` and
  ``--model-signing-key`` are given.

Command line: ``python -m pytest_passport.interop.model_signing statement CKPT`` prints the
statement; ``... export CKPT --private-key ec.key --signature model.sig`` writes the bundle.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import PassportError
from ..hashing import sha256_file
from ..schema import SIGNOFF_FILENAME, read_signoff, write_atomic

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: Paths model_signing ignores by default; listed so a verifier with defaults agrees.
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")


class ModelSigningError(PassportError):
    """An export or a model-signing verification that cannot be done or does not hold."""


def _tree(root: Path) -> list[str]:
    """Every file and symlink under ``root``, relative, without following links."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        out.extend((base / n).relative_to(root).as_posix() for n in filenames)
        out.extend((base / d).relative_to(root).as_posix() for d in dirnames if (base / d).is_symlink())
    return sorted(out)


def statement(root: Path | str, *, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The in-toto statement (model_signing predicate v1.0) of the checkpoint's signoff manifest.

    ``exclude``: further relative paths to list as ignored (e.g. the signature file).
    Raises :class:`ModelSigningError` when there is no signoff or a signed file changed.
    """
    root = Path(os.path.realpath(root))
    signoff_path = root / SIGNOFF_FILENAME
    if not signoff_path.is_file():
        raise ModelSigningError(f"{root}: no {SIGNOFF_FILENAME}; sign the checkpoint first")
    signoff = read_signoff(signoff_path)
    digests: dict[str, str] = {}
    for artifact in signoff.artifacts or []:
        if artifact is None or artifact.path in digests:
            continue
        path = root / artifact.path
        if not path.is_file() or path.is_symlink() or root not in Path(os.path.realpath(path)).parents:
            raise ModelSigningError(f"{artifact.path}: signed file is missing, a symlink or outside the checkpoint")
        actual, _ = sha256_file(path)
        if actual != artifact.sha256:
            raise ModelSigningError(f"{artifact.path}: changed since it was signed (sha256 differs from {SIGNOFF_FILENAME})")
        digests[artifact.path] = actual
    digests[SIGNOFF_FILENAME] = sha256_file(signoff_path)[0]
    ignored = sorted(set(GIT_PATHS) | {p for p in _tree(root) if p not in digests} | {e for e in exclude if e not in digests})
    root_hash = hashlib.sha256()
    resources = []
    for name in sorted(digests):
        root_hash.update(bytes.fromhex(digests[name]))
        resources.append({"name": name, "algorithm": "sha256", "digest": digests[name]})
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": root.name, "digest": {"sha256": root_hash.hexdigest()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False, "ignore_paths": ignored},
            "resources": resources,
        },
    }


def pae(payload: bytes) -> bytes:
    """DSSE pre-authentication encoding of an in-toto payload."""
    return f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} ".encode() + payload


def _ec_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..keys import KeyFileError, check_private_permissions

    check_private_permissions(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except Exception:  # noqa: BLE001 - cryptography raises several classes
        raise KeyFileError(path, "not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise KeyFileError(path, "model_signing key mode needs an EC P-256, P-384 or P-521 private key")
    return key


def _hash_for(key_size: int) -> Any:
    from cryptography.hazmat.primitives import hashes

    return {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key_size]


def key_hint(public_key: Any) -> str:
    """model_signing's key identifier: sha256 (hex) of the SubjectPublicKeyInfo PEM."""
    from cryptography.hazmat.primitives import serialization

    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def export(root: Path | str, private_key: Path | str, signature: Path | str) -> dict[str, Any]:
    """Sign the signoff's statement with an EC key into a Sigstore bundle at ``signature``."""
    from cryptography.hazmat.primitives.asymmetric import ec

    root, signature = Path(os.path.realpath(root)), Path(os.path.abspath(signature))
    key = _ec_private_key(Path(private_key))
    inside = [signature.relative_to(root).as_posix()] if root in signature.parents else []
    body = statement(root, exclude=inside)
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    value = key.sign(pae(payload), ec.ECDSA(_hash_for(key.curve.key_size)))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_hint(key.public_key())}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(value).decode("ascii"), "keyid": ""}],
        },
    }
    write_atomic(signature, json.dumps(bundle, indent=2) + "\n")
    return body


def read_statement(signature: Path | str) -> dict[str, Any]:
    """The in-toto statement inside a bundle (not verified; see :func:`verify`)."""
    try:
        bundle = json.loads(Path(signature).read_text(encoding="utf-8"))
        return json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelSigningError(f"{signature}: not a model_signing bundle ({exc})") from None


def available() -> bool:
    try:
        import model_signing  # noqa: F401
    except ImportError:
        return False
    return True


def verify(root: Path | str, signature: Path | str, public_key: Path | str) -> dict[str, str]:
    """Verify a model_signing key-mode bundle over ``root``; returns the signed path → sha256.

    Uses the model-signing library (``pip install 'pytest-passport[model-signing]'``): it
    checks the EC signature, then re-hashes every file under ``root`` that the statement does
    not ignore and compares the manifests.
    """
    if not available():
        raise ModelSigningError("the model-signing package is not installed: pip install 'pytest-passport[model-signing]'")
    from model_signing import verifying

    try:
        verifying.Config().use_elliptic_key_verifier(public_key=Path(public_key)).verify(Path(root), Path(signature))
    except Exception as exc:  # noqa: BLE001 - the library raises ValueError and cryptography errors
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelSigningError(f"model_signing verification failed: {text}") from None
    body = read_statement(signature)
    return {r["name"]: r["digest"] for r in body.get("predicate", {}).get("resources", []) if r.get("algorithm") == "sha256"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_passport.interop.model_signing", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("statement", help="print the in-toto statement of the checkpoint's signoff manifest")
    show.add_argument("checkpoint")
    out = sub.add_parser("export", help="sign the statement with an EC key into a model_signing bundle")
    out.add_argument("checkpoint")
    out.add_argument("--private-key", required=True, help="EC P-256/384/521 private key (PEM, mode 0600)")
    out.add_argument("--signature", required=True, help="bundle to write (e.g. model.sig)")
    ns = parser.parse_args(argv)
    try:
        if ns.command == "statement":
            print(json.dumps(statement(ns.checkpoint), indent=2))
        else:
            body = export(ns.checkpoint, ns.private_key, ns.signature)
            print(f"wrote {ns.signature}: {len(body['predicate']['resources'])} file(s) signed")
    except PassportError as exc:
        print(f"model_signing export: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
