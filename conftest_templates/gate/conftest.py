"""pytest-passport load gate: the checkpoints this repository consumes, checked with its own tests.

WHEN TO USE: your repository loads policy checkpoints (a runner, an eval harness, a robot
launch package) and its CI must refuse one that is unsigned, changed since signing, or bound
to another commit of this repository. Copy this file and ``test_checkpoint_gate.py`` into a
folder of your test suite (e.g. ``tests/passport/``); add ``../contract_snapshot/test_contract.py``
beside them to pin the feeding contract.

Which checkpoints, first match wins:

1. ``POLICY_CHECKPOINTS`` (several, separated by ``os.pathsep``) or ``POLICY_CHECKPOINT``;
2. ``pyproject.toml``::

       [tool.pytest_passport]
       checkpoints = ["checkpoints/pick:latest", "${POLICY_CHECKPOINT}"]
       require_signoff = true      # the default; false only while iterating
       target_repo = "."           # checked against provenance.deployment_repo_commit

   An entry ``${NAME}`` reads the environment variable ``NAME``; when it is unset or empty the
   gate FAILS, naming it: a configured but unset checkpoint is an error, never a silent skip.
   Nothing configured at all fails too: a gate that checks nothing must not pass.

Works where the plugin is not active (``-p no:passport``, or a teammate without the package):
the suite still collects and the gate tests skip with "pytest-passport gate INACTIVE"; the
last line of the run says so. Every hook here is an ``optionalhook``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

_ENV_ENTRY = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class GateEntry:
    """One configured checkpoint: ``label`` names it in test ids (stable across runs)."""

    def __init__(self, label: str, value: str | None, problem: str | None = None) -> None:
        self.label = label
        self.value = value
        self.problem = problem

    def __repr__(self) -> str:
        return self.label


def _settings(rootpath: Path) -> dict[str, Any]:
    pyproject = rootpath / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    import tomllib

    with pyproject.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("tool", {}).get("pytest_passport", {})
    return section if isinstance(section, dict) else {}


def gate_entries(config: pytest.Config) -> list[GateEntry]:
    """The checkpoints to gate, from the environment or pyproject.toml (see the module docstring)."""
    many = os.environ.get("POLICY_CHECKPOINTS", "").strip()
    if many:
        return [GateEntry(f"POLICY_CHECKPOINTS[{i}]", v) for i, v in enumerate(p for p in many.split(os.pathsep) if p)]
    one = os.environ.get("POLICY_CHECKPOINT", "").strip()
    if one:
        return [GateEntry("POLICY_CHECKPOINT", one)]
    configured = _settings(config.rootpath).get("checkpoints", [])
    if isinstance(configured, str):
        configured = [configured]
    entries = []
    for raw in configured:
        match = _ENV_ENTRY.match(str(raw))
        if match:
            value = os.environ.get(match.group(1), "").strip()
            problem = None if value else f"[tool.pytest_passport] checkpoints names ${{{match.group(1)}}}, which is not set"
            entries.append(GateEntry(match.group(1), value or None, problem))
        else:
            path = Path(str(raw))
            local = str(config.rootpath / path) if "://" not in str(raw) and not path.is_absolute() else str(raw)
            entries.append(GateEntry(str(raw), local))
    if not entries:
        entries.append(GateEntry("unconfigured", None, "no checkpoint configured: set POLICY_CHECKPOINT or [tool.pytest_passport] checkpoints in pyproject.toml"))
    return entries


def gate_inactive(config: pytest.Config) -> str | None:
    """Why the gate cannot run here, or ``None`` when pytest-passport is installed and active."""
    try:
        import pytest_passport  # noqa: F401
    except ImportError:
        return "pytest-passport is not installed (pip install pytest-passport)"
    manager = config.pluginmanager
    if not (manager.has_plugin("passport") or manager.has_plugin("pytest_passport.plugin")):
        return "the pytest-passport plugin is disabled (-p no:passport)"
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line at the end of every run: what the gate checked, or that it was inactive."""
    why = gate_inactive(config)
    if why:
        terminalreporter.write_line(f"pytest-passport gate INACTIVE: {why}", yellow=True)
    else:
        labels = ", ".join(e.label for e in gate_entries(config))
        terminalreporter.write_line(f"pytest-passport gate: {labels}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gate_checkpoint" in metafunc.fixturenames:
        entries = gate_entries(metafunc.config)
        metafunc.parametrize("gate_checkpoint", entries, ids=[e.label for e in entries], indirect=True)


@pytest.fixture
def gate_checkpoint(request: pytest.FixtureRequest) -> GateEntry:
    """The configured checkpoint of this test instance; skips when the gate is inactive."""
    why = gate_inactive(request.config)
    if why:
        pytest.skip(f"pytest-passport gate INACTIVE: {why}")
    entry: GateEntry = request.param
    if entry.problem:
        pytest.fail(entry.problem, pytrace=False)
    return entry


@pytest.fixture
def gate_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``require_signoff`` and ``target_repo`` for the gate (pyproject.toml, env, defaults)."""
    settings = _settings(request.config.rootpath)
    target = os.environ.get("POLICY_TARGET_REPO") or settings.get("target_repo", ".")
    return {
        "require_signoff": bool(settings.get("require_signoff", True)),
        "target_repo": str((request.config.rootpath / target).resolve()),
    }
