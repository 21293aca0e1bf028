"""Helpers for check unit tests: checkpoint directories built in tmp_path from plain dicts."""

from __future__ import annotations

from ..conftest import make_git_repo

import copy
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from pytest_passport.checkpoint import Checkpoint
from pytest_passport.checks._base import CheckContext, CheckOptions
from pytest_passport.findings import Finding

#: A LeRobot ACT-like config: one camera, 6-D state and action, chunks of 10.
ACT_CONFIG: dict[str, Any] = {
    "type": "act",
    "input_features": {
        "observation.images.front": {"type": "VISUAL", "shape": [3, 96, 128]},
        "observation.state": {"type": "STATE", "shape": [6]},
    },
    "output_features": {"action": {"type": "ACTION", "shape": [6]}},
    "chunk_size": 10,
    "n_action_steps": 10,
    "normalization_mapping": {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"},
}

MakeCheckpoint = Callable[..., Path]


def act_tensors(action_dim: int = 6) -> dict[str, np.ndarray]:
    """A tiny ACT-shaped state dict with the output head ``model.action_head``."""
    return {
        "model.action_head.weight": np.zeros((action_dim, 64), np.float32),
        "model.action_head.bias": np.zeros(action_dim, np.float32),
        "model.encoder.weight": np.zeros((64, 64), np.float32),
    }


def normalizer_tensors(features: dict[str, int]) -> dict[str, np.ndarray]:
    """LeRobot normalizer state: ``<feature>.mean`` / ``<feature>.std`` per feature."""
    out: dict[str, np.ndarray] = {}
    for feature, dim in features.items():
        out[f"{feature}.mean"] = np.zeros(dim, np.float32)
        out[f"{feature}.std"] = np.ones(dim, np.float32)
    return out


@pytest.fixture
def act_config() -> dict[str, Any]:
    """A fresh copy of the ACT-like config (one camera, 6-D state/action, chunk_size 10)."""
    return copy.deepcopy(ACT_CONFIG)


@pytest.fixture
def weights() -> SimpleNamespace:
    """Tensor-dict builders: ``weights.act(action_dim)``, ``weights.normalizer({feature: dim})``."""
    return SimpleNamespace(act=act_tensors, normalizer=normalizer_tensors)


@pytest.fixture
def make_checkpoint(tmp_path: Path) -> MakeCheckpoint:
    """Build a checkpoint directory: passport (dict, schema_version defaulted), config, safetensors, files."""
    counter = iter(range(1000))

    def make(
        passport: dict[str, Any] | None = None,
        *,
        config: dict[str, Any] | str | None = None,
        tensors: dict[str, dict[str, np.ndarray]] | None = None,
        files: dict[str, bytes | str] | None = None,
    ) -> Path:
        root = tmp_path / f"ckpt{next(counter)}"
        root.mkdir()
        if passport is not None:
            (root / "MODEL_PASSPORT.json").write_text(json.dumps({"schema_version": "0.2", **passport}, indent=2))
        if config is not None:
            (root / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
        for rel, named in (tensors or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            save_file(named, str(root / rel))
        for rel, content in (files or {}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return root

    return make


@pytest.fixture
def run_check() -> Callable[..., Finding]:
    """Run one check function on a directory with the given CheckOptions fields."""

    def run(function: Callable[[CheckContext], Finding], root: Path, **options: Any) -> Finding:
        return function(CheckContext(Checkpoint(root), CheckOptions(**options)))

    return run


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[..., Any]:
    """A real git repository with one commit of ``files``; returns the ``git.Repo``."""
    import git

    def init(name: str = "runner", files: dict[str, str] | None = None) -> git.Repo:
        make_git_repo(tmp_path / name, files or {"runner.py": "print('run')\n"})
        return git.Repo(tmp_path / name)

    return init


@pytest.fixture(autouse=True)
def _empty_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the Hugging Face cache at an empty tmp dir so the developer's cache is never read."""
    from huggingface_hub import constants

    cache = tmp_path / "hf_hub_cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    # huggingface_hub resolves the cache from the environment once, at import.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache
