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
    """The policy rebuilt by Metta's checkpoint loader from the bundle directory."""
    try:
        from mettagrid.policy.loader import initialize_or_load_policy  # type: ignore[import-not-found]
        from mettagrid.policy.policy import PolicySpec  # type: ignore[import-not-found]
    except ImportError:
        return None
    import json

    spec = PolicySpec(**json.loads((checkpoint.root / "policy_spec.json").read_text(encoding="utf-8")))
    return initialize_or_load_policy(spec, data_dir=str(checkpoint.root))


@pytest.hookimpl(optionalhook=True)
def pytest_passport_make_batch(config: Any, checkpoint: Any, passport: Any, model: Any) -> Any:
    """One all-zero observation of the shape the policy's environment interface declares."""
    import torch

    shape = getattr(getattr(model, "observation_space", None), "shape", None)
    if not shape:
        return None
    return torch.zeros(1, *shape)


@pytest.hookimpl(optionalhook=True)
def pytest_passport_infer(config: Any, checkpoint: Any, model: Any, batch: Any) -> Any:
    """One step of the policy without gradients."""
    import torch

    with torch.no_grad():
        return model(batch)
