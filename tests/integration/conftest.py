"""Helpers for end-to-end runs of the console scripts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture
def cli(pytester: pytest.Pytester):
    """Run a console script (validate-checkpoint, sign-checkpoint, generate-passport) in a subprocess."""

    def run(name: str, *args: object) -> pytest.RunResult:
        return pytester.run(str(BIN / name), *[str(a) for a in args], timeout=120)

    return run


@pytest.fixture(params=["serial", "xdist"])
def mode(request: pytest.FixtureRequest) -> list[str]:
    """Extra CLI arguments: none, or -n 2 (pytest-xdist)."""
    return [] if request.param == "serial" else ["-n", "2"]
