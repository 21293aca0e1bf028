"""Reference-style (RAMEN) policy configs: the mapping of spec §6.2, with its defects fixed.

Recognised by ``policy_type``, ``observation_encoder``, ``dataset_schema`` or ``objective``.
Differences from the reference generator (spec §8):

* stats files are discovered (``*_stats*.json``, ``stats.json``) instead of needing ``--stats``,
  and every normalization descriptor carries ``source`` and ``stats_fingerprint``;
* ``actions.horizon`` falls back to ``chunk_size``/``action_horizon`` when ``horizon`` is absent;
* ``delta_dims`` is derived from ``dataset_schema.rot6d_slice`` whenever the action dim is known,
  and boolean masks are written whole (``false`` entries kept);
* a rotation component converted to rot6d becomes 6 dims (+3 position dims for a 6/7-D pose),
  not a blanket ``dim + 3``; the dataset-side ``raw_dim`` is kept next to it;
* ``observation_delta_indices`` is derived for any ``n_obs_steps`` (``[1-n, …, 0]``);
* a ``dataset_repo_id``/``datasets`` revision that is a commit sha becomes the dataset pin.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from ..checkpoint import Checkpoint
from ..policies import HORIZON_KEYS
from ..schema import (
    ActionSpec,
    DeltaSpec,
    ForwardGraph,
    ImageSpec,
    InferenceParameters,
    InputContract,
    LanguageSpec,
    ModelInternals,
    OutputActions,
    OutputSpec,
    PretrainedAsset,
    StateSpec,
    TemporalSpec,
    TrainingDatasetSpec,
)
from ._common import ConfigReader, ExtractionError, LayoutResult, Notes, dataset_spec, read_object
from .integrity import FileDigests

MARKER_KEYS = ("policy_type", "observation_encoder", "dataset_schema", "objective")
#: Stats file names preferred when several are present, in order.
PREFERRED_STATS = ("policy_stats.json", "ramen_stats.json", "norm_stats.json", "stats.json")
#: CLIP text encoders take at most this many tokens.
CLIP_MAX_TOKENS = 77


def is_reference_config(data: dict[str, Any]) -> bool:
    return any(key in data for key in MARKER_KEYS)


# --------------------------------------------------------------------------- stats


class Stats:
    """The norm-stats JSON the config's normalization refers to."""

    def __init__(self, path: str, data: dict[str, Any], sha256: str | None) -> None:
        self.path = path
        self.data = data
        self.sha256 = sha256

    def descriptor(self, kind: str, dim: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind, "source": self.path}
        if dim is not None:
            out["stats_dim"] = dim
        if self.sha256:
            out["stats_fingerprint"] = {"file_sha256": self.sha256}
        return out

    def norm_mask(self) -> list[bool] | None:
        mask = self.data.get("norm_mask")
        if isinstance(mask, list) and mask and all(isinstance(v, bool) for v in mask):
            return list(mask)
        return None

    def action_layout(self) -> str | None:
        """``(H=<rows>, D=<cols>) per-timestep`` when the action quantiles are 2-D."""
        action = self.data.get("action")
        q02 = action.get("q02") if isinstance(action, dict) else None
        if isinstance(q02, list) and q02 and all(isinstance(row, list) for row in q02):
            return f"(H={len(q02)}, D={len(q02[0])}) per-timestep"
        return None


def find_stats(checkpoint: Checkpoint, digests: FileDigests, notes: Notes) -> Stats | None:
    candidates = sorted(s.path for s in checkpoint.norm_stats if s.path.endswith(".json") and s.key.startswith("stats:"))
    if not candidates:
        return None
    chosen = next((c for name in PREFERRED_STATS for c in candidates if PurePosixPath(c).name == name), candidates[0])
    if len(candidates) > 1:
        notes.warn(f"several stats files ({', '.join(candidates)}); normalization points at {chosen}")
    return Stats(chosen, read_object(checkpoint, chosen).data, digests.sha256(chosen))


# --------------------------------------------------------------------------- contract pieces


def _visual_features(reader: ConfigReader) -> list[tuple[str, list[int] | None]]:
    features = reader.obj("input_features")
    out: list[tuple[str, list[int] | None]] = []
    for key, feature in sorted(features.members() if features else [], key=lambda item: item[0]):
        if (feature.string("type") or "").upper() == "VISUAL":
            out.append((key, feature.shape("shape")))
    return out


def _feature_dim(reader: ConfigReader, block: str, key: str) -> int | None:
    features = reader.obj(block)
    feature = features.obj(key) if features else None
    shape = feature.shape("shape") if feature else None
    return shape[0] if shape else None


def build_images(reader: ConfigReader) -> list[ImageSpec]:
    encoder = reader.obj("observation_encoder")
    vision = encoder.obj("vision") if encoder else None
    resize = vision.shape("resize_shape") if vision else None
    crop = vision.shape("crop_shape") if vision else None
    backbone = vision.string("backbone") if vision else None
    mapping = reader.string_map("normalization_mapping") or {}
    images = []
    for key, shape in _visual_features(reader):
        normalization = None
        if "VISUAL" in mapping:
            normalization = {"type": mapping["VISUAL"]}
            if backbone:
                normalization["applied_by"] = f"observation_encoder.vision ({backbone})"
        images.append(ImageSpec(key=key, raw_shape=shape or None, encoder_resize=resize,
                                crop={"shape": crop} if crop else None, normalization=normalization))
    return images


def _expanded_dim(dim: int) -> int:
    """Model-facing dims of a schema component whose rotation is converted to rot6d."""
    if dim in (3, 4):  # euler / axis-angle / quaternion alone
        return 6
    if dim in (6, 7):  # position plus euler / quaternion
        return 9
    return dim + 3


def sub_keys(schema: ConfigReader | None, part: str) -> list[dict[str, Any]] | None:
    if schema is None:
        return None
    out = []
    for _, entry in schema.objects(part):
        key, dim = entry.string("key"), entry.integer("dim")
        if key is None or dim is None:
            continue
        item: dict[str, Any] = {"key": key, "dim": dim}
        if entry.boolean("convert_rotation"):
            item.update(dim=_expanded_dim(dim), raw_dim=dim, convert_rotation=True)
        out.append(item)
    return out or None


def build_state(reader: ConfigReader, stats: Stats | None) -> StateSpec | None:
    dim = _feature_dim(reader, "input_features", "observation.state")
    if dim is None:
        return None
    mapping = reader.string_map("normalization_mapping") or {}
    normalization = stats.descriptor("RAMEN_" + mapping["STATE"], dim) if stats and "STATE" in mapping else None
    return StateSpec(total_dim=dim, sub_keys=sub_keys(reader.obj("dataset_schema"), "state"), normalization=normalization)


def _delta_dims(schema: ConfigReader | None, total: int | None, reader: ConfigReader) -> DeltaSpec | None:
    window = schema.shape("rot6d_slice") if schema else None
    if window is None or total is None or len(window) != 2 or reader.boolean("use_delta_actions") is False:
        return None
    start, end = window
    mask = [not (start <= i < min(end, total)) for i in range(total)]
    return DeltaSpec(delta_mask=mask, absolute_dims_reason=(
        f"dims {start}..{min(end, total) - 1} (dataset_schema.rot6d_slice) are absolute rot6d orientation; "
        "the others are deltas relative to the current state"))


def build_actions(reader: ConfigReader, stats: Stats | None) -> ActionSpec | None:
    dim = _feature_dim(reader, "output_features", "action")
    if dim is None:
        return None
    mapping = reader.string_map("normalization_mapping") or {}
    schema = reader.obj("dataset_schema")
    actions = ActionSpec(total_dim=dim, horizon=horizon(reader), sub_keys=sub_keys(schema, "action"),
                         delta_dims=_delta_dims(schema, dim, reader))
    if stats is not None:
        mask = stats.norm_mask()
        if mask is not None and not all(mask):
            actions.norm_mask = mask
        if "ACTION" in mapping:
            actions.normalization = stats.descriptor("RAMEN_" + mapping["ACTION"], dim)
            if (layout := stats.action_layout()) is not None:
                actions.normalization["stats_layout"] = layout
    return actions


def horizon(reader: ConfigReader) -> int | None:
    return next((h for key in HORIZON_KEYS if (h := reader.positive_integer(key))), None)


def build_language(reader: ConfigReader) -> LanguageSpec | None:
    encoder = reader.obj("observation_encoder")
    text = encoder.obj("text") if encoder else None
    if text is None or not text.data:
        return None
    kind, model = text.string("type") or "", text.string("model")
    clip = "clip" in kind.lower()
    return LanguageSpec(tokenizer_class="CLIPTokenizer" if clip else None,
                        max_sequence_length=CLIP_MAX_TOKENS if clip else None, tokenizer_version=model)


def build_temporal(reader: ConfigReader) -> TemporalSpec | None:
    steps = reader.positive_integer("n_obs_steps")
    rate = reader.number("control_rate_hz")
    if steps is None and rate is None:
        return None
    return TemporalSpec(n_obs_steps=steps, observation_delta_indices=list(range(1 - steps, 1)) if steps else None,
                        control_rate_hz=float(rate) if rate is not None else None)


def build_datasets(reader: ConfigReader) -> list[TrainingDatasetSpec]:
    """``datasets`` (list of strings or ``{repo|repo_id, loader_class, commit|revision}``), ``dataset``, ``dataset_repo_id``."""
    raw = reader.raw("datasets")
    if raw is None:
        raw = reader.raw("dataset") or reader.raw("dataset_repo_id")
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    out = []
    for item in items:
        if isinstance(item, str) and item:
            repo, _, revision = item.partition("@")
            out.append(dataset_spec(repo, revision or None, None))
        elif isinstance(item, dict):
            name = item.get("repo") or item.get("repo_id")
            pin = item.get("commit") or item.get("revision")
            loader = item.get("loader_class")
            if isinstance(name, str) and name:
                out.append(dataset_spec(name, pin if isinstance(pin, str) else None,
                                        loader if isinstance(loader, str) else None))
    return out


# --------------------------------------------------------------------------- internals and output


def build_pretrained(reader: ConfigReader) -> list[PretrainedAsset] | None:
    encoder = reader.obj("observation_encoder")
    vision = encoder.obj("vision") if encoder else None
    text = encoder.obj("text") if encoder else None
    assets = []
    if vision is not None and vision.data:
        backbone = vision.string("backbone")
        assets.append(PretrainedAsset(submodule="observation_encoder.vision", source="timm" if backbone else None,
                                      source_identifier=backbone, lr_multiplier=vision.number("lr_multiplier")))
    if text is not None and text.string("model"):
        assets.append(PretrainedAsset(submodule="observation_encoder.text", source="huggingface",
                                      source_identifier=text.string("model")))
    return assets or None


def build_forward_graph(reader: ConfigReader, with_language: bool) -> ForwardGraph:
    features = reader.obj("input_features")
    steps = reader.positive_integer("n_obs_steps") or 1
    keys, shapes = [], {}
    for key, feature in sorted(features.members() if features else [], key=lambda item: item[0]):
        keys.append(key)
        if shape := feature.shape("shape"):
            shapes[key] = [1, steps, *shape]
    dim, h = _feature_dim(reader, "output_features", "action"), horizon(reader)
    return ForwardGraph(expected_input_keys=keys + (["task"] if with_language else []),
                        sample_input_shapes=shapes or None,
                        sample_output_shapes={"action": [1, h, dim]} if dim is not None and h else None)


def build_inference_parameters(reader: ConfigReader) -> InferenceParameters | None:
    objective = reader.obj("objective")
    if objective is None or not objective.data:
        return None
    extra = {k: objective.raw(k) for k in ("num_train_timesteps", "beta_schedule") if objective.raw(k) is not None}
    return InferenceParameters(
        type=objective.string("type"),
        num_inference_steps=objective.integer("num_inference_steps"),
        scheduler=objective.string("noise_scheduler_type"),
        prediction_type=objective.string("prediction_type"),
        clip_sample=objective.boolean("clip_sample"),
        clip_sample_range=objective.number("clip_sample_range"),
        chunk_aggregation="first_n_action_steps",
        chunks_executed_per_inference=reader.positive_integer("n_action_steps"),
        extra=extra or None,
    )


def build_output_spec(reader: ConfigReader, actions: ActionSpec | None) -> OutputSpec | None:
    parameters = build_inference_parameters(reader)
    output_actions = None
    if actions is not None:
        output_actions = OutputActions(layout="mirrors input_contract.actions",
                                       sub_keys="see input_contract.actions.sub_keys", horizon=actions.horizon)
    if parameters is None and output_actions is None:
        return None
    return OutputSpec(actions=output_actions, inference_parameters=parameters)


# --------------------------------------------------------------------------- entry point


def extract(checkpoint: Checkpoint, reader: ConfigReader, digests: FileDigests, notes: Notes) -> LayoutResult:
    stats = find_stats(checkpoint, digests, notes)
    mapping = reader.string_map("normalization_mapping") or {}
    if stats is None and ({"STATE", "ACTION"} & set(mapping)):
        notes.warn("normalization_mapping declares STATE/ACTION modes but no *_stats*.json file was found")
    actions = build_actions(reader, stats)
    language = build_language(reader)
    contract = InputContract(
        images=build_images(reader) or None,
        state=build_state(reader, stats),
        actions=actions,
        language=language,
        temporal=build_temporal(reader),
    )
    policy_type = reader.string("policy_type")
    if actions is not None and actions.horizon is None:
        notes.leave("input_contract.actions.horizon", "human: config.json has no horizon/chunk_size")
    weight_files = list(checkpoint.weight_files)
    if not weight_files:
        raise ExtractionError(f"{checkpoint.root}: no weight files (*.safetensors, *.bin) beside config.json")
    notes.leave("model_identity.class_module/class_name", "human: reference-style configs do not name an importable class")
    return LayoutResult(
        layout="reference",
        stack=policy_type or "unknown",
        input_contract=contract,
        model_internals=ModelInternals(pretrained_provenance=build_pretrained(reader),
                                       forward_graph=build_forward_graph(reader, language is not None)),
        output_spec=build_output_spec(reader, actions),
        config_datasets=build_datasets(reader),
        model_weight_files=weight_files,
    )
