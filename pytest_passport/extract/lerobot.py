"""LeRobot 0.4–0.6 checkpoints: ``config.json`` plus the saved processor pipelines.

What comes from where:

* ``config.json`` (a draccus dump; ``type`` names the policy): feature keys, types and C,H,W
  shapes, ``n_obs_steps``, the chunk length, crop/resize settings, diffusion scheduler fields,
  the vision backbone and its pretrained weights.
* ``policy_preprocessor.json`` / ``policy_postprocessor.json``: the ordered steps become
  ``transform_pipeline``; the rename step's map becomes the datasets' ``key_rename_map`` and the
  images' ``aliases``; the (un)normalizer steps give the per-feature-type modes actually applied
  at inference and their ``state_file``, whose sha256 is the stats fingerprint. Inputs point at
  the preprocessor's normalizer file, actions at the postprocessor's unnormalizer file (the one
  that turns model output into robot commands).
* Per-type knowledge (class path, chunk key, steps executed per call, delta-index rule,
  crop/resize keys, padding dims, image normalization inside processor steps) comes from
  :mod:`pytest_passport.policies`, the table the checks read too. Delta indices are properties
  of LeRobot's policy classes, not config fields, so they are recomputed from it.

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

from pathlib import PurePosixPath
from typing import Any

from .. import policies
from ..checkpoint import Checkpoint
from ..errors import DocumentError
from ..schema import (
    ActionSpec,
    ForwardGraph,
    ImageSpec,
    InferenceParameters,
    InputContract,
    LanguageSpec,
    ModelIdentity,
    ModelInternals,
    OutputActions,
    OutputSpec,
    PostProcessing,
    PretrainedAsset,
    StateSpec,
    TemporalSpec,
    TrainingDatasetSpec,
    TransformStep,
)
from ._common import ConfigReader, ExtractionError, LayoutResult, Notes, dataset_spec
from .integrity import FileDigests
from .lerobot_files import (
    ACTION_KEY,
    RENAMER,
    STATE_KEY,
    Feature,
    LeRobotConfig,
    NormContext,
    Pipelines,
    Step,
    read_config,
    read_pipelines,
)

TRAIN_CONFIG = "train_config.json"
#: Loader every ``lerobot-train`` run uses (module path of LeRobot 0.4+).
LOADER_CLASS = "lerobot.datasets.lerobot_dataset.LeRobotDataset"
#: Processor registry name -> (transform operation, what it applies to).
STEP_KINDS: dict[str, tuple[str, str]] = {
    "rename_observations_processor": ("rename_keys", "all"),
    "to_batch_processor": ("add_batch_dim", "all"),
    "device_processor": ("to_device", "all"),
    "normalizer_processor": ("normalize", "all"),
    "unnormalizer_processor": ("unnormalize", "action"),
    "tokenizer_processor": ("tokenize", "language"),
    "xvla_image_to_float": ("to_float_unit_range", "all_images"),
    "xvla_imagenet_normalize": ("normalize_imagenet", "all_images"),
}

# --------------------------------------------------------------------------- input contract


def _renames(pipelines: Pipelines) -> dict[str, str]:
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


def _first_dim(feature: Feature | None) -> int | None:
    return feature.shape[0] if feature is not None and feature.shape else None


def build_state(ctx: NormContext) -> StateSpec | None:
    feature = ctx.config.feature(STATE_KEY)
    if feature is None:
        return None
    dim = _first_dim(feature)
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
        dim = _first_dim(feature)
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
    dim = _first_dim(feature)
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


# --------------------------------------------------------------------------- identity and internals


def build_identity(config: LeRobotConfig, pipelines: Pipelines, notes: Notes) -> ModelIdentity:
    policy_type = config.policy_type or "unknown"
    identity = ModelIdentity(extra={"lerobot_policy_type": policy_type})
    known = policies.lookup(config.policy_type)
    if known is None or known.class_name is None:
        notes.warn(f"LeRobot policy type {policy_type!r} is unknown to this tool: generic rules were used")
        notes.leave("model_identity.class_module/class_name",
                    f"human: LeRobot policy type {policy_type!r} is not in the known table")
        return identity
    identity.extra["policy_table_read_from"] = f"lerobot {known.read_from}"
    if not pipelines.present:
        # Before 0.4 the classes lived under lerobot.common.policies and no processors were saved.
        identity.class_name = known.class_name
        notes.leave("model_identity.class_module", "human: no processor pipelines (pre-0.4 layout?), module path unknown")
    else:
        identity.class_module, identity.class_name = known.class_module, known.class_name
    return identity


def _backbone_prefixes(checkpoint: Checkpoint, weight_files: list[str]) -> list[str]:
    """Module paths of vision backbones, read from tensor names (``model.backbone``, …)."""
    prefixes: set[str] = set()
    for rel in weight_files:
        header = checkpoint.tensor_headers.get(rel)
        for name in header.tensors if header else ():
            parts = name.split(".")
            for i, part in enumerate(parts[:-1]):
                if "backbone" in part:
                    prefixes.add(".".join(parts[: i + 1]))
                    break
    return sorted(prefixes)


def build_pretrained(checkpoint: Checkpoint, config: LeRobotConfig, weight_files: list[str]) -> list[PretrainedAsset] | None:
    reader = config.reader
    weights = reader.string("pretrained_backbone_weights")
    if not weights:
        return None
    architecture = reader.string("vision_backbone")
    lr, lr_backbone = reader.number("optimizer_lr"), reader.number("optimizer_lr_backbone")
    multiplier = lr_backbone / lr if lr and lr_backbone is not None else None
    extra = {"architecture": architecture} if architecture else {}
    return [
        PretrainedAsset(submodule=prefix, source="torchvision", source_identifier=weights,
                        lr_multiplier=multiplier, extra=dict(extra))
        for prefix in _backbone_prefixes(checkpoint, weight_files) or ["vision_backbone"]
    ]


def build_forward_graph(config: LeRobotConfig, with_language: bool) -> ForwardGraph:
    steps = config.n_obs_steps or 1
    keys = sorted(f.key for f in config.inputs)
    shapes = {f.key: [1, steps, *f.shape] for f in sorted(config.inputs, key=lambda f: f.key) if f.shape}
    action = _first_dim(config.feature(ACTION_KEY))
    outputs = None
    if action is not None and config.horizon:
        outputs = {ACTION_KEY: [1, config.horizon, action]}
    elif action is not None and config.rules.single_step:
        outputs = {ACTION_KEY: [1, action]}
    return ForwardGraph(
        expected_input_keys=keys + (["task"] if with_language else []),
        sample_input_shapes=shapes or None,
        sample_output_shapes=outputs,
    )


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


# --------------------------------------------------------------------------- transform pipeline


def _step_transform(step: Step, direction: str, digests: FileDigests) -> TransformStep:
    operation, applies_to = STEP_KINDS.get(step.name, (step.name, "all"))
    parameters: dict[str, Any] = {"pipeline": step.pipeline_file, "step_index": step.index, "config": step.config}
    description = None
    if step.state_file:
        parameters["state_file"] = step.state_file
        parameters["state_file_sha256"] = digests.sha256(step.state_file)
        description = "state_file sha256 equals its weight_integrity entry and the normalization stats_fingerprint"
    elif step.name == RENAMER:
        description = "rename_map equals training_datasets[].key_rename_map and the robot's observation keys"
    return TransformStep(
        name=f"{PurePosixPath(step.pipeline_file).stem}.{step.name}",
        applies_to=applies_to,
        operation=operation,
        direction=direction,
        parameters=parameters,
        check_type="static",
        check_description=description,
    )


def _model_image_steps(reader: ConfigReader) -> list[TransformStep]:
    """Resize and crop done inside the model's forward, after the preprocessor."""
    geometry = policies.image_geometry(reader.data)
    steps: list[TransformStep] = []
    if geometry.resize is not None:
        steps.append(TransformStep(name="resize_images", applies_to="all_images", operation=geometry.resize_operation,
                                   direction="input", parameters={"target_hw": geometry.resize, "config_key": geometry.resize_key,
                                               "applied_in": "model"},
                                   check_type="static", check_description="target size equals images[].encoder_resize"))
    if geometry.crop is not None:
        steps.append(TransformStep(name="crop_images", applies_to="all_images", operation="center_crop",
                                   direction="input", parameters={**geometry.crop, "applied_in": "model"},
                                   check_type="static", check_description="crop equals images[].crop"))
    return steps


def build_transform_pipeline(config: LeRobotConfig, pipelines: Pipelines, digests: FileDigests) -> list[TransformStep]:
    steps = [_step_transform(s, "input", digests) for s in pipelines.pre]
    steps += _model_image_steps(config.reader)
    steps += [_step_transform(s, "output", digests) for s in pipelines.post]
    names: dict[str, int] = {}
    for order, step in enumerate(steps):
        step.order = order
        seen = names.get(step.name or "", 0)
        names[step.name or ""] = seen + 1
        if seen:
            step.name = f"{step.name}_{seen}"
    return steps


# --------------------------------------------------------------------------- training config


def read_train_datasets(checkpoint: Checkpoint, notes: Notes) -> list[TrainingDatasetSpec]:
    """Datasets named by ``train_config.json`` (written by ``lerobot-train``)."""
    if TRAIN_CONFIG not in checkpoint.files:
        return []
    try:
        data = checkpoint.read_json(TRAIN_CONFIG)
    except DocumentError as exc:
        notes.warn(f"{TRAIN_CONFIG}: ignored: {'; '.join(exc.problems)}")
        return []
    dataset = data.get("dataset") if isinstance(data, dict) else None
    if not isinstance(dataset, dict):
        return []
    repos = dataset.get("repo_id")
    revision = dataset.get("revision")
    names = [repos] if isinstance(repos, str) else repos if isinstance(repos, list) else []
    pin = revision if isinstance(revision, str) else None
    return [dataset_spec(name, pin, None) for name in names if isinstance(name, str) and name]


# --------------------------------------------------------------------------- entry point


def extract(checkpoint: Checkpoint, reader: ConfigReader, digests: FileDigests, notes: Notes) -> LayoutResult:
    config = read_config(reader)
    pipelines = read_pipelines(checkpoint)
    if not pipelines.present:
        notes.warn("no policy_preprocessor.json/policy_postprocessor.json: normalization stats cannot be located")
    ctx = NormContext(checkpoint, digests, config, pipelines, notes)
    ctx.compare_modes()
    renames = _renames(pipelines)
    state_files = {s.state_file for s in pipelines.pre + pipelines.post if s.state_file}
    weight_files = [rel for rel in checkpoint.weight_files if rel not in state_files]
    if not weight_files:
        raise ExtractionError(f"{checkpoint.root}: no model weights (model.safetensors) beside config.json")

    language = build_language(pipelines, reader)
    contract = InputContract(
        images=build_images(ctx, renames) or None,
        state=build_state(ctx),
        actions=build_actions(ctx),
        language=language,
        temporal=build_temporal(config, notes),
    )
    if (environment := build_environment_state(ctx)) is not None:
        contract.extra["environment_state"] = environment
    if (others := build_other_inputs(ctx)) is not None:
        contract.extra["other_inputs"] = others

    internals = ModelInternals(
        pretrained_provenance=build_pretrained(checkpoint, config, weight_files),
        forward_graph=build_forward_graph(config, language is not None),
    )
    pretrained_path = reader.string("pretrained_path")
    revision = reader.string("pretrained_revision")
    return LayoutResult(
        layout="lerobot",
        stack=config.policy_type or "unknown",
        input_contract=contract,
        model_identity=build_identity(config, pipelines, notes),
        model_internals=internals,
        output_spec=build_output_spec(config, pipelines, ctx),
        transform_pipeline=build_transform_pipeline(config, pipelines, digests),
        config_datasets=read_train_datasets(checkpoint, notes),
        model_weight_files=weight_files,
        config_snapshot=TRAIN_CONFIG if TRAIN_CONFIG in checkpoint.files else "config.json",
        key_rename_map=renames,
        parent_description=(f"config.json pretrained_path {pretrained_path}" + (f" at revision {revision}" if revision else ""))
        if pretrained_path else None,
    )
