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

The ``input_contract`` and ``output_spec`` blocks, with the extension keys they carry, are built
in :mod:`.lerobot_contract`; this module builds ``model_identity``, ``model_internals`` and
``transform_pipeline``, reads the training datasets and assembles the layout.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from .. import policies
from ..checkpoint import Checkpoint
from ..errors import DocumentError
from ..schema import (
    ForwardGraph,
    InputContract,
    ModelIdentity,
    ModelInternals,
    PretrainedAsset,
    TrainingDatasetSpec,
    TransformStep,
)
from ._common import ConfigReader, ExtractionError, LayoutResult, Notes, dataset_spec
from .integrity import FileDigests
from .lerobot_contract import (
    build_actions,
    build_environment_state,
    build_images,
    build_language,
    build_other_inputs,
    build_output_spec,
    build_state,
    build_temporal,
    first_dim,
    rename_map,
)
from .lerobot_files import ACTION_KEY, RENAMER, LeRobotConfig, NormContext, Pipelines, Step, read_config, read_pipelines

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
    action = first_dim(config.feature(ACTION_KEY))
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
    renames = rename_map(pipelines)
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
