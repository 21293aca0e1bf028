"""Reading the policy config and passport blocks: helpers shared by the check modules."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..findings import Finding
from ..policies import HORIZON_KEYS
from ..policies import config_horizon as config_horizon
from ._base import CheckContext

#: Keys whose presence marks a config as a policy config (vs. e.g. a HF LLM config).
POLICY_KEYS = ("input_features", "output_features", "image_features", "robot_state_feature", "n_action_steps", *HORIZON_KEYS)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(feature: Any) -> list[Any] | None:
    shape = _dict(feature).get("shape")
    return shape if isinstance(shape, list) else None


def _first_dim(feature: Any) -> int | None:
    shape = _shape(feature)
    return shape[0] if shape and _is_int(shape[0]) else None


def _more(items: list[Any]) -> str:
    return f" (+{len(items) - 1} more)" if len(items) > 1 else ""


def config_gate(name: str, ctx: CheckContext) -> Finding | None:
    """``not_checked`` without any config (spec §8.4); ``fail`` naming a config that cannot be parsed."""
    info = ctx.checkpoint.config
    if info.error:
        return Finding.failed(name, f"{info.path} cannot be parsed: {info.error}", config=info.path)
    if info.path is None:
        return Finding.not_checked(name, "no config.json")
    return None


def config_name(ctx: CheckContext) -> str:
    return ctx.checkpoint.config.path or "config.json"


def is_policy_config(config: dict[str, Any]) -> bool:
    """Whether ``config`` describes a policy (features or an action horizon), not e.g. an LLM."""
    return any(key in config for key in POLICY_KEYS)


def input_features(config: dict[str, Any]) -> dict[str, Any]:
    return _dict(config.get("input_features"))


def output_features(config: dict[str, Any]) -> dict[str, Any]:
    return _dict(config.get("output_features"))


def action_dim(config: dict[str, Any]) -> int | None:
    """``output_features.action.shape[0]``."""
    return _first_dim(output_features(config).get("action"))


def state_dim(config: dict[str, Any]) -> int | None:
    """``input_features["observation.state"].shape[0]``."""
    return _first_dim(input_features(config).get("observation.state"))


def image_shapes(config: dict[str, Any]) -> dict[str, list[Any] | None]:
    """Config image keys (VISUAL ``input_features`` plus ``image_features``) and their shapes."""
    images = {
        key: _shape(feature)
        for key, feature in input_features(config).items()
        if str(_dict(feature).get("type", "")).upper() == "VISUAL"
    }
    extra = config.get("image_features")
    if isinstance(extra, dict):
        for key, feature in extra.items():
            images.setdefault(key, _shape(feature))
    elif isinstance(extra, list):
        for key in extra:
            if isinstance(key, str):
                images.setdefault(key, None)
    return images


def is_blank(block: Any) -> bool:
    """Whether a typed block is absent or holds nothing (every field ``None``/empty, no extras)."""
    if block is None:
        return True
    return all(getattr(block, f.name) in (None, {}, [], "") for f in dataclasses.fields(block))
