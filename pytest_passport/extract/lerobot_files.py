"""The saved files of a LeRobot checkpoint, parsed: ``config.json`` and the processor pipelines.

Also where each feature's normalization statistics live (:class:`NormContext`): inputs point at
the preprocessor's normalizer state file, actions at the postprocessor's unnormalizer file (the
one that turns model output into robot commands). The passport blocks are built from these in
:mod:`.lerobot_contract` (``input_contract``, ``output_spec``) and :mod:`.lerobot` (the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import policies
from ..checkpoint import PROCESSOR_FILES, Checkpoint
from ._common import ConfigReader, ExtractionError, Notes, read_object
from .integrity import FileDigests

__all__ = ["ACTION_KEY", "STATE_KEY", "Feature", "LeRobotConfig", "NormContext", "Pipelines", "Step", "read_config",
           "read_pipelines"]

STATE_KEY = "observation.state"
ACTION_KEY = "action"

#: Statistics each normalization mode reads from the normalizer state file.
REQUIRED_STATS: dict[str, tuple[str, ...]] = {
    "MEAN_STD": ("mean", "std"),
    "MIN_MAX": ("min", "max"),
    "QUANTILES": ("q01", "q99"),
    "QUANTILE10": ("q10", "q90"),
}

NORMALIZER = "normalizer_processor"
UNNORMALIZER = "unnormalizer_processor"
RENAMER = "rename_observations_processor"
TOKENIZER = "tokenizer_processor"


# --------------------------------------------------------------------------- parsed inputs


@dataclass(frozen=True)
class Feature:
    key: str
    type: str
    shape: list[int]


@dataclass(frozen=True)
class Step:
    """One saved processor step."""

    pipeline_file: str
    index: int
    name: str
    config: dict[str, Any]
    state_file: str | None

    @property
    def where(self) -> str:
        return f"{self.pipeline_file} steps[{self.index}] ({self.name})"

    def norm_map(self) -> dict[str, str]:
        value = self.config.get("norm_map")
        if not isinstance(value, dict):
            return {}
        return {str(k): str(v) for k, v in value.items()}

    def feature_keys(self) -> set[str] | None:
        """Features this (un)normalizer covers; ``None`` when the step does not list them."""
        value = self.config.get("features")
        return set(value) if isinstance(value, dict) else None


@dataclass
class Pipelines:
    pre: list[Step] = field(default_factory=list)
    post: list[Step] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return bool(self.pre or self.post)

    @staticmethod
    def _find(steps: list[Step], name: str) -> Step | None:
        return next((s for s in steps if s.name == name), None)

    def normalizer(self) -> Step | None:
        return self._find(self.pre, NORMALIZER)

    def unnormalizer(self) -> Step | None:
        return self._find(self.post, UNNORMALIZER)

    def renamer(self) -> Step | None:
        return self._find(self.pre, RENAMER)

    def tokenizer(self) -> Step | None:
        return self._find(self.pre, TOKENIZER)


@dataclass
class LeRobotConfig:
    """The fields of ``config.json`` this extractor uses, type-checked."""

    reader: ConfigReader
    policy_type: str | None
    inputs: list[Feature]
    outputs: list[Feature]
    normalization_mapping: dict[str, str]
    n_obs_steps: int | None
    #: Chunk length (planning horizon for TD-MPC); ``None`` for a single-step policy.
    horizon: int | None
    #: Actions executed per model call (``n_action_steps``; 1 for a single-step policy).
    n_action_steps: int | None

    @property
    def rules(self) -> policies.PolicyType:
        return policies.rules(self.reader.data)

    def feature(self, key: str) -> Feature | None:
        return next((f for f in self.inputs + self.outputs if f.key == key), None)

    def inputs_of(self, kind: str) -> list[Feature]:
        return [f for f in self.inputs if f.type == kind]


def _features(reader: ConfigReader, key: str) -> list[Feature]:
    block = reader.obj(key)
    if block is None:
        return []
    features: list[Feature] = []
    for name, feature in block.members():
        kind = feature.string("type")
        shape = feature.shape("shape")
        if kind is None:
            raise feature.fail("type", "required string is missing")
        features.append(Feature(name, kind.upper(), shape or []))
    return features


def read_config(reader: ConfigReader) -> LeRobotConfig:
    mapping = reader.string_map("normalization_mapping") or {}
    # Present values of the keys the policy table reads must have their type: refuse otherwise.
    rules = policies.rules(reader.data)
    for key in (*policies.HORIZON_KEYS, "n_action_steps", rules.repeats_key, rules.state_padding_key,
                rules.action_padding_key):
        if key:
            reader.positive_integer(key)
    for key in (*(k for k, _ in rules.resize_keys), rules.crop_key):
        if key:
            reader.shape(key)
    found = policies.config_horizon(reader.data)
    return LeRobotConfig(
        reader=reader,
        policy_type=reader.string("type"),
        inputs=_features(reader, "input_features"),
        outputs=_features(reader, "output_features"),
        normalization_mapping={k.upper(): v.upper() for k, v in mapping.items()},
        n_obs_steps=reader.positive_integer("n_obs_steps"),
        horizon=found[1] if found else None,
        n_action_steps=policies.executed_steps(reader.data),
    )


def read_pipelines(checkpoint: Checkpoint) -> Pipelines:
    """Both saved pipelines; a malformed one, or a step whose state file is missing, refuses."""
    pipelines = Pipelines()
    for name, steps in zip(PROCESSOR_FILES, (pipelines.pre, pipelines.post), strict=True):
        if name in checkpoint.files:
            steps.extend(_read_pipeline(checkpoint, name))
    return pipelines


def _read_pipeline(checkpoint: Checkpoint, name: str) -> list[Step]:
    reader = read_object(checkpoint, name)
    if reader.array("steps") is None:
        raise reader.fail("steps", "required array is missing")
    steps: list[Step] = []
    for i, step in reader.objects("steps"):
        kind = step.string("registry_name") or step.string("class")
        if kind is None:
            raise step.fail("registry_name", "a step needs a registry_name (or class)")
        config = step.obj("config")
        state_file = step.string("state_file")
        if state_file is not None and not checkpoint.exists(state_file):
            raise step.fail("state_file", f"{state_file} is not a file inside the checkpoint")
        steps.append(Step(name, i, kind, dict(config.data) if config else {}, state_file))
    return steps


# --------------------------------------------------------------------------- normalization


@dataclass
class NormContext:
    """Where the statistics for inputs and outputs live, and which modes each step applies."""

    checkpoint: Checkpoint
    digests: FileDigests
    config: LeRobotConfig
    pipelines: Pipelines
    notes: Notes

    def step_for(self, feature: Feature) -> Step | None:
        if feature.key == ACTION_KEY:
            return self.pipelines.unnormalizer() or self.pipelines.normalizer()
        return self.pipelines.normalizer()

    def mode(self, feature: Feature, step: Step | None) -> str | None:
        """The mode the inference pipeline applies; the config mapping only when no step says."""
        if step is not None:
            covered = step.feature_keys()
            if covered is not None and feature.key not in covered:
                return "IDENTITY"
            # LeRobot's (un)normalizer passes through feature types its norm_map does not name.
            return step.norm_map().get(feature.type, "IDENTITY").upper()
        return self.config.normalization_mapping.get(feature.type)

    def stats_tensors(self, state_file: str) -> dict[str, Any]:
        header = self.checkpoint.tensor_headers.get(state_file)
        if header is None or header.error:
            reason = header.error if header else "not a safetensors file"
            raise ExtractionError(f"{state_file}: normalizer state unreadable: {reason}")
        return header.tensors

    def descriptor(self, feature: Feature, dim: int | None) -> dict[str, Any] | None:
        """The normalization descriptor of one feature, stats fingerprinted by file sha256."""
        step = self.step_for(feature)
        mode = self.mode(feature, step)
        if mode is None:
            return None
        out: dict[str, Any] = {"type": mode}
        if mode == "IDENTITY":
            # Passed through unchanged: no statistics are read, so there is no source to fingerprint.
            if step is not None:
                out["applied_by"] = step.where
            return out
        if step is None or step.state_file is None:
            self.notes.warn(f"{feature.key}: normalization {mode} but no normalizer state file records its stats")
            return out
        out["source"] = step.state_file
        if dim is not None:
            out["stats_dim"] = dim
        digest = self.digests.sha256(step.state_file)
        if digest:
            out["stats_fingerprint"] = {"file_sha256": digest}
        out["applied_by"] = step.where
        self._check_stats(feature, mode, step, dim)
        return out

    def _check_stats(self, feature: Feature, mode: str, step: Step, dim: int | None) -> None:
        tensors = self.stats_tensors(step.state_file or "")
        missing = [s for s in REQUIRED_STATS.get(mode, ()) if f"{feature.key}.{s}" not in tensors]
        if missing:
            # LeRobot then passes the feature through unnormalized without a word.
            self.notes.warn(f"{step.state_file}: no {', '.join(missing)} stats for {feature.key} ({mode}); "
                            "LeRobot would silently skip normalizing it")
            return
        first = REQUIRED_STATS.get(mode, ("mean",))[0]
        info = tensors.get(f"{feature.key}.{first}")
        if dim is not None and info is not None and info.shape and info.shape[-1] != dim:
            self.notes.warn(f"{step.state_file}: {feature.key}.{first} has {info.shape[-1]} dims, config says {dim}")

    def compare_modes(self) -> None:
        """Warn when the saved pipeline applies other modes than config.json declares."""
        for step in (self.pipelines.normalizer(), self.pipelines.unnormalizer()):
            if step is None:
                continue
            for kind, mode in sorted(step.norm_map().items()):
                declared = self.config.normalization_mapping.get(kind)
                if declared is not None and declared != mode.upper():
                    self.notes.warn(f"{step.where} normalizes {kind} with {mode}, config.json "
                                    f"normalization_mapping says {declared}; the pipeline is what runs")
