"""validate-checkpoint starts light: only this plugin (and xdist for -n), no other installed plugin.

Correctness only: which modules a run imports, not how long it takes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[1] / "fixtures" / "lerobot" / "act_state_only"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The state-only ACT fixture with a generated passport (a checkpoint without one never passes)."""
    from pytest_passport.generate import main as generate

    from ..conftest import make_git_repo

    base = tmp_path_factory.mktemp("startup")
    shutil.copytree(SOURCE, base / "ckpt")
    make_git_repo(base / "training")
    assert generate([str(base / "ckpt"), "--training-repo", str(base / "training")]) == 0
    return str(base / "ckpt")

RUN = """
import json, sys
from pytest_passport.cli import validate_main
code = validate_main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(m for m in ("syrupy", "xdist") if m in sys.modules)}))
"""


def run_validate(*args: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(env_extra or {})
    run = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert run.stdout.strip(), run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


needs_syrupy = pytest.mark.skipif(
    importlib.util.find_spec("syrupy") is None, reason="needs an auto-loadable third-party plugin (syrupy, a dev extra)"
)


@needs_syrupy
def test_validate_does_not_autoload_other_plugins(checkpoint: str) -> None:
    result = run_validate(checkpoint)
    assert result["code"] == 0
    assert result["modules"] == []


@needs_syrupy
def test_validate_n2_loads_xdist_only(checkpoint: str) -> None:
    result = run_validate("-n", "2", checkpoint)
    assert result["code"] == 0
    assert result["modules"] == ["xdist"]


@needs_syrupy
def test_pytest_addopts_keeps_autoload(checkpoint: str) -> None:
    """Options in PYTEST_ADDOPTS may belong to any installed plugin, so plugins still load then."""
    result = run_validate(checkpoint, env_extra={"PYTEST_ADDOPTS": "-p no:randomly"})
    assert result["code"] == 0
    assert "syrupy" in result["modules"]
