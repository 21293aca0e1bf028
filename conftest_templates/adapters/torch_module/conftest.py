"""pytest-passport model hooks for a plain ``torch.nn.Module`` your repository defines.

WHEN TO USE: the policy is your own module class and the checkpoint holds its weights in
``model.safetensors``. Edit ``build_module`` to construct your class, copy the hooks into your
``conftest.py``. torch is imported only when a hook runs; every hook is an ``optionalhook``
(the file is harmless without pytest-passport or with ``-p no:passport``).
"""

from __future__ import annotations

from typing import Any

import pytest

WEIGHTS = "model.safetensors"


def build_module(passport: Any) -> Any:
    """Construct your (untrained) module. Replace with your own class, e.g. ``MyPolicy(**cfg)``."""
    raise NotImplementedError("edit build_module() in conftest.py to construct your policy class")


@pytest.hookimpl(optionalhook=True)
def pytest_passport_load_model(config: Any, checkpoint: Any, passport: Any) -> Any:
    """Your module with the checkpoint's weights, strictly loaded (safetensors: no pickle)."""
    from safetensors.torch import load_file

    module = build_module(passport)
    module.load_state_dict(load_file(str(checkpoint.resolve(WEIGHTS))), strict=True)
    return module.eval()


@pytest.hookimpl(optionalhook=True)
def pytest_passport_make_batch(config: Any, checkpoint: Any, passport: Any, model: Any, observation: Any) -> Any:
    """The newest state of ``observation`` as a float tensor with a batch axis.

    Replace with your deployment's feeding code (normalization, image layout, history), so the
    replay item checks that code against the reference frames recorded with the checkpoint.
    """
    import numpy as np
    import torch

    if observation.state is None:
        return None
    return torch.as_tensor(np.asarray(observation.state[-1], np.float32))[None]


@pytest.hookimpl(optionalhook=True)
def pytest_passport_infer(config: Any, checkpoint: Any, model: Any, batch: Any) -> Any:
    """``model(batch)`` without gradients; return what your deployment sends to the robot."""
    import torch

    with torch.no_grad():
        return model(batch)
