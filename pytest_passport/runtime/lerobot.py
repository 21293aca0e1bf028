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
from ..documents import Passport
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
        image_keys = {"VISUAL"}
        self.extra_features = tuple(sorted(
            key for key, feature in (checkpoint.config.data.get("input_features") or {}).items()
            if key != "observation.state" and isinstance(feature, dict) and feature.get("type") not in image_keys))
        self.pre, self.post = factory.make_pre_post_processors(
            self.model.config, pretrained_path=root,
            preprocessor_overrides={"device_processor": {"device": device}})

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
        for key, values in observation.features.items():
            batch[key] = torch.as_tensor(np.asarray(values[-1], np.float32))[None]
        batch["task"] = [observation.task or ""]
        return self.pre(batch)

    def infer(self, batch: Any) -> Inference:
        import torch

        with torch.inference_mode():
            raw = self.model.select_action(batch)
            out = self.post(raw)
        raw_np, actions = to_numpy(raw), to_numpy(out)
        return Inference(raw_np, actions, actions)

    def action_bounds(self) -> tuple[dict[str, np.ndarray] | None, float | None]:
        """The unnormalizer's action min/max, and 1.0 when actions are MIN_MAX-normalized."""
        for step in getattr(self.post, "steps", []):
            stats = (getattr(step, "_tensor_stats", None) or {}).get("action")
            norm_map = getattr(step, "norm_map", None)
            if not stats or not norm_map:
                continue
            mode = str(getattr(next((m for t, m in norm_map.items() if getattr(t, "value", t) == "ACTION"), None),
                               "value", "IDENTITY")).upper()
            bounds = {k: stats[k].detach().cpu().double().numpy() for k in ("min", "max") if k in stats}
            return (bounds or None), (1.0 if mode in ("MIN_MAX", "QUANTILES", "QUANTILE10") else None)
        return None, None

    def norm_steps(self, states: np.ndarray | None = None, images: dict[str, np.ndarray] | None = None) -> list[NormStep]:
        """Each feature the saved normalizer step normalizes, through lerobot's own transform."""
        import torch

        steps: list[NormStep] = []
        for index, step in enumerate(getattr(self.pre, "steps", [])):
            stats = getattr(step, "_tensor_stats", None)
            features = getattr(step, "features", None)
            if not stats or not isinstance(features, dict) or not hasattr(step, "_apply_transform"):
                continue
            for key, feature in sorted(features.items()):
                if key not in stats:
                    continue
                mode = getattr(step.norm_map.get(feature.type), "value", "IDENTITY")
                if str(mode).upper() == "IDENTITY":
                    continue

                def apply(x: np.ndarray, inverse: bool, step: Any = step, key: str = key, kind: Any = feature.type) -> np.ndarray:
                    tensor = torch.as_tensor(np.asarray(x), dtype=torch.float32, device=self.device)
                    out = step._apply_transform(tensor, key, kind, inverse=inverse)  # noqa: SLF001 - lerobot's own math
                    return out.detach().cpu().double().numpy()

                sample = states if key == "observation.state" else None
                if sample is None and key in (images or {}):
                    sample = np.moveaxis(np.asarray(images[key], np.float64) / 255.0, -1, -3)
                if sample is None:  # the feature's own training range
                    low = stats[key].get("min")
                    high = stats[key].get("max")
                    if low is not None and high is not None:
                        t = np.linspace(0.0, 1.0, 11).reshape(-1, *([1] * low.dim()))
                        sample = low.cpu().double().numpy() + t * (high - low).cpu().double().numpy()
                clip = 1.0 if str(mode).upper() in ("MIN_MAX", "QUANTILES", "QUANTILE10") else None
                steps.append(NormStep(f"{type(step).__name__}[{index}]:{key}", key, str(mode).lower(),
                                      lambda x, apply=apply: apply(x, False), lambda y, apply=apply: apply(y, True),
                                      clip, sample))
        return steps
