"""Hooks a consumer's ``conftest.py`` implements to load, feed and run its own model.

The ``gpu`` items (``pytest --checkpoint CKPT -m gpu``) call them through ``config.hook``.
Each hook is ``firstresult``: the first implementation returning non-``None`` wins. A hook
that is not implemented, or returns ``None``, leaves that step to the built-in runtime
(LeRobot, or the passport's ``class_module.class_name`` fed per its input contract). The
model is loaded once per process (once per xdist worker). With a consumer's own feeding code
in these hooks, the replay item checks that code against the reference frames and outputs
recorded with the checkpoint — the place where a dropped normalization, a colour swap or a
missing delta → absolute conversion shows up.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_passport_load_model(config: pytest.Config, checkpoint: Any, passport: Any) -> Any:
    """Return the loaded policy for ``checkpoint`` (a :class:`~pytest_passport.checkpoint.Checkpoint`).

    ``passport`` is the typed :class:`~pytest_passport.schema.Passport`. Import model code from
    your installed environment only — never from ``checkpoint.root``.

    Example::

        def pytest_passport_load_model(config, checkpoint, passport):
            from my_robot.policy import Policy

            return Policy.from_pretrained(checkpoint.root).eval()
    """


@pytest.hookspec(firstresult=True)
def pytest_passport_make_batch(config: pytest.Config, checkpoint: Any, passport: Any, model: Any,
                               observation: Any) -> Any:
    """Return the model input for one raw ``observation``, built by your deployment's feeding code.

    ``observation`` is a :class:`~pytest_passport.runtime.Observation`: ``images`` maps each
    image key to uint8 RGB frames ``(T, H, W, 3)`` (oldest first, the history the contract's
    ``observation_delta_indices`` asks for), ``state`` is float32 ``(T, D)``, ``task`` the
    prompt. Whatever you return is handed to ``pytest_passport_infer`` unchanged.

    Example::

        def pytest_passport_make_batch(config, checkpoint, passport, model, observation):
            import torch
            from my_robot.feeding import preprocess

            frames = {k: preprocess(v) for k, v in observation.images.items()}
            return {**frames, "observation.state": torch.as_tensor(observation.state)[None],
                    "state_now": observation.state[-1]}
    """


@pytest.hookspec(firstresult=True)
def pytest_passport_infer(config: pytest.Config, checkpoint: Any, model: Any, batch: Any) -> Any:
    """Run one inference on ``batch`` and return the robot command (tensor or array, batch axis first).

    Return what your deployment sends to the robot: unnormalized, and with delta actions
    converted to absolute ones, so replay compares the whole path.

    Example::

        def pytest_passport_infer(config, checkpoint, model, batch):
            import torch
            from my_robot.feeding import postprocess

            with torch.no_grad():
                return postprocess(model.select_action(batch), batch["state_now"])
    """
