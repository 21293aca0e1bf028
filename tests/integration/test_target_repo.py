"""Binding to the deployment repo: HEAD must equal deployment_repo_commit and the tree be clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import make_git_repo


@pytest.fixture
def bound(clean_checkpoint, tmp_path):
    """A checkpoint whose passport records the HEAD of a real runner repo."""
    repo = tmp_path / "runner"
    head = make_git_repo(repo, {"run.py": "print('go')\n"})
    clean_checkpoint.passport.provenance.deployment_repo_commit = head
    clean_checkpoint.write_passport()
    return clean_checkpoint.root, repo


def test_matching_clean_repo_passes(cli, bound, mode) -> None:
    """Same HEAD and a clean tree: the gate passes (untracked files are ignored)."""
    root, repo = bound
    assert cli("sign-checkpoint", root, "--target-repo", repo).ret == 0
    (repo / "notes.txt").write_text("untracked\n")
    result = cli("validate-checkpoint", root, "--require-signoff", "--target-repo", repo, *mode)
    assert result.ret == 0


def test_moved_head_fails_the_gate(cli, bound) -> None:
    """A new commit in the runner repo makes the gate fail with both commits named."""
    import git

    root, repo = bound
    assert cli("sign-checkpoint", root).ret == 0
    (repo / "run.py").write_text("print('changed')\n")
    r = git.Repo(repo)
    r.index.add(["run.py"])
    r.index.commit("change")
    result = cli("validate-checkpoint", root, "--require-signoff", "--target-repo", repo)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*deployment_repo_commit:*"])
    assert r.head.commit.hexsha in result.stdout.str()


def test_dirty_tree_fails_the_gate(cli, bound) -> None:
    """Tracked but uncommitted changes make the gate fail naming the file."""
    root, repo = bound
    assert cli("sign-checkpoint", root).ret == 0
    (repo / "run.py").write_text("print('edited')\n")
    result = cli("validate-checkpoint", root, "--require-signoff", "--target-repo", repo)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*deployment_repo_commit*", "*run.py*"])


def test_mismatch_is_soft_without_require_signoff(cli, bound) -> None:
    """Without --require-signoff a moved HEAD is only a soft signal (reference semantics)."""
    root, repo = bound
    (repo / "run.py").write_text("print('edited')\n")
    result = cli("validate-checkpoint", root, "--target-repo", repo, "--show-not-checked")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["XFAIL *deployment_repo_commit*"])


def test_target_not_a_repo_fails_the_gate(cli, bound, tmp_path: Path) -> None:
    """A --target-repo that is not a git checkout fails under --require-signoff."""
    root, _ = bound
    assert cli("sign-checkpoint", root).ret == 0
    plain = tmp_path / "plain"
    plain.mkdir()
    result = cli("validate-checkpoint", root, "--require-signoff", "--target-repo", plain)
    assert result.ret == 1
