"""Fixtures for consumer-side tests: a consumer repository that adopted the templates."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ..conftest import Built, build_clean_checkpoint, make_git_repo

TEMPLATES = Path(__file__).resolve().parents[2] / "conftest_templates"
BIN = Path(sys.executable).parent

#: The consumer's own tests: two plain tests and one using its own fixture.
OWN_TESTS = '''
def test_runner_scales_actions(runner_gain):
    assert runner_gain * 2 == 6


def test_runner_has_a_name():
    assert "rig".upper() == "RIG"
'''
OWN_TEST_COUNT = 2

CONSUMER_PYPROJECT = '''
[project]
name = "rig-runner"
version = "0.0.1"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers"

[tool.pytest_passport]
checkpoints = ["${POLICY_CHECKPOINT}"]
'''


def consumer_files() -> dict[str, str]:
    """A consumer repository: its own tests and conftest (with LeRobot adapter hooks pasted in), plus the gate templates."""
    adapter = (TEMPLATES / "adapters" / "lerobot" / "conftest.py").read_text()
    own_conftest = adapter + "\n\n@pytest.fixture\ndef runner_gain():\n    return 3\n"
    return {
        "pyproject.toml": CONSUMER_PYPROJECT,
        "tests/conftest.py": own_conftest,
        "tests/test_runner.py": OWN_TESTS,
        "tests/passport/conftest.py": (TEMPLATES / "gate" / "conftest.py").read_text(),
        "tests/passport/test_checkpoint_gate.py": (TEMPLATES / "gate" / "test_checkpoint_gate.py").read_text(),
        "tests/passport/test_contract.py": (TEMPLATES / "contract_snapshot" / "test_contract.py").read_text(),
    }


@pytest.fixture
def consumer(pytester: pytest.Pytester) -> pytest.Pytester:
    """A fresh consumer git repository in a tmp dir that copied the templates."""
    make_git_repo(pytester.path, consumer_files())
    return pytester


def sign(pytester: pytest.Pytester, root: Path, reason: str = "accepted for the adoption test") -> None:
    """Sign ``root`` with the real console script."""
    result = pytester.run(str(BIN / "sign-checkpoint"), str(root), "--reason", reason, timeout=120)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()


@pytest.fixture
def unbound_checkpoint(tmp_path: Path) -> Built:
    """A complete checkpoint not bound to any deployment repo, unsigned."""
    built = build_clean_checkpoint(tmp_path / "ckpt")
    built.passport.provenance.deployment_repo_commit = None
    built.write_passport()
    return built
