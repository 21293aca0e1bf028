"""The adapter templates: importable without torch or lerobot, optional hooks, harmless without the plugin."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from .conftest import TEMPLATES

ADAPTERS = sorted(p.parent.name for p in (TEMPLATES / "adapters").glob("*/conftest.py"))
HOOKS = ("pytest_passport_load_model", "pytest_passport_make_batch", "pytest_passport_infer")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"adapter_{name}", TEMPLATES / "adapters" / name / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_three_adapters() -> None:
    """LeRobot, Metta and plain torch module adapters are shipped."""
    assert ADAPTERS == ["lerobot", "metta", "torch_module"]


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_imports_lazily_and_hooks_are_optional(name: str) -> None:
    """Importing an adapter pulls in neither torch nor lerobot; all three hooks are optionalhook."""
    before = {m for m in sys.modules if m.split(".")[0] in ("torch", "lerobot")}
    module = _load(name)
    assert {m for m in sys.modules if m.split(".")[0] in ("torch", "lerobot")} == before
    for hook in HOOKS:
        assert getattr(module, hook).pytest_impl["optionalhook"] is True


def test_lerobot_adapter_defers_without_lerobot(tmp_path: Path) -> None:
    """Without lerobot installed, the LeRobot load hook returns None so the built-in adapter answers."""
    if importlib.util.find_spec("lerobot") is not None:
        pytest.skip("lerobot is installed here: the hook would load the policy")
    from pytest_passport.checkpoint import Checkpoint

    assert _load("lerobot").pytest_passport_load_model(None, Checkpoint(tmp_path), None) is None


@pytest.mark.parametrize("name", ADAPTERS)
@pytest.mark.parametrize("plugin", [[], ["-p", "no:passport"]], ids=["active", "disabled"])
def test_adapter_conftest_collects(pytester: pytest.Pytester, name: str, plugin: list[str]) -> None:
    """A suite whose conftest is the adapter collects and passes with the plugin active or disabled."""
    pytester.makeconftest((TEMPLATES / "adapters" / name / "conftest.py").read_text())
    pytester.makepyfile("def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess(*plugin)
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
