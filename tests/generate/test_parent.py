"""generate-passport --parent: provenance records the parent, and validation re-checks it."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from pytest_passport import VerificationError, verify
from pytest_passport.findings import Finding, Status

from .builders import Generate, build_act_small, raw

PASSPORT = "MODEL_PASSPORT.json"
CHECK = "parent_checkpoint_verified"


@pytest.fixture(autouse=True)
def bundle_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private zip-extraction cache so the developer's cache is never touched."""
    cache = tmp_path / "bundle-cache"
    monkeypatch.setenv("PYTEST_PASSPORT_CACHE", str(cache))
    return cache


@pytest.fixture
def parent(tmp_path: Path, generate: Generate) -> Path:
    """A parent checkpoint ``runs/act-run:v4`` with its own generated passport."""
    root = build_act_small(tmp_path / "runs" / "act-run:v4")
    assert generate(root).code == 0
    return root


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def zip_dir(directory: Path, target: Path) -> Path:
    """Zip a checkpoint directory's files at the archive root."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(directory).as_posix())
    return target


def findings_of(child: Path) -> list[Finding]:
    """The parent check's findings from a full in-process validation (``verify``) of ``child``."""
    try:
        findings = verify(child, require_signoff=False).findings
    except VerificationError as exc:
        findings = exc.failures
    return [f for f in findings if f.check == CHECK]


def test_parent_directory_fills_provenance(parent: Path, act_small: Path, generate: Generate) -> None:
    """--parent DIR records the parent passport's sha256, the URI as given, the epoch and a description."""
    result = generate(act_small, "--parent", parent)
    assert result.code == 0, result.err
    provenance = raw(act_small / PASSPORT)["provenance"]
    assert provenance["parent_checkpoint"] == sha256(parent / PASSPORT)
    assert provenance["parent_checkpoint_uri"] == str(parent)
    assert provenance["parent_epoch"] == 4
    assert provenance["parent_description"] == "act-run:v4"


def test_parent_zip_fills_provenance(parent: Path, act_small: Path, generate: Generate, tmp_path: Path) -> None:
    """--parent ZIP hashes the passport inside the zip."""
    archive = zip_dir(parent, tmp_path / "act-run:v4.zip")
    result = generate(act_small, "--parent", archive)
    assert result.code == 0, result.err
    provenance = raw(act_small / PASSPORT)["provenance"]
    assert provenance["parent_checkpoint"] == sha256(parent / PASSPORT)
    assert provenance["parent_checkpoint_uri"] == str(archive)
    assert provenance["parent_epoch"] == 4


def test_parent_latest_is_pinned(parent: Path, act_small: Path, generate: Generate) -> None:
    """--parent DIR/:latest records the resolved location, not the moving name."""
    result = generate(act_small, "--parent", f"{parent.parent}/:latest")
    assert result.code == 0, result.err
    provenance = raw(act_small / PASSPORT)["provenance"]
    assert provenance["parent_checkpoint_uri"] == str(parent)
    assert provenance["parent_epoch"] == 4


def test_parent_without_epoch_uses_stack(act_small: Path, generate: Generate, tmp_path: Path) -> None:
    """A parent not named <run>:v<epoch> is described by its stack and has no epoch."""
    plain = tmp_path / "plain-parent"
    plain.mkdir()
    (plain / PASSPORT).write_text(json.dumps({"schema_version": "0.2", "stack": "lerobot-act"}))
    assert generate(act_small, "--parent", plain).code == 0
    provenance = raw(act_small / PASSPORT)["provenance"]
    assert provenance["parent_description"] == "lerobot-act"
    assert "parent_epoch" not in provenance


def test_parent_output_is_deterministic(parent: Path, act_small: Path, generate: Generate) -> None:
    """Two runs with the same --parent write byte-identical passports."""
    assert generate(act_small, "--parent", parent).code == 0
    first = (act_small / PASSPORT).read_bytes()
    assert generate(act_small, "--parent", parent).code == 0
    assert (act_small / PASSPORT).read_bytes() == first


def test_parent_without_passport_refused(act_small: Path, generate: Generate, tmp_path: Path) -> None:
    """A parent with no MODEL_PASSPORT.json → exit 1, one error line, no file written."""
    bare = build_act_small(tmp_path / "bare-parent")
    result = generate(act_small, "--parent", bare)
    assert result.code == 1
    assert result.err.strip() == f"error: --parent {bare}: no {PASSPORT} in the parent"
    assert not (act_small / PASSPORT).exists()


def test_missing_parent_refused(act_small: Path, generate: Generate, tmp_path: Path) -> None:
    """A parent that does not exist → exit 1 naming it, no file written."""
    gone = tmp_path / "gone"
    result = generate(act_small, "--parent", gone)
    assert result.code == 1
    assert result.err.startswith(f"error: --parent {gone}: ")
    assert not (act_small / PASSPORT).exists()


@pytest.mark.parametrize("form", ["dir", "zip"])
def test_child_verifies_parent_until_parent_edited(parent: Path, act_small: Path, generate: Generate,
                                                   training_repo: tuple[Path, str], tmp_path: Path, form: str) -> None:
    """The child validates with the parent check passing; editing the parent's passport makes it the one failure."""
    target = parent if form == "dir" else zip_dir(parent, tmp_path / "act-run:v4.zip")
    assert generate(act_small, "--parent", target, "--training-repo", training_repo[0]).code == 0
    (passed,) = findings_of(act_small)
    assert passed.status is Status.PASS, passed.message
    edited = raw(parent / PASSPORT) | {"stack": "edited"}
    (parent / PASSPORT).write_text(json.dumps(edited, indent=2) + "\n")
    if form == "zip":
        zip_dir(parent, target)
    with pytest.raises(VerificationError) as raised:
        verify(act_small, require_signoff=False)
    assert [f.check for f in raised.value.failures] == [CHECK]
    failed = raised.value.failures[0]
    assert failed.status is Status.FAIL
    assert sha256(parent / PASSPORT) in failed.message
    assert raw(act_small / PASSPORT)["provenance"]["parent_checkpoint"] in failed.message
