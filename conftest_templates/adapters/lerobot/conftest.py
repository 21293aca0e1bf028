"""pytest-passport model hooks for a LeRobot policy (ACT, Diffusion, Pi0, SmolVLA…).

WHEN TO USE: checks that run the model (``gpu`` marker) should load your checkpoint the way
LeRobot does. Copy the three hooks into your ``conftest.py`` (or this file as it is). lerobot
and torch are imported only when a hook runs, and every hook is an ``optionalhook``: without
pytest-passport, or with ``-p no:passport``, this file changes nothing. Return ``None`` from a
hook to let the built-in adapter answer instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest


#: Attribute holding the (preprocessor, postprocessor) pipelines saved beside the policy.
PIPELINES = "_passport_pipelines"


@pytest.hookimpl(optionalhook=True)
def pytest_passport_load_model(config: Any, checkpoint: Any, passport: Any) -> Any:
    """The policy class named by ``config.json`` ``type``, in eval mode, with its saved pipelines attached."""
    try:
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors
    except ImportError:
        return None
    root = str(checkpoint.root)
    policy_type = json.loads((checkpoint.root / "config.json").read_text(encoding="utf-8")).get("type")
    policy = get_policy_class(policy_type).from_pretrained(root).eval()
    setattr(policy, PIPELINES, make_pre_post_processors(policy.config, pretrained_path=root))
    return policy


@pytest.hookimpl(optionalhook=True)
def pytest_passport_make_batch(config: Any, checkpoint: Any, passport: Any, model: Any, observation: Any) -> Any:
    """The newest frame of ``observation`` as LeRobot takes it (float CHW in [0, 1]), through the preprocessor.

    ``select_action`` keeps its own observation history, so each call gets the newest frame only.
    Replace this with your deployment's feeding code to have replay check it.
    """
    import numpy as np
    import torch

    pipelines = getattr(model, PIPELINES, None)
    if pipelines is None:
        return None
    batch: dict[str, Any] = {}
    for key, frames in observation.images.items():
        frame = np.asarray(frames[-1], dtype=np.float32) / 255.0
        batch[key] = torch.from_numpy(np.ascontiguousarray(np.moveaxis(frame, -1, 0)))[None]
    if observation.state is not None:
        batch["observation.state"] = torch.as_tensor(np.asarray(observation.state[-1], np.float32))[None]
    for key, values in observation.features.items():
        batch[key] = torch.as_tensor(np.asarray(values[-1], np.float32))[None]
    batch["task"] = [observation.task or ""]
    return pipelines[0](batch)


@pytest.hookimpl(optionalhook=True)
def pytest_passport_infer(config: Any, checkpoint: Any, model: Any, batch: Any) -> Any:
    """One robot command through LeRobot's public path: ``select_action``, then the postprocessor."""
    import torch

    pipelines = getattr(model, PIPELINES, None)
    if pipelines is None:
        return None
    with torch.inference_mode():
        return pipelines[1](model.select_action(batch))
