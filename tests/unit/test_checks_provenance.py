"""Unit tests for the provenance checks (deployment binding against real git repos)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_passport.checks.provenance import (
    deployment_repo_commit,
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
