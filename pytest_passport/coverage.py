"""The coverage map: which passport fields a run checked, which it did not, which need a person.

Every leaf path of a passport (a scalar, a list of scalars, or an empty container, named like
``input_contract.images[0].raw_shape``) gets exactly one state:

``covered``
    a check that reads the path ran and reported ``pass``, ``soft_signal`` or ``fail``; the
    entry names each such check with its status and message (the evidence).
``not_checked``
    nothing vouches for the value. ``reason`` tells why: ``absent`` (the passport does not
    record the field), ``no_check`` (no check reads it), ``check_not_run`` (the checks that
    read it were skipped, deselected or reported ``not_checked``).
``requires_human``
    only a person can confirm it: camera mounting, physical setup, steps marked dynamic. Such
    a field is listed even when the passport does not record it (reason ``not recorded; …``),
    as long as its block exists (a camera without ``physical_mounting`` still has a mounting).

Which check reads which paths is declared here, in :data:`READS`, keyed by check name, once;
:func:`undeclared_checks` lists registered checks missing from the table.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COVERED",
    "HUMAN",
    "NOT_CHECKED",
    "READS",
    "REQUIRES_HUMAN",
    "CoverageEntry",
    "coverage_map",
    "leaf_paths",
    "summary",
    "undeclared_checks",
]

COVERED, NOT_CHECKED, REQUIRES_HUMAN = "covered", "not_checked", "requires_human"
STATES = (COVERED, NOT_CHECKED, REQUIRES_HUMAN)
ABSENT, NO_CHECK, CHECK_NOT_RUN = "absent", "no_check", "check_not_run"

_IC = "input_contract"
_MI = "model_internals"

#: Passport paths each check reads. ``[]`` stands for any index; a pattern ending in ``.*``
#: covers everything below it. Static checks that read only the checkpoint's files (config,
#: weight headers, stats) read no passport path. The per-file ``weight_integrity[<path>]``
#: checks are matched to their own ``weight_files[i]`` entry (see :func:`coverage_map`).
READS: dict[str, tuple[str, ...]] = {
    # signoff: the signoff and the files on disk, plus the passport bytes as a whole
    "signoff_present": (),
    "signoff_schema_version_supported": (),
    "passport_checksum_valid": (),
    "weight_files_match_signoff": (),
    "signoff_verdict": (),
    "signoff_signature": (),
    "model_signing_signature": (),
    "passport_loadable": ("schema_version",),
    # model_internals
    "model_identity_resolvable": (
        "model_identity.class_module",
        "model_identity.class_name",
        "model_identity.resolved_class_name",
        "model_identity.config_architectures",
    ),
    "internals_vs_weight_files": (f"{_MI}.state_dict.expected_keys_count",),
    "state_dict_completeness": (f"{_MI}.state_dict.*",),
    "no_nan_inf_recorded": (f"{_MI}.numerical_health.no_nan_inf.*",),
    "determinism_recorded": (f"{_MI}.numerical_health.determinism.*",),
    "external_pretrained_assets_pinned": (
        f"{_MI}.pretrained_provenance[].source_revision",
        f"{_MI}.pretrained_provenance[].source_identifier",
    ),
    "runtime_constraints": ("model_identity.runtime_constraints.required_versions.*",),
    "reference_test_vector": (
        "reference_test_vector.input_state_path",
        "reference_test_vector.input_state_hash",
        "reference_test_vector.input_images_path",
        "reference_test_vector.input_images_hash.*",
        "reference_test_vector.input_feature_paths.*",
        "reference_test_vector.input_feature_hashes.*",
        "reference_test_vector.expected_output_path",
        "reference_test_vector.expected_output_hash",
    ),
    # input_expectation
    "input_contract_vs_config": (
        f"{_IC}.images[].key",
        f"{_IC}.images[].raw_shape",
        f"{_IC}.state.total_dim",
        f"{_IC}.actions.total_dim",
        f"{_IC}.actions.horizon",
    ),
    "input_contract_vs_norm_stats": (
        f"{_IC}.state.normalization.*",
        f"{_IC}.actions.normalization.*",
    ),
    "input_contract_vs_dataset": (
        f"{_IC}.images[].key",
        f"{_IC}.state.sub_keys[].key",
        f"{_IC}.training_datasets[].repo",
        f"{_IC}.training_datasets[].commit",
        f"{_IC}.training_datasets[].key_rename_map.*",
    ),
    "training_datasets_present": (f"{_IC}.training_datasets",),
    "training_datasets_resolvable": (f"{_IC}.training_datasets[].repo", f"{_IC}.training_datasets[].commit"),
    "camera_identity": (
        f"{_IC}.images[].camera_serial",
        f"{_IC}.images[].camera_usb_path",
        f"{_IC}.images[].reference_frame_hash",
    ),
    # output_spec
    "output_actions_vs_input_actions": (
        "output_spec.actions.horizon",
        "output_spec.actions.sub_keys",
        f"{_IC}.actions.horizon",
        f"{_IC}.actions.sub_keys[].key",
        f"{_IC}.actions.sub_keys[].dim",
    ),
    "smoke_results_pass": ("output_spec.smoke_results.*",),
    # provenance
    "training_repo_commit_format": ("provenance.training_repo_commit",),
    "passport_creation_repo_commit_format": ("provenance.passport_creation_repo_commit",),
    "run_log_path_format": ("provenance.run_log_path",),
    "deployment_repo_commit": ("provenance.deployment_repo_commit",),
    "parent_checkpoint_verified": ("provenance.parent_checkpoint", "provenance.parent_checkpoint_uri"),
    # static: config, weight headers and stats files only
    "weight_file_integrity": (),
    "checkpoint_tree_declared": ("weight_integrity.weight_files[].path", "weight_integrity.ignore_patterns.*"),
    "pickle_files_safe": (),
    "action_dim_config_vs_weights": (),
    "horizon_consistency": (),
    "image_keys_declared": (),
    "state_dim_consistency": (),
    "norm_stats_vs_config": (),
}

#: Paths only a person can confirm (physical setup, live cameras, steps marked dynamic).
HUMAN: dict[str, str] = {
    f"{_IC}.images[].physical_mounting": "camera mounting is physical; compare with the rig",
    f"{_IC}.images[].camera_serial": "the serial must match the camera plugged in on the rig",
    f"{_IC}.images[].camera_usb_path": "the USB path must match the rig's wiring",
    f"{_IC}.images[].reference_frame_path": "compare the reference frame with a live frame of that camera",
    "output_spec.post_processing.action_clamping.*": "clamp limits must match the robot's physical joint limits",
    "known_issues[].*": "a known issue is accepted or worked around by a person",
}

#: Transform steps marked ``check_type: dynamic`` are confirmed on the rig (spec §4.8).
_DYNAMIC_STEP = re.compile(r"^transform_pipeline\[(\d+)\]\.")
_INDEX = re.compile(r"\[\d+\]")
_FILES = "weight_integrity.weight_files"
_FILE_ENTRY = re.compile(r"^weight_integrity\.weight_files\[(\d+)\]\.(path|sha256|size_bytes)$")
_RESULTS = ("pass", "soft_signal", "fail")


@dataclass
class CoverageEntry:
    """One leaf path and what vouches for it."""

    path: str
    state: str
    reason: str = ""
    checks: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "state": self.state, "reason": self.reason, "checks": self.checks}


def _is_leaf(value: Any) -> bool:
    if isinstance(value, Mapping):
        return not value
    if isinstance(value, list):
        return not value or not any(isinstance(v, (Mapping, list)) for v in value)
    return True


def leaf_paths(document: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf path of a JSON document, in document order."""
    if isinstance(document, Mapping) and document:
        for key, value in document.items():
            yield from leaf_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(document, list) and not _is_leaf(document):
        for index, value in enumerate(document):
            yield from leaf_paths(value, f"{prefix}[{index}]")
    elif prefix:
        yield prefix


def _schema_paths(cls: Any, prefix: str) -> Iterator[str]:
    """Every field path the typed schema defines below ``cls`` (lists of blocks as ``[]``)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "extra":
            continue
        path = f"{prefix}.{f.name}" if prefix else f.name
        block = _block_type(hints[f.name])
        if block is None:
            yield path
        else:
            yield from _schema_paths(block[0], path + ("[]" if block[1] else ""))


def _block_type(hint: Any) -> tuple[type, bool] | None:
    """``(dataclass, is_list)`` when a field holds a schema block or a list of them."""
    for arg in typing.get_args(hint) or (hint,):
        if dataclasses.is_dataclass(arg):
            return arg, False  # type: ignore[return-value]
        origin = typing.get_origin(arg)
        if origin is list and typing.get_args(arg) and dataclasses.is_dataclass(typing.get_args(arg)[0]):
            return typing.get_args(arg)[0], True
        if isinstance(arg, types.UnionType):
            found = _block_type(arg)
            if found:
                return found
    return None


def _matches(pattern: str, generic: str) -> bool:
    if pattern.endswith(".*"):
        base = pattern[:-2]
        return generic == base or generic.startswith(base + ".") or generic.startswith(base + "[")
    return generic == pattern or generic.startswith(pattern + "[") or generic.startswith(pattern + ".")


def _readers(generic: str) -> list[str]:
    return [name for name, patterns in READS.items() if any(_matches(p, generic) for p in patterns)]


def _human(generic: str) -> str | None:
    for pattern, why in HUMAN.items():
        if _matches(pattern, generic):
            return why
    return None


def _evidence(finding: Mapping[str, Any]) -> dict[str, str]:
    return {"check": str(finding.get("check")), "status": str(finding.get("status")), "message": str(finding.get("message", ""))}


def coverage_map(document: Mapping[str, Any] | None, findings: Iterable[Mapping[str, Any]]) -> list[CoverageEntry]:
    """One entry per leaf path of ``document`` plus one per schema field it lacks.

    ``findings`` are the run's observations (``check``, ``status``, ``message``, ``section``);
    per-file findings (section ``weight_integrity``, named by the file's path) cover their own
    ``weight_files`` entry.
    """
    from .documents import Passport

    document = document if isinstance(document, Mapping) else {}
    by_check: dict[str, Mapping[str, Any]] = {}
    by_file: dict[str, Mapping[str, Any]] = {}
    for finding in findings:
        name = str(finding.get("check"))
        if finding.get("section") == "weight_integrity" and name not in READS:
            by_file[name] = finding
        else:
            by_check[name] = finding
    steps = document.get("transform_pipeline")
    files = (document.get("weight_integrity") or {}).get("weight_files") if isinstance(document.get("weight_integrity"), Mapping) else None
    entries: list[CoverageEntry] = []
    seen: set[str] = set()
    for path in leaf_paths(document):
        generic = _INDEX.sub("[]", path)
        seen.add(generic)
        entries.append(_entry(path, generic, by_check, by_file, steps, files))
    for generic in _schema_paths(Passport, ""):
        if not any(s == generic or s.startswith(generic + ".") or s.startswith(generic + "[") for s in seen):
            if not any(generic.startswith(s + ".") or generic.startswith(s + "[") for s in seen):
                why = _human(generic)
                if why is not None and _parent_present(document, generic):
                    # Physical facts need a person whether or not the passport records them.
                    entries.append(CoverageEntry(generic, REQUIRES_HUMAN, f"not recorded; {why}", []))
                else:
                    entries.append(CoverageEntry(generic, NOT_CHECKED, ABSENT, []))
    return entries


def _parent_present(document: Mapping[str, Any], generic: str) -> bool:
    """Whether the block holding ``generic`` exists (e.g. some ``images[]`` entry for a camera field)."""
    node: Any = document
    for part in generic.split(".")[:-1]:
        name, is_list = (part[:-2], True) if part.endswith("[]") else (part, False)
        node = node.get(name) if isinstance(node, Mapping) else None
        if is_list:
            if not isinstance(node, list) or not node:
                return False
            node = node[0]
        if node is None:
            return False
    return True


def _entry(
    path: str,
    generic: str,
    by_check: Mapping[str, Mapping[str, Any]],
    by_file: Mapping[str, Mapping[str, Any]],
    steps: Any,
    files: Any,
) -> CoverageEntry:
    readers = _readers(generic)
    ran = [by_check[name] for name in readers if name in by_check]
    match = _FILE_ENTRY.match(path)
    if match and isinstance(files, list):
        entry = files[int(match.group(1))]
        rel = entry.get("path") if isinstance(entry, Mapping) else None
        if isinstance(rel, str) and rel in by_file:
            ran.append(by_file[rel])
            readers.append(rel)
    evidence = [_evidence(f) for f in ran if f.get("status") in _RESULTS]
    why = _human(generic)
    step = _DYNAMIC_STEP.match(path)
    if why is None and step and isinstance(steps, list):
        index = int(step.group(1))
        if index < len(steps) and isinstance(steps[index], Mapping) and steps[index].get("check_type") == "dynamic":
            why = "transform step marked dynamic: confirm the runner applies it"
    if why is not None:
        return CoverageEntry(path, REQUIRES_HUMAN, why, evidence)
    if evidence:
        return CoverageEntry(path, COVERED, "", evidence)
    if not readers:
        return CoverageEntry(path, NOT_CHECKED, NO_CHECK, [])
    not_run = [_evidence(f) for f in ran]
    return CoverageEntry(path, NOT_CHECKED, CHECK_NOT_RUN, not_run or [{"check": n, "status": "not run", "message": ""} for n in readers])


def summary(entries: Iterable[CoverageEntry]) -> dict[str, int]:
    """Counts per state and per not-checked reason, for the top of reports."""
    counts = {COVERED: 0, REQUIRES_HUMAN: 0, f"{NOT_CHECKED}:{ABSENT}": 0, f"{NOT_CHECKED}:{NO_CHECK}": 0, f"{NOT_CHECKED}:{CHECK_NOT_RUN}": 0}
    for entry in entries:
        key = entry.state if entry.state != NOT_CHECKED else f"{NOT_CHECKED}:{entry.reason}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def undeclared_checks() -> list[str]:
    """Registered checks that :data:`READS` does not list (each must be declared, even as ``()``)."""
    from .checks import CHECK_ORDER

    return [name for name in CHECK_ORDER if name not in READS]
