"""Key files made by openssl, ssh-keygen and passport-keygen; the signature block and its canonical content."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_passport import authenticity, keys, schema

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")

DOC = {
    "schema_version": "0.2",
    "signed_at": "2026-11-29T12:00:00Z",
    "signed_by": {"tool": "pytest-passport", "version": "0.1.0"},
    "artifacts": [{"path": "MODEL_PASSPORT.json", "sha256": "a" * 64}, {"path": "modèle.safetensors", "sha256": "b" * 64}],
    "verdict": "pass",
    "verdict_reason": "all hard checks pass",
}


def _flip_first_byte(value: str) -> str:
    import base64

    raw = base64.b64decode(value)
    return base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@needs_openssl
def test_openssl_ed25519_keys_sign_and_verify(tmp_path: Path) -> None:
    """A key from `openssl genpkey -algorithm ed25519` signs; its `openssl pkey -pubout` PEM verifies."""
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    _run("openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private))
    private.chmod(0o600)
    _run("openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public))
    document = dict(DOC, signature=authenticity.signature_block(DOC, keys.load_private_key(private)))
    state = authenticity.examine(document)
    assert state.status == authenticity.VALID
    assert state.key == keys.load_public_key(public)


@needs_ssh_keygen
def test_ssh_keygen_keys_sign_and_fingerprints_match(tmp_path: Path) -> None:
    """An OpenSSH ed25519 key signs; our fingerprint is the one `ssh-keygen -lf` prints."""
    private = tmp_path / "id_ed25519"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", str(private))
    public = keys.load_public_key(str(private) + ".pub")
    assert public.fingerprint == _run("ssh-keygen", "-lf", str(private) + ".pub").split()[1]
    block = authenticity.signature_block(DOC, keys.load_private_key(private))
    assert block["public_key_fingerprint"] == public.fingerprint
    assert authenticity.examine(dict(DOC, signature=block)).status == authenticity.VALID


@needs_openssl
def test_non_ed25519_signing_key_is_refused(tmp_path: Path) -> None:
    """An EC key is not a signing key here; the message names the file and the key type only."""
    private = tmp_path / "ec.key"
    _run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(private))
    private.chmod(0o600)
    with pytest.raises(keys.KeyFileError, match=r"ec.key: an EC key: only Ed25519 signing keys are supported"):
        keys.load_private_key(private)


def test_encrypted_key_needs_the_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An encrypted PKCS#8 key asks for $PASSPORT_KEY_PASSPHRASE and loads with it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = tmp_path / "enc.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"s3cret")
        )
    )
    path.chmod(0o600)
    with pytest.raises(keys.KeyFileError, match="encrypted: set \\$PASSPORT_KEY_PASSPHRASE"):
        keys.load_private_key(path)
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "s3cret")
    assert keys.load_private_key(path) is not None


def test_fifo_and_directory_are_not_key_files(tmp_path: Path) -> None:
    """Only regular files are read as keys (a FIFO never blocks)."""
    import os

    fifo = tmp_path / "key.pub"
    os.mkfifo(fifo)
    with pytest.raises(keys.KeyFileError, match="not a regular file"):
        keys.load_public_key(fifo)
    with pytest.raises(keys.KeyFileError, match="not a regular file"):
        keys.load_public_key(tmp_path)


def test_canonical_bytes_ignore_format_and_cover_every_value() -> None:
    """Canonical content: key order and whitespace do not matter; the signature block is excluded."""
    reordered = json.loads(json.dumps(dict(reversed(list(DOC.items())))))
    assert authenticity.canonical_bytes(reordered) == authenticity.canonical_bytes(DOC)
    assert authenticity.canonical_bytes(dict(DOC, signature={"x": 1})) == authenticity.canonical_bytes(DOC)
    assert authenticity.canonical_bytes(DOC).startswith(b"pytest-passport-signoff-v1\n{\"artifacts\":[{")
    assert b"mod\\u00e8le" in authenticity.canonical_bytes(DOC)
    assert authenticity.canonical_bytes(dict(DOC, verdict="soft_signal")) != authenticity.canonical_bytes(DOC)


@pytest.mark.parametrize(
    ("edit", "status", "reason"),
    [
        (lambda b: b.update(algorithm="rsa"), "malformed", "signature.algorithm: 'rsa' is not supported"),
        (lambda b: b.update(value="not base64!"), "malformed", "signature.value: not a base64 Ed25519 signature"),
        (lambda b: b.update(public_key_fingerprint="SHA256:forged"), "malformed", "is not the fingerprint of signature.public_key"),
        (lambda b: b.update(public_key="ssh-rsa AAAA"), "malformed", "signature.public_key: not a readable public key"),
        (lambda b: b.update(value=_flip_first_byte(b["value"])), "invalid", "signature does not verify"),
    ],
)
def test_examine_reports_malformed_and_invalid_blocks(edit, status: str, reason: str, tmp_path: Path) -> None:
    """Every broken signature block is named by the field at fault."""
    keys.generate(tmp_path / "k")
    block = authenticity.signature_block(DOC, keys.load_private_key(tmp_path / "k"))
    edit(block)
    state = authenticity.examine(dict(DOC, signature=block))
    assert state.status == status
    assert reason in state.reason


def test_signoff_loader_keeps_the_signature_and_rewrites_it_byte_identically(tmp_path: Path) -> None:
    """schema 0.2 loading keeps the extra top-level key; dumping it again gives the same bytes."""
    keys.generate(tmp_path / "k")
    signoff = schema.signoff_from_dict(DOC)
    fingerprint = authenticity.attach_signature(signoff, keys.load_private_key(tmp_path / "k"))
    text = schema.dumps_signoff(signoff)
    assert list(json.loads(text))[-1] == "signature"
    again = schema.load_signoff_bytes(text.encode())
    assert again.extra["signature"]["public_key_fingerprint"] == fingerprint
    assert schema.dumps_signoff(again) == text
    # A reader that maps only the six schema 0.2 keys (spec §3.1) sees the same signoff.
    six = {k: v for k, v in json.loads(text).items() if k != "signature"}
    assert schema.signoff_to_dict(schema.signoff_from_dict(six)) == DOC
    assert authenticity.examine(json.loads(text)).status == authenticity.VALID
