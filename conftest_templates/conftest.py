"""Hooks pytest-passport calls when a check needs to run your model.

Each hook is ``firstresult``: return ``None`` to let the built-in adapters answer.
Delete the ones you do not need.
"""

from __future__ import annotations

from typing import Any


def pytest_passport_load_model(config: Any, checkpoint: Any, passport: Any) -> Any:
    """Load the policy from ``checkpoint.root`` exactly as your runner does."""
    return None


def pytest_passport_make_batch(config: Any, checkpoint: Any, passport: Any, model: Any) -> Any:
    """Build one input batch the way your runner feeds the robot's observations."""
    return None


def pytest_passport_infer(config: Any, checkpoint: Any, model: Any, batch: Any) -> Any:
    """Run one inference and return the action tensor."""
    return None
