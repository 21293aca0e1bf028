"""The load gate: validate-checkpoint --require-signoff refuses every tampering, naming the file."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_passport import schema
from pytest_passport.schema import PASSPORT_FILENAME, SIGNOFF_FILENAME


def flip_byte(path: Path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def forge_signoff_for_passport(root: Path) -> None:
    """An attacker who edits the passport and re-hashes it into SIGNOFF.json by hand."""
    signoff = json.loads((root / SIGNOFF_FILENAME).read_text())
    digest = hashlib.sha256((root / PASSPORT_FILENAME).read_bytes()).hexdigest()
    for artifact in signoff["artifacts"]:
        if artifact["path"] == PASSPORT_FILENAME:
            artifact["sha256"] = digest
    (root / SIGNOFF_FILENAME).write_text(json.dumps(signoff, indent=2))


def declare_extra_path(rel: str) -> Callable[[Path], None]:
    def fault(root: Path) -> None:
        passport = schema.read_passport(root / PASSPORT_FILENAME)
        passport.weight_integrity.weight_files.append(schema.WeightFile(rel, "0" * 64, 1))
        schema.write_passport(passport, root / PASSPORT_FILENAME)
        forge_signoff_for_passport(root)

    return fault


def symlink_escape(root: Path) -> None:
    outside = root.parent / "outside.safetensors"
    outside.write_bytes(b"\x00" * 16)
    os.symlink(outside, root / "linked.safetensors")
    declare_extra_path("linked.safetensors")(root)


def edit_signoff_hash(root: Path) -> None:
    signoff = json.loads((root / SIGNOFF_FILENAME).read_text())
    for artifact in signoff["artifacts"]:
        if artifact["path"] == "model.safetensors":
            artifact["sha256"] = "f" * 64
    (root / SIGNOFF_FILENAME).write_text(json.dumps(signoff, indent=2))


def edit_passport(root: Path) -> None:
    text = (root / PASSPORT_FILENAME).read_text()
    (root / PASSPORT_FILENAME).write_text(text.replace('"horizon": 5', '"horizon": 6', 1))


NORMALIZER = "policy_preprocessor_step_0_normalizer_processor.safetensors"

FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "weight-byte-changed": (lambda root: flip_byte(root / "model.safetensors"), "*model.safetensors*sha256 on disk differs*"),
    "declared-file-deleted": (lambda root: (root / "config.json").unlink(), "*config.json*missing on disk*"),
    "norm-stats-edited": (lambda root: flip_byte(root / NORMALIZER), f"*{NORMALIZER}*"),
    "passport-edited": (edit_passport, "*MODEL_PASSPORT.json changed since it was signed*"),
    "signoff-hash-edited": (edit_signoff_hash, "*model.safetensors*differs from SIGNOFF.json*"),
    "unlisted-safetensors": (lambda root: (root / "extra.safetensors").write_bytes(b"x"), "*not covered by the signoff: extra.safetensors*"),
    "unlisted-bin": (lambda root: (root / "sub").mkdir() or (root / "sub" / "w.bin").write_bytes(b"x"), "*not covered by the signoff: sub/w.bin*"),
    "unlisted-pt": (lambda root: (root / "optimizer.pt").write_bytes(b"x"), "*not covered by the signoff: optimizer.pt*"),
    "declared-dotdot": (declare_extra_path("../x"), "*../x*climbs out*"),
    "declared-absolute": (declare_extra_path("/etc/passwd"), "*/etc/passwd*absolute path*"),
    "declared-symlink-escape": (symlink_escape, "*linked.safetensors*outside the checkpoint root*"),
}


@pytest.fixture
def signed(cli, clean_checkpoint) -> Path:
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root).ret == 0
    return root


def test_signed_checkpoint_passes_the_gate(cli, signed, mode) -> None:
    """The untouched signed checkpoint is loadable (exit 0)."""
    result = cli("validate-checkpoint", signed, "--require-signoff", *mode)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["LOADABLE *"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_tampering_fails_the_gate(cli, signed, mode, fault) -> None:
    """Each tampering makes the gate exit 1 with a message naming the file."""
    apply, pattern = FAULTS[fault]
    apply(signed)
    result = cli("validate-checkpoint", signed, "--require-signoff", *mode)
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines([pattern, "DO NOT LOAD *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str()


def test_unsigned_checkpoint_fails_the_gate(cli, clean_checkpoint) -> None:
    """No SIGNOFF.json: loadable without --require-signoff, refused with it."""
    root = clean_checkpoint.root
    assert cli("validate-checkpoint", root).ret == 0
    result = cli("validate-checkpoint", root, "--require-signoff")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*signoff_present: no SIGNOFF.json*never signed*"])


def test_signoff_with_verdict_fail_blocks_loading(cli, signed) -> None:
    """A signoff that records verdict 'fail' is refused even though every hash matches."""
    signoff = json.loads((signed / SIGNOFF_FILENAME).read_text())
    signoff["verdict"] = "fail"
    (signed / SIGNOFF_FILENAME).write_text(json.dumps(signoff))
    result = cli("validate-checkpoint", signed, "--require-signoff")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*signoff_verdict: SIGNOFF.json records verdict 'fail'*"])


def test_corrupt_signoff_fails(cli, signed) -> None:
    """An unparseable SIGNOFF.json is a failure naming the file, with or without the flag."""
    (signed / SIGNOFF_FILENAME).write_text("{not json")
    result = cli("validate-checkpoint", signed)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*signoff_present: SIGNOFF.json: invalid JSON*"])
