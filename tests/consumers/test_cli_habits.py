"""Command-line habits: --version, python -m, checkpoint forms, CLI-worded errors, one transcript."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_passport.report import layout

from .conftest import BIN

CLIS = ("validate-checkpoint", "sign-checkpoint", "generate-passport")


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", CLIS)
def test_version_on_every_cli(name: str) -> None:
    """Each console script answers --version with the package version."""
    import pytest_passport

    result = run(BIN / name, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"{name} (pytest-passport) {pytest_passport.__version__}"


def test_python_dash_m(clean_checkpoint) -> None:
    """python -m pytest_passport runs the same commands and prints the report schema."""
    assert run(sys.executable, "-m", "pytest_passport", "--version").stdout.startswith("pytest-passport ")
    validated = run(sys.executable, "-m", "pytest_passport", "validate", clean_checkpoint.root)
    assert validated.returncode == 0 and validated.stdout.rstrip().endswith(f"LOADABLE {clean_checkpoint.root}")
    schema = run(sys.executable, "-m", "pytest_passport", "report-schema")
    assert json.loads(schema.stdout) == layout.json_schema()
    unknown = run(sys.executable, "-m", "pytest_passport", "frobnicate")
    assert unknown.returncode == 2 and "unknown command 'frobnicate'" in unknown.stderr


def test_typo_path_is_named_in_cli_terms(tmp_path: Path) -> None:
    """A missing checkpoint path says 'no such checkpoint', not a pytest option error."""
    missing = tmp_path / "chekpoint"
    result = run(BIN / "validate-checkpoint", missing)
    assert result.returncode == 2
    assert f"validate-checkpoint: error: no such checkpoint: {missing}" in result.stderr
    assert "--checkpoint" not in result.stderr and "USAGE ERROR" not in result.stdout


def test_generate_remote_is_read_only() -> None:
    """generate-passport on hf:// without --output explains that remote checkpoints are read-only (exit 2)."""
    result = run(BIN / "generate-passport", "hf://example-lab/policy@main")
    assert result.returncode == 2
    assert "remote checkpoints are read-only" in result.stderr and "--output" in result.stderr


def test_generate_accepts_latest(tmp_path: Path) -> None:
    """generate-passport DIR/:latest writes into the highest-epoch Metta bundle, the one validate reads."""
    from ..generate.builders import build_metta

    runs = tmp_path / "runs"
    for epoch in (1, 2):
        build_metta(runs / f"demo-run:v{epoch}")
    result = run(BIN / "generate-passport", f"{runs}/:latest")
    assert result.returncode == 0, result.stderr
    assert (runs / "demo-run:v2" / "MODEL_PASSPORT.json").is_file()
    assert not (runs / "demo-run:v1" / "MODEL_PASSPORT.json").exists()


def test_sign_prints_the_suite_once(clean_checkpoint) -> None:
    """sign-checkpoint shows one validation transcript; the confirming gate run stays quiet when it passes."""
    result = run(BIN / "sign-checkpoint", clean_checkpoint.root, "--reason", "reviewed")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("checkpoint passport") == 1
    assert result.stdout.count(" passed") == 1


def test_qq_drops_the_table(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """-qq prints no per-section table; -q still does."""
    quiet = pytester.runpytest("--checkpoint", str(clean_checkpoint.root), "-qq")
    assert "checkpoint passport" not in quiet.stdout.str()
    assert "checkpoint passport" in pytester.runpytest("--checkpoint", str(clean_checkpoint.root), "-q").stdout.str()


def test_ra_skip_lines_point_at_the_check(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """-ra names the check module and line that decided not_checked, never the plugin's nodes.py."""
    result = pytester.runpytest("--checkpoint", str(clean_checkpoint.root), "-ra")
    skipped = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert skipped and all("pytest_passport/checks/" in line for line in skipped)
    assert any("checks/provenance.py" in line and "deployment_repo_commit" in line for line in skipped)
    assert "nodes.py" not in result.stdout.str()
