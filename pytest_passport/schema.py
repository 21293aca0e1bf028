"""Typed model of ``MODEL_PASSPORT.json`` and ``SIGNOFF.json`` (schema 0.2).

Field names are the JSON keys of the format specification. Loading is strict: a
wrong type, a missing structurally-required key, invalid JSON or a non-object top
level raises :class:`~pytest_passport.errors.DocumentError` naming the file and the
JSON path of every defect. Dumping is deterministic and lossless: ``false`` values
and full boolean arrays are kept, unknown keys inside blocks and unknown top-level
sections are re-emitted, legacy forms are read and written back in the 0.2 form.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._jsonmap import NonFinite, Problems, dump_block, load_block, non_finite_problems
from .errors import DocumentError

PASSPORT_FILENAME = "MODEL_PASSPORT.json"
SIGNOFF_FILENAME = "SIGNOFF.json"
SCHEMA_VERSION = "0.2"
SUPPORTED_PASSPORT_VERSIONS = frozenset({"0.2"})
SUPPORTED_SIGNOFF_VERSIONS = frozenset({"0.2"})

Extra = dict[str, Any]
FreeForm = dict[str, Any]


def _extra() -> Extra:
    return {}


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
    extra: Extra = field(default_factory=_extra)


@dataclass
class StateSpec:
    total_dim: int | None = None
    sub_keys: list[FreeForm] | None = None
    normalization: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class DeltaSpec:
    delta_mask: list[bool] | None = None
    absolute_dims_reason: str | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class ActionSpec:
    total_dim: int | None = None
    horizon: int | None = None
    sub_keys: list[FreeForm] | None = None
    norm_mask: list[bool] | None = None
    delta_dims: DeltaSpec | None = None
    normalization: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)

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
    extra: Extra = field(default_factory=_extra)


@dataclass
class TemporalSpec:
    n_obs_steps: int | None = None
    observation_delta_indices: list[int] | None = None
    delta_timestamps: dict[str, Any] | list[Any] | None = None
    control_rate_hz: float | None = None
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


@dataclass
class InputContract:
    images: list[ImageSpec] | None = None
    state: StateSpec | None = None
    actions: ActionSpec | None = None
    language: LanguageSpec | None = None
    temporal: TemporalSpec | None = None
    training_datasets: list[TrainingDatasetSpec] | None = None
    extra: Extra = field(default_factory=_extra)


# --------------------------------------------------------------------------- model_identity


@dataclass
class RuntimeConstraints:
    required_versions: dict[str, str] | None = None
    required_python: str | None = None
    known_incompatible: list[str] | None = None
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


# --------------------------------------------------------------------------- model_internals


@dataclass
class ParametersSummary:
    total_params: int | None = None
    trainable_params: int | None = None
    frozen_params: int | None = None
    total_bytes: int | None = None
    dtype_breakdown: dict[str, int] | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class Parameters:
    summary: ParametersSummary | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class BufferEntry:
    __required__ = ("name", "shape", "dtype")
    name: str | None = None
    shape: list[int] | None = None
    dtype: str | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class StateDictBlock:
    expected_keys_count: int | None = None
    found_keys_count: int | None = None
    missing_keys: list[str] | None = None
    unexpected_keys: list[str] | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class PretrainedAsset:
    __required__ = ("submodule",)
    submodule: str | None = None
    source: str | None = None
    source_identifier: str | None = None
    source_revision: str | None = None
    frozen_in_training: bool | None = None
    lr_multiplier: float | None = None
    extra: Extra = field(default_factory=_extra)

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
    extra: Extra = field(default_factory=_extra)


@dataclass
class ForwardGraph:
    forward_signature: str | None = None
    expected_input_keys: list[str] | None = None
    sample_input_shapes: dict[str, list[int]] | None = None
    sample_output_shapes: dict[str, list[int]] | None = None
    flops_estimate: str | None = None
    peak_memory_inference_b1_bytes: int | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class NumericalHealth:
    determinism: FreeForm | None = None
    no_nan_inf: FreeForm | None = None
    dropout_in_eval: FreeForm | None = None
    bn_running_stats_present: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


# --------------------------------------------------------------------------- output_spec


@dataclass
class OutputActions:
    layout: str | None = None
    sub_keys: list[FreeForm] | str | None = None
    horizon: int | None = None
    control_rate_hz: float | None = None
    action_latency_budget_ms: float | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class AuxiliaryOutputs:
    reward_head: FreeForm | None = None
    value_head: FreeForm | None = None
    latents_exposed: bool | None = None
    attention_maps_exposed: bool | None = None
    extra: Extra = field(default_factory=_extra)


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
    unknown_keys: Extra = field(default_factory=_extra)
    __extra_field__ = "unknown_keys"


@dataclass
class PostProcessing:
    unnormalize: bool | None = None
    delta_to_absolute: FreeForm | None = None
    action_smoothing: FreeForm | None = None
    action_clamping: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class DeterminismBucket:
    status: str | None = None
    max_abs_diff: float | None = None
    method: str | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class NanInfBucket:
    status: str | None = None
    n_nan: int | None = None
    n_inf: int | None = None
    samples_checked: int | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class LivenessBucket:
    status: str | None = None
    std: float | None = None
    mean: float | None = None
    criterion: str | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


@dataclass
class RangeCheckBucket:
    status: str | None = None
    in_expected_range: bool | None = None
    expected_range: list[float] | None = None
    actual_min: float | None = None
    actual_max: float | None = None
    rationale: str | None = None
    details: FreeForm | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class SmokeResults:
    calibration_batch_source: str | None = None
    calibration_batch_size: int | None = None
    determinism: DeterminismBucket | None = None
    nan_inf: NanInfBucket | None = None
    liveness: LivenessBucket | None = None
    distribution: DistributionBucket | None = None
    range_check: RangeCheckBucket | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class OutputSpec:
    actions: OutputActions | None = None
    auxiliary_outputs: AuxiliaryOutputs | None = None
    inference_parameters: InferenceParameters | None = None
    post_processing: PostProcessing | None = None
    smoke_results: SmokeResults | None = None
    extra: Extra = field(default_factory=_extra)


# --------------------------------------------------------------------------- integrity, provenance


@dataclass
class WeightFile:
    __required__ = ("path", "sha256", "size_bytes")
    path: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


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
    extra: Extra = field(default_factory=_extra)


@dataclass
class ReferenceTestVector:
    n_frames: int | None = None
    input_state_path: str | None = None
    input_state_hash: str | None = None
    input_images_path: str | None = None
    input_images_hash: dict[str, list[str]] | None = None
    input_prompt: str | None = None
    notes: str | None = None
    extra: Extra = field(default_factory=_extra)

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
    extra: Extra = field(default_factory=_extra)


@dataclass
class KnownIssue:
    id: str | None = None
    severity: str | None = None
    description: str | None = None
    workaround: str | None = None
    check_type: str | None = None
    extra: Extra = field(default_factory=_extra)


# --------------------------------------------------------------------------- documents


@dataclass
class Passport:
    """The whole ``MODEL_PASSPORT.json``; ``extra`` holds unknown top-level sections."""

    schema_version: str | None = None
    generated_by: str | dict[str, Any] | None = None
    generated_at: str | None = None
    stack: str | None = None
    input_contract: InputContract | None = None
    model_identity: ModelIdentity | None = None
    model_internals: ModelInternals | None = None
    output_spec: OutputSpec | None = None
    weight_integrity: WeightIntegrity | None = None
    provenance: Provenance | None = None
    transform_pipeline: list[TransformStep] | None = None
    reference_test_vector: ReferenceTestVector | None = None
    norm_round_trip_results: list[NormRoundTripResult] | None = None
    known_issues: list[KnownIssue] | None = None
    extra: Extra = field(default_factory=_extra)

    @property
    def declared_files(self) -> list[WeightFile]:
        """``weight_integrity.weight_files`` in passport order (empty when absent)."""
        wi = self.weight_integrity
        return [f for f in (wi.weight_files or []) if f is not None] if wi else []


@dataclass
class SignedBy:
    tool: str | None = None
    version: str | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class Artifact:
    __required__ = ("path", "sha256")
    path: str | None = None
    sha256: str | None = None
    extra: Extra = field(default_factory=_extra)


@dataclass
class Signoff:
    """The whole ``SIGNOFF.json``. Never pruned: all six keys are always written."""

    schema_version: str | None = SCHEMA_VERSION
    signed_at: str | None = None
    signed_by: SignedBy | None = None
    artifacts: list[Artifact] | None = None
    verdict: str | None = None
    verdict_reason: str | None = None
    extra: Extra = field(default_factory=_extra)

    def artifact_sha256(self, path: str) -> str | None:
        for artifact in self.artifacts or []:
            if artifact is not None and artifact.path == path:
                return artifact.sha256
        return None


PASSPORT_SECTIONS: tuple[str, ...] = tuple(
    f for f in Passport.__dataclass_fields__ if f != "extra"
)


# --------------------------------------------------------------------------- load / dump


def parse_json(text: str | bytes, file: Path | str) -> dict[str, Any]:
    """Parse a JSON object, turning every way it can be wrong into a DocumentError.

    ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's json accepts) are refused, each
    named by its JSON path.
    """
    literals: list[str] = []
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = json.loads(text, parse_constant=lambda literal: _non_finite(literal, literals))
    except UnicodeDecodeError as exc:
        raise DocumentError(file, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        raise DocumentError(file, [f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]) from None
    except ValueError as exc:  # e.g. integers longer than Python's digit limit
        raise DocumentError(file, [f"invalid JSON: {exc}"]) from None
    except RecursionError:
        raise DocumentError(file, ["invalid JSON: nested too deeply"]) from None
    if literals:  # a literal under a duplicate key that a later one replaced has no path left
        raise DocumentError(file, non_finite_problems(data) or [f"invalid JSON: {literals[0]} is not valid JSON"])
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else f"a {type(data).__name__}"
        raise DocumentError(file, [f"top level must be a JSON object, got {kind}"])
    return data


def _non_finite(literal: str, seen: list[str]) -> NonFinite:
    """Keep a ``NaN``/``Infinity`` literal as a placeholder, so parsing goes on and the error can name its path."""
    seen.append(literal)
    return NonFinite(literal)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(path, [f"cannot read file: {exc.strerror or exc}"]) from None


def passport_from_dict(data: dict[str, Any], file: Path | str = PASSPORT_FILENAME) -> Passport:
    problems = Problems()
    passport = load_block(Passport, data, "", problems)
    if problems:
        raise DocumentError(file, problems.items)
    return passport


def signoff_from_dict(data: dict[str, Any], file: Path | str = SIGNOFF_FILENAME) -> Signoff:
    problems = Problems()
    data = dict(data)
    data.setdefault("schema_version", SCHEMA_VERSION)
    signoff = load_block(Signoff, data, "", problems)
    if problems:
        raise DocumentError(file, problems.items)
    return signoff


def load_passport_bytes(raw: bytes, file: Path | str = PASSPORT_FILENAME) -> Passport:
    return passport_from_dict(parse_json(raw, file), file)


def load_signoff_bytes(raw: bytes, file: Path | str = SIGNOFF_FILENAME) -> Signoff:
    return signoff_from_dict(parse_json(raw, file), file)


def read_passport(path: Path) -> Passport:
    return load_passport_bytes(_read(path), path)


def read_signoff(path: Path) -> Signoff:
    return load_signoff_bytes(_read(path), path)


def passport_to_dict(passport: Passport) -> dict[str, Any]:
    return dump_block(passport)


def signoff_to_dict(signoff: Signoff) -> dict[str, Any]:
    out = dump_block(signoff)
    full = {key: out.get(key) for key in ("schema_version", "signed_at", "signed_by", "artifacts", "verdict", "verdict_reason")}
    full.update({k: v for k, v in out.items() if k not in full})
    return full


def dumps_document(data: dict[str, Any]) -> str:
    """The canonical byte form: 2-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def dumps_passport(passport: Passport) -> str:
    return dumps_document(passport_to_dict(passport))


def dumps_signoff(signoff: Signoff) -> str:
    return dumps_document(signoff_to_dict(signoff))


#: Temp files of :func:`write_atomic`: ``.<name>.<pid>.tmp`` next to the target. A leftover of a
#: killed writer is tolerated by ``checkpoint_tree_declared`` and removed by the next write.
TEMP_NAME = re.compile(r"^\.(?:MODEL_PASSPORT|SIGNOFF)\.json\.(\d+)\.tmp$")


def temp_path(path: Path, pid: int | None = None) -> Path:
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}.tmp")


def remove_stale_temps(directory: Path, name: str) -> list[Path]:
    """Delete ``.<name>.<pid>.tmp`` files left by writers that no longer run; returns them."""
    removed: list[Path] = []
    prefix = f".{name}."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and TEMP_NAME.match(n)]
    except OSError:
        return removed
    for entry in names:
        pid = int(entry[len(prefix):-len(".tmp")])
        if pid != os.getpid() and _alive(pid):
            continue  # a concurrent writer's file: it replaces or removes it itself
        try:
            os.unlink(directory / entry)
            removed.append(directory / entry)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a new temp file ``.<name>.<pid>.tmp`` in the same
    directory (``O_EXCL``, never through a link), fsync, ``os.replace``; the temp file is
    removed on any failure, and stale ones of killed writers are cleared first.
    """
    path = Path(path)
    remove_stale_temps(path.parent, path.name)
    tmp = temp_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:
        os.unlink(tmp)  # our own pid: a leftover of an earlier process that had it
        fd = os.open(tmp, flags, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_passport(passport: Passport, path: Path) -> None:
    write_atomic(path, dumps_passport(passport))


def write_signoff(signoff: Signoff, path: Path) -> None:
    write_atomic(path, dumps_signoff(signoff))
