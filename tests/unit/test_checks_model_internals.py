"""Unit tests for the model_internals checks."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_passport.checks.model_internals import (
    action_dim_config_vs_weights,
    determinism_recorded,
    external_pretrained_assets_pinned,
    internals_vs_weight_files,
    no_nan_inf_recorded,
    state_dict_completeness,
)
from pytest_passport.findings import Status

NORMALIZER = "policy_preprocessor_step_3_normalizer_processor.safetensors"


def internals(**fields: object) -> dict[str, object]:
    return {"model_internals": fields}


# --------------------------------------------------------------------------- internals_vs_weight_files


def test_internals_without_passport_is_not_checked(make_checkpoint, run_check, weights):
    """No passport → not_checked even with weights on disk."""
    finding = run_check(internals_vs_weight_files, make_checkpoint(tensors={"model.safetensors": weights.act()}))
    assert finding.status is Status.NOT_CHECKED
    assert "MODEL_PASSPORT.json" in finding.message


def test_internals_count_matches(make_checkpoint, run_check, weights):
    """expected_keys_count equal to the header tensor count passes."""
    root = make_checkpoint(internals(state_dict={"expected_keys_count": 3}), tensors={"model.safetensors": weights.act()})
    finding = run_check(internals_vs_weight_files, root)
    assert finding.status is Status.PASS
    assert finding.details["tensors_found"] == 3


def test_internals_count_mismatch_fails(make_checkpoint, run_check, weights):
    """A different expected_keys_count fails with both numbers."""
    root = make_checkpoint(internals(state_dict={"expected_keys_count": 412}), tensors={"model.safetensors": weights.act()})
    finding = run_check(internals_vs_weight_files, root)
    assert finding.status is Status.FAIL
    assert "expected_keys_count 412 != 3" in finding.message
    assert finding.details["expected_keys_count"] == 412


def test_internals_lerobot_normalizer_not_counted(make_checkpoint, run_check, weights):
    """With a LeRobot normalizer file, the model-only count and the reference total both pass."""
    tensors = {"model.safetensors": weights.act(), NORMALIZER: weights.normalizer({"action": 6, "observation.state": 6})}
    files = {"policy_preprocessor.json": '{"steps": [{"state_file": "%s"}]}' % NORMALIZER}
    for expected in (3, 7):
        root = make_checkpoint(internals(state_dict={"expected_keys_count": expected}), tensors=tensors, files=files)
        finding = run_check(internals_vs_weight_files, root)
        assert finding.status is Status.PASS
        assert finding.details["model_tensors_found"] == 3 and finding.details["tensors_found"] == 7


def test_internals_nothing_known_is_not_checked(make_checkpoint, run_check):
    """Neither an expected count nor any tensor → not_checked."""
    finding = run_check(internals_vs_weight_files, make_checkpoint(internals()))
    assert finding.status is Status.NOT_CHECKED
    assert "expected_keys_count" in finding.message


# --------------------------------------------------------------------------- state_dict_completeness


def test_state_dict_empty_is_not_checked(make_checkpoint, run_check):
    """An empty state_dict block → not_checked."""
    finding = run_check(state_dict_completeness, make_checkpoint(internals(state_dict={})))
    assert finding.status is Status.NOT_CHECKED
    assert "state_dict is empty" in finding.message


def test_state_dict_missing_keys_fail(make_checkpoint, run_check):
    """Recorded missing/unexpected keys fail and are listed in details."""
    root = make_checkpoint(internals(state_dict={"missing_keys": ["head.weight"], "unexpected_keys": ["old.bias"]}))
    finding = run_check(state_dict_completeness, root)
    assert finding.status is Status.FAIL
    assert "1 missing key(s), 1 unexpected key(s)" in finding.message
    assert finding.details["missing_keys"] == ["head.weight"]


def test_state_dict_clean_passes(make_checkpoint, run_check):
    """Empty key lists with counts pass (counts are not compared)."""
    root = make_checkpoint(internals(state_dict={"expected_keys_count": 3, "found_keys_count": 2, "missing_keys": []}))
    finding = run_check(state_dict_completeness, root)
    assert finding.status is Status.PASS
    assert finding.details["n_missing"] == 0


# --------------------------------------------------------------------------- numerical health


@pytest.mark.parametrize(("function", "block"), [(no_nan_inf_recorded, "no_nan_inf"), (determinism_recorded, "determinism")])
@pytest.mark.parametrize(
    ("record", "status"),
    [(None, Status.NOT_CHECKED), ({"passed": True, "max_abs_diff": 0.0}, Status.PASS),
     ({"passed": False}, Status.FAIL), ({"passed": "true"}, Status.FAIL), ({"max_abs_diff": 0.0}, Status.FAIL)],
)
def test_numerical_health_blocks(make_checkpoint, run_check, function, block, record, status):
    """passed must be exactly true; absent block → not_checked; anything else fails."""
    health = {block: record} if record is not None else {}
    finding = run_check(function, make_checkpoint(internals(numerical_health=health)))
    assert finding.status is status
    assert f"numerical_health.{block}" in finding.message
    assert finding.details.get("record") == record


def test_numerical_health_record_keys_cannot_clash(make_checkpoint, run_check):
    """A record with keys like "message"/"check" is reported, not crashed on."""
    record = {"passed": False, "message": "nan in layer 3", "check": "x"}
    finding = run_check(no_nan_inf_recorded, make_checkpoint(internals(numerical_health={"no_nan_inf": record})))
    assert finding.status is Status.FAIL
    assert finding.details["record"]["message"] == "nan in layer 3"


# --------------------------------------------------------------------------- external_pretrained_assets_pinned


@pytest.mark.parametrize(
    ("assets", "status", "text"),
    [
        ([], Status.PASS, "no external pretrained assets"),
        ([{"submodule": "vision", "source_identifier": "resnet18.a1_in1k"}], Status.PASS, "1 pretrained asset(s) pinned"),
        ([{"submodule": "vision", "source_revision": "a" * 40}], Status.PASS, "pinned"),
        ([{"submodule": "vision", "source": "timm"}], Status.FAIL, "unpinned: vision"),
        ([{"submodule": "text", "source_identifier": "clip", "source_revision": "main"}], Status.FAIL, "malformed revision"),
    ],
)
def test_pretrained_assets(make_checkpoint, run_check, assets, status, text):
    """Pinned by commit or identifier passes; unpinned or malformed revisions fail."""
    finding = run_check(external_pretrained_assets_pinned, make_checkpoint(internals(pretrained_provenance=assets)))
    assert finding.status is status
    assert text in finding.message


def test_pretrained_legacy_timm_string_counts(make_checkpoint, run_check):
    """Legacy timm_string is read as source_identifier and pins the asset."""
    root = make_checkpoint(internals(pretrained_provenance=[{"submodule": "vision", "timm_string": "resnet18"}]))
    finding = run_check(external_pretrained_assets_pinned, root)
    assert finding.status is Status.PASS
    assert finding.details["assets"] == ["vision"]


# --------------------------------------------------------------------------- action_dim_config_vs_weights


def test_action_head_weight_found(make_checkpoint, run_check, act_config, weights):
    """The ACT head weight [6, 64] carries the action dim (preferred over the bias)."""
    finding = run_check(action_dim_config_vs_weights, make_checkpoint(config=act_config, tensors={"model.safetensors": weights.act()}))
    assert finding.status is Status.PASS
    assert finding.details["tensor"] == "model.action_head.weight"
    assert finding.details["shape"] == [6, 64]


def test_action_head_mismatch_fails_ignoring_normalizer_stats(make_checkpoint, run_check, act_config, weights):
    """A head of the wrong size fails even when normalizer stats hold action.* tensors of the right size."""
    tensors = {"model.safetensors": weights.act(action_dim=7), NORMALIZER: {"action_head.mean": np.zeros(6, np.float32)}}
    files = {"policy_preprocessor.json": '{"steps": [{"state_file": "%s"}]}' % NORMALIZER}
    finding = run_check(action_dim_config_vs_weights, make_checkpoint(config=act_config, tensors=tensors, files=files))
    assert finding.status is Status.FAIL
    assert "output layer model.action_head.weight [7, 64] has 7" in finding.message
    assert "output_features.action is 6" in finding.message
    assert finding.details["tensor"] == "model.action_head.weight"


def test_action_dim_without_config_is_not_checked(make_checkpoint, run_check, weights):
    """A config-less bundle (Metta: policy_spec.json + weights) → not_checked (spec §8.4)."""
    root = make_checkpoint(tensors={"weights.safetensors": weights.act()}, files={"policy_spec.json": '{"class_path": "x.Y"}'})
    finding = run_check(action_dim_config_vs_weights, root)
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == "no config.json"


def test_action_dim_unparseable_config_fails(make_checkpoint, run_check, weights):
    """A config.json that is not JSON fails naming the file."""
    finding = run_check(action_dim_config_vs_weights, make_checkpoint(config="{not json", tensors={"model.safetensors": weights.act()}))
    assert finding.status is Status.FAIL
    assert finding.message.startswith("config.json cannot be parsed")


def test_action_dim_missing_in_policy_config_fails(make_checkpoint, run_check, act_config, weights):
    """A policy config without output_features.action fails."""
    del act_config["output_features"]
    finding = run_check(action_dim_config_vs_weights, make_checkpoint(config=act_config, tensors={"model.safetensors": weights.act()}))
    assert finding.status is Status.FAIL
    assert "declares no output_features.action.shape" in finding.message


def test_action_dim_non_policy_config_is_not_checked(make_checkpoint, run_check, weights):
    """A HF LLM config (architectures only) is not a policy config → not_checked."""
    root = make_checkpoint(config={"architectures": ["Qwen2ForCausalLM"]}, tensors={"model.safetensors": weights.act()})
    finding = run_check(action_dim_config_vs_weights, root)
    assert finding.status is Status.NOT_CHECKED
    assert "not a policy config" in finding.message
