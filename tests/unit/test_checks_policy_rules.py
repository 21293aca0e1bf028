"""The policy-table rules of action_dim_config_vs_weights, horizon_consistency and the contract checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_passport import policies
from pytest_passport.checks.input_contract import input_contract_vs_config
from pytest_passport.checks.model_config import horizon_consistency
from pytest_passport.checks.model_internals import action_dim_config_vs_weights
from pytest_passport.checks.provenance import passport_creation_repo_commit_format
from pytest_passport.findings import Status

#: Every type lerobot 0.6 registers (issue list), plus the 0.4/0.5 name ``sac``.
LEROBOT_TYPES = ("act", "diffusion", "vqbet", "tdmpc", "gaussian_actor", "multi_task_dit", "smolvla", "xvla", "pi0",
                 "pi05", "pi0_fast", "groot", "eo1", "evo1", "fastwam", "lingbot_va", "molmoact2", "vla_jepa", "wall_x",
                 "sac")


def config(policy_type: str | None, action_dim: int = 7, **fields: Any) -> dict[str, Any]:
    out = {"input_features": {"observation.state": {"type": "STATE", "shape": [8]}},
           "output_features": {"action": {"type": "ACTION", "shape": [action_dim]}}, **fields}
    if policy_type is not None:
        out["type"] = policy_type
    return out


def weights(shapes: dict[str, tuple[int, ...]]) -> dict[str, dict[str, np.ndarray]]:
    return {"model.safetensors": {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}}


def test_table_covers_every_registered_type() -> None:
    """Each lerobot type has a class path and says which lerobot it was read from."""
    for name in LEROBOT_TYPES:
        entry = policies.lookup(name)
        assert entry is not None and entry.class_name and entry.read_from, name
    assert policies.lookup("no_such_policy") is None


def test_chw_hwc_round_trip() -> None:
    """C,H,W <-> H,W,C conversions invert each other; names decide the dataset order."""
    assert policies.hwc_to_chw([64, 80, 3]) == [3, 64, 80]
    assert policies.chw_to_hwc([3, 64, 80]) == [64, 80, 3]
    assert policies.dataset_image_chw([64, 80, 3], ["height", "width", "channels"]) == [3, 64, 80]
    assert policies.dataset_image_chw([3, 64, 80], ["channels", "height", "width"]) == [3, 64, 80]


@pytest.mark.parametrize(
    ("policy_type", "fields", "tensors", "status", "text"),
    [
        ("vqbet", {"action_chunk_size": 5}, {"vqbet.action_head.vqvae_model.decoder.0.weight": (16, 8),
                                             "vqbet.action_head.vqvae_model.decoder.4.weight": (35, 16)},
         Status.PASS, "action_chunk_size x action dim"),
        ("vqbet", {"action_chunk_size": 5}, {"vqbet.action_head.vqvae_model.decoder.4.weight": (36, 16)},
         Status.FAIL, "has 36 on axis 0"),
        ("smolvla", {"max_action_dim": 32}, {"model.action_out_proj.weight": (32, 48)}, Status.PASS, "padded"),
        ("smolvla", {"max_action_dim": 32}, {"model.action_out_proj.weight": (7, 48)}, Status.PASS, "carries"),
        ("smolvla", {"max_action_dim": 32}, {"model.action_out_proj.weight": (33, 48)}, Status.FAIL, "accepted: [7, 32]"),
        ("tdmpc", {}, {"model._pi.0.weight": (24, 12), "model._pi.6.weight": (6, 24)}, Status.FAIL, "model._pi.6.weight"),
        ("act", {}, {"model.final_proj.weight": (7, 32)}, Status.PASS, "model.final_proj.weight"),
        ("pi0", {}, {"model.vlm.lm_head.weight": (64, 64)}, Status.SOFT_SIGNAL, "no evidence against the weights"),
        (None, {}, {"encoder.weight": (7, 8)}, Status.NOT_CHECKED, "no output layer identifiable"),
        ("my_policy", {}, {"policy.head.weight": (7, 32)}, Status.SOFT_SIGNAL, "'my_policy' is not in this tool's table"),
    ],
)
def test_action_dim_rules(make_checkpoint, run_check, policy_type, fields, tensors, status, text) -> None:
    """Only the known output layer of a type fails; padding and steps x dim are accepted; unknowns are soft."""
    root = make_checkpoint(config=config(policy_type, **fields), tensors=weights(tensors))
    finding = run_check(action_dim_config_vs_weights, root)
    assert finding.status is status, finding.message
    assert text in finding.message


@pytest.mark.parametrize(
    ("policy_type", "fields", "status", "text"),
    [
        ("gaussian_actor", {}, Status.PASS, "single-step policy"),
        ("sac", {}, Status.PASS, "single-step policy"),
        ("act", {"horizon": 10, "n_action_steps": 5}, Status.FAIL, "reads its chunk length from chunk_size"),
        ("act", {}, Status.FAIL, "declares no chunk_size"),
        ("vqbet", {"action_chunk_size": 5}, Status.PASS, "horizon 5"),
        ("tdmpc", {"horizon": 4, "n_action_steps": 5}, Status.FAIL, "n_action_steps 5 > planning horizon 4"),
        ("tdmpc", {"horizon": 4, "n_action_steps": 2, "n_action_repeats": 0}, Status.FAIL, "n_action_repeats 0"),
        ("my_policy", {}, Status.SOFT_SIGNAL, "'my_policy' is not in this tool's table"),
        ("my_policy", {"chunk_size": 4, "n_action_steps": 4}, Status.PASS, "horizon 4"),
    ],
)
def test_horizon_rules(make_checkpoint, run_check, policy_type, fields, status, text) -> None:
    """Single-step types have no chunk; a type's own key is required; executed steps fit the chunk."""
    finding = run_check(horizon_consistency, make_checkpoint(config=config(policy_type, **fields)))
    assert finding.status is status, finding.message
    assert text in finding.message


ENV_CONFIG = config("act", chunk_size=10, input_features={
    "observation.state": {"type": "STATE", "shape": [8]},
    "observation.environment_state": {"type": "ENV", "shape": [4]},
})


def contract(environment: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"state": {"total_dim": 8}, "actions": {"total_dim": 7, "horizon": 10}, **extra}
    if environment is not None:
        block["environment_state"] = environment
    return {"input_contract": block}


@pytest.mark.parametrize(
    ("claims", "status", "text"),
    [
        (contract({"key": "observation.environment_state", "total_dim": 4, "shape": [4]}), Status.PASS, "agrees"),
        (contract(), Status.FAIL, "config feature observation.environment_state [4] has no entry"),
        (contract({"key": "observation.environment_state", "total_dim": 5, "shape": [5]}), Status.FAIL, "[5] != config"),
        (contract({"key": "observation.environment_state", "total_dim": 4},
                  other_inputs=[{"key": "observation.extra", "shape": [2]}]), Status.FAIL,
         "'observation.extra' is not a feature of the config"),
    ],
)
def test_contract_and_config_agree_both_ways(make_checkpoint, run_check, claims, status, text) -> None:
    """Every config feature has a contract entry of its shape, and every extension entry is a config feature."""
    finding = run_check(input_contract_vs_config, make_checkpoint(claims, config=ENV_CONFIG))
    assert finding.status is status, finding.message
    assert text in finding.message


@pytest.mark.parametrize(
    ("provenance", "status", "text"),
    [
        ({"passport_creation_tool_version": "pytest-passport==0.1.0"}, Status.PASS, "installed from a release"),
        ({"passport_creation_tool_version": "pytest-passport==not a version"}, Status.FAIL, "is not <distribution>==<version>"),
        ({"passport_creation_tool_version": "pytest-passport==0.1.0", "passport_creation_repo_commit": "XYZ"},
         Status.FAIL, "is not 7-40 lowercase hex"),
        ({}, Status.FAIL, "passport_creation_repo_commit is missing"),
    ],
)
def test_released_tool_version_stands_in_for_the_commit(make_checkpoint, run_check, provenance, status, text) -> None:
    """A recorded released version passes where the tool commit is absent; malformed values still fail."""
    finding = run_check(passport_creation_repo_commit_format, make_checkpoint({"provenance": provenance}))
    assert finding.status is status, finding.message
    assert text in finding.message
