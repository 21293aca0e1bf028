"""A local LeRobotDataset (``--dataset-path``): feature layout and rate, applied to the contract.

Only ``meta/info.json`` is read. It gives the raw (dataset-side) layout — feature names,
shapes in H,W,C for images, per-dimension names — and ``fps``, which becomes
``temporal.control_rate_hz``. The model-facing layout stays the config's; where the two
differ the passport records both and a warning says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract import ImageSpec, InputContract, TemporalSpec
from ..policies import dataset_image_chw
from ._common import ConfigReader, ExtractionError, Notes

INFO_FILE = "meta/info.json"


@dataclass(frozen=True)
class DatasetFeature:
    key: str
    dtype: str | None
    shape: list[int] | None
    names: list[str] | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dtype": self.dtype, "shape": self.shape}
        if self.names is not None:
            out["names"] = self.names
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class LocalDataset:
    codebase_version: str | None = None
    fps: float | int | None = None
    robot_type: str | None = None
    total_episodes: int | None = None
    total_frames: int | None = None
    features: dict[str, DatasetFeature] = field(default_factory=dict)

    def layout(self) -> dict[str, Any]:
        """The ``input_contract.dataset_layout`` extension block."""
        out: dict[str, Any] = {
            "codebase_version": self.codebase_version,
            "fps": self.fps,
            "robot_type": self.robot_type,
            "total_episodes": self.total_episodes,
            "total_frames": self.total_frames,
            "features": {key: feature.as_json() for key, feature in sorted(self.features.items())},
        }
        return {k: v for k, v in out.items() if v is not None}


def _names(reader: ConfigReader) -> list[str] | None:
    """Per-dimension names; LeRobot writes a list, older datasets a ``{"motors": [...]}`` map."""
    value = reader.raw("names")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, dict) and len(value) == 1:
        (only,) = value.values()
        if isinstance(only, list) and all(isinstance(v, str) for v in only):
            return list(only)
    return None


def read_local_dataset(path: Path) -> LocalDataset:
    """Parse ``<path>/meta/info.json``; anything unreadable refuses with the file and field named."""
    info_path = path / INFO_FILE
    if not path.is_dir():
        raise ExtractionError(f"--dataset-path {path}: not a directory")
    try:
        data = json.loads(info_path.read_bytes())
    except FileNotFoundError:
        raise ExtractionError(f"{info_path}: not found (--dataset-path must be a LeRobotDataset root)") from None
    except OSError as exc:
        raise ExtractionError(f"{info_path}: cannot read file: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ExtractionError(f"{info_path}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ExtractionError(f"{info_path}: top level must be a JSON object")
    info = ConfigReader(data, str(info_path))
    fps = info.number("fps")
    dataset = LocalDataset(
        codebase_version=info.string("codebase_version"),
        fps=fps,
        robot_type=info.string("robot_type"),
        total_episodes=info.integer("total_episodes"),
        total_frames=info.integer("total_frames"),
    )
    features = info.obj("features")
    if features is None:
        raise info.fail("features", "required object is missing")
    for key, feature in features.members():
        dataset.features[key] = DatasetFeature(key, feature.string("dtype"), feature.shape("shape"), _names(feature))
    return dataset


def _chw(feature: DatasetFeature) -> list[int] | None:
    """The C,H,W form of a dataset image shape (stored H,W,C unless its names say channel-first)."""
    shape = feature.shape
    if not shape or len(shape) != 3:
        return None
    return dataset_image_chw(shape, feature.names)


def _check_image(image: ImageSpec, dataset: LocalDataset, to_dataset: dict[str, str], notes: Notes) -> None:
    key = to_dataset.get(image.key or "", image.key or "")
    feature = dataset.features.get(key)
    if feature is None:
        notes.warn(f"dataset has no feature {key!r} for camera {image.key}")
        return
    chw = _chw(feature)
    if image.raw_shape and chw and chw != list(image.raw_shape):
        notes.warn(f"camera {image.key}: model expects C,H,W {image.raw_shape} but the dataset stores "
                   f"{feature.shape} (C,H,W {chw}); frames must be resized before inference")


def _annotate_sub_keys(sub_keys: list[dict[str, Any]] | None, dataset: LocalDataset,
                       to_dataset: dict[str, str], notes: Notes) -> None:
    """Add the dataset's raw layout (key, dim, per-dimension names) beside each model-facing sub-key."""
    for sub in sub_keys or []:
        model_key = sub.get("key")
        if not isinstance(model_key, str):
            continue
        key = to_dataset.get(model_key, model_key)
        feature = dataset.features.get(key)
        if feature is None:
            notes.warn(f"dataset has no feature {key!r} (model input {model_key})")
            continue
        if key != model_key:
            sub["dataset_key"] = key
        if feature.shape:
            sub["dataset_dim"] = feature.shape[0]
            if sub.get("dim") is not None and sub["dim"] != feature.shape[0]:
                notes.warn(f"{model_key}: model-facing dim {sub['dim']} != dataset {key} dim {feature.shape[0]}")
        if feature.names is not None:
            sub["names"] = feature.names


def _delta_timestamps(temporal: TemporalSpec, dataset: LocalDataset) -> dict[str, list[float]] | None:
    """LeRobot's per-key offsets in seconds: delta indices divided by the dataset fps."""
    if not dataset.fps:
        return None
    observation = temporal.observation_delta_indices
    action = temporal.extra.get("action_delta_indices")
    out: dict[str, list[float]] = {}
    for key in sorted(dataset.features):
        if key.startswith("observation.") and observation:
            out[key] = [i / dataset.fps for i in observation]
    if isinstance(action, list) and action and "action" in dataset.features:
        out["action"] = [i / dataset.fps for i in action]
    return out or None


def apply_dataset(contract: InputContract, dataset: LocalDataset, renames: dict[str, str], notes: Notes,
                  lerobot_offsets: bool) -> None:
    """Record the dataset layout and rate in ``contract`` and warn about raw-vs-model mismatches."""
    to_dataset = {model: data for data, model in renames.items()}
    contract.extra["dataset_layout"] = dataset.layout()
    for image in contract.images or []:
        _check_image(image, dataset, to_dataset, notes)
    if contract.state is not None:
        _annotate_sub_keys(contract.state.sub_keys, dataset, to_dataset, notes)
    if contract.actions is not None:
        _annotate_sub_keys(contract.actions.sub_keys, dataset, to_dataset, notes)
    if dataset.fps is not None and dataset.fps > 0:
        temporal = contract.temporal or TemporalSpec()
        temporal.control_rate_hz = float(dataset.fps)
        if lerobot_offsets and temporal.delta_timestamps is None:
            temporal.delta_timestamps = _delta_timestamps(temporal, dataset)
        contract.temporal = temporal
