"""Model code comes from the installed environment only, and only when asked; absent runtimes skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_passport.checks.dynamic import GPU_ORDER

from .builders import SITE

pytest.importorskip("torch", reason="needs the torch extra (pip install -e '.[torch]')")


def _point_class_at(checkpoint: Path, module: str) -> None:
    path = checkpoint / "MODEL_PASSPORT.json"
    data = json.loads(path.read_text())
    data["model_identity"]["class_module"] = module
    path.write_text(json.dumps(data))


def test_module_inside_checkpoint_is_never_imported(pytester: pytest.Pytester, tiny: Path,
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A passport naming a module shipped in the checkpoint is refused, even with the root on sys.path."""
    marker = tmp_path / "imported"
    (tiny / "evil_policy.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass TinyPolicy: pass\n")
    _point_class_at(tiny, "evil_policy")
    monkeypatch.setenv("PYTHONPATH", f"{tiny}:{SITE}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--checkpoint", str(tiny), "-m", "gpu", "-rs")
    result.stdout.re_match_lines([r".*refused to import evil_policy: it would load .*evil_policy\.py, inside the checkpoint"])
    result.assert_outcomes(skipped=len(GPU_ORDER))
    assert not marker.exists()


def test_module_in_working_directory_is_never_imported(pytester: pytest.Pytester, tiny: Path,
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A module that only the current directory provides is not imported (cwd is not the environment)."""
    marker = tmp_path / "imported"
    pytester.makepyfile(cwd_policy=f"open({str(marker)!r}, 'w').close()\nclass TinyPolicy: pass\n")
    _point_class_at(tiny, "cwd_policy")
    monkeypatch.setenv("PYTHONPATH", str(SITE))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    result = pytester.run(str(Path(__import__("sys").executable)), "-m", "pytest", "-p", "no:cacheprovider",
                          "--checkpoint", str(tiny), "-m", "gpu", "-rs")
    result.stdout.re_match_lines([r".*cwd_policy is not installed in this environment"])
    assert not marker.exists()


def test_gpu_items_are_not_collected_unless_asked(pytester: pytest.Pytester, tiny: Path, site_env: None) -> None:
    """Without -m gpu the model is never loaded: no gpu item is collected."""
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--checkpoint", str(tiny), "--co", "-q")
    assert not [name for name in GPU_ORDER if f"[{name}]" in result.stdout.str()]
    assert result.ret == 0


def test_without_torch_every_gpu_item_skips(pytester: pytest.Pytester, tiny: Path,
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With torch not importable, every gpu item skips naming the torch extra."""
    blocker = tmp_path / "no_torch" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    monkeypatch.setenv("PYTHONPATH", f"{blocker.parent}:{SITE}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--checkpoint", str(tiny), "-m", "gpu", "-rs")
    result.assert_outcomes(skipped=len(GPU_ORDER))
    result.stdout.re_match_lines([r"SKIPPED .*torch is not installed \(pip install 'pytest-passport\[torch\]'\)"])
