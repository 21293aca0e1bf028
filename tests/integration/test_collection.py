"""How a checkpoint is collected: node ids, order, markers, and nothing else."""

from __future__ import annotations

import pytest

from pytest_passport.checks import CHECK_ORDER


def test_node_ids_are_section_and_check(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """Every catalogue check and every declared file becomes checkpoint::<section>[<name>]."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--collect-only", "-q")
    ids = [line for line in result.outlines if line.startswith("checkpoint::")]
    assert "checkpoint::schema_version[passport_loadable]" == ids[0]
    assert "checkpoint::signoff[signoff_present]" in ids
    assert "checkpoint::weight_integrity[model.safetensors]" in ids
    checks = {i.split("[", 1)[1][:-1] for i in ids}
    assert set(CHECK_ORDER) <= checks
    files = [i for i in ids if i.startswith("checkpoint::weight_integrity[") and "." in i.split("[", 1)[1]]
    assert [f.split("[", 1)[1] for f in files] == sorted(f.split("[", 1)[1] for f in files)
    assert len(ids) == len(CHECK_ORDER) + len(clean_checkpoint.passport.declared_files)


def test_only_the_checkpoint_is_collected(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """Test files in the current directory are not collected when only --checkpoint is given."""
    pytester.makepyfile(test_other="def test_unrelated():\n    assert False\n")
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root)
    result.assert_outcomes(passed=32, skipped=13, xfailed=1)
    assert "test_unrelated" not in result.stdout.str()


def test_explicit_test_paths_are_collected_beside_the_checkpoint(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """With test paths given, the consumer's tests run too and the checkpoint is added."""
    path = pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest(path, "--checkpoint", clean_checkpoint.root, "-q")
    result.assert_outcomes(passed=33, skipped=13, xfailed=1)


def test_markers_are_registered_and_selectable(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--strict-markers passes and -m static selects the file-only checks."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--strict-markers", "-m", "static", "--collect-only", "-q")
    ids = [line for line in result.outlines if line.startswith("checkpoint::")]
    assert "checkpoint::input_contract[image_keys_declared]" in ids
    assert "checkpoint::weight_integrity[config.json]" in ids
    assert "checkpoint::signoff[signoff_present]" not in ids
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.static*", "*@pytest.mark.gpu*", "*@pytest.mark.soft_signal*"])


def test_soft_signal_is_xfail_with_reason(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """An unsigned checkpoint reports signoff_present as xfailed with the check's message."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "-rx")
    result.stdout.fnmatch_lines(["XFAIL *checkpoint::signoff[[]signoff_present[]] - signoff_present: no SIGNOFF.json*"])
    assert result.ret == 0


def test_runxfail_makes_soft_signals_fail(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--runxfail turns soft signals into failures (strict mode), not into silent passes."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--runxfail")
    result.assert_outcomes(failed=1, passed=32, skipped=13)
    result.stdout.fnmatch_lines(["*signoff_present: no SIGNOFF.json*"])


def test_not_checked_is_skip_with_reason(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """A check whose inputs are absent is skipped with its reason."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "-rs")
    result.stdout.fnmatch_lines(["SKIPPED*deployment_repo_commit: *--target-repo*"])


def test_missing_checkpoint_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A --checkpoint that does not exist exits 4 with a message naming it."""
    result = pytester.runpytest("--checkpoint", pytester.path / "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--checkpoint*nope: no such checkpoint directory*"])


def test_unknown_skip_section_is_a_usage_error(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--skip-section rejects names that are neither sections nor reference categories."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--skip-section", "weights")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--skip-section weights: unknown section*"])


def test_skip_section_accepts_reference_category_alias(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """input_expectation (a reference category) deselects the input_contract checks."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--skip-section", "input_expectation", "-q")
    # horizon_consistency reads input_contract but belongs to the model_internals category.
    result.stdout.fnmatch_lines(["input_contract*1*0*0*0", "skipped sections: input_expectation", "*9 deselected*"])


def test_terminal_summary_table(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """The summary lists every section with passed / soft / not checked / failed counts."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root)
    result.stdout.fnmatch_lines(
        [
            "*checkpoint passport*",
            "section*pass*soft_signal*not_checked*fail",
            "schema_version*1*0*0*0",
            "weight_integrity*12*0*0*0",
            "signoff*0*1*6*0",
        ]
    )


def test_xdist_collects_identically(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """Under -n 2 the same suite runs with the same outcomes."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "-n", "2")
    result.assert_outcomes(passed=32, skipped=13, xfailed=1)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_conftest_inside_checkpoint_is_never_imported(pytester: pytest.Pytester, clean_checkpoint, tmp_path, xdist) -> None:
    """A checkpoint is untrusted: a conftest.py shipped inside it does not run."""
    marker = tmp_path / "pwned"
    (clean_checkpoint.root / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (clean_checkpoint.root / "test_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, *xdist)
    # Never imported; the undeclared code files fail checkpoint_tree_declared, naming them.
    result.assert_outcomes(failed=1, passed=31, skipped=13, xfailed=1)
    result.stdout.fnmatch_lines(["*checkpoint_tree_declared: code or loader file not declared*conftest.py*"])
    assert not marker.exists()
