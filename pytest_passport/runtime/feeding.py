"""Feeding a model the way its passport says: the tool's own reading of ``input_contract``.

Used by the generic ``class_module.class_name`` runtime (which has no pipeline of its own) and
as the default of the consumer-hook runtime. From a raw :class:`~.base.Observation` it builds

* per camera: uint8 RGB ``(T, H, W, 3)`` → float in [0, 1], channel order per ``color_order``,
  channel-first, normalized per the image's normalization descriptor (``imagenet`` constants,
  or ``mean``/``std`` given in the descriptor or its stats ``source``);
* ``observation.state`` normalized with the stats file named by ``state.normalization.source``;
* a time axis of ``n_obs_steps`` frames when it is above 1 (as LeRobot does);

and after the model: actions unnormalized with ``actions.normalization`` and, for every
dimension ``delta_dims.delta_mask`` marks, the current state added (delta → absolute).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checkpoint import Checkpoint
from ..documents import Passport
from .base import NormStep, Observation, RuntimeUnavailable

__all__ = ["ContractFeeder", "FedBatch", "IMAGENET_MEAN", "IMAGENET_STD", "Normalizer", "read_normalizer"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EPS = 1e-8
#: Feature names a stats file may use for the state and the actions, most specific first.
STATE_NAMES = ("observation.state", "state")
ACTION_NAMES = ("action", "actions")


@dataclass
class Normalizer:
    """One feature's normalization: ``mode`` (``min_max``, ``mean_std``, ``quantiles``, ``identity``)."""

    feature: str
    mode: str
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    source: str | None = None

    @property
    def clip(self) -> float | None:
        return 1.0 if self.mode in ("min_max", "quantiles") else None

    def normalize(self, x: np.ndarray) -> np.ndarray:
        if self.mode in ("min_max", "quantiles"):
            return 2.0 * (x - self.low) / np.maximum(self.high - self.low, EPS) - 1.0
        if self.mode == "mean_std":
            return (x - self.mean) / (self.std + EPS)
        return x

    def unnormalize(self, y: np.ndarray) -> np.ndarray:
        if self.mode in ("min_max", "quantiles"):
            return (y + 1.0) / 2.0 * np.maximum(self.high - self.low, EPS) + self.low
        if self.mode == "mean_std":
            return y * (self.std + EPS) + self.mean
        return y

    def step(self, name: str, sample: np.ndarray | None = None) -> NormStep:
        return NormStep(name, self.feature, self.mode, self.normalize, self.unnormalize, self.clip, sample)


def _mode(kind: Any) -> str:
    text = str(kind or "identity").lower()
    text = text.removeprefix("ramen_")
    if text in ("min_max", "minmax"):
        return "min_max"
    if text in ("mean_std", "meanstd", "imagenet", "z_score"):
        return "mean_std"
    if text.startswith("quantile"):
        return "quantiles"
    return "identity"


def _stats_entry(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any] | None:
    for name in names:
        entry = data.get(name)
        if isinstance(entry, dict):
            return entry
    return None


def _array(entry: dict[str, Any], *keys: str) -> np.ndarray | None:
    for key in keys:
        if key in entry and entry[key] is not None:
            return np.asarray(entry[key], dtype=np.float64)
    return None


def _safetensors_stats(checkpoint: Checkpoint, source: str, names: tuple[str, ...]) -> dict[str, Any]:
    """``<feature>.<stat>`` tensors of a LeRobot normalizer state file (safetensors: no pickle)."""
    from safetensors.numpy import load

    try:
        tensors = load(checkpoint.read_bytes(source))
    except Exception as exc:  # noqa: BLE001 - any unreadable or malformed file is a skip reason
        raise RuntimeUnavailable(f"{source}: cannot read the {names[0]} stats ({exc})") from None
    for name in names:
        found = {key[len(name) + 1:]: value for key, value in tensors.items() if key.startswith(name + ".")}
        if found:
            return found
    raise RuntimeUnavailable(f"{source}: no stats for {names[0]}")


def read_normalizer(checkpoint: Checkpoint, descriptor: dict[str, Any] | None, names: tuple[str, ...]) -> Normalizer:
    """The normalizer a descriptor describes, with its stats read from the checkpoint's own file."""
    feature = names[0]
    descriptor = descriptor or {}
    mode = _mode(descriptor.get("type"))
    if mode == "identity":
        return Normalizer(feature, "identity")
    entry: dict[str, Any] = {k: descriptor[k] for k in ("mean", "std", "min", "max") if k in descriptor}
    source = descriptor.get("source")
    if isinstance(source, str) and source.endswith(".json"):
        try:
            data = json.loads(checkpoint.resolve(source).read_bytes())
        except (OSError, ValueError) as exc:
            raise RuntimeUnavailable(f"{source}: cannot read the {feature} stats ({exc})") from None
        found = _stats_entry(data if isinstance(data, dict) else {}, names)
        if found is None:
            raise RuntimeUnavailable(f"{source}: no stats for {feature}")
        entry = {**found, **entry}
    elif isinstance(source, str) and source.endswith(".safetensors"):
        entry = {**_safetensors_stats(checkpoint, source, names), **entry}
    if mode == "min_max":
        low, high = _array(entry, "min"), _array(entry, "max")
        if low is None or high is None:
            raise RuntimeUnavailable(f"{feature}: min_max normalization without min/max stats")
        return Normalizer(feature, mode, low=low, high=high, source=source)
    if mode == "quantiles":
        low, high = _array(entry, "q01", "q02"), _array(entry, "q99", "q98")
        if low is None or high is None:
            raise RuntimeUnavailable(f"{feature}: quantile normalization without q01/q99 stats")
        return Normalizer(feature, mode, low=low, high=high, source=source)
    kind = str(descriptor.get("type", "")).lower()
    mean = _array(entry, "mean") if "mean" in entry else (np.asarray(IMAGENET_MEAN) if kind == "imagenet" else None)
    std = _array(entry, "std") if "std" in entry else (np.asarray(IMAGENET_STD) if kind == "imagenet" else None)
    if mean is None or std is None:
        raise RuntimeUnavailable(f"{feature}: mean_std normalization without mean/std stats")
    return Normalizer(feature, "mean_std", mean=mean, std=std, source=source)


def _grid(norm: Normalizer) -> np.ndarray | None:
    """Values across the feature's own training range (its stats), for a round trip without data."""
    t = np.linspace(0.0, 1.0, 11)[:, None]
    if norm.low is not None and norm.high is not None:
        return norm.low + t * (norm.high - norm.low)
    if norm.mean is not None and norm.std is not None:
        return norm.mean + (4.0 * t - 2.0) * norm.std
    return None


@dataclass
class FedBatch:
    """The model's input dict plus what post-processing needs (the current raw state)."""

    inputs: dict[str, Any]
    state_now: np.ndarray | None


@dataclass
class _Camera:
    key: str
    bgr: bool
    normalizer: Normalizer


class ContractFeeder:
    """Builds batches and post-processes outputs from a passport's ``input_contract``."""

    def __init__(self, passport: Passport, checkpoint: Checkpoint, device: str = "cpu") -> None:
        contract = passport.input_contract
        if contract is None:
            raise RuntimeUnavailable("the passport has no input_contract: cannot tell how to feed the model")
        self.device = device
        self.cameras = []
        for image in contract.images or []:
            norm = read_normalizer(checkpoint, image.normalization, (image.key,))
            if norm.mode == "mean_std":
                norm.mean, norm.std = norm.mean.reshape(-1, 1, 1), norm.std.reshape(-1, 1, 1)
            self.cameras.append(_Camera(image.key, (image.color_order or "RGB").upper() == "BGR", norm))
        state = contract.state
        self.state_norm = read_normalizer(checkpoint, state.normalization if state else None, STATE_NAMES)
        actions = contract.actions
        self.action_norm = read_normalizer(checkpoint, actions.normalization if actions else None, ACTION_NAMES)
        delta = actions.delta_dims if actions else None
        mask = getattr(delta, "delta_mask", None) or (actions.extra.get("delta_mask") if actions else None)
        self.delta_mask = [bool(v) for v in mask] if isinstance(mask, list) else None
        temporal = contract.temporal
        offsets = temporal.observation_delta_indices if temporal and temporal.observation_delta_indices else None
        steps = temporal.n_obs_steps if temporal and temporal.n_obs_steps else (len(offsets) if offsets else 1)
        self.offsets: list[int] = list(offsets) if offsets else list(range(1 - steps, 1))
        self.prompt = bool(contract.language)

    @property
    def n_obs_steps(self) -> int:
        return len(self.offsets)

    def _stack(self, array: np.ndarray) -> np.ndarray:
        """The last ``n_obs_steps`` entries, oldest first, with a time axis only when it is above 1."""
        window = array[-self.n_obs_steps:]
        if len(window) < self.n_obs_steps:  # too little history: repeat the oldest, as LeRobot pads
            window = np.concatenate([np.repeat(window[:1], self.n_obs_steps - len(window), axis=0), window])
        return window if self.n_obs_steps > 1 else window[-1]

    def make_batch(self, observation: Observation) -> FedBatch:
        import torch

        inputs: dict[str, Any] = {}
        for camera in self.cameras:
            frames = observation.images.get(camera.key)
            if frames is None:
                raise ValueError(f"observation has no frames for {camera.key}")
            x = np.asarray(frames, dtype=np.float64) / 255.0
            if camera.bgr:
                x = x[..., ::-1]
            x = camera.normalizer.normalize(np.moveaxis(x, -1, -3))
            inputs[camera.key] = torch.as_tensor(self._stack(x)[None], dtype=torch.float32, device=self.device)
        state_now = None
        if observation.state is not None:
            states = np.asarray(observation.state, dtype=np.float64)
            state_now = states[-1]
            normalized = self.state_norm.normalize(states)
            inputs["observation.state"] = torch.as_tensor(self._stack(normalized)[None], dtype=torch.float32,
                                                          device=self.device)
        if observation.task is not None:
            inputs["task"] = [observation.task]
        return FedBatch(inputs, state_now)

    def postprocess(self, raw: np.ndarray, state_now: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(unnormalized, actions)`` of a raw model output ``(B, [H,] D)``."""
        unnormalized = self.action_norm.unnormalize(raw)
        actions = np.array(unnormalized, copy=True)
        if self.delta_mask and state_now is not None:
            dims = [i for i, delta in enumerate(self.delta_mask) if delta and i < actions.shape[-1] and i < len(state_now)]
            actions[..., dims] += state_now[dims]
        return unnormalized, actions

    def action_bounds(self) -> tuple[dict[str, np.ndarray] | None, float | None]:
        """Training action min/max (when the stats have them) and the normalized clip bound."""
        norm = self.action_norm
        stats = {"min": norm.low, "max": norm.high} if norm.mode == "min_max" else None
        return stats, norm.clip

    def norm_steps(self, states: np.ndarray | None = None, images: dict[str, np.ndarray] | None = None) -> list[NormStep]:
        steps = []
        for camera in self.cameras:
            if camera.normalizer.mode != "identity":
                frames = (images or {}).get(camera.key)
                sample = np.moveaxis(np.asarray(frames, np.float64) / 255.0, -1, -3) if frames is not None else None
                steps.append(camera.normalizer.step(f"normalize_{camera.key}", sample))
        if self.state_norm.mode != "identity":
            steps.append(self.state_norm.step("normalize_state", states))
        if self.action_norm.mode != "identity":
            steps.append(self.action_norm.step("normalize_action", _grid(self.action_norm)))
        return steps
