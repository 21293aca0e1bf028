"""Typed blocks of the model's contract: ``input_contract`` and ``output_spec`` (spec §2.1, §2.4).

What the model must be fed, and what it returns, how it is run and how its smoke test went.
Field names are the JSON keys of the format specification; :mod:`pytest_passport.schema`
loads and dumps them (and re-exports every name here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._jsonmap import Extra, FreeForm, empty_extra


# --------------------------------------------------------------------------- input_contract


@dataclass
class ImageSpec:
    __required__ = ("key",)
    key: str | None = None
    aliases: list[str] | None = None
    raw_shape: list[int] | None = None
    encoder_resize: list[int] | None = None
    crop: FreeForm | None = None
    color_order: str | None = None
    channel_layout: str | None = None
    dtype: str | None = None
    value_range: list[float] | None = None
    normalization: FreeForm | None = None
    augmentations_in_training: list[str] | None = None
    physical_mounting: str | None = None
    camera_serial: str | None = None
    camera_usb_path: str | None = None
    reference_frame_hash: str | None = None
    reference_frame_path: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class StateSpec:
    total_dim: int | None = None
    sub_keys: list[FreeForm] | None = None
    normalization: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class DeltaSpec:
    delta_mask: list[bool] | None = None
    absolute_dims_reason: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class ActionSpec:
    total_dim: int | None = None
    horizon: int | None = None
    sub_keys: list[FreeForm] | None = None
    norm_mask: list[bool] | None = None
    delta_dims: DeltaSpec | None = None
    normalization: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)

    @staticmethod
    def __upgrade__(data: dict[str, Any]) -> dict[str, Any]:
        # Legacy passports stored delta_dims as free text.
        if isinstance(data.get("delta_dims"), str):
            data["delta_dims"] = {"absolute_dims_reason": data["delta_dims"]}
        return data


@dataclass
class LanguageSpec:
    tokenizer_class: str | None = None
    tokenizer_version: str | None = None
    max_sequence_length: int | None = None
    default_prompt: str | None = None
    training_prompts: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class TemporalSpec:
    n_obs_steps: int | None = None
    observation_delta_indices: list[int] | None = None
    delta_timestamps: dict[str, Any] | list[Any] | None = None
    control_rate_hz: float | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class TrainingDatasetSpec:
    repo: str | None = None
    commit: str | None = None
    version: str | None = None
    loader_class: str | None = None
    num_episodes: int | None = None
    total_frames: int | None = None
    episode_filter: str | None = None
    sampling_weight: float | None = None
    key_rename_map: dict[str, str] | None = None
    delta_timestamps_at_training: FreeForm | None = None
    contributes_to_norm_stats: bool | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class InputContract:
    images: list[ImageSpec] | None = None
    state: StateSpec | None = None
    actions: ActionSpec | None = None
    language: LanguageSpec | None = None
    temporal: TemporalSpec | None = None
    training_datasets: list[TrainingDatasetSpec] | None = None
    extra: Extra = field(default_factory=empty_extra)


# --------------------------------------------------------------------------- output_spec


@dataclass
class OutputActions:
    layout: str | None = None
    sub_keys: list[FreeForm] | str | None = None
    horizon: int | None = None
    control_rate_hz: float | None = None
    action_latency_budget_ms: float | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class AuxiliaryOutputs:
    reward_head: FreeForm | None = None
    value_head: FreeForm | None = None
    latents_exposed: bool | None = None
    attention_maps_exposed: bool | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class InferenceParameters:
    type: str | None = None
    num_inference_steps: int | None = None
    scheduler: str | None = None
    prediction_type: str | None = None
    clip_sample: bool | None = None
    clip_sample_range: float | None = None
    chunk_aggregation: str | None = None
    chunks_executed_per_inference: int | None = None
    extra: FreeForm | None = None
    # "extra" is a real key of this block, so unknown keys are kept under another name.
    unknown_keys: Extra = field(default_factory=empty_extra)
    __extra_field__ = "unknown_keys"


@dataclass
class PostProcessing:
    unnormalize: bool | None = None
    delta_to_absolute: FreeForm | None = None
    action_smoothing: FreeForm | None = None
    action_clamping: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class DeterminismBucket:
    status: str | None = None
    max_abs_diff: float | None = None
    method: str | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class NanInfBucket:
    status: str | None = None
    n_nan: int | None = None
    n_inf: int | None = None
    samples_checked: int | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class LivenessBucket:
    status: str | None = None
    std: float | None = None
    mean: float | None = None
    criterion: str | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class DistributionBucket:
    status: str | None = None
    ratio_in_acceptable_range: bool | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    per_dim_mean: list[float] | None = None
    per_dim_std: list[float] | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class RangeCheckBucket:
    status: str | None = None
    in_expected_range: bool | None = None
    expected_range: list[float] | None = None
    actual_min: float | None = None
    actual_max: float | None = None
    rationale: str | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class SmokeResults:
    calibration_batch_source: str | None = None
    calibration_batch_size: int | None = None
    determinism: DeterminismBucket | None = None
    nan_inf: NanInfBucket | None = None
    liveness: LivenessBucket | None = None
    distribution: DistributionBucket | None = None
    range_check: RangeCheckBucket | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class OutputSpec:
    actions: OutputActions | None = None
    auxiliary_outputs: AuxiliaryOutputs | None = None
    inference_parameters: InferenceParameters | None = None
    post_processing: PostProcessing | None = None
    smoke_results: SmokeResults | None = None
    extra: Extra = field(default_factory=empty_extra)
