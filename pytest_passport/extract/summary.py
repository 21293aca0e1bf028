"""Which fields a Phase-1 passport leaves null, and who fills each (a later phase or a human)."""

from __future__ import annotations

from ..documents import Passport
from ._common import Notes

PHASE2 = "phase 2: generate-passport --dynamic (loads the model)"
PHASE2_VECTOR = "phase 2: generate-passport --dynamic --dataset-path DIR (real frames)"


def _provenance(passport: Passport, notes: Notes) -> None:
    provenance = passport.provenance
    if provenance is None or not provenance.training_repo_commit:
        notes.leave("provenance.training_repo_commit", "human: pass --training-repo DIR (validation fails without it)")
    if provenance is None or not (provenance.passport_creation_repo_commit
                                  or provenance.extra.get("passport_creation_tool_version")):
        notes.leave("provenance.passport_creation_repo_commit",
                    "human: run pytest-passport from a git checkout, a pip install from a git URL, or a release "
                    "(validation fails without it)")
    if provenance is None or not provenance.run_log_path:
        notes.leave("provenance.run_log_path", "human: pass --run-log PATH_OR_URL or add TRAINING_LOG.md")
    if provenance is None or not provenance.deployment_repo_commit:
        notes.leave("provenance.deployment_repo_commit", "human: pass --target-repo DIR (optional, debug context)")


def _input_contract(passport: Passport, notes: Notes) -> None:
    contract = passport.input_contract
    datasets = (contract.training_datasets if contract else None) or []
    if not datasets:
        notes.leave("input_contract.training_datasets", "human: pass --dataset-repo ORG/NAME[@COMMIT]")
    for i, dataset in enumerate(datasets):
        if not dataset.commit:
            notes.leave(f"input_contract.training_datasets[{i}].commit", "human: pin with --dataset-repo ORG/NAME@COMMIT")
    images = (contract.images if contract else None) or []
    if any(not (i.camera_serial or i.camera_usb_path or i.reference_frame_hash) for i in images):
        notes.leave("input_contract.images[*].camera_serial|camera_usb_path|reference_frame_hash",
                    "human: camera identity from the rig")
    if any(not i.physical_mounting for i in images):
        notes.leave("input_contract.images[*].physical_mounting", "human: where each camera sits")
    temporal = contract.temporal if contract else None
    if temporal is None or temporal.control_rate_hz is None:
        notes.leave("input_contract.temporal.control_rate_hz", "human, or pass --dataset-path DIR (dataset fps)")
    actions = contract.actions if contract else None
    if actions is not None and actions.delta_dims is None:
        notes.leave("input_contract.actions.delta_dims", "human: which action dims are deltas (if any)")


def _model(passport: Passport, notes: Notes) -> None:
    identity = passport.model_identity
    if identity is None or not (identity.class_name or identity.config_architectures):
        notes.leave("model_identity.class_module/class_name", "human: the class that loads these weights")
    notes.leave("model_identity.library_versions/python_version", PHASE2)
    if identity is None or identity.runtime_constraints is None:
        notes.leave("model_identity.runtime_constraints", "human: versions the deployment runtime must satisfy")
    notes.leave("model_internals.state_dict.expected_keys_count/missing_keys/unexpected_keys", PHASE2)
    notes.leave("model_internals.parameters.summary.trainable_params/frozen_params", PHASE2)
    notes.leave("model_internals.buffers/module_hierarchy", PHASE2)
    notes.leave("model_internals.numerical_health", PHASE2)
    notes.leave("output_spec.smoke_results", PHASE2)


def unfilled_fields(passport: Passport, notes: Notes) -> list[tuple[str, str]]:
    """Add the standard list of fields Phase 1 cannot fill to ``notes``; returns all of them."""
    _provenance(passport, notes)
    _input_contract(passport, notes)
    _model(passport, notes)
    if passport.reference_test_vector is None:
        notes.leave("reference_test_vector", PHASE2_VECTOR)
    if not passport.norm_round_trip_results:
        notes.leave("norm_round_trip_results", PHASE2)
    if not passport.known_issues:
        notes.leave("known_issues", "human: documented pitfalls (optional)")
    return list(notes.unfilled)
