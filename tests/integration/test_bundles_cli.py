"""Bundles through every entry point: the CLIs and pytest --checkpoint on dirs, zips, URIs."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from ..conftest import FIXTURES, make_git_repo


@pytest.fixture
def metta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the real Metta bundle (directory and zip) and a private cache."""
    monkeypatch.setenv("PYTEST_PASSPORT_CACHE", str(tmp_path / "cache"))
    target = tmp_path / "runs"
    target.mkdir()
    shutil.copytree(FIXTURES / "metta" / "demo-run:v3", target / "demo-run:v3")
    shutil.copy(FIXTURES / "metta" / "demo-run:v3.zip", target / "demo-run:v3.zip")
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture
def training_repo(tmp_path: Path) -> Path:
    make_git_repo(tmp_path / "train", {"train.py": "print('train')\n"})
    return tmp_path / "train"


@pytest.mark.parametrize("form", ["directory", "zip"])
def test_metta_generate_sign_gate(cli, metta, training_repo, mode, form) -> None:
    """The Metta fixture passes generate → sign → gate as a directory and as a zip."""
    bundle = metta / ("demo-run:v3" if form == "directory" else "demo-run:v3.zip")
    assert cli("generate-passport", bundle, "--training-repo", training_repo).ret == 0
    validate = cli("validate-checkpoint", bundle, *mode)
    assert validate.ret == 0, validate.stdout.str()
    assert "FAILED" not in validate.stdout.str()
    signed = cli("sign-checkpoint", bundle, "--reason", "metta bundle: no camera, no reference vector", *mode)
    assert signed.ret == 0, signed.stderr.str()
    if form == "zip":
        names = zipfile.ZipFile(bundle).namelist()
        assert {"MODEL_PASSPORT.json", "SIGNOFF.json", "policy_spec.json", "weights.safetensors"} == set(names)
    gate = cli("validate-checkpoint", bundle, "--require-signoff", *mode)
    assert gate.ret == 0, gate.stdout.str()
    gate.stdout.fnmatch_lines(["LOADABLE *"])


def test_signed_directory_zipped_passes_the_gate(cli, metta, training_repo) -> None:
    """Signing a directory bundle and then zipping its files gives a zip the gate accepts."""
    bundle = metta / "demo-run:v3"
    assert cli("generate-passport", bundle, "--training-repo", training_repo).ret == 0
    assert cli("sign-checkpoint", bundle, "--reason", "metta").ret == 0
    zipped = metta / "demo-run:v9.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in sorted(bundle.iterdir()):
            zf.write(path, path.name)
    assert cli("validate-checkpoint", zipped, "--require-signoff").ret == 0
    assert cli("validate-checkpoint", f"file://{metta}/:latest", "--require-signoff").ret == 0


def test_pytest_checkpoint_accepts_a_zip_under_xdist(pytester: pytest.Pytester, cli, metta, training_repo) -> None:
    """pytest --checkpoint BUNDLE.zip -n 2 validates the extracted bundle; workers reuse it."""
    bundle = metta / "demo-run:v3.zip"
    assert cli("generate-passport", bundle, "--training-repo", training_repo).ret == 0
    result = pytester.runpytest("--checkpoint", bundle, "-n", "2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["checkpoint: * (from *demo-run:v3.zip)"])


def test_sign_refuses_remote_uris(cli) -> None:
    """s3:// and hf:// checkpoints are read-only for sign-checkpoint (exit 2, nothing contacted)."""
    for uri in ("s3://bucket/run:v1.zip", "hf://org/policy"):
        result = cli("sign-checkpoint", uri)
        assert result.ret == 2
        result.stderr.fnmatch_lines(["*remote checkpoints are read-only*"])


def test_hostile_zip_is_a_usage_error_naming_the_entry(cli, tmp_path) -> None:
    """A zip with a ../ entry is refused by validate-checkpoint (exit 2) naming the entry."""
    evil = tmp_path / "evil:v1.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("policy_spec.json", "{}")
        zf.writestr("../escape.txt", "x")
    result = cli("validate-checkpoint", evil)
    assert result.ret == 2
    assert "../escape.txt" in result.stderr.str()
    assert not (tmp_path / "escape.txt").exists()
