"""Remote and bundle URIs through every entry point: the gate CLI, pytest --checkpoint, verify()."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_passport import load_passport, verify

from .conftest import Bucket, HfCache, tree

GATE = str(Path(sys.executable).parent / "validate-checkpoint")


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_gate_cli_by_s3_uri(pytester: pytest.Pytester, s3: Bucket, signed_zip: Path, xdist: list[str]) -> None:
    """validate-checkpoint --require-signoff s3://…zip passes for a signed bundle."""
    uri = s3.put("runs/demo-run:v3.zip", signed_zip.read_bytes())
    result = pytester.run(GATE, uri, "--require-signoff", *xdist, timeout=120)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"LOADABLE {uri}"])


def test_pytest_checkpoint_by_hf_uri(pytester: pytest.Pytester, hf_cache: HfCache, signed_template: Path) -> None:
    """pytest --checkpoint hf://org/repo --require-signoff passes offline from the hub cache."""
    hf_cache.add("lab/demo-run", tree(signed_template))
    result = pytester.runpytest("--checkpoint", "hf://lab/demo-run", "--require-signoff")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["checkpoint: * (from hf://lab/demo-run)"])


def test_verify_and_load_passport_by_uri(s3: Bucket, signed_zip: Path) -> None:
    """verify() and load_passport() accept an s3:// URI directly."""
    uri = s3.put("runs/demo-run:v3.zip", signed_zip.read_bytes())
    assert verify(uri).loadable
    assert load_passport(uri).stack == "metta"


def test_tampered_remote_bundle_fails_the_gate(pytester: pytest.Pytester, s3: Bucket, signed_template: Path, tmp_path: Path) -> None:
    """A signed bundle whose weights were swapped before upload fails the gate, naming the file."""
    import zipfile

    files = tree(signed_template)
    weights = bytearray(files["weights.safetensors"])
    weights[-1] ^= 0x01
    files["weights.safetensors"] = bytes(weights)
    path = tmp_path / "demo-run:v4.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    uri = s3.put("runs/demo-run:v4.zip", path.read_bytes())
    result = pytester.run(GATE, uri, "--require-signoff", timeout=120)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*weights.safetensors*sha256 on disk differs*"])
