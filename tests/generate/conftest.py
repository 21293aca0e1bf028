"""Fixtures for generate-passport tests; the builders live in :mod:`.builders`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_passport.generate import main

from .builders import (
    EPOCH,
    FIXTURES,
    Generate,
    Run,
    build_act_small,
    build_metta,
    copy_tree,
    make_git_repo,
)


@pytest.fixture
def generate(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Generate:
    """Run ``generate-passport`` in-process with ``SOURCE_DATE_EPOCH`` pinned."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)

    def run(*args: object) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def act_small(tmp_path: Path) -> Path:
    """A small LeRobot 0.6 ACT checkpoint: two cameras, 6-D state and action, chunk 10."""
    return build_act_small(tmp_path / "act_random")


@pytest.fixture
def act_state_only(tmp_path: Path) -> Path:
    """The real state-only ACT checkpoint (with an ENV input), copied writable."""
    return copy_tree(FIXTURES / "lerobot" / "act_state_only", tmp_path / "act_state_only")


@pytest.fixture
def metta_bundle(tmp_path: Path) -> Path:
    """A Metta bundle directory named like Metta's checkpoint manager names them."""
    return build_metta(tmp_path / "demo-run:v3")


@pytest.fixture
def dataset_path() -> Path:
    """The synthetic LeRobotDataset's metadata (read-only)."""
    return FIXTURES / "lerobot" / "synthetic_robot"


@pytest.fixture
def training_repo(tmp_path: Path) -> tuple[Path, str]:
    """A clean training-code repo with an origin URL that carries a token."""
    path = tmp_path / "training-repo"
    return path, make_git_repo(path, origin="https://user:secret-token@example.com/lab/train.git")
