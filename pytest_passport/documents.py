"""The two documents as typed objects: ``MODEL_PASSPORT.json`` and ``SIGNOFF.json`` (schema 0.2).

:class:`Passport` holds the section blocks of :mod:`.contract` and :mod:`.sections`;
:class:`Signoff` holds its own small blocks. Reading and writing them is
:mod:`pytest_passport.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._jsonmap import Extra, empty_extra
from .contract import InputContract, OutputSpec
from .sections import (
    KnownIssue,
    ModelIdentity,
    ModelInternals,
    NormRoundTripResult,
    Provenance,
    ReferenceTestVector,
    TransformStep,
    WeightFile,
    WeightIntegrity,
)

SCHEMA_VERSION = "0.2"
SUPPORTED_PASSPORT_VERSIONS = frozenset({"0.2"})
SUPPORTED_SIGNOFF_VERSIONS = frozenset({"0.2"})


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
    extra: Extra = field(default_factory=empty_extra)

    @property
    def declared_files(self) -> list[WeightFile]:
        """``weight_integrity.weight_files`` in passport order (empty when absent)."""
        wi = self.weight_integrity
        return [f for f in (wi.weight_files or []) if f is not None] if wi else []


@dataclass
class SignedBy:
    tool: str | None = None
    version: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class Artifact:
    __required__ = ("path", "sha256")
    path: str | None = None
    sha256: str | None = None
    extra: Extra = field(default_factory=empty_extra)


@dataclass
class Signoff:
    """The whole ``SIGNOFF.json``. Never pruned: all six keys are always written."""

    schema_version: str | None = SCHEMA_VERSION
    signed_at: str | None = None
    signed_by: SignedBy | None = None
    artifacts: list[Artifact] | None = None
    verdict: str | None = None
    verdict_reason: str | None = None
    extra: Extra = field(default_factory=empty_extra)

    def artifact_sha256(self, path: str) -> str | None:
        for artifact in self.artifacts or []:
            if artifact is not None and artifact.path == path:
                return artifact.sha256
        return None


PASSPORT_SECTIONS: tuple[str, ...] = tuple(
    f for f in Passport.__dataclass_fields__ if f != "extra"
)
