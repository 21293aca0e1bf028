"""pytest-passport model hooks for a Metta ``CheckpointPolicy`` bundle (``policy_spec.json``).

WHEN TO USE: your checkpoints are Metta bundles (``<run>:v<epoch>`` directories or zips) and
checks that run the model should load them through Metta's own loader. Copy the hooks into
your ``conftest.py``. metta and torch are imported only when a hook runs; every hook is an
``optionalhook`` (harmless without pytest-passport or with ``-p no:passport``).

Loading a Metta policy imports the ``class_path`` the bundle names: do it only for bundles you
trust (after the gate passed), never for arbitrary downloads.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_passport_load_model(config: Any, checkpoint: Any, passport: Any) -> Any:
    """``class_path(**init_kwargs)`` with the ``data_path`` weights, as ``policy_spec.json`` describes.

    Replace the body with your Metta version's own loader call if it has one; this generic
    form needs only the bundle's documented fields (class_path, init_kwargs, data_path).
    """
    import importlib
    import json

    spec = json.loads((checkpoint.root / "policy_spec.json").read_text(encoding="utf-8"))
    module_name, _, class_name = str(spec["class_path"]).rpartition(".")
    try:
        policy_class = getattr(importlib.import_module(module_name), class_name)
    except ImportError:
        return None  # metta is not installed here: let the built-in adapter answer
    from safetensors.torch import load_file

    policy = policy_class(**(spec.get("init_kwargs") or {}))
    policy.load_state_dict(load_file(str(checkpoint.resolve(spec.get("data_path") or "weights.safetensors"))))
    return policy.eval()


@pytest.hookimpl(optionalhook=True)
def pytest_passport_make_batch(config: Any, checkpoint: Any, passport: Any, model: Any, observation: Any) -> Any:
    """The newest observation vector with a batch axis; replace with your environment's own encoding."""
    import numpy as np
    import torch

    if observation.state is None:
        return None
    return torch.as_tensor(np.asarray(observation.state[-1], np.float32))[None]


@pytest.hookimpl(optionalhook=True)
def pytest_passport_infer(config: Any, checkpoint: Any, model: Any, batch: Any) -> Any:
    """One step of the policy without gradients."""
    import torch

    with torch.no_grad():
        return model(batch)
