"""Attack 2: a checkpoint cannot configure the pytest gate (ini files, rootdir, conftest, invocation dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import build_clean_checkpoint

REFUSED = "*lies inside the checkpoint*A checkpoint must not configure pytest*"

#: addopts a tampered checkpoint would use to switch the gate off.
ADDOPTS = {
    "collect-only": "--co",
    "keyword": "-k nothing_matches",
    "deselect": "--deselect checkpoint::weight_integrity[model.safetensors]",
    "skip-section": "--skip-section weight_integrity",
    "marker": '-m "not static"',
    "help": "--help",
}


def _ini(form: str, addopts: str) -> tuple[str, str]:
    if form == "pyproject.toml":
        return form, f"[tool.pytest.ini_options]\naddopts = {addopts!r}\n"
    section = {"pytest.ini": "[pytest]", "tox.ini": "[pytest]", "setup.cfg": "[tool:pytest]"}[form]
    return form, f"{section}\naddopts = {addopts}\n"


@pytest.fixture
def tampered(pytester: pytest.Pytester, tmp_path: Path) -> tuple[Path, Path]:
    """A signed-looking checkpoint outside the consumer dir carrying conftest.py and __init__.py that leave markers."""
    marker = tmp_path / "ran.marker"
    built = build_clean_checkpoint(tmp_path / "ckpt")
    root = built.root
    code = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    (root / "conftest.py").write_text(code)
    (root / "__init__.py").write_text(code)
    (root / "sneaky_plugin.py").write_text(code)
    built.declare("conftest.py", "__init__.py", "sneaky_plugin.py")  # declared: only steering is tested
    return root, marker


def _refused(result: pytest.RunResult, marker: Path) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines([REFUSED])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert not marker.exists(), marker.read_text()


@pytest.mark.parametrize("addopts", sorted(ADDOPTS))
@pytest.mark.parametrize("form", ["pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"])
def test_ini_inside_checkpoint_is_refused(pytester, tampered, form, addopts) -> None:
    """Each ini form at the checkpoint root, each gate-switching addopts, space form from outside: exit 4, nothing run."""
    root, marker = tampered
    name, text = _ini(form, ADDOPTS[addopts])
    (root / name).write_text(text)
    result = pytester.runpytest_inprocess("--checkpoint", str(root), "--require-signoff", "-p", "no:cacheprovider")
    _refused(result, marker)
    result.stderr.fnmatch_lines([f"*the ini file {root / name} lies inside the checkpoint*"])


def test_ini_in_checkpoint_subfolder_is_refused_when_run_from_there(pytester, tampered, monkeypatch) -> None:
    """Run from a subfolder of the checkpoint holding a pytest.ini: refused (ini and invocation dir inside)."""
    root, marker = tampered
    sub = root / "assets"
    (sub / "pytest.ini").write_text("[pytest]\naddopts = --co\n")
    monkeypatch.chdir(sub)
    result = pytester.runpytest_inprocess(f"--checkpoint={root}", "--require-signoff", "-p", "no:cacheprovider")
    _refused(result, marker)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_ini_inside_checkpoint_refused_in_subprocess(pytester, tampered, xdist) -> None:
    """The refusal holds in a real pytest process, serial and -n 2, before any worker starts."""
    root, marker = tampered
    (root / "pytest.ini").write_text("[pytest]\naddopts = --co\n")
    result = pytester.runpytest_subprocess("--checkpoint", str(root), "--require-signoff", "-p", "no:cacheprovider", *xdist)
    _refused(result, marker)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_running_from_inside_the_checkpoint_is_refused(pytester, tampered, monkeypatch, xdist) -> None:
    """cd CKPT && pytest --checkpoint=. : refused before its conftest.py or __init__.py is imported."""
    root, marker = tampered
    monkeypatch.chdir(root)
    result = pytester.runpytest_subprocess("--checkpoint=.", "-p", "no:cacheprovider", *xdist)
    _refused(result, marker)
    result.stderr.fnmatch_lines([f"*the rootdir {root} lies inside the checkpoint*"])


def test_test_path_inside_the_checkpoint_is_refused(pytester, tampered) -> None:
    """Passing the checkpoint also as a test path would collect it (and import its conftest.py): refused."""
    root, marker = tampered
    result = pytester.runpytest_inprocess(f"--checkpoint={root}", str(root), "-p", "no:cacheprovider")
    _refused(result, marker)


def test_equals_form_from_outside_never_reads_the_checkpoint_ini(pytester, tampered) -> None:
    """--checkpoint=PATH from the consumer root ignores a tampered ini: the full suite runs and the gate fails closed."""
    root, marker = tampered
    (root / "pytest.ini").write_text("[pytest]\naddopts = --co -p sneaky_plugin\npythonpath = .\n")
    result = pytester.runpytest_subprocess(f"--checkpoint={root}", "--require-signoff", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*signoff_present: no SIGNOFF.json*"])
    result.stdout.fnmatch_lines(["*checkpoint_tree_declared: file not declared*pytest.ini*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 2 and outcomes["passed"] > 1  # the suite ran: --co from the ini never applied
    assert not marker.exists()


def test_space_form_without_ini_behaves_like_equals_form(pytester, tampered) -> None:
    """--checkpoint PATH (two words) with no ini anywhere: same rootdir as --checkpoint=PATH, no cache left in the checkpoint."""
    root, marker = tampered
    spaced = pytester.runpytest_subprocess("--checkpoint", str(root))
    joined = pytester.runpytest_subprocess(f"--checkpoint={root}")
    assert spaced.ret == joined.ret == pytest.ExitCode.OK
    spaced.stdout.fnmatch_lines([f"rootdir: {pytester.path}"])
    joined.stdout.fnmatch_lines([f"rootdir: {pytester.path}"])
    assert spaced.parseoutcomes() == joined.parseoutcomes()
    assert not (root / ".pytest_cache").exists()
    assert not marker.exists()


def test_space_form_that_would_switch_ini_is_refused_with_the_fix(pytester, tampered) -> None:
    """Two words would make pytest drop the consumer's ini: refused with the --checkpoint=PATH spelling to use."""
    root, marker = tampered
    pytester.makeini("[pytest]\naddopts = -ra\n")
    result = pytester.runpytest_subprocess("--checkpoint", str(root))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*written as two words*write --checkpoint={root}"])
    assert pytester.runpytest_subprocess(f"--checkpoint={root}").ret == pytest.ExitCode.OK


@pytest.mark.parametrize("section", ["weight_integrity", "provenance", "input_expectation"])
def test_skip_section_with_require_signoff_is_a_usage_error(pytester, cli, clean_checkpoint, section) -> None:
    """--skip-section (any section or category) with --require-signoff: pytest exit 4, validate-checkpoint exit 2."""
    root = clean_checkpoint.root
    result = pytester.runpytest_inprocess(f"--checkpoint={root}", "--require-signoff", "--skip-section", section)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--require-signoff cannot be combined with --skip-section {section}*"])
    result = cli("validate-checkpoint", root, "--require-signoff", "--skip-section", section)
    assert result.ret == 2
    result.stderr.fnmatch_lines([f"*--require-signoff cannot be combined with --skip-section {section}*"])


def test_plugin_module_from_inside_the_checkpoint_is_refused(pytester, tampered) -> None:
    """A plugin module that lives in the checkpoint (here named with -p) stops the run before any check runs."""
    root, _ = tampered
    pytester.syspathinsert(root)
    result = pytester.runpytest_inprocess(f"--checkpoint={root}", "-p", "sneaky_plugin", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*the conftest or plugin {root / 'sneaky_plugin.py'} lies inside the checkpoint*"])
    assert "passed" not in result.stdout.str()
