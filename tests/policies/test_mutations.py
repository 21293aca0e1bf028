"""Nothing wrong passes: each mutation of a signed policy checkpoint fails the gate with its check.

Passport edits are re-signed by hand (every SIGNOFF.json hash updated) so the signoff is valid
and the failure is the content check's; a weight edit is followed by generate-passport and the
same re-signing, so only the contradiction between config and weights is left.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from pytest_passport import schema, verify
from pytest_passport.errors import VerificationError

from .conftest import generate, rehash_signoff
from .readme_values import OUTPUT_LAYERS, SHIPPED, shipped

Mutation = Callable[[Path, str, Path], None]
CONFIG_CHECK = "input_contract_vs_config"


def edit_passport(root: Path, change: Callable[[dict], None]) -> None:
    path = root / schema.PASSPORT_FILENAME
    passport = json.loads(path.read_text())
    change(passport)
    path.write_text(json.dumps(passport, indent=2))


def action_dim_changed(root: Path, policy: str, training_repo: Path) -> None:
    def change(passport: dict) -> None:
        passport["input_contract"]["actions"]["total_dim"] += 1

    edit_passport(root, change)


def horizon_changed(root: Path, policy: str, training_repo: Path) -> None:
    """A consistent lie: input and output horizon both changed (a single-step policy gains one)."""
    new = (shipped()[policy].horizon or 1) + 1

    def change(passport: dict) -> None:
        passport["input_contract"]["actions"]["horizon"] = new
        passport["output_spec"]["actions"]["horizon"] = new

    edit_passport(root, change)


def input_removed(root: Path, policy: str, training_repo: Path) -> None:
    """Both cameras deleted; an image-free policy loses its environment-state input instead."""

    def change(passport: dict) -> None:
        contract = passport["input_contract"]
        if shipped()[policy].cameras:
            del contract["images"]
        else:
            del contract["environment_state"]

    edit_passport(root, change)


def camera_added(root: Path, policy: str, training_repo: Path) -> None:
    def change(passport: dict) -> None:
        images = passport["input_contract"].setdefault("images", [])
        images.append({"key": "observation.images.extra", "raw_shape": [3, 64, 80]})

    edit_passport(root, change)


def output_layer_reshaped(root: Path, policy: str, training_repo: Path) -> None:
    """The output layer gains one unit on its action axis in model.safetensors; the passport is regenerated."""
    tensor, axis = OUTPUT_LAYERS[policy]
    path = root / "model.safetensors"
    with safe_open(str(path), "np") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    shape = list(tensors[tensor].shape)
    shape[axis] += 1
    tensors[tensor] = np.zeros(shape, dtype=tensors[tensor].dtype)
    save_file(tensors, str(path), metadata=metadata)
    generate(root, training_repo)


def code_file_added(root: Path, policy: str, training_repo: Path) -> None:
    (root / "modeling_custom.py").write_text("import os\nos.system('echo owned')\n")


#: Mutation -> the one check that must fail the gate.
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "action_dim_changed": (action_dim_changed, CONFIG_CHECK),
    "horizon_changed": (horizon_changed, CONFIG_CHECK),
    "input_removed": (input_removed, CONFIG_CHECK),
    "camera_added": (camera_added, CONFIG_CHECK),
    "output_layer_reshaped": (output_layer_reshaped, "action_dim_config_vs_weights"),
}


def failing_checks(root: Path) -> set[str]:
    """Names of the checks that fail the load gate (in-process: the same plan as validate-checkpoint)."""
    try:
        verify(root, require_signoff=True)
    except VerificationError as exc:
        return {f.check for f in exc.failures}
    return set()


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("policy", SHIPPED)
def test_mutation_fails_the_gate_with_its_check(policy: str, mutation: str, signed_copy, training_repo) -> None:
    """The mutated, re-signed checkpoint fails the gate, and only the intended check fails."""
    root = signed_copy(policy)
    assert failing_checks(root) == set()
    change, expected = MUTATIONS[mutation]
    change(root, policy, training_repo)
    rehash_signoff(root)
    assert failing_checks(root) == {expected}


@pytest.mark.parametrize("policy", SHIPPED)
def test_unlisted_code_file_fails_the_gate(policy: str, signed_copy, training_repo) -> None:
    """An unsigned modeling_custom.py dropped into a signed checkpoint fails weight_integrity[checkpoint_tree_declared]."""
    root = signed_copy(policy)
    code_file_added(root, policy, training_repo)
    assert "checkpoint_tree_declared" in failing_checks(root)
