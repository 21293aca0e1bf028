"""OpenSSF model-signing interop: our in-toto export verifies with model_signing, and its signatures verify in our gate."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pytest_passport import VerificationError, schema, verify
from pytest_passport.interop import model_signing as ms

from .conftest import BIN, tamper_weights

needs_library = pytest.mark.skipif(not ms.available(), reason="the model-signing extra is not installed (pip install '.[model-signing]')")


@pytest.fixture
def ec_keys(tmp_path: Path) -> tuple[Path, Path]:
    """An EC P-256 keypair in PEM, as `openssl ecparam -name prime256v1 -genkey` makes (private 0600)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "ec.key", tmp_path / "ec.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture
def signed(cli, clean_checkpoint):
    """The clean checkpoint, signed by sign-checkpoint (no key)."""
    assert cli("sign-checkpoint", clean_checkpoint.root).ret == 0
    return clean_checkpoint


def test_statement_lists_the_signoff_manifest(signed) -> None:
    """The statement's resources are the signoff artifacts plus SIGNOFF.json; the subject digest covers them in order."""
    root = signed.root
    body = ms.statement(root)
    assert body["_type"] == "https://in-toto.io/Statement/v1"
    assert body["predicateType"] == "https://model_signing/signature/v1.0"
    signoff = json.loads((root / schema.SIGNOFF_FILENAME).read_text())
    expected = {a["path"]: a["sha256"] for a in signoff["artifacts"]}
    expected[schema.SIGNOFF_FILENAME] = hashlib.sha256((root / schema.SIGNOFF_FILENAME).read_bytes()).hexdigest()
    resources = body["predicate"]["resources"]
    assert [r["name"] for r in resources] == sorted(expected)
    assert {r["name"]: r["digest"] for r in resources} == expected
    assert all(r["algorithm"] == "sha256" for r in resources)
    digest = hashlib.sha256(b"".join(bytes.fromhex(expected[n]) for n in sorted(expected))).hexdigest()
    assert body["subject"] == [{"name": root.name, "digest": {"sha256": digest}}]
    serialization = body["predicate"]["serialization"]
    assert serialization["method"] == "files" and serialization["hash_type"] == "sha256"
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert serialization["ignore_paths"] == sorted(set(ms.GIT_PATHS) | (on_disk - set(expected)))


def test_statement_refuses_a_changed_file(signed) -> None:
    """Exporting after a signed file changed is refused, naming the file."""
    data = bytearray((signed.root / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (signed.root / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ms.ModelSigningError, match="model.safetensors: changed since it was signed"):
        ms.statement(signed.root)


def test_exported_bundle_is_a_dsse_envelope_over_the_statement(signed, ec_keys, tmp_path) -> None:
    """The bundle's ECDSA signature verifies over the DSSE PAE of the statement, with the key's hint."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private, public = ec_keys
    body = ms.export(signed.root, private, tmp_path / "model.sig")
    bundle = json.loads((tmp_path / "model.sig").read_text())
    envelope = bundle["dsseEnvelope"]
    import base64

    payload = base64.b64decode(envelope["payload"])
    assert json.loads(payload) == body
    key = serialization.load_pem_public_key(public.read_bytes())
    key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), ms.pae(payload), ec.ECDSA(hashes.SHA256()))
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == hashlib.sha256(public.read_bytes()).hexdigest()


@needs_library
def test_our_export_verifies_with_model_signing_cli(signed, ec_keys, tmp_path, pytester) -> None:
    """`model_signing verify key` accepts our export; after tampering a weight it rejects it."""
    private, public = ec_keys
    ms.export(signed.root, private, tmp_path / "model.sig")
    cmd = [str(BIN / "model_signing"), "verify", "key", str(signed.root), "--public_key", str(public), "--signature", str(tmp_path / "model.sig")]
    ok = pytester.run(*cmd, timeout=120)
    assert ok.ret == 0, ok.stdout.str() + ok.stderr.str()
    ok.stdout.fnmatch_lines(["Verification succeeded"])
    tamper_weights(signed)
    bad = pytester.run(*cmd, timeout=120)
    assert bad.ret != 0


@needs_library
def test_model_signing_signature_verifies_through_our_gate(cli, signed, ec_keys, tmp_path, pytester, mode) -> None:
    """A checkpoint signed by `model_signing sign key` passes validate-checkpoint; tampered, it fails."""
    private, public = ec_keys
    signature = tmp_path / "model.sig"
    made = pytester.run(str(BIN / "model_signing"), "sign", "key", str(signed.root), "--private_key", str(private), "--signature", str(signature), timeout=120)
    assert made.ret == 0, made.stderr.str()
    args = ["--require-signoff", "--model-signing-signature", signature, "--model-signing-key", public, *mode]
    ok = cli("validate-checkpoint", signed.root, *args, "--show-not-checked")
    assert ok.ret == 0, ok.stdout.str()
    files = len(list(p for p in signed.root.rglob("*") if p.is_file()))
    report = verify(signed.root, trusted_keys=(), model_signing=(signature, public))
    (finding,) = [f for f in report.findings if f.check == "model_signing_signature"]
    assert finding.status.value == "pass" and finding.details["files"] == files
    (signed.root / "TRAINING_LOG.md").write_text("# run 7\nrewritten\n")
    bad = cli("validate-checkpoint", signed.root, *args)
    assert bad.ret == 1
    bad.stdout.fnmatch_lines(["*model_signing_signature: *model_signing verification failed: Signature mismatch*"])
    with pytest.raises(VerificationError, match="model_signing verification failed"):
        verify(signed.root, trusted_keys=(), model_signing=(signature, public))


@needs_library
def test_model_signing_with_another_key_fails(cli, signed, ec_keys, tmp_path, pytester) -> None:
    """A model_signing bundle checked against a different EC key fails the gate."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private, _ = ec_keys
    signature = tmp_path / "model.sig"
    ms.export(signed.root, private, signature)
    other = tmp_path / "other.pub"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = cli("validate-checkpoint", signed.root, "--model-signing-signature", signature, "--model-signing-key", other)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*model_signing_signature: *Key mismatch*"])


def test_model_signing_options_go_together(cli, signed, ec_keys) -> None:
    """--model-signing-signature without --model-signing-key is a usage error."""
    result = cli("validate-checkpoint", signed.root, "--model-signing-signature", ec_keys[1])
    assert result.ret == 2
    assert "--model-signing-signature and --model-signing-key go together" in result.stderr.str()


def test_export_refuses_a_group_readable_ec_key(signed, ec_keys, tmp_path) -> None:
    """The EC private key for the export obeys the same hygiene as signing keys."""
    from pytest_passport.keys import KeyFileError

    os.chmod(ec_keys[0], 0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        ms.export(signed.root, ec_keys[0], tmp_path / "model.sig")
