"""Unit tests for the provenance checks (deployment binding against real git repos)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pytest_passport.checks.provenance import (
    deployment_repo_commit,
    parent_checkpoint_verified,
    passport_creation_repo_commit_format,
    run_log_path_format,
    training_repo_commit_format,
)
from pytest_passport.findings import Status


def provenance(**fields: Any) -> dict[str, Any]:
    return {"provenance": fields}


@pytest.mark.parametrize(
    ("function", "field"),
    [(training_repo_commit_format, "training_repo_commit"),
     (passport_creation_repo_commit_format, "passport_creation_repo_commit")],
)
@pytest.mark.parametrize(
    ("value", "status", "text"),
    [(None, Status.FAIL, "is missing"), ("ABCDEF1", Status.FAIL, "not 7-40 lowercase hex"),
     ("abc12", Status.FAIL, "not 7-40"), ("abcdef1", Status.PASS, "abcdef1"), ("a" * 40, Status.PASS, "a" * 40)],
)
def test_commit_formats(make_checkpoint, run_check, function, field, value, status, text):
    """Commits are required and must be 7-40 lowercase hex."""
    finding = run_check(function, make_checkpoint(provenance(**({field: value} if value else {}))))
    assert finding.status is status
    assert f"provenance.{field}" in finding.message and text in finding.message


def test_commit_format_without_passport(make_checkpoint, run_check):
    """No passport → not_checked."""
    finding = run_check(training_repo_commit_format, make_checkpoint())
    assert finding.status is Status.NOT_CHECKED
    assert "MODEL_PASSPORT.json" in finding.message


@pytest.mark.parametrize(
    ("value", "status", "text"),
    [
        (None, Status.SOFT_SIGNAL, "missing"),
        ("TRAINING_LOG.md", Status.PASS, "TRAINING_LOG.md"),
        ("logs/run-7/train.md", Status.PASS, "logs/run-7/train.md"),
        ("https://wandb.ai/lab/run/7", Status.PASS, "is a URL"),
        ("ftp://host/log.md", Status.SOFT_SIGNAL, "not an http(s) URL"),
        ("https:///log.md", Status.SOFT_SIGNAL, "not an http(s) URL"),
        ("../TRAINING_LOG.md", Status.SOFT_SIGNAL, "climbs out"),
        ("TRAINING_LOG.txt", Status.SOFT_SIGNAL, "not a relative .md path"),
    ],
)
def test_run_log_path(make_checkpoint, run_check, value, status, text):
    """Format-only rules for run_log_path (reference semantics)."""
    finding = run_check(run_log_path_format, make_checkpoint(provenance(**({"run_log_path": value} if value else {}))))
    assert finding.status is status
    assert text in finding.message


# --------------------------------------------------------------------------- deployment_repo_commit


def deployed(make_checkpoint, commit: str | None) -> Path:
    return make_checkpoint(provenance(**({"deployment_repo_commit": commit} if commit else {})))


def test_deployment_commit_missing_is_soft(make_checkpoint, run_check, tmp_path):
    """No recorded commit → soft_signal, even with --require-signoff."""
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, None), target_repo=tmp_path, require_signoff=True)
    assert finding.status is Status.SOFT_SIGNAL
    assert "deployment_repo_commit is missing" in finding.message


def test_deployment_commit_malformed_is_soft(make_checkpoint, run_check):
    """A malformed recorded commit → soft_signal."""
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, "main"))
    assert finding.status is Status.SOFT_SIGNAL
    assert finding.details["expected_commit"] == "main"


def test_deployment_without_target_is_not_checked(make_checkpoint, run_check):
    """No --target-repo → not_checked, with or without --require-signoff."""
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, "a" * 40), require_signoff=True)
    assert finding.status is Status.NOT_CHECKED
    assert "--target-repo" in finding.message


def test_deployment_matching_head_passes(make_checkpoint, run_check, git_repo):
    """HEAD equal to the recorded commit on a clean tree passes; untracked files are ignored."""
    repo = git_repo()
    Path(repo.working_tree_dir, "scratch.txt").write_text("untracked\n")
    head = repo.head.commit.hexsha
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, head),
                        target_repo=Path(repo.working_tree_dir), require_signoff=True)
    assert finding.status is Status.PASS
    assert finding.details["actual_commit"] == head and finding.details["dirty_files"] == []


def test_deployment_short_prefix_matches(make_checkpoint, run_check, git_repo):
    """A recorded 7-char prefix of HEAD matches (the reference's string compare never did)."""
    repo = git_repo()
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, repo.head.commit.hexsha[:7]),
                        target_repo=Path(repo.working_tree_dir))
    assert finding.status is Status.PASS
    assert finding.details["expected_commit"] == repo.head.commit.hexsha[:7]


def test_deployment_subdirectory_of_repo(make_checkpoint, run_check, git_repo):
    """A --target-repo inside the work tree resolves to its repository, like git -C."""
    repo = git_repo(files={"pkg/runner.py": "x = 1\n"})
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, repo.head.commit.hexsha),
                        target_repo=Path(repo.working_tree_dir) / "pkg")
    assert finding.status is Status.PASS
    assert finding.details["target_repo"].endswith("pkg")


@pytest.mark.parametrize(("require_signoff", "status"), [(False, Status.SOFT_SIGNAL), (True, Status.FAIL)])
def test_deployment_head_mismatch(make_checkpoint, run_check, git_repo, require_signoff, status):
    """HEAD != recorded commit: soft by default, fail under --require-signoff."""
    repo = git_repo()
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, "b" * 40),
                        target_repo=Path(repo.working_tree_dir), require_signoff=require_signoff)
    assert finding.status is status
    assert "!= provenance.deployment_repo_commit" in finding.message
    assert finding.details["actual_commit"] == repo.head.commit.hexsha


@pytest.mark.parametrize(("require_signoff", "status"), [(False, Status.SOFT_SIGNAL), (True, Status.FAIL)])
def test_deployment_dirty_tree(make_checkpoint, run_check, git_repo, require_signoff, status):
    """Modified (unstaged) and staged tracked files make the tree dirty and are listed."""
    repo = git_repo(files={"runner.py": "a\n", "config.yaml": "b\n"})
    work = Path(repo.working_tree_dir)
    (work / "runner.py").write_text("changed\n")
    (work / "config.yaml").write_text("staged\n")
    repo.index.add(["config.yaml"])
    finding = run_check(deployment_repo_commit, deployed(make_checkpoint, repo.head.commit.hexsha),
                        target_repo=work, require_signoff=require_signoff)
    assert finding.status is status
    assert "2 tracked file(s) modified" in finding.message
    assert finding.details["dirty_files"] == ["config.yaml", "runner.py"]


@pytest.mark.parametrize(("require_signoff", "status"), [(False, Status.SOFT_SIGNAL), (True, Status.FAIL)])
def test_deployment_not_a_repo(make_checkpoint, run_check, tmp_path, require_signoff, status):
    """A plain directory (or a missing path) is not a usable repo: soft, fail under --require-signoff."""
    plain = tmp_path / "plain"
    plain.mkdir()
    root = deployed(make_checkpoint, "a" * 40)
    finding = run_check(deployment_repo_commit, root, target_repo=plain, require_signoff=require_signoff)
    assert finding.status is status
    assert "not a usable git repository" in finding.message
    missing = run_check(deployment_repo_commit, root, target_repo=tmp_path / "nope", require_signoff=require_signoff)
    assert missing.status is status
    assert "is not a directory" in missing.message


# --------------------------------------------------------------------------- parent_checkpoint_verified


def write_parent(root: Path, stack: str = "act") -> str:
    """A parent checkpoint directory with its own passport; returns that passport's sha256."""
    root.mkdir(parents=True)
    raw = json.dumps({"schema_version": "0.2", "stack": stack}, indent=2).encode()
    (root / "MODEL_PASSPORT.json").write_bytes(raw)
    (root / "config.json").write_text("{}")
    return hashlib.sha256(raw).hexdigest()


def zip_parent(directory: Path, target: Path) -> Path:
    """Zip a parent directory's files at the archive root."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(directory.iterdir()):
            zf.write(path, path.name)
    return target


@pytest.fixture
def bundle_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private zip-extraction cache so the developer's cache is never touched."""
    cache = tmp_path / "bundle-cache"
    monkeypatch.setenv("PYTEST_PASSPORT_CACHE", str(cache))
    return cache


def child(make_checkpoint, sha: str | None, uri: str | None) -> Path:
    fields = {k: v for k, v in (("parent_checkpoint", sha), ("parent_checkpoint_uri", uri)) if v is not None}
    return make_checkpoint(provenance(**fields))


def test_parent_without_passport_not_checked(make_checkpoint, run_check):
    """No passport → not_checked."""
    finding = run_check(parent_checkpoint_verified, make_checkpoint())
    assert finding.status is Status.NOT_CHECKED


def test_parent_not_recorded_is_not_checked(make_checkpoint, run_check):
    """A run without a parent has nothing to verify."""
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, None, None))
    assert finding.status is Status.NOT_CHECKED
    assert "provenance.parent_checkpoint" in finding.message


@pytest.mark.parametrize("value", ["ABC", "A" * 64, "a" * 63, "g" * 64])
def test_parent_sha_malformed_fails(make_checkpoint, run_check, value):
    """parent_checkpoint must be 64 lowercase hex."""
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, value, "/nowhere"))
    assert finding.status is Status.FAIL
    assert "provenance.parent_checkpoint" in finding.message and "64 lowercase hex" in finding.message


def test_parent_uri_not_recorded(make_checkpoint, run_check):
    """A hash without a location cannot be verified."""
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, "a" * 64, None))
    assert finding.status is Status.NOT_CHECKED
    assert "parent location not recorded" in finding.message


@pytest.mark.parametrize("uri", ["s3://bucket/runs/demo:v3.zip", "hf://lab/policy@main/demo:v3", "S3://bucket/x.zip"])
def test_remote_parent_not_fetched(make_checkpoint, run_check, uri):
    """s3:// and hf:// parents are never fetched during validation."""
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, "a" * 64, uri))
    assert finding.status is Status.NOT_CHECKED
    assert "remote parent not fetched during validation" in finding.message


def test_unreachable_parent_is_soft(make_checkpoint, run_check, tmp_path):
    """A local parent that is gone is a soft signal naming the URI."""
    uri = str(tmp_path / "gone" / "demo:v2")
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, "a" * 64, uri))
    assert finding.status is Status.SOFT_SIGNAL
    assert uri in finding.message


def test_corrupt_parent_zip_is_soft(make_checkpoint, run_check, tmp_path, bundle_cache):
    """A parent zip that cannot be opened is unreachable, not a mismatch."""
    bad = tmp_path / "parent.zip"
    bad.write_bytes(b"not a zip")
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, "a" * 64, str(bad)))
    assert finding.status is Status.SOFT_SIGNAL
    assert str(bad) in finding.message


def test_parent_directory_matches(make_checkpoint, run_check, tmp_path):
    """The parent's passport hashes to the recorded value → pass."""
    parent = tmp_path / "runs" / "demo:v2"
    sha = write_parent(parent)
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, sha, str(parent)))
    assert finding.status is Status.PASS
    assert finding.details["actual_sha256"] == sha


def test_parent_directory_mismatch_fails(make_checkpoint, run_check, tmp_path):
    """An edited parent passport no longer matches → fail naming both hashes."""
    parent = tmp_path / "runs" / "demo:v2"
    sha = write_parent(parent)
    (parent / "MODEL_PASSPORT.json").write_text('{"schema_version": "0.2", "stack": "edited"}\n')
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, sha, str(parent)))
    assert finding.status is Status.FAIL
    actual = hashlib.sha256((parent / "MODEL_PASSPORT.json").read_bytes()).hexdigest()
    assert sha in finding.message and actual in finding.message
    assert "MODEL_PASSPORT.json" in finding.message


def test_parent_zip_matches_and_mismatches(make_checkpoint, run_check, tmp_path, bundle_cache):
    """A real parent zip is extracted and its passport hashed; a different hash fails."""
    sha = write_parent(tmp_path / "src")
    (tmp_path / "runs").mkdir()
    archive = zip_parent(tmp_path / "src", tmp_path / "runs" / "demo.zip")
    passed = run_check(parent_checkpoint_verified, child(make_checkpoint, sha, str(archive)))
    assert passed.status is Status.PASS
    failed = run_check(parent_checkpoint_verified, child(make_checkpoint, "0" * 64, str(archive)))
    assert failed.status is Status.FAIL
    assert "0" * 64 in failed.message and sha in failed.message


def test_parent_file_uri_and_latest(make_checkpoint, run_check, tmp_path, bundle_cache):
    """file:// URIs and a :latest name resolve locally and verify."""
    sha = write_parent(tmp_path / "runs" / "demo:v2")
    finding = run_check(parent_checkpoint_verified, child(make_checkpoint, sha, (tmp_path / "runs" / "demo:v2").as_uri()))
    assert finding.status is Status.PASS
    newer = write_parent(tmp_path / "runs" / "demo:v5", stack="newer")
    latest = run_check(parent_checkpoint_verified, child(make_checkpoint, newer, f"{tmp_path / 'runs'}/:latest"))
    assert latest.status is Status.PASS
    stale = run_check(parent_checkpoint_verified, child(make_checkpoint, sha, f"{tmp_path / 'runs'}/:latest"))
    assert stale.status is Status.FAIL
