"""Phase 1: a passport from files on disk and git state only (no torch, no GPU, no network).

:func:`extract_static` recognises the checkpoint layout, lets that layout's extractor read its
configs (:mod:`.lerobot`, :mod:`.reference`, :mod:`.metta`, :mod:`.hf`), then adds what every
layout shares: per-file hashes, safetensors header facts, provenance from git, training
datasets and a local dataset's layout. The passport is built only from the schema dataclasses.

Extension key (the schema has no field; readers keep it in ``provenance.extra``):
``provenance.passport_creation_tool_version`` = ``pytest-passport==X.Y.Z``, always written. A
tool installed from a release has no commit to put in ``passport_creation_repo_commit``; the
version then identifies it, and ``passport_creation_repo_commit_format`` accepts it (spec §2.6
keeps ``generated_by`` the tool's name, so the version does not go there).

Anything that would make the passport untrustworthy — a dirty ``--target-repo``, an
unparseable config, a weight file the config names but the disk lacks — raises
:class:`~._common.ExtractionError` before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..checkpoint import PROCESSOR_FILES, Checkpoint
from ..hashing import DigestCache
from ..schema import (
    SCHEMA_VERSION,
    InputContract,
    ModelInternals,
    Parameters,
    Passport,
    Provenance,
    TrainingDatasetSpec,
)
from . import hf, lerobot, metta, reference
from ._common import ConfigReader, ExtractionError, LayoutResult, Notes, dataset_spec
from .dataset import LocalDataset, apply_dataset, read_local_dataset
from .git import TOOL_VERSION_KEY, RepoState, describe_changes, read_repo, tool_repo, tool_version
from .integrity import FileDigests, declared_files, hash_files, weight_integrity
from .summary import unfilled_fields
from .tensors import (
    parameters_summary,
    quantization,
    read_tensor_facts,
    state_dict_block,
)

GENERATED_BY = "generate-passport"
RUN_LOG_NAMES = ("TRAINING_LOG.md", "training_log.md")
ROOT_CONFIGS = ("config.json", "config.yaml")


@dataclass(frozen=True)
class DatasetRef:
    """A training dataset named on the command line: ``repo[@revision]`` and its loader."""

    repo: str
    revision: str | None = None
    loader_class: str | None = None


@dataclass(frozen=True)
class ParentRef:
    """The checkpoint this one resumes or fine-tunes, as ``generate-passport --parent`` read it."""

    uri: str
    passport_sha256: str
    epoch: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class StaticOptions:
    generated_at: str
    target_repo: Path | None = None
    training_repo: Path | None = None
    datasets: tuple[DatasetRef, ...] = ()
    dataset_path: Path | None = None
    run_log: str | None = None
    #: Root-relative paths kept out of ``weight_integrity`` (e.g. an ``--output`` inside the root).
    undeclared: tuple[str, ...] = ()
    #: ``--parent``: fills ``provenance.parent_checkpoint`` / ``parent_checkpoint_uri`` / ``parent_epoch``.
    parent: ParentRef | None = None


@dataclass
class Extraction:
    passport: Passport
    layout: str
    digests: FileDigests
    notes: Notes = field(default_factory=Notes)


# --------------------------------------------------------------------------- layout


def open_checkpoint(path: Path) -> Checkpoint:
    if not path.exists():
        raise ExtractionError(f"{path}: no such checkpoint directory")
    if path.is_file() and path.suffix == ".zip":
        raise ExtractionError(f"{path}: a zip archive; unpack it and pass the directory (the passport is written inside it)")
    if not path.is_dir():
        raise ExtractionError(f"{path}: not a directory")
    return Checkpoint(path)


def _root_config(checkpoint: Checkpoint) -> ConfigReader:
    info = checkpoint.config
    if info.path not in ROOT_CONFIGS:
        nested = [rel for rel in checkpoint.files if rel.endswith("/config.json")][:3]
        hint = f"; pass the directory holding one of: {', '.join(nested)}" if nested else ""
        raise ExtractionError(f"{checkpoint.root / 'config.json'}: not found (nor config.yaml or policy_spec.json); "
                              f"cannot tell what this checkpoint is{hint}")
    if info.error:
        raise ExtractionError(f"{checkpoint.root / info.path}: {info.error}")
    return ConfigReader(info.data, info.path)


def extract_layout(checkpoint: Checkpoint, digests: FileDigests, notes: Notes) -> LayoutResult:
    """Recognise the layout and run its extractor."""
    if metta.is_metta_bundle(checkpoint):
        return metta.extract(checkpoint, notes)
    reader = _root_config(checkpoint)
    data = reader.data
    pipelines_saved = any(name in checkpoint.files for name in PROCESSOR_FILES)
    if pipelines_saved or (isinstance(data.get("type"), str) and ("input_features" in data or "output_features" in data)):
        result = lerobot.extract(checkpoint, reader, digests, notes)
    elif reference.is_reference_config(data) or "input_features" in data:
        result = reference.extract(checkpoint, reader, digests, notes)
    elif hf.is_hf_config(data):
        result = hf.extract(checkpoint, reader, notes)
    else:
        result = generic(checkpoint, reader, notes)
    result.config_snapshot = result.config_snapshot or checkpoint.config.path
    return result


def generic(checkpoint: Checkpoint, reader: ConfigReader, notes: Notes) -> LayoutResult:
    """A config this tool does not know: identity left to a human, every weight file declared."""
    if not checkpoint.weight_files:
        raise ExtractionError(f"{checkpoint.root}: no weight files (*.safetensors, *.bin) beside {reader.file}")
    notes.warn(f"{reader.file}: not a LeRobot, reference-style, Metta or Hugging Face config; "
               "only files and weights are described")
    stack = reader.raw("type") or reader.raw("policy_type") or "unknown"
    return LayoutResult(layout="generic", stack=stack if isinstance(stack, str) else "unknown",
                        model_weight_files=list(checkpoint.weight_files))


# --------------------------------------------------------------------------- provenance


def resolve_run_log(value: str | None, checkpoint: Checkpoint, notes: Notes) -> str | None:
    """``--run-log`` as an http(s) URL or a root-relative path; else a TRAINING_LOG.md at the root."""
    if value is None:
        return next((name for name in RUN_LOG_NAMES if name in checkpoint.files), None)
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ExtractionError(f"--run-log {value}: a URL must be http(s)://host/...")
        return value
    given = Path(value)
    for candidate in ([given] if given.is_absolute() else [Path.cwd() / given, checkpoint.root / given]):
        if candidate.is_file():
            real = Path(os.path.realpath(candidate))
            if checkpoint.root not in real.parents:
                raise ExtractionError(f"--run-log {value}: outside the checkpoint {checkpoint.root}; "
                                      "copy it in or give an http(s) URL")
            relative = real.relative_to(checkpoint.root).as_posix()
            if not relative.endswith(".md"):
                notes.warn(f"--run-log {relative}: validators expect a .md file")
            return relative
    raise ExtractionError(f"--run-log {value}: no such file")


def build_provenance(options: StaticOptions, layout: LayoutResult, checkpoint: Checkpoint, digests: FileDigests,
                     repos: dict[str, RepoState], notes: Notes) -> Provenance:
    tool_url, tool_commit = tool_repo()
    training, deployment = repos.get("training"), repos.get("target")
    snapshot = layout.config_snapshot
    provenance = Provenance(
        run_log_path=resolve_run_log(options.run_log, checkpoint, notes),
        training_repo=training.url if training else None,
        training_repo_commit=training.commit if training else None,
        passport_creation_repo=tool_url,
        passport_creation_repo_commit=tool_commit,
        config_snapshot_path=snapshot,
        merged_config_sha256=digests.sha256(snapshot) if snapshot else None,
        parent_description=layout.parent_description,
        parent_checkpoint=options.parent.passport_sha256 if options.parent else None,
        parent_checkpoint_uri=options.parent.uri if options.parent else None,
        parent_epoch=options.parent.epoch if options.parent else None,
        deployment_repo=deployment.url if deployment else None,
        deployment_repo_commit=deployment.commit if deployment else None,
        extra=dict(layout.provenance_extra),
    )
    provenance.extra[TOOL_VERSION_KEY] = tool_version()
    if options.parent is not None and not provenance.parent_description:
        provenance.parent_description = options.parent.description
    if training is not None:
        provenance.extra["training_repo_dirty"] = training.dirty
        if training.dirty:
            notes.warn(f"--training-repo has uncommitted changes ({describe_changes(training)}); "
                       "the recorded commit may not be the code that trained this checkpoint")
    return provenance


def read_repos(options: StaticOptions) -> dict[str, RepoState]:
    """Git state of the named repos; a dirty target repo refuses generation."""
    repos: dict[str, RepoState] = {}
    if options.target_repo is not None:
        target = read_repo(options.target_repo, "--target-repo")
        if target.dirty:
            raise ExtractionError(f"--target-repo {options.target_repo} has uncommitted changes to tracked files "
                                  f"({describe_changes(target)}); commit or stash them so the passport binds a real commit")
        repos["target"] = target
    if options.training_repo is not None:
        repos["training"] = read_repo(options.training_repo, "--training-repo")
    return repos


# --------------------------------------------------------------------------- contract and internals


def training_datasets(options: StaticOptions, layout: LayoutResult, notes: Notes) -> list[TrainingDatasetSpec]:
    specs = [dataset_spec(d.repo, d.revision, d.loader_class) for d in options.datasets] or layout.config_datasets
    for spec in specs:
        if spec.loader_class is None and layout.layout == "lerobot":
            spec.loader_class = lerobot.LOADER_CLASS
        if layout.key_rename_map:
            spec.key_rename_map = dict(layout.key_rename_map)
        if "revision" in spec.extra:
            notes.warn(f"dataset {spec.repo}: revision {spec.extra['revision']!r} is not a commit sha, so it is not a pin")
    return specs


def _is_empty(contract: InputContract) -> bool:
    fields = (contract.images, contract.state, contract.actions, contract.language, contract.temporal,
              contract.training_datasets)
    return all(value is None for value in fields) and not contract.extra


def build_input_contract(options: StaticOptions, layout: LayoutResult, dataset: LocalDataset | None,
                         notes: Notes) -> InputContract | None:
    contract = layout.input_contract
    contract.training_datasets = training_datasets(options, layout, notes) or None
    if dataset is not None:
        apply_dataset(contract, dataset, layout.key_rename_map, notes, lerobot_offsets=layout.layout == "lerobot")
    return None if _is_empty(contract) else contract


def build_internals(checkpoint: Checkpoint, layout: LayoutResult) -> ModelInternals:
    facts = read_tensor_facts(checkpoint, layout.model_weight_files)
    internals = layout.model_internals
    internals.parameters = None
    summary = parameters_summary(facts)
    if summary is not None:
        internals.parameters = Parameters(summary=summary)
    internals.state_dict = state_dict_block(facts)
    internals.quantization = quantization(facts)
    if facts.headers:
        internals.extra["tensor_headers"] = facts.headers
    return internals


# --------------------------------------------------------------------------- entry point


def extract_static(path: Path, options: StaticOptions) -> Extraction:
    """Build the Phase-1 passport of the checkpoint at ``path``; nothing is written."""
    checkpoint = open_checkpoint(path)
    repos = read_repos(options)
    dataset = read_local_dataset(options.dataset_path) if options.dataset_path is not None else None
    notes = Notes()
    cache = DigestCache()
    try:
        digests = hash_files(checkpoint, declared_files(checkpoint, options.undeclared), cache)
    finally:
        cache.close()
    layout = extract_layout(checkpoint, digests, notes)
    passport = Passport(
        schema_version=SCHEMA_VERSION,
        generated_by=GENERATED_BY,
        generated_at=options.generated_at,
        stack=layout.stack,
        input_contract=build_input_contract(options, layout, dataset, notes),
        model_identity=layout.model_identity,
        model_internals=build_internals(checkpoint, layout),
        output_spec=layout.output_spec,
        weight_integrity=weight_integrity(digests, options.undeclared),
        provenance=build_provenance(options, layout, checkpoint, digests, repos, notes),
        transform_pipeline=layout.transform_pipeline or None,
    )
    unfilled_fields(passport, notes)
    return Extraction(passport, layout.layout, digests, notes)
