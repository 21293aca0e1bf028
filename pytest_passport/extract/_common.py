"""Shared pieces of static extraction: the refusal error, typed config access, notes, results.

Every extractor reads untrusted JSON. :class:`ConfigReader` turns "the field is there but has
the wrong type" into an :class:`ExtractionError` naming the file and the JSON path, so the CLI
can refuse with one line instead of writing a passport built on a misread config.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._jsonmap import describe
from ..checks._base import COMMIT
from ..checkpoint import Checkpoint
from ..errors import DocumentError, PassportError
from ..schema import (
    InputContract,
    ModelIdentity,
    ModelInternals,
    OutputSpec,
    TrainingDatasetSpec,
    TransformStep,
)


class ExtractionError(PassportError):
    """Static extraction cannot produce a trustworthy passport; the message names file and field."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class ConfigReader:
    """Typed, path-tracking access to one JSON object of one file.

    Absent keys and explicit ``null`` read as ``None``; a present value of the wrong type raises
    :class:`ExtractionError` (``<file>: <path>: expected …, got …``).
    """

    def __init__(self, data: dict[str, Any], file: str, path: str = "") -> None:
        self.data = data
        self.file = file
        self.path = path

    def where(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | int, message: str) -> ExtractionError:
        return ExtractionError(f"{self.file}: field {self.where(key)}: {message}")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def _typed(self, key: str, ok: bool, expected: str) -> Any:
        value = self.data.get(key)
        if value is not None and not ok:
            raise self.fail(key, f"expected {expected}, got {describe(value)}")
        return value

    def string(self, key: str) -> str | None:
        return self._typed(key, isinstance(self.data.get(key), str), "a string")

    def integer(self, key: str) -> int | None:
        return self._typed(key, is_int(self.data.get(key)), "an integer")

    def positive_integer(self, key: str) -> int | None:
        value = self.integer(key)
        if value is not None and value <= 0:
            raise self.fail(key, f"expected a positive integer, got {value}")
        return value

    def number(self, key: str) -> float | int | None:
        return self._typed(key, is_number(self.data.get(key)), "a number")

    def boolean(self, key: str) -> bool | None:
        return self._typed(key, isinstance(self.data.get(key), bool), "true or false")

    def obj(self, key: str) -> ConfigReader | None:
        value = self._typed(key, isinstance(self.data.get(key), dict), "an object")
        return None if value is None else ConfigReader(value, self.file, self.where(key))

    def array(self, key: str) -> list[Any] | None:
        return self._typed(key, isinstance(self.data.get(key), list), "an array")

    def shape(self, key: str) -> list[int] | None:
        """A list of non-negative integers (a tensor shape or an (h, w) pair)."""
        value = self.array(key)
        if value is not None and not all(is_int(d) and d >= 0 for d in value):
            raise self.fail(key, f"expected an array of non-negative integers, got {value!r}")
        return None if value is None else list(value)

    def string_map(self, key: str) -> dict[str, str] | None:
        value = self.obj(key)
        if value is None:
            return None
        for name, item in value.data.items():
            if not isinstance(item, str):
                raise value.fail(name, f"expected a string, got {describe(item)}")
        return dict(value.data)

    def string_list(self, key: str) -> list[str] | None:
        value = self.array(key)
        if value is not None and not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected an array of strings")
        return None if value is None else list(value)

    def objects(self, key: str) -> Iterator[tuple[int, ConfigReader]]:
        """Items of an array of objects, each as a reader with its own path."""
        for i, item in enumerate(self.array(key) or []):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", f"expected an object, got {describe(item)}")
            yield i, ConfigReader(item, self.file, f"{self.where(key)}[{i}]")

    def members(self) -> Iterator[tuple[str, ConfigReader]]:
        """Entries of this object whose values are objects (e.g. a features map)."""
        for name, item in self.data.items():
            if not isinstance(item, dict):
                raise self.fail(name, f"expected an object, got {describe(item)}")
            yield name, ConfigReader(item, self.file, self.where(name))


@dataclass
class Notes:
    """What extraction wants the operator to know: warnings and fields left for others to fill."""

    warnings: list[str] = field(default_factory=list)
    #: ``(field path, who fills it)`` for fields a later phase or a human must fill.
    unfilled: list[tuple[str, str]] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def leave(self, path: str, filler: str) -> None:
        if all(existing != path for existing, _ in self.unfilled):
            self.unfilled.append((path, filler))


@dataclass
class LayoutResult:
    """What one checkpoint-layout extractor (LeRobot, reference, Metta, HF) found.

    The orchestrator adds what every layout shares: hashes, tensor-header facts,
    provenance, training datasets from the command line and dataset metadata.
    """

    layout: str
    stack: str
    input_contract: InputContract = field(default_factory=InputContract)
    model_identity: ModelIdentity | None = None
    model_internals: ModelInternals = field(default_factory=ModelInternals)
    output_spec: OutputSpec | None = None
    transform_pipeline: list[TransformStep] = field(default_factory=list)
    #: Training datasets named by files in the checkpoint (used when none are given on the CLI).
    config_datasets: list[TrainingDatasetSpec] = field(default_factory=list)
    #: Relative paths of the files holding the model's own tensors (never normalizer stats).
    model_weight_files: list[str] = field(default_factory=list)
    #: The file that best records how the checkpoint was trained (``provenance.config_snapshot_path``).
    config_snapshot: str | None = None
    #: Dataset key -> model key renames applied before the model (LeRobot rename processor).
    key_rename_map: dict[str, str] = field(default_factory=dict)
    #: ``provenance.parent_description`` when the config names the checkpoint it started from.
    parent_description: str | None = None
    #: Extension keys for ``provenance`` (e.g. a Metta run name and epoch).
    provenance_extra: dict[str, Any] = field(default_factory=dict)


def read_object(checkpoint: Checkpoint, rel: str) -> ConfigReader:
    """A checkpoint JSON file that must hold an object; anything else refuses, naming the file."""
    try:
        data = checkpoint.read_json(rel)
    except DocumentError as exc:
        raise ExtractionError(f"{rel}: {'; '.join(exc.problems)}") from None
    if not isinstance(data, dict):
        raise ExtractionError(f"{rel}: top level must be a JSON object")
    return ConfigReader(data, rel)


def dataset_spec(repo: str, revision: str | None, loader_class: str | None) -> TrainingDatasetSpec:
    """A training-dataset entry; a revision that is not a commit sha is kept, but not as a pin."""
    spec = TrainingDatasetSpec(repo=repo, loader_class=loader_class)
    if revision:
        if COMMIT.match(revision.lower()):
            spec.commit = revision.lower()
        else:
            # A branch or tag moves; recording it as ``commit`` would fail validation and mislead.
            spec.extra["revision"] = revision
    return spec
