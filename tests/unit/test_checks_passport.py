"""passport_loadable: the document itself, before any section is judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_passport.checkpoint import Checkpoint
from pytest_passport.checks import CheckContext, CheckOptions
from pytest_passport.checks.passport import passport_loadable
from pytest_passport.findings import Status


def run(root: Path, passport: dict | None, **options: bool):
    if passport is not None:
        (root / "MODEL_PASSPORT.json").write_text(json.dumps(passport))
    return passport_loadable(CheckContext(Checkpoint(root), CheckOptions(**options)))


def actions(**fields) -> dict:
    return {"schema_version": "0.2", "input_contract": {"actions": {"total_dim": 3, **fields}}}


@pytest.mark.parametrize("option", [None, "require_signoff", "signing"])
def test_absent_passport_always_fails(tmp_path, option) -> None:
    """No passport: a failure on a plain validation, for the gate and for signing, saying what to run."""
    finding = run(tmp_path, None, **({option: True} if option else {}))
    assert finding.status is Status.FAIL and "run generate-passport" in finding.message


def test_full_masks_pass(tmp_path) -> None:
    """Masks as long as total_dim, false entries included, are whole."""
    finding = run(tmp_path, actions(norm_mask=[True, True, False], delta_dims={"delta_mask": [True, False, False]}))
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"norm_mask": [True, True]}, "input_contract.actions.norm_mask"),
        ({"delta_dims": {"delta_mask": [True]}}, "input_contract.actions.delta_dims.delta_mask"),
    ],
)
def test_truncated_mask_is_corrupt(tmp_path, fields, field) -> None:
    """A mask shorter than total_dim (a reference writer pruned its false entries) fails."""
    finding = run(tmp_path, actions(**fields))
    assert finding.status is Status.FAIL
    assert field in finding.message and "total_dim is 3" in finding.message
    assert "drops `false` elements" in finding.message and "regenerate the passport" in finding.message


def test_overlong_mask_is_corrupt_without_blaming_the_reference(tmp_path) -> None:
    """A mask longer than total_dim fails, without the false-dropping explanation."""
    finding = run(tmp_path, actions(norm_mask=[True, True, True, False]))
    assert finding.status is Status.FAIL
    assert "one entry per action dimension" in finding.message and "false" not in finding.message


def test_duplicate_declared_path(tmp_path) -> None:
    """A file declared twice in weight_integrity fails, naming it."""
    entry = {"path": "model.safetensors", "sha256": "0" * 64, "size_bytes": 1}
    finding = run(tmp_path, {"schema_version": "0.2", "weight_integrity": {"weight_files": [entry, entry]}})
    assert finding.status is Status.FAIL and "'model.safetensors' more than once" in finding.message
