"""What this tool knows about LeRobot policy types: one table read by the writer and the checks.

``extract/`` (generate-passport) and ``checks/`` (validate-checkpoint) both import this module,
so the passport writer and its reader never hold two copies of a fact. Every entry names the
lerobot code it was read from (:attr:`PolicyType.read_from`):

* ``0.6.1`` — read from lerobot 0.6.1 (``configuration_*.py`` delta-index properties,
  ``factory.get_policy_class``) and verified on real 0.6.1 checkpoints of that type
  (``tests/fixtures/lerobot-policies``: act, diffusion, tdmpc, gaussian_actor, multi_task_dit,
  smolvla, xvla; vqbet was built and verified there but is not shipped, 45 MB);
* ``main@<commit>`` — read from lerobot's source at that commit (types that load hub models at
  init, so no offline checkpoint exists); fields not read are ``None`` and fall back to the
  generic rules;
* ``0.4/0.5`` — names lerobot 0.6 no longer registers (``sac``).

A type missing from the table gets the generic rules (:data:`GENERIC`), and the callers emit a
soft signal naming it — never a failure. Nothing here imports pytest, torch or lerobot.

Also kept here, once each: the config keys naming an action chunk (:data:`HORIZON_KEYS`), C,H,W
↔ H,W,C shape conversion and the Hugging Face hub cache location (from ``huggingface_hub``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "GENERIC",
    "HORIZON_KEYS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "POLICIES",
    "ImageGeometry",
    "OutputLayer",
    "PolicyType",
    "chw_to_hwc",
    "config_horizon",
    "dataset_image_chw",
    "delta_indices",
    "executed_steps",
    "hf_hub_cache",
    "horizon_values",
    "hwc_to_chw",
    "image_geometry",
    "lookup",
    "padding_dims",
    "step_image_normalization",
]

#: Config keys naming the action chunk (or planning horizon) length, first present wins.
#: ``n_action_steps`` is never one: it counts the steps of a chunk that are executed.
HORIZON_KEYS = ("horizon", "chunk_size", "action_horizon", "action_chunk_size")

#: ImageNet channel statistics (lerobot ``IMAGENET_STATS``), applied by ``xvla_imagenet_normalize``.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Config = Mapping[str, Any]
DeltaIndices = tuple[list[int] | None, list[int] | None]
#: How the steps executed per model call are counted: ``n_action_steps`` of each chunk, the whole
#: chunk (VQ-BeT's ``action_chunk_size``), or one action per call (no chunk at all).
Executed = Literal["n_action_steps", "chunk", "single_step"]
#: How the output layer carries the action dim: the dim itself, the dim padded to
#: ``max_action_dim`` (dim ≤ padded), or ``steps × dim`` flattened.
ShapeRule = Literal["dim", "padded", "steps_x_dim"]


def _int(config: Config, key: str | None) -> int | None:
    value = config.get(key) if key else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shape(config: Config, key: str) -> list[int] | None:
    value = config.get(key)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


@dataclass(frozen=True)
class OutputLayer:
    """The tensor that produces the actions, and how its shape carries the action dim.

    ``pattern`` is matched in full against tensor names; when it has an ``index`` group the
    match with the highest index is the output layer (the last layer of an MLP).
    """

    pattern: str
    axis: int = 0
    rule: ShapeRule = "dim"
    padded_key: str | None = None
    steps_key: str | None = None

    def find(self, names: list[str]) -> str | None:
        regex = re.compile(self.pattern)
        found = [(m, name) for name in names if (m := regex.fullmatch(name))]
        if not found:
            return None
        if "index" in regex.groupindex:
            return max(found, key=lambda pair: int(pair[0].group("index")))[1]
        return found[0][1]

    def accepted(self, config: Config, action_dim: int) -> set[int]:
        """Sizes of :attr:`axis` that agree with ``action_dim`` under this type's rule."""
        if self.rule == "padded":
            padded = _int(config, self.padded_key)
            return {action_dim} | ({padded} if padded is not None and padded >= action_dim else set())
        if self.rule == "steps_x_dim":
            steps = _int(config, self.steps_key)
            return {action_dim} | ({action_dim * steps} if steps else set())
        return {action_dim}


@dataclass(frozen=True)
class PolicyType:
    """What one LeRobot policy type stores where. ``None`` fields were not read: generic rules apply."""

    name: str
    class_module: str | None
    class_name: str | None
    read_from: str
    #: Config key of the chunk length; ``None`` with ``executed == "single_step"``: no chunk.
    horizon_key: str | None = None
    executed: Executed = "n_action_steps"
    #: Each action is repeated this many control steps (TD-MPC ``n_action_repeats``).
    repeats_key: str | None = None
    #: The horizon is a planning horizon (TD-MPC's MPC rollout), not an action chunk the policy emits.
    planning_horizon: bool = False
    deltas: Callable[[Config], DeltaIndices] | None = None
    resize_keys: tuple[tuple[str, str], ...] = ()
    crop_key: str | None = None
    crop_random_key: str | None = None
    state_padding_key: str | None = None
    action_padding_key: str | None = None
    output: OutputLayer | None = None
    #: Processor step registry names that normalize images, and what they apply.
    image_normalization_steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def horizon_keys(self) -> tuple[str, ...]:
        return (self.horizon_key,) if self.horizon_key else (() if self.single_step else HORIZON_KEYS)

    @property
    def single_step(self) -> bool:
        return self.executed == "single_step"


# --------------------------------------------------------------------------- delta-index rules


def _span(start: int, stop: int) -> list[int]:
    return list(range(start, stop))


def _chunk(config: Config) -> DeltaIndices:
    """ACT, PI0, PI0.5, X-VLA: no observation history; actions ``0..chunk_size-1``."""
    return None, _span(0, _int(config, "chunk_size") or 0) or None


def _smolvla(config: Config) -> DeltaIndices:
    return [0], _span(0, _int(config, "chunk_size") or 0) or None


def _diffusion(config: Config) -> DeltaIndices:
    """Diffusion, Multi-Task DiT: ``1-n_obs_steps..0`` and ``horizon`` actions from the first observation."""
    first = 1 - (_int(config, "n_obs_steps") or 1)
    return _span(first, 1), _span(first, first + (_int(config, "horizon") or 0)) or None


def _vqbet(config: Config) -> DeltaIndices:
    first = 1 - (_int(config, "n_obs_steps") or 1)
    last = (_int(config, "n_action_pred_token") or 0) + (_int(config, "action_chunk_size") or 0) - 1
    return _span(first, 1), _span(first, last) or None


def _tdmpc(config: Config) -> DeltaIndices:
    horizon = _int(config, "horizon") or 0
    return _span(0, horizon + 1), _span(0, horizon) or None


def _single(config: Config) -> DeltaIndices:
    return None, None


PADDED_RESIZE = (("resize_imgs_with_padding", "resize_with_padding"),)
MAIN = "main@01f50c3 (factory.py)"


def _entry(name: str, module: str, cls: str, read_from: str, **kwargs: Any) -> PolicyType:
    return PolicyType(name, f"lerobot.policies.{name}.{module}", cls, read_from, **kwargs)


#: Every LeRobot policy type this tool knows, by ``config.json`` ``type``.
POLICIES: dict[str, PolicyType] = {p.name: p for p in (
    _entry("act", "modeling_act", "ACTPolicy", "0.6.1", horizon_key="chunk_size", deltas=_chunk,
           output=OutputLayer(r"model\.action_head\.weight")),
    _entry("diffusion", "modeling_diffusion", "DiffusionPolicy", "0.6.1", horizon_key="horizon", deltas=_diffusion,
           resize_keys=(("resize_shape", "resize"),), crop_key="crop_shape", crop_random_key="crop_is_random",
           output=OutputLayer(r"diffusion\.unet\.final_conv\.1\.weight")),
    _entry("vqbet", "modeling_vqbet", "VQBeTPolicy", "0.6.1", horizon_key="action_chunk_size", executed="chunk",
           deltas=_vqbet, crop_key="crop_shape", crop_random_key="crop_is_random",
           output=OutputLayer(r".*vqvae_model\.decoder\.(?P<index>\d+)\.weight", rule="steps_x_dim",
                              steps_key="action_chunk_size"),
           notes=("the VQ-VAE decoder emits action_chunk_size x action_dim values",)),
    _entry("tdmpc", "modeling_tdmpc", "TDMPCPolicy", "0.6.1", horizon_key="horizon", repeats_key="n_action_repeats",
           planning_horizon=True, deltas=_tdmpc,
           output=OutputLayer(r"model\._pi\.(?P<index>\d+)\.weight"),
           notes=("horizon is the MPC planning horizon; n_action_steps of the plan are executed",)),
    _entry("gaussian_actor", "modeling_gaussian_actor", "GaussianActorPolicy", "0.6.1", executed="single_step",
           deltas=_single, output=OutputLayer(r"actor\.mean_layer\.weight"),
           notes=("one action per call: no chunk, no horizon",)),
    _entry("multi_task_dit", "modeling_multi_task_dit", "MultiTaskDiTPolicy", "0.6.1", horizon_key="horizon",
           deltas=_diffusion, resize_keys=(("image_resize_shape", "resize"),), crop_key="image_crop_shape",
           crop_random_key="image_crop_is_random", output=OutputLayer(r"noise_predictor\.output_proj\.weight")),
    _entry("smolvla", "modeling_smolvla", "SmolVLAPolicy", "0.6.1", horizon_key="chunk_size", deltas=_smolvla,
           resize_keys=PADDED_RESIZE, state_padding_key="max_state_dim", action_padding_key="max_action_dim",
           output=OutputLayer(r"model\.action_out_proj\.weight", rule="padded", padded_key="max_action_dim")),
    _entry("xvla", "modeling_xvla", "XVLAPolicy", "0.6.1", horizon_key="chunk_size", deltas=_chunk,
           resize_keys=PADDED_RESIZE, state_padding_key="max_state_dim", action_padding_key="max_action_dim",
           # Per-domain linear head: bias [num_domains, max_action_dim].
           output=OutputLayer(r"model\.transformer\.action_decoder\.bias\.weight", axis=-1, rule="padded",
                              padded_key="max_action_dim"),
           image_normalization_steps=("xvla_imagenet_normalize",)),
    _entry("pi0", "modeling_pi0", "PI0Policy", "main@0558acc (configuration_pi0.py)", horizon_key="chunk_size",
           deltas=_chunk, resize_keys=PADDED_RESIZE, state_padding_key="max_state_dim",
           action_padding_key="max_action_dim"),
    _entry("pi05", "modeling_pi05", "PI05Policy", MAIN, horizon_key="chunk_size", deltas=_chunk,
           resize_keys=(("image_resolution", "resize_with_padding"),), state_padding_key="max_state_dim",
           action_padding_key="max_action_dim"),
    _entry("pi0_fast", "modeling_pi0_fast", "PI0FastPolicy", MAIN),
    _entry("groot", "modeling_groot", "GrootPolicy", "main@0509ea0 (configuration_groot.py)", horizon_key="chunk_size",
           resize_keys=(("image_size", "resize"),), state_padding_key="max_state_dim", action_padding_key="max_action_dim",
           notes=("action delta indices are capped by the base model's horizon, unknown offline",)),
    _entry("eo1", "modeling_eo1", "EO1Policy", MAIN),
    _entry("evo1", "modeling_evo1", "Evo1Policy", MAIN),
    _entry("fastwam", "modeling_fastwam", "FastWAMPolicy", MAIN),
    _entry("lingbot_va", "modeling_lingbot_va", "LingBotVAPolicy", MAIN),
    _entry("molmoact2", "modeling_molmoact2", "MolmoAct2Policy", MAIN),
    _entry("vla_jepa", "modeling_vla_jepa", "VLAJEPAPolicy", MAIN),
    _entry("wall_x", "modeling_wall_x", "WallXPolicy", MAIN),
    _entry("sac", "modeling_sac", "SACPolicy", "0.4/0.5", executed="single_step", deltas=_single,
           notes=("registered by lerobot 0.4/0.5 only",)),
)}

#: Rules for a type not in :data:`POLICIES`: any horizon key, ``n_action_steps``, every resize key.
GENERIC = PolicyType("generic", None, None, "generic rules",
                     resize_keys=(("resize_shape", "resize"), ("image_resolution", "resize_with_padding"),
                                  ("resize_imgs_with_padding", "resize_with_padding"),
                                  ("image_resize_shape", "resize")),
                     crop_key="crop_shape", crop_random_key="crop_is_random",
                     state_padding_key="max_state_dim", action_padding_key="max_action_dim")


def lookup(policy_type: str | None) -> PolicyType | None:
    """The table entry of ``policy_type``; ``None`` when unknown (use :data:`GENERIC`, signal it)."""
    return POLICIES.get(policy_type) if isinstance(policy_type, str) else None


def rules(config: Config) -> PolicyType:
    """The entry for ``config["type"]``, else the generic rules."""
    return lookup(config.get("type")) or GENERIC


# --------------------------------------------------------------------------- derived facts


def horizon_values(config: Config) -> dict[str, Any]:
    """Every horizon key present (not null) in ``config``, in :data:`HORIZON_KEYS` order."""
    return {key: config[key] for key in HORIZON_KEYS if config.get(key) is not None}


def config_horizon(config: Config) -> tuple[str, int] | None:
    """``(key, value)`` of the chunk length: the type's own key, else the first positive of :data:`HORIZON_KEYS`."""
    for key in rules(config).horizon_keys:
        value = _int(config, key)
        if value is not None and value > 0:
            return key, value
    return None


def executed_steps(config: Config) -> int | None:
    """Actions executed per model call: 1 for single-step types, the chunk for VQ-BeT, else ``n_action_steps``."""
    entry = rules(config)
    if entry.single_step:
        return 1
    if entry.executed == "chunk":
        found = config_horizon(config)
        return found[1] if found else None
    return _int(config, "n_action_steps")


def action_repeats(config: Config) -> int | None:
    return _int(config, rules(config).repeats_key)


def delta_indices(config: Config) -> DeltaIndices | None:
    """``(observation_delta_indices, action_delta_indices)`` as lerobot computes them; ``None`` when not known."""
    entry = rules(config)
    return entry.deltas(config) if entry.deltas is not None else None


def padding_dims(config: Config) -> tuple[int | None, int | None]:
    """``(max_state_dim, max_action_dim)`` the model pads state and action vectors to."""
    entry = rules(config)
    return _int(config, entry.state_padding_key), _int(config, entry.action_padding_key)


@dataclass(frozen=True)
class ImageGeometry:
    """Resize and crop the model applies to every camera, from the config."""

    resize: list[int] | None = None
    resize_operation: str | None = None
    resize_key: str | None = None
    crop: dict[str, Any] | None = None
    augmentations: list[str] | None = None


def image_geometry(config: Config) -> ImageGeometry:
    entry = rules(config)
    resize = next(((shape, op, key) for key, op in entry.resize_keys if (shape := _shape(config, key))), None)
    crop_shape = _shape(config, entry.crop_key) if entry.crop_key else None
    crop = None
    augmentations = None
    if crop_shape is not None:
        # Diffusion/VQ-BeT/Multi-Task DiT crop randomly while training and centre-crop at inference.
        random_crop = bool(config.get(entry.crop_random_key or "")) if entry.crop_random_key else False
        mode = "random_in_training_center_at_inference" if random_crop else "center"
        crop = {"shape": crop_shape, "mode": mode}
        augmentations = ["random_crop"] if random_crop else None
    if resize is None:
        return ImageGeometry(crop=crop, augmentations=augmentations)
    return ImageGeometry(resize[0], resize[1], resize[2], crop, augmentations)


def step_image_normalization(step_name: str) -> dict[str, Any] | None:
    """The normalization a processor step applies to images, when it is one of the known steps."""
    if step_name == "xvla_imagenet_normalize":
        return {"type": "MEAN_STD", "stats": "imagenet", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    return None


def image_normalization_steps() -> frozenset[str]:
    return frozenset(name for entry in POLICIES.values() for name in entry.image_normalization_steps)


# --------------------------------------------------------------------------- shapes and places


def hwc_to_chw(shape: list[Any]) -> list[Any]:
    """``[H, W, C]`` → ``[C, H, W]`` (datasets store images H,W,C; LeRobot configs say C,H,W)."""
    return [shape[2], shape[0], shape[1]]


def chw_to_hwc(shape: list[Any]) -> list[Any]:
    """``[C, H, W]`` → ``[H, W, C]``."""
    return [shape[1], shape[2], shape[0]]


CHANNEL_NAMES = ("channel", "channels", "c")


def dataset_image_chw(shape: list[Any] | None, names: Any) -> list[Any] | None:
    """A dataset image shape in C,H,W order: H,W,C unless ``names`` starts with a channel name."""
    if not shape or len(shape) != 3:
        return shape
    if isinstance(names, list) and names and str(names[0]).lower() in CHANNEL_NAMES:
        return list(shape)
    return hwc_to_chw(list(shape))


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache directory, as ``huggingface_hub`` resolved it (HF_HUB_CACHE, HF_HOME, …)."""
    from huggingface_hub import constants  # lazy: only dataset lookups need it

    return Path(constants.HF_HUB_CACHE)
