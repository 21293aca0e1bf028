"""generate-passport → validate-checkpoint → sign-checkpoint → validate-checkpoint --require-signoff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .builders import EPOCH, make_git_repo

BIN = Path(sys.executable).parent


def run(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(params=["act_small", "act_state_only", "metta_bundle"])
def checkpoint(request: pytest.FixtureRequest) -> Path:
    """Each layout the acceptance names: LeRobot with cameras, LeRobot state-only, Metta."""
    return request.getfixturevalue(request.param)


def test_generated_passport_has_no_hard_failure(checkpoint: Path, dataset_path: Path, tmp_path: Path) -> None:
    """With the training repo given, validation reports soft signals and not_checked rows only."""
    repo = tmp_path / "training-repo"
    make_git_repo(repo)
    generated = run("generate-passport", checkpoint, "--training-repo", repo, "--dataset-repo", "lab/synthetic_robot",
                    "--dataset-path", dataset_path)
    assert generated.returncode == 0, generated.stderr
    report = tmp_path / "report.json"
    validated = run("validate-checkpoint", checkpoint, "--dataset-path", dataset_path, "--json", report)
    observations = json.loads(report.read_text())["observations"]
    assert [o for o in observations if o["status"] == "fail"] == []
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_generate_validate_sign_gate(checkpoint: Path, tmp_path: Path) -> None:
    """The generated passport signs with a reason and then passes the --require-signoff gate."""
    repo = tmp_path / "training-repo"
    make_git_repo(repo)
    generated = run("generate-passport", checkpoint, "--training-repo", repo, "--run-log", "https://example.org/run/1")
    assert generated.returncode == 0, generated.stderr
    assert run("validate-checkpoint", checkpoint).returncode == 0
    signed = run("sign-checkpoint", checkpoint, "--reason", "phase-1 passport: soft signals reviewed")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert (checkpoint / "SIGNOFF.json").is_file()
    gated = run("validate-checkpoint", checkpoint, "--require-signoff")
    assert gated.returncode == 0, gated.stdout + gated.stderr
