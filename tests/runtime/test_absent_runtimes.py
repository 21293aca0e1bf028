"""Where the model's runtime is missing, every gpu item skips with a reason naming what is missing.

Runs in both CI lanes: with the torch extra (the reason names lerobot) and without it (the
reason names torch), on a real LeRobot checkpoint whose passport is generated here.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from pytest_passport.checks.dynamic import GPU_ORDER

from .builders import REPO, run


def expected_reason() -> str:
    """What is absent in this environment, in the order the runtime needs it."""
    if importlib.util.find_spec("torch") is None:
        return r"torch is not installed \(pip install 'pytest-passport\[torch\]'\)"
    if importlib.util.find_spec("lerobot") is None:
        return "lerobot is not installed in this environment"
    pytest.skip("torch and lerobot are both installed: the lerobot lane runs the model for real")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_gpu_items_skip_naming_the_missing_runtime(pytester: pytest.Pytester, tmp_path: Path,
                                                   workers: list[str]) -> None:
    """A LeRobot checkpoint's gpu items all skip with the missing library's name; static items are untouched."""
    reason = expected_reason()
    checkpoint = Path(shutil.copytree(REPO / "tests" / "fixtures" / "lerobot" / "act_state_only", tmp_path / "act"))
    assert run("generate-passport", checkpoint).returncode == 0
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--checkpoint", str(checkpoint), "-m", "gpu",
                                           "-rs", *workers)
    result.assert_outcomes(skipped=len(GPU_ORDER))
    result.stdout.re_match_lines([rf"SKIPPED .*runtime_\w+: {reason}"])
