"""Signed signoffs end to end: sign with a key, pin keys, tamper and re-sign, through every entry point."""

from __future__ import annotations

import json
import re
import stat

import pytest

from pytest_passport import VerificationError, schema, verify
from pytest_passport.authenticity import INTEGRITY_ONLY_TEXT

from .conftest import signoff_json, tamper_weights


def test_sign_with_key_adds_signature_and_pinned_gate_passes(cli, clean_checkpoint, key1, mode) -> None:
    """sign-checkpoint --signing-key writes a signature block; the gate with that key pinned passes."""
    root = clean_checkpoint.root
    result = cli("sign-checkpoint", root, "--signing-key", key1.private, *mode)
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines([f"authenticity: signed with key {key1.fingerprint}"])
    block = signoff_json(root)["signature"]
    assert block["algorithm"] == "ed25519"
    assert block["public_key_fingerprint"] == key1.fingerprint
    assert list(signoff_json(root))[:6] == ["schema_version", "signed_at", "signed_by", "artifacts", "verdict", "verdict_reason"]
    gate = cli("validate-checkpoint", root, "--require-signoff", "--trusted-key", key1.public, *mode)
    assert gate.ret == 0, gate.stdout.str()
    gate.stdout.fnmatch_lines([f"authenticity: signed by trusted key {key1.fingerprint}", "LOADABLE *"])


@pytest.mark.parametrize("resign_with", ["key2", "no key"])
def test_tampered_and_resigned_fails_pinned_passes_integrity_only(cli, clean_checkpoint, key1, key2, mode, resign_with) -> None:
    """Tampered + re-signed (key 2 or unsigned): fails with key 1 pinned, passes integrity-only with none pinned."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key1.private).ret == 0
    tamper_weights(clean_checkpoint)
    resign = ["--signing-key", key2.private] if resign_with == "key2" else []
    assert cli("sign-checkpoint", root, *resign).ret == 0
    pinned = cli("validate-checkpoint", root, "--require-signoff", "--trusted-key", key1.public, *mode)
    assert pinned.ret == 1
    if resign_with == "key2":
        pinned.stdout.fnmatch_lines([f"*signoff_signature: SIGNOFF.json is signed by key {key2.fingerprint}, which is not a trusted key (trusted: {key1.fingerprint})*"])
    else:
        pinned.stdout.fnmatch_lines([f"*signoff_signature: SIGNOFF.json is not signed; a signature by a trusted key is required ({key1.fingerprint})*"])
    pinned.stdout.fnmatch_lines(["DO NOT LOAD *"])
    unpinned = cli("validate-checkpoint", root, "--require-signoff", *mode)
    assert unpinned.ret == 0, unpinned.stdout.str()
    unpinned.stdout.fnmatch_lines([f"authenticity: {INTEGRITY_ONLY_TEXT}*", "LOADABLE *"])


@pytest.mark.parametrize("resign_with", ["key2", "no key"])
def test_pytest_checkpoint_gate_with_trusted_key(pytester, clean_checkpoint, key1, key2, mode, cli, resign_with) -> None:
    """pytest --checkpoint --trusted-key (serial and -n 2): key 1 passes; re-signed otherwise fails, unpinned passes."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key1.private).ret == 0
    gate = ["-p", "no:cacheprovider", f"--checkpoint={root}", "--require-signoff", *mode]
    ok = pytester.runpytest_subprocess(*gate, f"--trusted-key={key1.public}")
    assert ok.ret == 0, ok.stdout.str()
    ok.stdout.fnmatch_lines([f"authenticity: signed by trusted key {key1.fingerprint}"])
    tamper_weights(clean_checkpoint)
    resign = ["--signing-key", key2.private] if resign_with == "key2" else []
    assert cli("sign-checkpoint", root, *resign).ret == 0
    bad = pytester.runpytest_subprocess(*gate, f"--trusted-key={key1.public}")
    assert bad.ret == 1
    bad.stdout.fnmatch_lines(["authenticity: FAILED: *", "FAILED checkpoint::signoff[[]signoff_signature[]]*"])
    if resign_with == "key2":
        bad.stdout.fnmatch_lines([f"*{key2.fingerprint}*not a trusted key*"])
    loose = pytester.runpytest_subprocess(*gate)
    assert loose.ret == 0, loose.stdout.str()
    loose.stdout.fnmatch_lines([f"authenticity: {INTEGRITY_ONLY_TEXT}*"])


def test_verify_api_trusted_keys(cli, clean_checkpoint, key1, key2) -> None:
    """verify(trusted_keys=...) passes for key 1, raises naming key 2 after a re-sign, reports integrity-only unpinned."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key1.private).ret == 0
    report = verify(root, trusted_keys=[key1.public])
    assert report.authenticity.status == "verified"
    assert report.signer_fingerprint == key1.fingerprint
    tamper_weights(clean_checkpoint)
    assert cli("sign-checkpoint", root, "--signing-key", key2.private).ret == 0
    with pytest.raises(VerificationError, match=re.escape(f"signed by key {key2.fingerprint}, which is not a trusted key")):
        verify(root, trusted_keys=[key1.public])
    loose = verify(root, trusted_keys=())
    assert loose.authenticity.status == "integrity_only"
    assert loose.authenticity.message.startswith(INTEGRITY_ONLY_TEXT)
    assert loose.signer_fingerprint == key2.fingerprint
    assert cli("sign-checkpoint", root).ret == 0
    with pytest.raises(VerificationError, match="SIGNOFF.json is not signed"):
        verify(root, trusted_keys=[key1.public])


def test_pyproject_trusted_keys_of_the_consumer_rootdir(cli, pytester, clean_checkpoint, key1, key2) -> None:
    """[tool.pytest_passport] trusted_keys in ./pyproject.toml pins keys; --trusted-key replaces that list."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key2.private).ret == 0
    pytester.makepyprojecttoml(f'[tool.pytest_passport]\ntrusted_keys = ["{key1.public}"]\n')
    refused = cli("validate-checkpoint", root, "--require-signoff")
    assert refused.ret == 1
    refused.stdout.fnmatch_lines([f"*{key2.fingerprint}, which is not a trusted key (trusted: {key1.fingerprint})*"])
    assert cli("validate-checkpoint", root, "--require-signoff", "--trusted-key", key2.public).ret == 0
    with pytest.raises(VerificationError, match=re.escape(key2.fingerprint)):
        verify(root)  # pytester's directory is the current one: its pyproject pins key 1


def test_pyproject_inside_the_checkpoint_pins_nothing(clean_checkpoint, key1, key2) -> None:
    """A checkpoint cannot pin its own key: a pyproject.toml inside it is never read; one above it is."""
    from pytest_passport.authenticity import pyproject_trusted_keys, resolve_trusted
    from pytest_passport.keys import load_public_key

    root = clean_checkpoint.root
    (root / "pyproject.toml").write_text(f'[tool.pytest_passport]\ntrusted_keys = ["{key2.public}"]\n')
    (root / "sub").mkdir()
    (root / "sub" / "pyproject.toml").write_text((root / "pyproject.toml").read_text())
    assert pyproject_trusted_keys(root, root) == ()
    assert resolve_trusted(None, root / "sub", root) == ()
    (root.parent / "pyproject.toml").write_text(f'[tool.pytest_passport]\ntrusted_keys = ["{key1.public}"]\n')
    assert pyproject_trusted_keys(root.parent, root) == (load_public_key(key1.public),)


def test_edited_signoff_with_stale_signature_fails_even_unpinned(cli, clean_checkpoint, key1, mode) -> None:
    """A signed signoff edited afterwards (reason changed) fails: the signature no longer verifies."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key1.private).ret == 0
    data = signoff_json(root)
    data["verdict_reason"] = "approved by the release manager"
    (root / schema.SIGNOFF_FILENAME).write_text(json.dumps(data, indent=2) + "\n")
    result = cli("validate-checkpoint", root, "--require-signoff", *mode)
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*signature does not verify: SIGNOFF.json was changed after key {key1.fingerprint} signed it*"])


def test_reformatted_signoff_keeps_a_valid_signature(cli, clean_checkpoint, key1) -> None:
    """Canonical content: re-indenting and reordering SIGNOFF.json keys keeps the signature valid."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key1.private).ret == 0
    data = signoff_json(root)
    (root / schema.SIGNOFF_FILENAME).write_text(json.dumps(dict(reversed(list(data.items()))), sort_keys=False, indent=None))
    report = verify(root, trusted_keys=[key1.public])
    assert report.authenticity.status == "verified"


def test_pytest_sign_with_signing_key_and_json_report(pytester, clean_checkpoint, key1, cli) -> None:
    """pytest --sign --signing-key signs; validate-checkpoint --json carries the signer's fingerprint."""
    root = clean_checkpoint.root
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--checkpoint={root}", "--sign", f"--signing-key={key1.private}")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["signoff: wrote *SIGNOFF.json (verdict pass)", f"authenticity: signed with key {key1.fingerprint}"])
    report = pytester.path / "report.json"
    assert cli("validate-checkpoint", root, "--require-signoff", "--trusted-key", key1.public, "--json", report).ret == 0
    auth = json.loads(report.read_text())["authenticity"]
    assert auth == {
        "status": "verified",
        "message": f"signed by trusted key {key1.fingerprint}",
        "signer_fingerprint": key1.fingerprint,
        "trusted_fingerprints": [key1.fingerprint],
    }


def test_private_key_readable_by_others_is_refused(cli, clean_checkpoint, key1) -> None:
    """A signing key with mode 0644 is a usage error naming chmod 600; no signoff, no key material printed."""
    root = clean_checkpoint.root
    key1.private.chmod(0o644)
    result = cli("sign-checkpoint", root, "--signing-key", key1.private)
    assert result.ret == 2
    output = result.stdout.str() + result.stderr.str()
    assert f"private key is accessible by group/others (mode 0644); run: chmod 600 {key1.private}" in output
    body = "".join(key1.private.read_text().splitlines()[1:-1])
    assert body not in output
    assert not (root / schema.SIGNOFF_FILENAME).exists()


def test_signing_key_without_sign_and_private_key_as_trusted_key_are_usage_errors(pytester, clean_checkpoint, key1, cli) -> None:
    """--signing-key without --sign, and a private key given to --trusted-key, stop before running."""
    root = clean_checkpoint.root
    result = pytester.runpytest_subprocess(f"--checkpoint={root}", f"--signing-key={key1.private}")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--signing-key signs SIGNOFF.json: it needs --sign*"])
    wrong = cli("validate-checkpoint", root, "--trusted-key", key1.private)
    assert wrong.ret == 2
    assert "this is a private key; pin the public key (KEY.pub) instead" in wrong.stderr.str()
    assert "".join(key1.private.read_text().splitlines()[1:-1]) not in wrong.stdout.str() + wrong.stderr.str()


def test_keygen_writes_owner_only_key_and_matching_ssh_fingerprint(cli, tmp_path) -> None:
    """passport-keygen: private 0600, public .pub; its fingerprint is the one ssh-keygen -l prints."""
    import shutil
    import subprocess

    target = tmp_path / "release"
    result = cli("passport-keygen", target, "--format", "openssh", "--comment", "release")
    assert result.ret == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fingerprint = result.stdout.lines[-1].split()[-1]
    assert fingerprint.startswith("SHA256:")
    assert "PRIVATE" not in result.stdout.str()
    again = cli("passport-keygen", target)
    assert again.ret == 1 and "already exists" in again.stderr.str()
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    shown = subprocess.run(["ssh-keygen", "-lf", str(target) + ".pub"], capture_output=True, text=True, check=True).stdout
    assert shown.split()[1] == fingerprint


def test_dry_run_prints_the_signed_signoff_and_writes_nothing(cli, clean_checkpoint, key1) -> None:
    """sign-checkpoint --dry-run --signing-key prints a signoff whose signature verifies; nothing is written."""
    from pytest_passport.authenticity import examine

    root = clean_checkpoint.root
    result = cli("sign-checkpoint", root, "--dry-run", "--signing-key", key1.private)
    assert result.ret == 0, result.stderr.str()
    printed = json.loads(result.stdout.str())
    state = examine(printed)
    assert state.status == "valid" and state.fingerprint == key1.fingerprint
    assert not (root / schema.SIGNOFF_FILENAME).exists()


def test_missing_pinned_key_file_is_a_usage_error(cli, pytester, clean_checkpoint) -> None:
    """A pyproject trusted_keys entry that does not exist stops the gate with exit 2, naming the file."""
    pytester.makepyprojecttoml('[tool.pytest_passport]\ntrusted_keys = ["keys/gone.pub"]\n')
    result = cli("validate-checkpoint", clean_checkpoint.root)
    assert result.ret == 2
    assert "keys/gone.pub: cannot open key file: No such file or directory" in result.stderr.str()


def test_cards_show_the_signer_fingerprint(cli, pytester, clean_checkpoint, key1) -> None:
    """The HTML and Markdown cards state the authenticity and the signer key's fingerprint."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root, "--signing-key", key1.private).ret == 0
    html, md = pytester.path / "card.html", pytester.path / "card.md"
    assert cli("validate-checkpoint", root, "--trusted-key", key1.public, "--html", html, "--markdown", md).ret == 0
    assert f"signed by trusted key {key1.fingerprint}" in html.read_text()
    assert f"(signer key `{key1.fingerprint}`)" in md.read_text()
    assert cli("validate-checkpoint", root, "--markdown", md).ret == 0
    assert f"**Authenticity**: {INTEGRITY_ONLY_TEXT}" in md.read_text()
