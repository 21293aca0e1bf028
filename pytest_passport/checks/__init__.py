"""The check catalogue: every check as a pure function, in collection order.

Checks are grouped by the passport section they read (one module per section);
:func:`catalogue` returns them sections-in-schema-order, then in the reference's
evaluation order inside a section, so every xdist worker collects the same list.
"""

from __future__ import annotations

from ._base import REGISTRY, CheckContext, CheckOptions, CheckSpec, check
from . import (  # noqa: F401  (imported for their registrations)
    authenticity,
    input_contract,
    model_config,
    model_identity,
    model_internals,
    output_spec,
    passport,
    provenance,
    reference_test_vector,
    signoff,
    unsafe_formats,
    weight_integrity,
)

#: Node-id sections in the order of the passport's top-level keys; the signoff comes last.
SECTION_ORDER: tuple[str, ...] = (
    "schema_version",
    "input_contract",
    "model_identity",
    "model_internals",
    "output_spec",
    "weight_integrity",
    "provenance",
    "reference_test_vector",
    "norm_round_trip_results",
    "signoff",
)

#: The reference's 30 checks in its evaluation order, then the checks this project adds.
CHECK_ORDER: tuple[str, ...] = (
    "signoff_present",
    "signoff_schema_version_supported",
    "passport_checksum_valid",
    "weight_files_match_signoff",
    "model_identity_resolvable",
    "internals_vs_weight_files",
    "state_dict_completeness",
    "no_nan_inf_recorded",
    "determinism_recorded",
    "external_pretrained_assets_pinned",
    "runtime_constraints",
    "reference_test_vector",
    "input_contract_vs_config",
    "input_contract_vs_norm_stats",
    "input_contract_vs_dataset",
    "training_datasets_present",
    "training_datasets_resolvable",
    "camera_identity",
    "output_actions_vs_input_actions",
    "smoke_results_pass",
    "training_repo_commit_format",
    "passport_creation_repo_commit_format",
    "run_log_path_format",
    "deployment_repo_commit",
    "weight_file_integrity",
    "action_dim_config_vs_weights",
    "horizon_consistency",
    "image_keys_declared",
    "state_dim_consistency",
    "norm_stats_vs_config",
    # additions
    "passport_loadable",
    "signoff_verdict",
    "parent_checkpoint_verified",
    "checkpoint_tree_declared",
    # authenticity and unsafe formats
    "signoff_signature",
    "model_signing_signature",
    "pickle_files_safe",
)

#: Reference category names accepted by ``--skip-section`` besides the section names.
CATEGORIES: tuple[str, ...] = ("signoff", "input_expectation", "model_internals", "output_spec", "provenance")


def catalogue() -> list[CheckSpec]:
    """All registered checks in collection order."""
    missing = set(REGISTRY) ^ set(CHECK_ORDER)
    if missing:
        raise RuntimeError(f"check order and registry disagree on: {sorted(missing)}")
    return sorted(
        REGISTRY.values(),
        key=lambda spec: (SECTION_ORDER.index(spec.section), CHECK_ORDER.index(spec.name)),
    )


def skip_matches(spec: CheckSpec, names: set[str]) -> bool:
    """Whether ``--skip-section`` names select this check (by section or reference category)."""
    return spec.section in names or spec.category in names


__all__ = ["CATEGORIES", "CHECK_ORDER", "SECTION_ORDER", "CheckContext", "CheckOptions", "CheckSpec", "catalogue", "check", "skip_matches"]
