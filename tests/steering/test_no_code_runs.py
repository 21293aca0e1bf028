"""Attack 1: nothing a checkpoint names or ships is imported or run by static validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import build_clean_checkpoint, make_git_repo

TEMPLATES = Path(__file__).resolve().parents[2] / "conftest_templates" / "gate"
ZEN = "Beautiful is better than ugly"


def _marker_code(marker: Path, label: str) -> str:
    return f"open({str(marker)!r}, 'a').write({label!r} + '\\n')\nprint('CHECKPOINT CODE RAN')\n"


@pytest.fixture
def planted(pytester: pytest.Pytester, tmp_path: Path) -> tuple[Path, Path]:
    """A consumer repo holding checkpoints/run7/ whose passport names the policy_impl.py it ships."""
    marker = tmp_path / "ran.marker"
    make_git_repo(pytester.path, {name: (TEMPLATES / name).read_text() for name in ("conftest.py", "test_checkpoint_gate.py")})
    built = build_clean_checkpoint(pytester.path / "checkpoints" / "run7")
    (pytester.path / "checkpoints" / "__init__.py").write_text(_marker_code(marker, "checkpoints/__init__"))
    (built.root / "__init__.py").write_text(_marker_code(marker, "run7/__init__"))
    (built.root / "policy_impl.py").write_text(_marker_code(marker, "policy_impl") + "class Policy:\n    pass\n")
    built.passport.model_identity.class_module = "checkpoints.run7.policy_impl"
    built.passport.model_identity.class_name = "Policy"
    built.declare("__init__.py", "policy_impl.py")  # declared: only the import question is tested
    return built.root, marker


def _no_code_ran(result: pytest.RunResult, marker: Path) -> str:
    text = result.stdout.str() + result.stderr.str()
    assert not marker.exists(), marker.read_text()
    assert "CHECKPOINT CODE RAN" not in text
    assert "Traceback" not in text and "INTERNALERROR" not in text
    return text


NOT_INSTALLED = "*model_identity_resolvable: checkpoints is not installed here (no installed distribution provides it)*"


def test_template_gate_never_imports_the_checkpoint(pytester, planted, monkeypatch) -> None:
    """The drop-in gate (verify() inside the consumer's pytest, cwd on sys.path) fails on the missing signoff, runs nothing."""
    root, marker = planted
    monkeypatch.setenv("POLICY_CHECKPOINT", str(root))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*signoff_present*"])
    _no_code_ran(result, marker)


def test_validate_checkpoint_never_imports_the_checkpoint(pytester, cli, planted) -> None:
    """validate-checkpoint from the consumer root reports the class as not_checked and runs nothing."""
    root, marker = planted
    result = cli("validate-checkpoint", "checkpoints/run7", "--show-not-checked")
    assert result.ret == 0
    result.stdout.fnmatch_lines([NOT_INSTALLED])
    _no_code_ran(result, marker)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_pytest_checkpoint_never_imports_the_checkpoint(pytester, planted, xdist) -> None:
    """python -m pytest --checkpoint=checkpoints/run7 (cwd first on sys.path), serial and -n 2: nothing runs."""
    root, marker = planted
    result = pytester.runpytest_subprocess("--checkpoint=checkpoints/run7", "-rs", "-p", "no:cacheprovider", *xdist)
    assert result.ret == 0
    result.stdout.fnmatch_lines([NOT_INSTALLED])
    _no_code_ran(result, marker)


def test_stdlib_module_with_side_effects_is_read_not_imported(cli, clean_checkpoint) -> None:
    """class_module "this" is located and parsed, never imported: the Zen of Python is not printed."""
    clean_checkpoint.passport.model_identity.class_module = "this"
    clean_checkpoint.passport.model_identity.class_name = "Policy"
    clean_checkpoint.write_passport()
    result = cli("validate-checkpoint", clean_checkpoint.root)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*model_identity_resolvable: model_identity.class_name Policy not found in this*"])
    assert ZEN not in result.stdout.str() + result.stderr.str()


def test_stdlib_side_effects_never_run_in_the_template_gate_or_xdist(pytester, planted, monkeypatch) -> None:
    """class_module "this" through the drop-in gate and pytest -n 2: the Zen is never printed (nothing imported)."""
    root, marker = planted
    passport = root / "MODEL_PASSPORT.json"
    passport.write_text(passport.read_text().replace('"checkpoints.run7.policy_impl"', '"this"'))
    monkeypatch.setenv("POLICY_CHECKPOINT", str(root))
    gate = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    gate.assert_outcomes(failed=1)
    run = pytester.runpytest_subprocess("--checkpoint=checkpoints/run7", "-p", "no:cacheprovider", "-n", "2")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    run.stdout.fnmatch_lines(["*model_identity_resolvable: model_identity.class_name Policy not found in this*"])
    for result in (gate, run):
        assert ZEN not in _no_code_ran(result, marker)
