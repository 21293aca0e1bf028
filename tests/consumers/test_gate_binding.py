"""The gate template binds a checkpoint to the consumer's commit and catches changed bytes."""

from __future__ import annotations

import pytest

from .conftest import OWN_TEST_COUNT, sign


@pytest.fixture
def bound_and_signed(consumer: pytest.Pytester, clean_checkpoint, monkeypatch: pytest.MonkeyPatch):
    """A checkpoint bound to the consumer's HEAD, signed, named by POLICY_CHECKPOINT (the gate test only)."""
    import git

    clean_checkpoint.passport.provenance.deployment_repo_commit = git.Repo(consumer.path).head.commit.hexsha
    clean_checkpoint.write_passport()
    sign(consumer, clean_checkpoint.root)
    monkeypatch.setenv("POLICY_CHECKPOINT", str(clean_checkpoint.root))
    return clean_checkpoint.root


GATE = "tests/passport/test_checkpoint_gate.py"


def test_gate_passes_signed_and_fails_tampered(consumer: pytest.Pytester, bound_and_signed) -> None:
    """A signed checkpoint bound to the consumer's HEAD passes; one changed byte fails, naming the file."""
    consumer.runpytest_subprocess(GATE).assert_outcomes(passed=1)
    (bound_and_signed / "config.json").write_text("{}")
    result = consumer.runpytest_subprocess(GATE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*config.json: size 2 bytes on disk*"])


def test_gate_fails_when_repo_moved(consumer: pytest.Pytester, bound_and_signed) -> None:
    """A tracked change in the consumer repo breaks the binding and fails the template gate."""
    conftest = consumer.path / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text() + "\n# local edit\n")
    result = consumer.runpytest_subprocess(GATE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*deployment_repo_commit*"])


def test_env_list_gates_every_checkpoint(consumer: pytest.Pytester, unbound_checkpoint, tmp_path, monkeypatch) -> None:
    """POLICY_CHECKPOINTS gates each entry separately: the signed one passes, the unsigned one fails."""
    import os

    from ..conftest import build_clean_checkpoint

    sign(consumer, unbound_checkpoint.root)
    other = build_clean_checkpoint(tmp_path / "other")
    monkeypatch.setenv("POLICY_CHECKPOINTS", os.pathsep.join([str(unbound_checkpoint.root), str(other.root)]))
    result = consumer.runpytest_subprocess(GATE, "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*[[]POLICY_CHECKPOINTS[[]0[]][]] PASSED*", "*[[]POLICY_CHECKPOINTS[[]1[]][]] FAILED*"])


def test_templates_carry_when_to_use_headers() -> None:
    """Every template file opens with a header saying when to use it."""
    from .conftest import TEMPLATES

    files = [p for p in TEMPLATES.rglob("*") if p.is_file() and p.suffix in (".py", ".yml")]
    assert len(files) >= 7
    for path in files:
        assert "WHEN TO USE" in path.read_text()[:1500], path


def test_own_suite_alone_is_untouched(consumer: pytest.Pytester, monkeypatch) -> None:
    """Running only the consumer's own test file needs no checkpoint at all."""
    monkeypatch.delenv("POLICY_CHECKPOINT", raising=False)
    consumer.runpytest_subprocess("tests/test_runner.py").assert_outcomes(passed=OWN_TEST_COUNT)
