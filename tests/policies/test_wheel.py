"""Installed from a wheel (no git checkout, no VCS URL), the tool still writes passports that sign."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pytest_passport import __version__, schema

from ..conftest import make_git_repo

REPO = Path(__file__).resolve().parents[2]
#: What a source distribution of the project holds (everything the wheel is built from).
SOURCES = ("pyproject.toml", "README.md", "pytest_passport")


def run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); dependencies come from this environment."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", base / "dist", source)
    wheel = next((base / "dist").glob("pytest_passport-*.whl"))
    venv = base / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel)
    # The dependencies (pytest, safetensors, …) are this environment's: a path entry, not its .pth
    # files, so the editable install of this checkout stays invisible to the new venv.
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (purelib / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_wheel_install_signs_the_demo_checkpoint(installed: Path, tmp_path: Path) -> None:
    """generate-passport records the released version (no commit); sign-checkpoint and the gate accept it."""
    bin_dir = installed / "bin"
    where = run(bin_dir / "python", "-c", "import pytest_passport; print(pytest_passport.__file__)", cwd=tmp_path).stdout
    assert Path(where.strip()).is_relative_to(installed), where
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo_checkpoint", demo)
    (demo / schema.PASSPORT_FILENAME).unlink(missing_ok=True)
    (demo / schema.SIGNOFF_FILENAME).unlink(missing_ok=True)
    training = tmp_path / "training"
    make_git_repo(training)
    run(bin_dir / "generate-passport", demo, "--training-repo", training, cwd=tmp_path)
    provenance = json.loads((demo / schema.PASSPORT_FILENAME).read_text())["provenance"]
    assert "passport_creation_repo_commit" not in provenance
    assert provenance["passport_creation_tool_version"] == f"pytest-passport=={__version__}"
    run(bin_dir / "sign-checkpoint", demo, "--reason", "demo checkpoint signed by a wheel install", cwd=tmp_path)
    gate = run(bin_dir / "validate-checkpoint", demo, "--require-signoff", cwd=tmp_path)
    assert f"LOADABLE {demo}" in gate.stdout

