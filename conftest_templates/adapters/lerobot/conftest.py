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


@pytest.hookimpl(optionalhook=True)
def pytest_passport_load_model(config: Any, checkpoint: Any, passport: Any) -> Any:
    """The policy class named by ``config.json`` ``type``, loaded from the checkpoint root, in eval mode."""
    try:
        from lerobot.policies.factory import get_policy_class
    except ImportError:
        return None
    policy_type = json.loads((checkpoint.root / "config.json").read_text(encoding="utf-8")).get("type")
    policy = get_policy_class(policy_type).from_pretrained(str(checkpoint.root))
    return policy.eval()


@pytest.hookimpl(optionalhook=True)
def pytest_passport_make_batch(config: Any, checkpoint: Any, passport: Any, model: Any) -> Any:
    """One observation laid out as the passport's input contract says (zeros; images in [0, 1])."""
    import torch

    contract = passport.input_contract if passport is not None else None
    if contract is None:
        return None
    batch: dict[str, Any] = {}
    for image in contract.images or []:
        if image.key and image.raw_shape:
            batch[image.key] = torch.zeros(1, *image.raw_shape)
    if contract.state is not None and contract.state.total_dim:
        batch["observation.state"] = torch.zeros(1, contract.state.total_dim)
    if contract.language is not None and contract.language.default_prompt is not None:
        batch["task"] = [contract.language.default_prompt]
    return batch


@pytest.hookimpl(optionalhook=True)
def pytest_passport_infer(config: Any, checkpoint: Any, model: Any, batch: Any) -> Any:
    """One action through LeRobot's public path (``reset`` then ``select_action``)."""
    import torch

    model.reset()
    with torch.no_grad():
        return model.select_action(batch)
