"""The ``input_contract`` and ``output_spec`` blocks of a LeRobot checkpoint.

They are built from the parsed ``config.json`` and processor pipelines (:mod:`.lerobot_files`)
and the per-type knowledge of :mod:`pytest_passport.policies`; :mod:`.lerobot` assembles them
with the other blocks.

Environment-state inputs (``type: ENV``, e.g. ``observation.environment_state``) are neither a
camera nor part of the proprioceptive state vector that ``input_contract.state.total_dim``
describes (validators compare that with ``observation.state`` alone), so they go in an
``input_contract.environment_state`` extension block shaped like a StateSpec (``key``,
``total_dim``, ``normalization``) and, like every input, into ``forward_graph``.

Extension keys (the schema has no field; readers keep them in the block's ``extra``):

* ``input_contract.state.padded_dim`` / ``input_contract.actions.padded_dim``: ``max_state_dim``
  / ``max_action_dim`` the model zero-pads the vector to (SmolVLA, PI0, X-VLA, GR00T);
* ``output_spec.inference_parameters.extra``: ``action_repeats`` (TD-MPC ``n_action_repeats``),
  ``horizon_kind`` (``planning`` for TD-MPC, ``single_step`` for a policy without a chunk);
* ``input_contract.images[].normalization`` of an image normalized by a processor step (X-VLA's
  ``xvla_imagenet_normalize``) records that step's mode and statistics, not the normalizer's
  ``IDENTITY``.
"""

from __future__ import annotations

from typing import Any

from .. import policies
from ..contract import (
    ActionSpec,
    ImageSpec,
    InferenceParameters,
    LanguageSpec,
    OutputActions,
    OutputSpec,
    PostProcessing,
    StateSpec,
    TemporalSpec,
)
from ._common import ConfigReader, Notes
from .lerobot_files import ACTION_KEY, STATE_KEY, Feature, LeRobotConfig, NormContext, Pipelines

# --------------------------------------------------------------------------- input contract


def rename_map(pipelines: Pipelines) -> dict[str, str]:
    """The rename step's ``rename_map`` (dataset key -> model key); empty without one."""
    step = pipelines.renamer()
    value = step.config.get("rename_map") if step else None
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}


def _image_normalization(ctx: NormContext, feature: Feature) -> dict[str, Any] | None:
    """The normalizer's descriptor, or that of a processor step that normalizes images itself."""
    descriptor = ctx.descriptor(feature, None)
    for step in ctx.pipelines.pre:
        applied = policies.step_image_normalization(step.name)
        keys = step.config.get("image_keys")
        if applied is not None and (not isinstance(keys, list) or feature.key in keys):
            if descriptor is not None and descriptor.get("type") not in (None, "IDENTITY"):
                ctx.notes.warn(f"{feature.key}: normalized twice ({step.where} and {descriptor.get('applied_by')})")
                return descriptor
            return {**applied, "applied_by": step.where}
    return descriptor


def build_images(ctx: NormContext, renames: dict[str, str]) -> list[ImageSpec]:
    geometry = policies.image_geometry(ctx.config.reader.data)
    images: list[ImageSpec] = []
    for feature in sorted(ctx.config.inputs_of("VISUAL"), key=lambda f: f.key):
        aliases = sorted(data for data, model in renames.items() if model == feature.key)
        images.append(ImageSpec(
            key=feature.key,
            aliases=aliases or None,
            raw_shape=list(feature.shape) or None,
            encoder_resize=geometry.resize,
            crop=dict(geometry.crop) if geometry.crop else None,
            color_order="RGB",
            channel_layout="CHW",
            dtype="float32",
            value_range=[0.0, 1.0],
            normalization=_image_normalization(ctx, feature),
            augmentations_in_training=list(geometry.augmentations) if geometry.augmentations else None,
        ))
    return images


def first_dim(feature: Feature | None) -> int | None:
    """The first dimension of ``feature``'s shape; ``None`` without a feature or a shape."""
    return feature.shape[0] if feature is not None and feature.shape else None


def build_state(ctx: NormContext) -> StateSpec | None:
    feature = ctx.config.feature(STATE_KEY)
    if feature is None:
        return None
    dim = first_dim(feature)
    padded, _ = policies.padding_dims(ctx.config.reader.data)
    return StateSpec(
        total_dim=dim,
        sub_keys=[{"key": STATE_KEY, "dim": dim}] if dim is not None else None,
        normalization=ctx.descriptor(feature, dim),
        extra={"padded_dim": padded} if padded is not None else {},
    )


def build_environment_state(ctx: NormContext) -> dict[str, Any] | None:
    features = ctx.config.inputs_of("ENV")
    if not features:
        return None
    blocks = []
    for feature in features:
        dim = first_dim(feature)
        block = {"key": feature.key, "total_dim": dim, "shape": feature.shape, "normalization": ctx.descriptor(feature, dim)}
        blocks.append({k: v for k, v in block.items() if v is not None})
    return blocks[0] if len(blocks) == 1 else {"inputs": blocks}


def build_other_inputs(ctx: NormContext) -> list[dict[str, Any]] | None:
    """Inputs of types this contract has no block for (e.g. a second STATE feature)."""
    known = {"VISUAL", "ENV"}
    others = [f for f in ctx.config.inputs if f.type not in known and f.key != STATE_KEY]
    return [{"key": f.key, "type": f.type, "shape": f.shape} for f in others] or None


def build_actions(ctx: NormContext) -> ActionSpec | None:
    feature = ctx.config.feature(ACTION_KEY)
    if feature is None:
        return None
    dim = first_dim(feature)
    _, padded = policies.padding_dims(ctx.config.reader.data)
    return ActionSpec(
        total_dim=dim,
        horizon=ctx.config.horizon,
        sub_keys=[{"key": ACTION_KEY, "dim": dim}] if dim is not None else None,
        normalization=ctx.descriptor(feature, dim),
        extra={"padded_dim": padded} if padded is not None else {},
    )


def build_temporal(config: LeRobotConfig, notes: Notes) -> TemporalSpec | None:
    n_obs = config.n_obs_steps
    deltas = policies.delta_indices(config.reader.data)
    if deltas is not None:
        observation, action = deltas
    else:
        # Rule not known for this type: only a history longer than one frame implies offsets.
        observation = list(range(1 - n_obs, 1)) if n_obs and n_obs > 1 else None
        action = None
        notes.leave("input_contract.temporal.action_delta_indices",
                    f"human: the delta-index rule of LeRobot policy type {config.policy_type!r} is not known to this tool")
    if n_obs is None and observation is None and action is None:
        return None
    extra = {"action_delta_indices": action} if action is not None else {}
    return TemporalSpec(n_obs_steps=n_obs, observation_delta_indices=observation, extra=extra)


def build_language(pipelines: Pipelines, reader: ConfigReader) -> LanguageSpec | None:
    step = pipelines.tokenizer()
    if step is None:
        return None
    name = step.config.get("tokenizer_name")
    length = step.config.get("max_length")
    if not isinstance(length, int) or isinstance(length, bool):
        length = reader.integer("tokenizer_max_length")
    return LanguageSpec(tokenizer_version=name if isinstance(name, str) else None, max_sequence_length=length)


# --------------------------------------------------------------------------- output spec


def _chunk_fields(config: LeRobotConfig) -> dict[str, Any]:
    ensemble = config.reader.number("temporal_ensemble_coeff")
    rules = config.rules
    extra: dict[str, Any] = {"temporal_ensemble_coeff": ensemble} if ensemble is not None else {}
    if (repeats := policies.action_repeats(config.reader.data)) is not None:
        extra["action_repeats"] = repeats
    if rules.single_step:
        aggregation, extra["horizon_kind"] = "single_step", "single_step"
    elif ensemble is not None:
        aggregation = "temporal_ensemble"
    else:
        aggregation = "whole_chunk" if rules.executed == "chunk" else "first_n_action_steps"
    if rules.planning_horizon:
        extra["horizon_kind"] = "planning"
    return {
        "chunk_aggregation": aggregation,
        "chunks_executed_per_inference": config.n_action_steps,
        "extra": extra or None,
    }


def _diffusion_parameters(reader: ConfigReader) -> dict[str, Any]:
    train_steps = reader.integer("num_train_timesteps")
    extra = {key: reader.raw(key) for key in ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end")
             if reader.raw(key) is not None}
    return {
        "type": "diffusion",
        # LeRobot falls back to the training step count when num_inference_steps is null.
        "num_inference_steps": reader.integer("num_inference_steps") or train_steps,
        "scheduler": reader.string("noise_scheduler_type"),
        "prediction_type": reader.string("prediction_type"),
        "clip_sample": reader.boolean("clip_sample"),
        "clip_sample_range": reader.number("clip_sample_range"),
        "extra": extra or None,
    }


def _flow_parameters(reader: ConfigReader) -> dict[str, Any]:
    steps = next((v for key in ("num_inference_steps", "num_steps", "num_integration_steps", "num_denoising_steps")
                  if (v := reader.integer(key))), None)
    return {"type": "flow_matching", "num_inference_steps": steps}


def build_inference_parameters(config: LeRobotConfig) -> InferenceParameters:
    fields = _chunk_fields(config)
    kind = config.policy_type
    specific: dict[str, Any] = {}
    if kind == "act":
        specific = {"type": "regression"}
    elif kind == "diffusion":
        specific = _diffusion_parameters(config.reader)
    elif kind in ("pi0", "pi05", "smolvla", "xvla"):
        specific = _flow_parameters(config.reader)
    elif kind == "multi_task_dit":
        objective = config.reader.string("objective")
        specific = _flow_parameters(config.reader) if objective == "flow_matching" else _diffusion_parameters(config.reader)
    extra = {**(fields.pop("extra") or {}), **(specific.pop("extra", None) or {})}
    fields.update({k: v for k, v in specific.items() if v is not None})
    return InferenceParameters(**fields, extra=extra or None)


def build_output_spec(config: LeRobotConfig, pipelines: Pipelines, ctx: NormContext) -> OutputSpec:
    actions = None
    if config.feature(ACTION_KEY) is not None:
        actions = OutputActions(layout="mirrors input_contract.actions",
                                sub_keys="see input_contract.actions.sub_keys", horizon=config.horizon)
    post = None
    if pipelines.post:
        step = pipelines.unnormalizer()
        feature = config.feature(ACTION_KEY)
        mode = ctx.mode(feature, step) if feature is not None and step is not None else None
        post = PostProcessing(unnormalize=mode is not None and mode != "IDENTITY")
    return OutputSpec(actions=actions, inference_parameters=build_inference_parameters(config), post_processing=post)
