"""The LeRobot runtime: lerobot's own factory, ``from_pretrained``, saved processor pipelines.

The policy class comes from ``config.json``'s ``type`` through ``lerobot.policies.factory.
get_policy_class``; weights load with the class's ``from_pretrained``; observations go through
the checkpoint's saved ``policy_preprocessor.json`` pipeline and actions through
``policy_postprocessor.json`` (both rebuilt by ``PolicyProcessorPipeline.from_pretrained``);
inference is ``select_action`` — the public path, never ``forward``. lerobot keeps the
observation history and the action queue itself, so a batch holds the current frame only and
``reset()`` starts an episode. Without lerobot installed, every gpu item skips naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checkpoint import PROCESSOR_FILES, Checkpoint
from ..schema import Passport
from .base import Inference, NormStep, Observation, RuntimeUnavailable
from .class_path import to_numpy
from .imports import import_module, module_file

__all__ = ["LeRobotRuntime", "is_lerobot_checkpoint"]


def is_lerobot_checkpoint(checkpoint: Checkpoint) -> bool:
    config = checkpoint.config.data
    return isinstance(config.get("type"), str) and (
        any(name in checkpoint.files for name in PROCESSOR_FILES) or "input_features" in config)


class LeRobotRuntime:
    name = "lerobot"
    resolved_via = "lerobot.policies.factory.get_policy_class"

    def __init__(self, checkpoint: Checkpoint, passport: Passport | None, device: str) -> None:
        policy_type = checkpoint.config.data.get("type")
        factory = import_module("lerobot.policies.factory", checkpoint.root)
        try:
            cls = factory.get_policy_class(policy_type)
        except Exception as exc:  # noqa: BLE001 - an unknown type is a skip reason, not a crash
            raise RuntimeUnavailable(f"lerobot cannot build policy type {policy_type!r}: {exc}") from None
        self.class_path = f"{cls.__module__}.{cls.__qualname__}"
        self.module_file = module_file(import_module(cls.__module__, checkpoint.root))
        self.device = device
        root = str(checkpoint.root)
        self.model = cls.from_pretrained(root)
        self.model.to(device)
        self.model.eval()
        pipeline = import_module("lerobot.processor", checkpoint.root).PolicyProcessorPipeline
        overrides = {"device_processor": {"device": device}}
        self.pre = pipeline.from_pretrained(root, config_filename=PROCESSOR_FILES[0], overrides=overrides)
        self.post = pipeline.from_pretrained(root, config_filename=PROCESSOR_FILES[1])

    def reset(self) -> None:
        self.model.reset()
        for pipeline in (self.pre, self.post):
            if callable(getattr(pipeline, "reset", None)):
                pipeline.reset()

    def make_batch(self, observation: Observation) -> Any:
        import torch

        batch: dict[str, Any] = {}
        for key, frames in observation.images.items():
            frame = np.asarray(frames[-1], dtype=np.float32) / 255.0
            batch[key] = torch.from_numpy(np.ascontiguousarray(np.moveaxis(frame, -1, 0)))[None]
        if observation.state is not None:
            batch["observation.state"] = torch.as_tensor(np.asarray(observation.state[-1], np.float32))[None]
        batch["task"] = [observation.task or ""]
        return self.pre(batch)

    def infer(self, batch: Any) -> Inference:
        import torch

        with torch.inference_mode():
            raw = self.model.select_action(batch)
            out = self.post(raw)
        raw_np, actions = to_numpy(raw), to_numpy(out)
        return Inference(raw_np, actions, actions)

    def norm_steps(self, states: np.ndarray | None = None, images: dict[str, np.ndarray] | None = None) -> list[NormStep]:
        import torch

        steps = []
        for index, step in enumerate(getattr(self.pre, "steps", [])):
            stats = getattr(step, "_tensor_stats", None) or {}
            if not hasattr(step, "_normalize_observation") and not stats:
                continue
            inverse = next((s for s in getattr(self.post, "steps", []) if hasattr(s, "_tensor_stats")), None)
            for feature in sorted(stats):
                def normalize(x: np.ndarray, step: Any = step, feature: str = feature) -> np.ndarray:
                    t = torch.as_tensor(x, dtype=torch.float32)
                    return step._apply_transform(t, feature, step._get_feature_type(feature)).numpy()  # noqa: SLF001

                def unnormalize(y: np.ndarray, step: Any = step, feature: str = feature) -> np.ndarray:
                    t = torch.as_tensor(y, dtype=torch.float32)
                    return step._apply_transform(t, feature, step._get_feature_type(feature), inverse=True).numpy()  # noqa: SLF001

                sample = states if feature == "observation.state" else None
                steps.append(NormStep(f"step_{index}_{type(step).__name__}:{feature}", feature, "lerobot",
                                      normalize, unnormalize, None, sample))
            del inverse
        return steps
