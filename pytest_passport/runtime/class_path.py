"""The generic runtime: any importable ``class_module.class_name`` (also Metta's ``class_path``).

The class is imported from the installed environment (see :mod:`.imports`), then built with
``from_pretrained(<checkpoint root>)`` when it has one, else constructed with the bundle's
``init_kwargs`` (Metta ``policy_spec.json``) and given the safetensors state dict non-strictly.
It is fed per the passport's input contract (:mod:`.feeding`) and run through
``select_action`` when the class has it, else its ``__call__``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import Checkpoint
from ..documents import Passport
from .base import Inference, NormStep, Observation, RuntimeUnavailable
from .feeding import ContractFeeder, FedBatch
from .imports import import_class

__all__ = ["ClassPathRuntime", "to_numpy"]


def to_numpy(value: Any) -> np.ndarray:
    """A tensor (or a dict holding ``action``) as a float64 array."""
    if isinstance(value, dict):
        value = value.get("action", next(iter(value.values())))
    if isinstance(value, (tuple, list)) and value and not isinstance(value[0], (int, float)):
        value = value[0]
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def contract_infer(model: Any, feeder: ContractFeeder, batch: Any) -> Inference:
    """``select_action`` (or ``model(...)``) on a contract-fed batch, then the contract's postprocessing."""
    import torch

    fed = batch if isinstance(batch, FedBatch) else FedBatch(batch, None)
    call = getattr(model, "select_action", None) or model
    with torch.inference_mode():
        raw = to_numpy(call(fed.inputs))
    unnormalized, actions = feeder.postprocess(raw, fed.state_now)
    return Inference(raw, unnormalized, actions)


def load_state_dict_files(checkpoint: Checkpoint, files: list[str], device: str) -> dict[str, Any]:
    """Tensors of the checkpoint's safetensors weight files (never pickled ``.bin``)."""
    from safetensors.torch import load_file

    state: dict[str, Any] = {}
    for rel in files:
        if not rel.endswith(".safetensors"):
            continue
        state.update(load_file(str(checkpoint.resolve(rel)), device=device))
    return state


class ClassPathRuntime:
    name = "class_path"
    resolved_via = "direct_import"

    def __init__(self, checkpoint: Checkpoint, passport: Passport, device: str) -> None:
        identity = passport.model_identity
        module_name = identity.class_module if identity else None
        class_name = identity.class_name if identity else None
        if not module_name or not class_name:
            raise RuntimeUnavailable("model_identity names no class_module/class_name to import")
        cls, self.module_file = import_class(module_name, class_name, checkpoint.root)
        self.class_path = f"{cls.__module__}.{cls.__qualname__}"
        self.device = device
        self.checkpoint = checkpoint
        self.feeder = ContractFeeder(passport, checkpoint, device)
        self.model = self._build(cls, checkpoint, identity.extra.get("init_kwargs") if identity else None)

    def _build(self, cls: type, checkpoint: Checkpoint, init_kwargs: Any) -> Any:
        if hasattr(cls, "from_pretrained"):
            model = cls.from_pretrained(str(Path(checkpoint.root)))
        else:
            kwargs = {k: v for k, v in (init_kwargs or {}).items() if k != "device"} if isinstance(init_kwargs, dict) else {}
            model = cls(**kwargs)
            state = load_state_dict_files(checkpoint, list(checkpoint.weight_files), "cpu")
            if not state:
                raise RuntimeUnavailable(f"{self.class_path}: no safetensors weights to load into it")
            model.load_state_dict(state, strict=False)
        model = model.to(self.device) if hasattr(model, "to") else model
        if hasattr(model, "eval"):
            model.eval()
        return model

    def reset(self) -> None:
        if callable(getattr(self.model, "reset", None)):
            self.model.reset()

    def make_batch(self, observation: Observation) -> FedBatch:
        return self.feeder.make_batch(observation)

    def infer(self, batch: Any) -> Inference:
        return contract_infer(self.model, self.feeder, batch)

    def action_bounds(self) -> tuple[dict[str, np.ndarray] | None, float | None]:
        return self.feeder.action_bounds()

    def norm_steps(self, states: np.ndarray | None = None, images: dict[str, np.ndarray] | None = None) -> list[NormStep]:
        return self.feeder.norm_steps(states, images)
