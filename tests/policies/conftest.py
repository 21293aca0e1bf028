"""Real LeRobot 0.6.1 policy checkpoints taken through generate → validate → sign → gate."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_passport import schema, verify
from pytest_passport.generate import main as generate_main

from ..conftest import make_git_repo
from .readme_values import POLICIES

BIN = Path(sys.executable).parent
#: Why signing these passports needs a reason: generate-passport cannot know these facts.
REASON = "test fixture: no dataset pin, run log, deployment repo, camera identity or reference vector"


@pytest.fixture(scope="session")
def training_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real git checkout standing in for the training code (recorded as training_repo_commit)."""
    path = tmp_path_factory.mktemp("training") / "repo"
    make_git_repo(path, {"train.py": "print('train')\n"})
    return path


@pytest.fixture
def copy_policy(tmp_path: Path) -> Callable[[str], Path]:
    """A writable copy of one shipped policy checkpoint."""

    def copy(policy: str) -> Path:
        target = tmp_path / policy
        shutil.copytree(POLICIES / policy, target)
        return target

    return copy


def generate(root: Path, training_repo: Path) -> None:
    """Write the checkpoint's passport in-process (generate-passport is pytest-free)."""
    assert generate_main([str(root), "--training-repo", str(training_repo)]) == 0


def run_script(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    """A console script of this package in a subprocess, as a user runs it."""
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory, training_repo: Path) -> Callable[[str], Path]:
    """A shipped policy, generated, validated without hard failure and signed — once per session.

    Tests copy it before changing anything.
    """
    done: dict[str, Path] = {}

    def make(policy: str) -> Path:
        if policy not in done:
            root = tmp_path_factory.mktemp("signed") / policy
            shutil.copytree(POLICIES / policy, root)
            generate(root, training_repo)
            report = verify(root, require_signoff=False)  # raises VerificationError on a hard failure
            assert report.soft_signals, "expected the soft signals REASON explains"
            result = run_script("sign-checkpoint", root, "--reason", REASON)
            assert result.returncode == 0, result.stdout + result.stderr
            done[policy] = root
        return done[policy]

    return make


@pytest.fixture
def signed_copy(signed: Callable[[str], Path], tmp_path: Path) -> Callable[[str], Path]:
    """A writable copy of a signed policy checkpoint."""

    def copy(policy: str) -> Path:
        target = tmp_path / policy
        shutil.copytree(signed(policy), target)
        return target

    return copy


@pytest.fixture
def cli(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run a console script of this package in a subprocess."""

    def run(name: str, *args: object) -> pytest.RunResult:
        return pytester.run(str(BIN / name), *[str(a) for a in args], timeout=120)

    return run


def rehash_signoff(root: Path) -> None:
    """Re-sign by hand: every SIGNOFF.json artifact gets the sha256 its file has now."""
    path = root / schema.SIGNOFF_FILENAME
    signoff = json.loads(path.read_text())
    for artifact in signoff["artifacts"]:
        artifact["sha256"] = hashlib.sha256((root / artifact["path"]).read_bytes()).hexdigest()
    path.write_text(json.dumps(signoff, indent=2))
