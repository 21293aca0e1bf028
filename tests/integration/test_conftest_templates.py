"""The drop-in files in conftest_templates/ work in a consumer repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import make_git_repo

TEMPLATES = Path(__file__).resolve().parents[2] / "conftest_templates"


@pytest.fixture
def consumer(pytester: pytest.Pytester) -> pytest.Pytester:
    """A consumer repository (a real git checkout) holding the two drop-in files."""
    make_git_repo(pytester.path, {name: (TEMPLATES / name).read_text() for name in ("conftest.py", "test_checkpoint_gate.py")})
    return pytester


def test_gate_skips_without_checkpoint(consumer: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without POLICY_CHECKPOINT the gate test is skipped with its reason."""
    monkeypatch.delenv("POLICY_CHECKPOINT", raising=False)
    result = consumer.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*POLICY_CHECKPOINT is not set*"])


@pytest.fixture
def bound_and_signed(consumer: pytest.Pytester, cli, clean_checkpoint, monkeypatch: pytest.MonkeyPatch):
    """A checkpoint bound to the consumer's HEAD, signed, and named by POLICY_CHECKPOINT."""
    import git

    clean_checkpoint.passport.provenance.deployment_repo_commit = git.Repo(consumer.path).head.commit.hexsha
    clean_checkpoint.write_passport()
    assert cli("sign-checkpoint", clean_checkpoint.root).ret == 0
    monkeypatch.setenv("POLICY_CHECKPOINT", str(clean_checkpoint.root))
    return clean_checkpoint.root


def test_gate_passes_signed_and_fails_tampered(consumer: pytest.Pytester, bound_and_signed) -> None:
    """A signed checkpoint bound to the consumer's HEAD passes; one changed byte fails, naming the file."""
    consumer.runpytest_subprocess().assert_outcomes(passed=1)
    (bound_and_signed / "config.json").write_text("{}")
    result = consumer.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*config.json: size 2 bytes on disk*"])


def test_gate_fails_when_repo_moved(consumer: pytest.Pytester, bound_and_signed) -> None:
    """A tracked change in the consumer repo breaks the binding and fails the template gate."""
    (consumer.path / "conftest.py").write_text((consumer.path / "conftest.py").read_text() + "\n# local edit\n")
    result = consumer.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deployment_repo_commit*"])
