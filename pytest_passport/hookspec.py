"""Hooks a consumer's ``conftest.py`` can implement to run the model for dynamic checks.

Each hook is ``firstresult``: the first implementation returning non-``None`` wins, and
the built-in adapters answer last. Example::

    # conftest.py
    def pytest_passport_load_model(config, checkpoint, passport):
        from my_robot.policy import Policy
        return Policy.from_pretrained(checkpoint.root)
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_passport_load_model(config: pytest.Config, checkpoint: Any, passport: Any) -> Any:
    """Return the loaded policy for ``checkpoint`` (a :class:`~pytest_passport.checkpoint.Checkpoint`).

    ``passport`` is the typed :class:`~pytest_passport.schema.Passport` or ``None``.
    """


@pytest.hookspec(firstresult=True)
def pytest_passport_make_batch(config: pytest.Config, checkpoint: Any, passport: Any, model: Any) -> Any:
    """Return one input batch built the way the passport's input contract says.

    Example::

        def pytest_passport_make_batch(config, checkpoint, passport, model):
            return {"observation.state": torch.zeros(1, passport.input_contract.state.total_dim)}
    """


@pytest.hookspec(firstresult=True)
def pytest_passport_infer(config: pytest.Config, checkpoint: Any, model: Any, batch: Any) -> Any:
    """Run one inference and return the action tensor.

    Example::

        def pytest_passport_infer(config, checkpoint, model, batch):
            with torch.no_grad():
                return model.select_action(batch)
    """
