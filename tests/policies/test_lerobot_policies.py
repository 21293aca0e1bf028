"""Every shipped LeRobot 0.6.1 policy signs and passes the gate, with the facts lerobot states."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_passport import load_passport, schema
from pytest_passport.schema import Passport

from .conftest import REASON
from .readme_values import SHIPPED, Expected, shipped


@pytest.mark.parametrize("policy", SHIPPED)
def test_policy_signs_and_passes_the_gate(policy: str, signed: Callable[[str], Path], cli) -> None:
    """generate-passport → validate (no hard failure) → sign → validate-checkpoint --require-signoff exits 0."""
    root = signed(policy)
    signoff = json.loads((root / schema.SIGNOFF_FILENAME).read_text())
    assert (signoff["verdict"], signoff["verdict_reason"]) == ("soft_signal", REASON)
    result = cli("validate-checkpoint", root, "--require-signoff")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines([f"LOADABLE *{root.name}"])


@pytest.mark.parametrize("policy", ["xvla", "tdmpc"])
def test_policy_signs_and_passes_the_gate_under_xdist(policy: str, copy_policy, training_repo, cli) -> None:
    """The same chain with -n 2 (hashing spread over two workers) signs and passes the gate."""
    from .conftest import generate

    root = copy_policy(policy)
    generate(root, training_repo)
    signed = cli("sign-checkpoint", root, "-n", "2", "--reason", REASON)
    assert signed.ret == 0, signed.stdout.str() + signed.stderr.str()
    gate = cli("validate-checkpoint", root, "--require-signoff", "-n", "2")
    assert gate.ret == 0, gate.stdout.str()


def recorded(passport: Passport) -> dict[str, Any]:
    """The facts the README states, as the passport records them."""
    contract, output = passport.input_contract, passport.output_spec
    images = contract.images or []
    environment = contract.extra.get("environment_state")
    modes = {"observation.state": contract.state.normalization["type"], "action": contract.actions.normalization["type"]}
    if images:
        kinds = {image.normalization["type"] for image in images}
        assert len(kinds) == 1
        modes["images"] = kinds.pop()
    if environment:
        modes["observation.environment_state"] = environment["normalization"]["type"]
    temporal = contract.temporal
    return {
        "class_name": passport.model_identity.class_name,
        "horizon": contract.actions.horizon,
        "output_horizon": output.actions.horizon,
        "executed_steps": output.inference_parameters.chunks_executed_per_inference,
        "n_obs_steps": temporal.n_obs_steps,
        "observation_deltas": temporal.observation_delta_indices,
        "action_deltas": temporal.extra.get("action_delta_indices"),
        "cameras": sorted(image.key for image in images),
        "resize": sorted({json.dumps(image.encoder_resize) for image in images}),
        "crop": sorted({json.dumps(image.crop) for image in images}),
        "resize_step": any(step.name == "resize_images" for step in passport.transform_pipeline or []),
        "normalization": modes,
        "padding": (contract.state.extra.get("padded_dim"), contract.actions.extra.get("padded_dim")),
    }


def expected(truth: Expected) -> dict[str, Any]:
    cameras = truth.cameras
    return {
        "class_name": truth.class_name,
        "horizon": truth.horizon,
        "output_horizon": truth.horizon,
        "executed_steps": truth.executed_steps,
        "n_obs_steps": truth.config["n_obs_steps"],
        "observation_deltas": truth.observation_deltas,
        "action_deltas": truth.action_deltas,
        "cameras": cameras,
        "resize": [json.dumps(truth.resize)] if cameras else [],
        "crop": ["null"] if cameras else [],
        "resize_step": truth.resize is not None,
        "normalization": truth.feature_normalization(),
        "padding": truth.padding,
    }


@pytest.mark.parametrize("policy", SHIPPED)
def test_recorded_facts_equal_lerobots(policy: str, signed: Callable[[str], Path]) -> None:
    """Horizon, executed steps, n_obs_steps, delta indices, crop/resize, normalization and padding are lerobot's."""
    passport = load_passport(signed(policy))
    assert recorded(passport) == expected(shipped()[policy])


def test_image_normalization_inside_a_processor_step_is_recorded(signed: Callable[[str], Path]) -> None:
    """X-VLA's images are ImageNet-normalized by xvla_imagenet_normalize, not passed through as IDENTITY."""
    image = load_passport(signed("xvla")).input_contract.images[0]
    assert image.normalization["stats"] == "imagenet"
    assert image.normalization["mean"] == [0.485, 0.456, 0.406]
    assert image.normalization["applied_by"] == "policy_preprocessor.json steps[4] (xvla_imagenet_normalize)"


def test_tdmpc_records_repeats_and_a_planning_horizon(signed: Callable[[str], Path]) -> None:
    """TD-MPC's n_action_repeats and the planning nature of its horizon are recorded."""
    parameters = load_passport(signed("tdmpc")).output_spec.inference_parameters
    assert parameters.extra == {"action_repeats": 1, "horizon_kind": "planning"}


def test_single_step_policy_records_no_chunk(signed: Callable[[str], Path]) -> None:
    """The Gaussian actor returns one action per call: single_step aggregation, [1, dim] output."""
    passport = load_passport(signed("gaussian_actor"))
    assert passport.output_spec.inference_parameters.chunk_aggregation == "single_step"
    assert passport.model_internals.forward_graph.sample_output_shapes == {"action": [1, 7]}


def test_checkpoint_without_passport_is_never_loadable(copy_policy, cli) -> None:
    """A real checkpoint with no MODEL_PASSPORT.json exits 1 even without --require-signoff, saying what to run."""
    result = cli("validate-checkpoint", copy_policy("act"))
    assert result.ret == 1
    assert "run generate-passport" in result.stdout.str()
    result.stdout.fnmatch_lines(["DO NOT LOAD *act"])


def test_unknown_policy_type_gets_generic_rules_and_a_soft_signal(copy_policy, training_repo, capsys) -> None:
    """A type missing from the table is generated and validated by generic rules: soft signals name it, no failure."""
    from pytest_passport import verify

    from .conftest import generate

    root = copy_policy("act")
    config = json.loads((root / "config.json").read_text())
    config["type"] = "act_from_a_plugin"
    (root / "config.json").write_text(json.dumps(config))
    generate(root, training_repo)
    assert "LeRobot policy type 'act_from_a_plugin' is unknown to this tool" in capsys.readouterr().err
    report = verify(root, require_signoff=False)
    soft = {f.check: f.message for f in report.soft_signals}
    assert "'act_from_a_plugin' is not in this tool's table" in soft["action_dim_config_vs_weights"]
    passport = load_passport(root)
    assert passport.input_contract.actions.horizon == 12
    assert passport.model_identity.class_name is None
