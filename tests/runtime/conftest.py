"""Fixtures for the runtime tests: the tiny policy's checkpoint, generated --dynamic and signed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .builders import SITE, build, signed



@pytest.fixture(scope="session")
def signed_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny policy's checkpoint after generate → hand edit → generate --dynamic → sign (read-only use)."""
    pytest.importorskip("torch", reason="the tiny policy needs the torch extra (pip install -e '.[torch]')")
    base = tmp_path_factory.mktemp("tiny")
    return signed(build(base / "tiny"), base)


@pytest.fixture
def tiny(signed_tiny: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the signed tiny checkpoint."""
    return Path(shutil.copytree(signed_tiny, tmp_path / "tiny"))


@pytest.fixture
def site_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester subprocesses import the tiny policy from the installed-by-path test package."""
    monkeypatch.setenv("PYTHONPATH", str(SITE))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
