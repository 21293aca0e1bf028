"""Unit tests for the model_identity checks."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_passport.checks.model_identity import model_identity_resolvable, runtime_constraints
from pytest_passport.findings import Status


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Installs a distribution into a site directory on sys.path: a package plus its dist-info."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))

    def install(package: str, files: dict[str, str], *, dist: str | None = None) -> Path:
        for rel, text in files.items():
            path = root / package / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        info = root / f"{dist or package}-1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist or package}\nVersion: 1.0\n")
        (info / "top_level.txt").write_text(package + "\n")
        importlib.invalidate_caches()
        return root / package

    return install


def identity(**fields: object) -> dict[str, object]:
    return {"model_identity": fields}


def test_resolvable_without_passport_is_not_checked(make_checkpoint, run_check):
    """No MODEL_PASSPORT.json → not_checked."""
    finding = run_check(model_identity_resolvable, make_checkpoint())
    assert finding.status is Status.NOT_CHECKED
    assert "no MODEL_PASSPORT.json" in finding.message


def test_class_defined_in_installed_package_passes(make_checkpoint, run_check, site):
    """class_module + class_name defined by a class statement in an installed package pass, unimported."""
    site("unit_pkg_ok", {"__init__.py": "", "policy.py": "raise SystemExit('imported')\nclass Policy:\n    pass\n"})
    root = make_checkpoint(identity(class_module="unit_pkg_ok.policy", class_name="Policy", resolved_class_name="Policy"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.PASS, finding.message
    assert finding.details["target"] == "unit_pkg_ok.policy.Policy"
    assert finding.details["distribution"] == "unit_pkg_ok"
    assert "unit_pkg_ok" not in sys.modules and "unit_pkg_ok.policy" not in sys.modules


def test_reexport_by_name_passes(make_checkpoint, run_check, site):
    """A package __init__ that re-exports the class by name (``from .m import Policy``) passes."""
    site("unit_pkg_re", {"__init__.py": "from .modeling import Policy\n", "modeling.py": "class Policy:\n    pass\n"})
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_pkg_re", class_name="Policy")))
    assert finding.status is Status.PASS
    assert finding.details["resolved_via"] == "import"


def test_stdlib_class_passes(make_checkpoint, run_check):
    """A standard-library class (collections.OrderedDict) resolves from its source."""
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="collections", class_name="OrderedDict")))
    assert finding.status is Status.PASS
    assert finding.details["resolved_via"] == "class_definition"


def test_missing_package_is_not_checked(make_checkpoint, run_check):
    """A class whose package is not installed here cannot be judged: not_checked, naming it."""
    root = make_checkpoint(identity(class_module="no_such_module_xyz.policy", class_name="Policy"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == ("no_such_module_xyz is not installed here (no installed distribution provides it); "
                               "cannot resolve no_such_module_xyz.policy.Policy without importing it")


def test_module_on_sys_path_but_not_installed_is_not_checked(make_checkpoint, run_check, tmp_path, monkeypatch):
    """A module that is importable from a bare sys.path entry, but no distribution provides, is never trusted."""
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "unit_loose_policy.py").write_text("class Policy:\n    pass\n")
    monkeypatch.syspath_prepend(str(loose))
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_loose_policy", class_name="Policy")))
    assert finding.status is Status.NOT_CHECKED
    assert "no installed distribution provides it" in finding.message


def test_missing_submodule_of_installed_package_fails(make_checkpoint, run_check):
    """An installed package without the recorded submodule fails and names the exception."""
    root = make_checkpoint(identity(class_module="json.no_such_submodule", class_name="Policy"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.FAIL
    assert "ModuleNotFoundError" in finding.message
    assert finding.details["exception"] == "ModuleNotFoundError"


def test_submodule_made_at_import_time_is_not_checked(make_checkpoint, run_check):
    """os.path exists only after os runs (sys.modules): not_checked, deferred to -m gpu."""
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="os.path", class_name="X")))
    assert finding.status is Status.NOT_CHECKED
    assert "-m gpu" in finding.message


def test_module_that_would_raise_on_import_is_only_read(make_checkpoint, run_check, site, tmp_path):
    """A module that raises or writes files at import time is parsed, never run: no marker, a plain verdict."""
    marker = tmp_path / "imported.marker"
    site("unit_pkg_boom", {"__init__.py": f"open({str(marker)!r}, 'w').write('ran')\nraise RuntimeError('gpu')\n"})
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_pkg_boom", class_name="P")))
    assert finding.status is Status.FAIL
    assert "P not found in unit_pkg_boom" in finding.message
    assert not marker.exists()


def test_missing_class_fails(make_checkpoint, run_check, site):
    """A module without the named attribute fails naming class and module."""
    site("unit_pkg_empty", {"__init__.py": "X = 1\n"})
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_pkg_empty", class_name="Policy")))
    assert finding.status is Status.FAIL
    assert "Policy not found in unit_pkg_empty" in finding.message


@pytest.mark.parametrize("source", ["from ._impl import *\n", "def __getattr__(name):\n    return 1\n", "Policy = make()\n"])
def test_names_bound_at_import_time_are_not_checked(make_checkpoint, run_check, site, source):
    """Star imports, module __getattr__ and computed assignments cannot be read statically: not_checked."""
    site("unit_pkg_dyn", {"__init__.py": source})
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_pkg_dyn", class_name="Policy")))
    assert finding.status is Status.NOT_CHECKED
    assert finding.message.endswith("resolving the class needs the model-running checks (-m gpu)")


def test_compiled_module_is_not_checked(make_checkpoint, run_check, site):
    """A compiled extension module has no source to read: not_checked, deferred to -m gpu."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    site("unit_pkg_ext", {"__init__.py": "", f"fast{suffix}": "not really ELF"})
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_pkg_ext.fast", class_name="P")))
    assert finding.status is Status.NOT_CHECKED
    assert "compiled module" in finding.message


def test_alias_with_other_name_fails(make_checkpoint, run_check, site):
    """An attribute whose __name__ differs from class_name (an alias) fails."""
    site("unit_pkg_alias", {"__init__.py": "class Real:\n    pass\nAlias = Real\n"})
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(class_module="unit_pkg_alias", class_name="Alias")))
    assert finding.status is Status.FAIL
    assert finding.details["resolved"] == "Real"


def test_resolved_class_name_mismatch_fails(make_checkpoint, run_check, site):
    """resolved_class_name different from the defined class fails."""
    site("unit_pkg_res", {"__init__.py": "class Policy:\n    pass\n"})
    root = make_checkpoint(identity(class_module="unit_pkg_res", class_name="Policy", resolved_class_name="Other"))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.FAIL
    assert "resolved_class_name Other" in finding.message


def test_module_inside_the_checkpoint_is_never_trusted(make_checkpoint, run_check, tmp_path, monkeypatch):
    """A dist-info and package shipped inside the checkpoint, on sys.path, still do not resolve (not_checked)."""
    root = make_checkpoint(identity(class_module="unit_shipped.policy", class_name="Policy"))
    (root / "unit_shipped").mkdir()
    (root / "unit_shipped" / "__init__.py").write_text("")
    (root / "unit_shipped" / "policy.py").write_text("class Policy:\n    pass\n")
    info = root / "unit_shipped-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: unit_shipped\nVersion: 1.0\n")
    (info / "top_level.txt").write_text("unit_shipped\n")
    monkeypatch.syspath_prepend(str(root))
    finding = run_check(model_identity_resolvable, root)
    assert finding.status is Status.NOT_CHECKED
    assert "not found outside the working directory" in finding.message or "inside the checkpoint" in finding.message


def test_architectures_resolved_through_transformers_source(make_checkpoint, run_check, site):
    """config_architectures[0] listed in (a stand-in, installed) transformers passes; unknown ones are not_checked."""
    site("transformers", {"__init__.py": '_import_structure = {"models.qwen2": ["Qwen2ForCausalLM"]}\nraise SystemExit\n'})
    ok = run_check(model_identity_resolvable, make_checkpoint(identity(config_architectures=["Qwen2ForCausalLM"])))
    assert ok.status is Status.PASS
    assert ok.details["architecture"] == "Qwen2ForCausalLM"
    other = run_check(model_identity_resolvable, make_checkpoint(identity(config_architectures=["NopeModel"])))
    assert other.status is Status.NOT_CHECKED
    assert "NopeModel is not listed" in other.message


def test_architectures_without_transformers_is_soft(make_checkpoint, run_check):
    """transformers not installed → soft_signal (cannot resolve here)."""
    finding = run_check(model_identity_resolvable, make_checkpoint(identity(config_architectures=["Qwen2ForCausalLM"])))
    assert finding.status is Status.SOFT_SIGNAL
    assert "transformers cannot be located" in finding.message


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
