"""Typed blocks of the other passport sections (spec §2.2, §2.3, §2.5–2.10).

``model_identity``, ``model_internals``, ``weight_integrity``, ``provenance``,
``transform_pipeline``, ``reference_test_vector``, ``norm_round_trip_results`` and
``known_issues``: what the model is, which files make it up and where it came from. The
model's input/output contract is in :mod:`.contract`. Field names are the JSON keys of the
format specification; :mod:`pytest_passport.schema` loads and dumps them (and re-exports
every name here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._jsonmap import Extra, FreeForm, empty_extra


# --------------------------------------------------------------------------- model_identity


@dataclass
class RuntimeConstraints:
    required_versions: dict[str, str] | None = None
    required_python: str | None = None
    known_incompatible: list[str] | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class ModelIdentity:
    class_name: str | None = None
    class_module: str | None = None
    config_architectures: list[str] | None = None
    resolved_via: str | None = None
    resolved_class_name: str | None = None
    library_versions: dict[str, str] | None = None
    runtime_constraints: RuntimeConstraints | None = None
    python_version: str | None = None
    cuda_version: str | None = None
    extra: Extra = field(default_factory=empty_extra)


# --------------------------------------------------------------------------- model_internals


@dataclass
class ParametersSummary:
    total_params: int | None = None
    trainable_params: int | None = None
    frozen_params: int | None = None
    total_bytes: int | None = None
    dtype_breakdown: dict[str, int] | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class Parameters:
    summary: ParametersSummary | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class BufferEntry:
    __required__ = ("name", "shape", "dtype")
    name: str | None = None
    shape: list[int] | None = None
    dtype: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class StateDictBlock:
    expected_keys_count: int | None = None
    found_keys_count: int | None = None
    missing_keys: list[str] | None = None
    unexpected_keys: list[str] | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class PretrainedAsset:
    __required__ = ("submodule",)
    submodule: str | None = None
    source: str | None = None
    source_identifier: str | None = None
    source_revision: str | None = None
    frozen_in_training: bool | None = None
    lr_multiplier: float | None = None
    extra: Extra = field(default_factory=empty_extra)

    @staticmethod
    def __upgrade__(data: dict[str, Any]) -> dict[str, Any]:
        # Legacy names; when both spellings are present the 0.2 key wins.
        for old, new in (("timm_string", "source_identifier"), ("hf_revision", "source_revision")):
            if old in data:
                value = data.pop(old)
                data.setdefault(new, value)
        return data


@dataclass
class Quantization:
    scheme: str | None = None
    per_tensor_scales: Any = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class ForwardGraph:
    forward_signature: str | None = None
    expected_input_keys: list[str] | None = None
    sample_input_shapes: dict[str, list[int]] | None = None
    sample_output_shapes: dict[str, list[int]] | None = None
    flops_estimate: str | None = None
    peak_memory_inference_b1_bytes: int | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class NumericalHealth:
    determinism: FreeForm | None = None
    no_nan_inf: FreeForm | None = None
    dropout_in_eval: FreeForm | None = None
    bn_running_stats_present: FreeForm | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class ModelInternals:
    module_hierarchy: list[FreeForm] | None = None
    parameters: Parameters | None = None
    buffers: list[BufferEntry] | None = None
    state_dict: StateDictBlock | None = None
    pretrained_provenance: list[PretrainedAsset] | None = None
    quantization: Quantization | None = None
    forward_graph: ForwardGraph | None = None
    numerical_health: NumericalHealth | None = None
    extra: Extra = field(default_factory=empty_extra)


# --------------------------------------------------------------------------- integrity, provenance


@dataclass
class WeightFile:
    __required__ = ("path", "sha256", "size_bytes")
    path: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class WeightIntegrity:
    """Files of the checkpoint and their digests (spec §6.4).

    ``ignore_patterns`` (new-writer field) lists glob patterns of files that may sit in the
    tree without being declared (e.g. ``"notes/*.txt"``). A pattern is matched against the whole
    root-relative ``/``-separated path with ``fnmatch`` rules, case-sensitive; ``*`` also crosses
    ``/``, so ``"*.txt"`` matches text files at any depth. Because the list lives in the signed passport,
    editing it invalidates the signoff. Code and loader-relevant files (``*.py``, ``*.pkl``,
    ``*.bin``… and files named by ``config.json`` ``auto_map``) are never ignored; see
    ``checkpoint_tree_declared``. Reference readers keep the field in ``extra`` on rewrite.
    """

    weight_files: list[WeightFile] | None = None
    manifest_hash: str | None = None
    ignore_patterns: list[str] | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class Provenance:
    """Where the checkpoint came from (spec §2.6).

    ``parent_checkpoint_uri`` and ``parent_epoch`` are new-writer fields recorded by
    ``generate-passport --parent``: where the parent checkpoint lives (as given, or the
    pinned location of a ``:latest``) and its epoch. Reference readers do not know them
    and drop them on rewrite; ``parent_checkpoint`` (the SHA-256 of the parent's
    MODEL_PASSPORT.json) stays the field every reader understands.
    """

    run_log_path: str | None = None
    training_repo: str | None = None
    training_repo_commit: str | None = None
    passport_creation_repo: str | None = None
    passport_creation_repo_commit: str | None = None
    config_snapshot_path: str | None = None
    merged_config_sha256: str | None = None
    parent_checkpoint: str | None = None
    parent_description: str | None = None
    parent_checkpoint_uri: str | None = None
    parent_epoch: int | None = None
    deployment_repo: str | None = None
    deployment_repo_commit: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class TransformStep:
    order: int | None = None
    name: str | None = None
    applies_to: str | None = None
    operation: str | None = None
    direction: str | None = None
    parameters: FreeForm | None = None
    check_type: str | None = None
    check_description: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class ReferenceTestVector:
    n_frames: int | None = None
    input_state_path: str | None = None
    input_state_hash: str | None = None
    input_images_path: str | None = None
    input_images_hash: dict[str, list[str]] | None = None
    input_prompt: str | None = None
    notes: str | None = None
    extra: Extra = field(default_factory=empty_extra)

    @staticmethod
    def __upgrade__(data: dict[str, Any]) -> dict[str, Any]:
        # Legacy vectors stored one hash per camera instead of one per frame.
        hashes = data.get("input_images_hash")
        if isinstance(hashes, dict):
            data["input_images_hash"] = {
                cam: [h] if isinstance(h, str) else h for cam, h in hashes.items()
            }
        return data


@dataclass
class NormRoundTripResult:
    step_name: str | None = None
    max_abs_error: float | None = None
    within_clip_bound: bool | None = None
    input_source: str | None = None
    status: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class KnownIssue:
    id: str | None = None
    severity: str | None = None
    description: str | None = None
    workaround: str | None = None
    check_type: str | None = None
    extra: Extra = field(default_factory=empty_extra)
