"""The consumer-hook runtime: a consumer's ``conftest.py`` loads, feeds and runs its own model.

Each of ``pytest_passport_load_model`` / ``pytest_passport_make_batch`` /
``pytest_passport_infer`` is ``firstresult`` and called through ``config.hook`` (a checkpoint
outside the rootdir is invisible to ``item.ihook``). A hook that is not implemented, or
returns ``None``, falls back to the built-in runtime for that step: the model from LeRobot or
``class_module.class_name``, the batch and the post-processing from the passport's contract.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..checkpoint import Checkpoint
from ..documents import Passport
from .base import Inference, NormStep, Observation, Runtime, RuntimeUnavailable
from .class_path import contract_infer, to_numpy
from .feeding import ContractFeeder
from .imports import module_file

__all__ = ["HOOK_NAMES", "HookRuntime", "hooks_implemented"]

HOOK_NAMES = ("pytest_passport_load_model", "pytest_passport_make_batch", "pytest_passport_infer")


def hooks_implemented(config: Any) -> list[str]:
    """The model hooks some plugin or conftest implements."""
    if config is None:
        return []
    found = []
    for name in HOOK_NAMES:
        caller = getattr(config.hook, name, None)
        if caller is not None and caller.get_hookimpls():
            found.append(name)
    return found


class HookRuntime:
    name = "hooks"

    def __init__(self, config: Any, checkpoint: Checkpoint, passport: Passport, device: str,
                 builtin: Callable[[], Runtime]) -> None:
        self.config, self.checkpoint, self.passport, self.device = config, checkpoint, passport, device
        self.base: Runtime | None = None
        model = config.hook.pytest_passport_load_model(config=config, checkpoint=checkpoint, passport=passport)
        if model is None:
            self.base = builtin()
            model = self.base.model
            self.resolved_via = self.base.resolved_via
        else:
            self.resolved_via = "pytest_passport_load_model"
        self.model = model
        cls = type(model)
        self.class_path = f"{cls.__module__}.{cls.__qualname__}"
        import sys

        self.module_file = module_file(sys.modules.get(cls.__module__))
        self._feeder: ContractFeeder | None = None

    @property
    def feeder(self) -> ContractFeeder:
        if self._feeder is None:
            self._feeder = ContractFeeder(self.passport, self.checkpoint, self.device)
        return self._feeder

    def reset(self) -> None:
        if self.base is not None:
            self.base.reset()
        elif callable(getattr(self.model, "reset", None)):
            self.model.reset()

    def make_batch(self, observation: Observation) -> Any:
        batch = self.config.hook.pytest_passport_make_batch(config=self.config, checkpoint=self.checkpoint,
                                                             passport=self.passport, model=self.model,
                                                             observation=observation)
        if batch is not None:
            return batch
        return self.base.make_batch(observation) if self.base is not None else self.feeder.make_batch(observation)

    def infer(self, batch: Any) -> Inference:
        out = self.config.hook.pytest_passport_infer(config=self.config, checkpoint=self.checkpoint,
                                                      model=self.model, batch=batch)
        if out is not None:
            actions = to_numpy(out)
            return Inference(actions, actions, actions, staged=False)
        if self.base is not None:
            return self.base.infer(batch)
        return contract_infer(self.model, self.feeder, batch)

    def action_bounds(self) -> tuple[Any, float | None]:
        if self.base is not None:
            return self.base.action_bounds()
        try:
            return self.feeder.action_bounds()
        except RuntimeUnavailable:
            return None, None

    def norm_steps(self, states: np.ndarray | None = None, images: dict[str, np.ndarray] | None = None) -> list[NormStep]:
        if self.base is not None:
            return self.base.norm_steps(states, images)
        try:
            return self.feeder.norm_steps(states, images)
        except RuntimeUnavailable:
            return []
