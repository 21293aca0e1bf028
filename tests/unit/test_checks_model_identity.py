"""Unit tests for the model_identity checks."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from pytest_passport.checks.model_identity import model_identity_resolvable, runtime_constraints
from pytest_passport.findings import Status


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path where tests write importable modules."""
    path = tmp_path / "src"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def identity(**fields: object) -> dict[str, object]:
    return {"model_identity": fields}


def test_resolvable_without_passport_is_not_checked(make_checkpoint, run_check):
    """No MODEL_PASSPORT.json → not_checked."""
    finding = run_check(model_identity_resolvable, make_checkpoint())
    assert finding.status is Status.NOT_CHECKED
    assert "no MODEL_PASSPORT.json" in finding.message


def test_direct_import_passes(make_checkpoint, run_check, module_dir):
    """class_module + class_name that import and name themselves correctly pass."""
    (module_dir / "unit_policy_ok.py").write_text("class Policy:\n    pass\n")
    root = make_checkpoint(identity(class_module="unit_policy_ok", class_name="Policy", resolved_class_name="Policy"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.PASS
    assert finding.details["target"] == "unit_policy_ok.Policy"


def test_missing_package_is_not_checked(make_checkpoint, run_check):
    """A class whose package is not installed here cannot be judged: not_checked, naming it."""
    root = make_checkpoint(identity(class_module="no_such_module_xyz.policy", class_name="Policy"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == "no_such_module_xyz is not installed here; cannot import no_such_module_xyz.policy.Policy"


def test_missing_submodule_of_installed_package_fails(make_checkpoint, run_check):
    """An installed package without the recorded submodule fails and names the exception."""
    root = make_checkpoint(identity(class_module="json.no_such_submodule", class_name="Policy"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.FAIL
    assert "ModuleNotFoundError" in finding.message
    assert finding.details["exception"] == "ModuleNotFoundError"


def test_module_raising_on_import_fails_not_crashes(make_checkpoint, run_check, module_dir):
    """A module that raises RuntimeError (or calls sys.exit) at import time is a failure, not a crash."""
    (module_dir / "unit_policy_boom.py").write_text("raise RuntimeError('needs a GPU')\n")
    (module_dir / "unit_policy_exit.py").write_text("import sys\nsys.exit(3)\n")
    for module, exc in (("unit_policy_boom", "RuntimeError"), ("unit_policy_exit", "SystemExit")):
        finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module=module, class_name="P")))
        assert finding.status is Status.FAIL
        assert finding.details["exception"] == exc


def test_missing_class_fails(make_checkpoint, run_check, module_dir):
    """A module without the named attribute fails naming class and module."""
    (module_dir / "unit_policy_empty.py").write_text("X = 1\n")
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_policy_empty", class_name="Policy")))
    assert finding.status is Status.FAIL
    assert "Policy not found in unit_policy_empty" in finding.message


def test_alias_with_other_name_fails(make_checkpoint, run_check, module_dir):
    """An attribute whose __name__ differs from class_name (an alias) fails."""
    (module_dir / "unit_policy_alias.py").write_text("class Real:\n    pass\nAlias = Real\n")
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_policy_alias", class_name="Alias")))
    assert finding.status is Status.FAIL
    assert finding.details["resolved"] == "Real"


def test_resolved_class_name_mismatch_fails(make_checkpoint, run_check, module_dir):
    """resolved_class_name different from the imported class fails."""
    (module_dir / "unit_policy_res.py").write_text("class Policy:\n    pass\n")
    root = make_checkpoint(identity(class_module="unit_policy_res", class_name="Policy", resolved_class_name="Other"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.FAIL
    assert "resolved_class_name Other" in finding.message


def test_architectures_resolved_through_transformers(make_checkpoint, run_check, monkeypatch):
    """config_architectures[0] found on (a stand-in) transformers passes; unknown ones fail."""
    fake = types.ModuleType("transformers")

    class Qwen2ForCausalLM:
        pass

    fake.Qwen2ForCausalLM = Qwen2ForCausalLM
    monkeypatch.setitem(sys.modules, "transformers", fake)
    ok = run_check(model_identity_resolvable, make_checkpoint(identity(config_architectures=["Qwen2ForCausalLM"])))
    assert ok.status is Status.PASS
    assert ok.details["architecture"] == "Qwen2ForCausalLM"
    bad = run_check(model_identity_resolvable, make_checkpoint(identity(config_architectures=["NopeModel"])))
    assert bad.status is Status.FAIL
    assert "NopeModel not in transformers" in bad.message


def test_architectures_without_transformers_is_soft(make_checkpoint, run_check, monkeypatch):
    """transformers not importable → soft_signal (cannot resolve here)."""
    monkeypatch.setitem(sys.modules, "transformers", None)
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(config_architectures=["Qwen2ForCausalLM"])))
    assert finding.status is Status.SOFT_SIGNAL
    assert "transformers cannot be imported" in finding.message


def test_model_type_tag_only_is_soft(make_checkpoint, run_check):
    """A Path-B class_name tag without module or architectures is a soft signal (spec §8.12)."""
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_name="pi05")))
    assert finding.status is Status.SOFT_SIGNAL
    assert finding.details["class_name"] == "pi05"


def constraints(required: dict[str, str]) -> dict[str, object]:
    return identity(runtime_constraints={"required_versions": required})


def test_runtime_constraints_empty_is_not_checked(make_checkpoint, run_check):
    """No required_versions → not_checked."""
    finding = run_check(runtime_constraints, make_checkpoint(identity(class_name="X")))
    assert finding.status is Status.NOT_CHECKED
    assert "required_versions" in finding.message


def test_runtime_constraints_satisfied(make_checkpoint, run_check):
    """Installed packaging/numpy inside their specifiers pass."""
    finding = run_check(runtime_constraints, make_checkpoint(constraints({"packaging": ">=20", "numpy": ">=1.0"})))
    assert finding.status is Status.PASS
    assert finding.details["required_versions"] == {"packaging": ">=20", "numpy": ">=1.0"}


@pytest.mark.parametrize(
    ("required", "problem"),
    [
        ({"numpy": "<1.0"}, "version outside specifier"),
        ({"definitely-not-installed-dist": ">=1"}, "not installed"),
        ({"numpy": "about two"}, "invalid specifier"),
    ],
)
def test_runtime_constraints_violations_fail(make_checkpoint, run_check, required, problem):
    """Outside the specifier, not installed, or an invalid specifier are violations."""
    finding = run_check(runtime_constraints, make_checkpoint(constraints(required)))
    assert finding.status is Status.FAIL
    assert problem in finding.message
    assert finding.details["violations"][0]["problem"] == problem
