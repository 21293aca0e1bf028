"""Unit tests for the input_contract checks and the static config/stats checks."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_passport.checks.input_contract import (
    camera_identity,
    input_contract_vs_config,
    input_contract_vs_dataset,
    input_contract_vs_norm_stats,
    training_datasets_present,
    training_datasets_resolvable,
)
from pytest_passport.checks.model_config import horizon_consistency, image_keys_declared, norm_stats_vs_config, state_dim_consistency
from pytest_passport.findings import Status

FIXTURES = Path(__file__).parent.parent / "fixtures"
NORMALIZER = "policy_preprocessor_step_3_normalizer_processor.safetensors"
UNNORMALIZER = "policy_postprocessor_step_0_unnormalizer_processor.safetensors"
PROCESSORS = {
    "policy_preprocessor.json": json.dumps({"steps": [{"registry_name": "normalizer_processor", "state_file": NORMALIZER}]}),
}


def contract(**fields: Any) -> dict[str, Any]:
    return {"input_contract": fields}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def act_state_only(tmp_path: Path) -> Path:
    """A writable copy of the state-only LeRobot ACT fixture (STATE + ENV features, no images)."""
    target = tmp_path / "act_state_only"
    shutil.copytree(FIXTURES / "lerobot" / "act_state_only", target)
    return target


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A writable copy of the synthetic LeRobotDataset metadata (features in H,W,C)."""
    target = tmp_path / "synthetic_robot"
    shutil.copytree(FIXTURES / "lerobot" / "synthetic_robot", target)
    return target


# --------------------------------------------------------------------------- input_contract_vs_config

MATCHING = contract(
    images=[{"key": "observation.images.front", "raw_shape": [3, 96, 128]}],
    state={"total_dim": 6},
    actions={"total_dim": 6, "horizon": 10},
)


def test_vs_config_matching_passes(make_checkpoint, run_check, act_config):
    """Passport claims reflected by the config pass."""
    finding = run_check(input_contract_vs_config, make_checkpoint(MATCHING, config=act_config))
    assert finding.status is Status.PASS
    assert finding.details["config"] == "config.json"


def test_vs_config_without_config_is_not_checked(make_checkpoint, run_check):
    """A config-less checkpoint → not_checked (spec §8.4)."""
    finding = run_check(input_contract_vs_config, make_checkpoint(MATCHING))
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == "no config.json"


def test_vs_config_unparseable_config_fails(make_checkpoint, run_check):
    """An unparseable config.json fails naming the file."""
    finding = run_check(input_contract_vs_config, make_checkpoint(MATCHING, config="[1, 2"))
    assert finding.status is Status.FAIL
    assert "config.json cannot be parsed" in finding.message


@pytest.mark.parametrize(
    ("claims", "kind", "text"),
    [
        (contract(images=[{"key": "observation.images.top"}]), "image_key_missing_from_config",
         "'observation.images.top' is not an image key of config.json"),
        (contract(images=[{"key": "observation.images.front", "raw_shape": [3, 240, 320]}]), "image_shape_mismatch",
         "raw_shape [3, 240, 320] != config.json"),
        (contract(state={"total_dim": 8}), "state_total_dim_mismatch", "input_contract.state.total_dim 8 != config.json"),
        (contract(actions={"total_dim": 7}), "action_total_dim_mismatch", "input_contract.actions.total_dim 7 != config.json"),
        (contract(actions={"horizon": 16}), "action_horizon_mismatch", "input_contract.actions.horizon 16 != config.json chunk_size 10"),
    ],
)
def test_vs_config_mismatches_fail(make_checkpoint, run_check, act_config, claims, kind, text):
    """Each mismatch kind fails with a message naming the field and the config key."""
    finding = run_check(input_contract_vs_config, make_checkpoint(claims, config=act_config))
    assert finding.status is Status.FAIL
    assert text in finding.message
    assert finding.details["mismatches"][0]["kind"] == kind


def test_vs_config_ignores_n_action_steps(make_checkpoint, run_check, act_config):
    """horizon 16 with n_action_steps 8 matches a passport horizon of 16 (spec §8.5 fix)."""
    del act_config["chunk_size"]
    act_config.update(type="diffusion", horizon=16, n_action_steps=8)
    claims = copy.deepcopy(MATCHING)
    claims["input_contract"]["actions"]["horizon"] = 16
    finding = run_check(input_contract_vs_config, make_checkpoint(claims, config=act_config))
    assert finding.status is Status.PASS
    assert "agrees with config.json" in finding.message


# --------------------------------------------------------------------------- input_contract_vs_norm_stats


def normalized(side: str, **norm: Any) -> dict[str, Any]:
    return contract(**{side: {"normalization": norm}})


def test_norm_stats_json_source_passes(make_checkpoint, run_check):
    """A JSON stats file whose metadata dim and sha match passes."""
    stats = json.dumps({"metadata": {"state_dim": 8, "action_dim": 7}}).encode()
    passport = contract(
        state={"normalization": {"source": "policy_stats.json", "stats_dim": 8, "stats_fingerprint": {"file_sha256": sha(stats)}}},
        actions={"normalization": {"source": "policy_stats.json", "stats_dim": 7}},
    )
    finding = run_check(input_contract_vs_norm_stats, make_checkpoint(passport, files={"policy_stats.json": stats}))
    assert finding.status is Status.PASS
    assert finding.details["checked"] == ["state", "actions"]


def test_norm_stats_safetensors_source(make_checkpoint, run_check, weights):
    """A LeRobot normalizer safetensors source: stats_dim compared with action.mean's shape."""
    tensors = {NORMALIZER: weights.normalizer({"action": 6, "observation.state": 6})}
    ok = run_check(input_contract_vs_norm_stats, make_checkpoint(normalized("actions", source=NORMALIZER, stats_dim=6), tensors=tensors))
    assert ok.status is Status.PASS
    bad = run_check(input_contract_vs_norm_stats, make_checkpoint(normalized("state", source=NORMALIZER, stats_dim=7), tensors=tensors))
    assert bad.status is Status.FAIL
    assert bad.details["problems"][0]["kind"] == "dim_mismatch"
    assert f"stats_dim 7 != {NORMALIZER} dim 6" in bad.message


@pytest.mark.parametrize(
    ("norm", "files", "status", "kind"),
    [
        ({"type": "min_max"}, {}, Status.SOFT_SIGNAL, "missing_source"),
        ({"source": "../../etc/stats.json"}, {}, Status.FAIL, "source_outside_root"),
        ({"source": "/etc/hostname"}, {}, Status.FAIL, "source_outside_root"),
        ({"source": "policy_stats.json"}, {}, Status.FAIL, "source_file_missing"),
        ({"source": "policy_stats.json"}, {"policy_stats.json": "{oops"}, Status.FAIL, "source_unreadable"),
        ({"source": "norm.safetensors"}, {"norm.safetensors": b"\x05not a header"}, Status.FAIL, "source_unreadable"),
        ({"source": "policy_stats.json", "stats_dim": 7}, {"policy_stats.json": '{"action_dim": 6}'}, Status.FAIL, "dim_mismatch"),
        ({"source": "policy_stats.json", "stats_fingerprint": {"file_sha256": "0" * 64}}, {"policy_stats.json": "{}"},
         Status.FAIL, "fingerprint_sha_mismatch"),
    ],
)
def test_norm_stats_problems(make_checkpoint, run_check, norm, files, status, kind):
    """Each finding kind with its severity; escaping sources are hard failures."""
    finding = run_check(input_contract_vs_norm_stats, make_checkpoint(normalized("actions", **norm), files=files))
    assert finding.status is status
    assert finding.details["problems"][0]["kind"] == kind
    assert "input_contract.actions.normalization" in finding.message


def test_norm_stats_nothing_declared_passes(make_checkpoint, run_check):
    """No normalization descriptors → pass with a message saying so."""
    finding = run_check(input_contract_vs_norm_stats, make_checkpoint(contract(state={"total_dim": 6})))
    assert finding.status is Status.PASS
    assert finding.message == "no state/actions normalization declared"


# --------------------------------------------------------------------------- input_contract_vs_dataset

DATASET_CLAIMS = contract(
    images=[{"key": "observation.images.front", "raw_shape": [3, 96, 128]},
            {"key": "observation.images.wrist", "raw_shape": [3, 96, 128]}],
    state={"total_dim": 6, "sub_keys": [{"key": "arm_joint_positions", "dim": 6}]},
    actions={"total_dim": 6},
    training_datasets=[{"repo": "example-lab/synthetic-robot", "commit": "c" * 40}],
)


def test_dataset_not_found_is_not_checked(make_checkpoint, run_check):
    """Neither --dataset-path nor a cached snapshot → not_checked."""
    finding = run_check(input_contract_vs_dataset, make_checkpoint(DATASET_CLAIMS))
    assert finding.status is Status.NOT_CHECKED
    assert "--dataset-path" in finding.message


def test_dataset_matching_passes_without_sub_key_lookup(make_checkpoint, run_check, dataset):
    """Keys and shapes match (H,W,C vs C,H,W); state sub_keys are component names (spec §8.15 fix)."""
    finding = run_check(input_contract_vs_dataset, make_checkpoint(DATASET_CLAIMS), dataset_path=dataset)
    assert finding.status is Status.PASS
    assert finding.details["missing_keys"] == []
    assert finding.details["dataset"] == str(dataset)


def test_dataset_key_rename_map_is_inverted(make_checkpoint, run_check, dataset):
    """Model keys are translated back to dataset keys through key_rename_map (dataset → model)."""
    claims = contract(images=[{"key": "observation.images.top", "raw_shape": [3, 96, 128]}],
                      training_datasets=[{"repo": "example-lab/synthetic-robot",
                                          "key_rename_map": {"observation.images.front": "observation.images.top"}}])
    finding = run_check(input_contract_vs_dataset, make_checkpoint(claims), dataset_path=dataset)
    assert finding.status is Status.PASS
    assert "found in" in finding.message


def test_dataset_missing_key_fails(make_checkpoint, run_check, dataset):
    """An image key absent from meta/info.json features fails naming it."""
    finding = run_check(input_contract_vs_dataset, make_checkpoint(contract(images=[{"key": "observation.images.top"}])),
                        dataset_path=dataset)
    assert finding.status is Status.FAIL
    assert finding.details["missing_keys"] == ["observation.images.top"]
    assert "observation.images.top" in finding.message


def test_dataset_state_required_when_declared(make_checkpoint, run_check, dataset):
    """Without observation.state in the dataset, the state sub-keys are looked up (reference layout)."""
    info = json.loads((dataset / "meta" / "info.json").read_text())
    del info["features"]["observation.state"]
    (dataset / "meta" / "info.json").write_text(json.dumps(info))
    finding = run_check(input_contract_vs_dataset, make_checkpoint(DATASET_CLAIMS), dataset_path=dataset)
    assert finding.status is Status.FAIL
    assert finding.details["missing_keys"] == ["arm_joint_positions"]


def test_dataset_image_shape_mismatch_fails(make_checkpoint, run_check, dataset):
    """raw_shape (C,H,W) not matching the dataset's H,W,C shape fails."""
    claims = contract(images=[{"key": "observation.images.front", "raw_shape": [3, 128, 96]}])
    finding = run_check(input_contract_vs_dataset, make_checkpoint(claims), dataset_path=dataset)
    assert finding.status is Status.FAIL
    assert "raw_shape [3, 128, 96] != dataset observation.images.front shape [96, 128, 3]" in finding.message


def test_dataset_state_dim_differs_is_soft(make_checkpoint, run_check, dataset):
    """State total_dim different from the dataset's (rotation expansion) is a soft signal."""
    finding = run_check(input_contract_vs_dataset, make_checkpoint(contract(state={"total_dim": 9})), dataset_path=dataset)
    assert finding.status is Status.SOFT_SIGNAL
    assert "state.total_dim 9 != dataset observation.state shape[0] 6" in finding.message


def test_dataset_action_dim_differs_fails(make_checkpoint, run_check, dataset):
    """Action total_dim different from the dataset's action shape fails."""
    finding = run_check(input_contract_vs_dataset, make_checkpoint(contract(actions={"total_dim": 7})), dataset_path=dataset)
    assert finding.status is Status.FAIL
    assert "actions.total_dim 7 != dataset action shape[0] 6" in finding.message


def test_dataset_info_missing_is_soft_and_invalid_fails(make_checkpoint, run_check, tmp_path):
    """meta/info.json missing → soft; present but not JSON → fail."""
    empty = tmp_path / "empty_ds"
    empty.mkdir()
    root = make_checkpoint(DATASET_CLAIMS)
    missing = run_check(input_contract_vs_dataset, root, dataset_path=empty)
    assert missing.status is Status.SOFT_SIGNAL
    assert "info.json is missing" in missing.message
    (empty / "meta").mkdir()
    (empty / "meta" / "info.json").write_text("{nope")
    invalid = run_check(input_contract_vs_dataset, root, dataset_path=empty)
    assert invalid.status is Status.FAIL
    assert "info.json is unreadable" in invalid.message


def test_dataset_found_in_hub_cache(make_checkpoint, run_check, dataset, tmp_path, monkeypatch):
    """training_datasets[0] is found at its commit in the hub cache huggingface_hub resolved."""
    from huggingface_hub import constants

    hub = tmp_path / "hfhome" / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    snapshots = hub / "datasets--example-lab--synthetic-robot" / "snapshots"
    shutil.copytree(dataset, snapshots / ("c" * 40))
    (snapshots / ("d" * 40)).mkdir()
    finding = run_check(input_contract_vs_dataset, make_checkpoint(DATASET_CLAIMS))
    assert finding.status is Status.PASS
    assert finding.details["dataset"] == str(snapshots / ("c" * 40))


def test_hub_cache_follows_hf_home_in_a_fresh_process(tmp_path):
    """A fresh interpreter with HF_HOME set resolves HF_HOME/hub (huggingface_hub reads it at import)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    env["HF_HOME"] = str(tmp_path / "home")
    code = "from pytest_passport.policies import hf_hub_cache; print(hf_hub_cache())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tmp_path / "home" / "hub")


# --------------------------------------------------------------------------- training datasets


def test_training_datasets_present(make_checkpoint, run_check):
    """Empty list → soft; a declared dataset → pass."""
    empty = run_check(training_datasets_present, make_checkpoint(contract()))
    assert empty.status is Status.SOFT_SIGNAL
    assert "training_datasets is empty" in empty.message
    ok = run_check(training_datasets_present, make_checkpoint(contract(training_datasets=[{"repo": "a/b"}])))
    assert ok.status is Status.PASS
    assert ok.details["repos"] == ["a/b"]


@pytest.mark.parametrize(
    ("datasets", "status", "text"),
    [
        ([], Status.NOT_CHECKED, "empty"),
        ([{"repo": "lab/ds", "commit": "a" * 40}], Status.PASS, "pinned and well-formed"),
        ([{"repo": "lab/ds"}], Status.SOFT_SIGNAL, "without a commit pin: lab/ds"),
        ([{"repo": "not a repo", "commit": "a" * 40}], Status.FAIL, "is not <org>/<name>"),
        ([{"repo": "lab/ds", "commit": "0" * 40}], Status.FAIL, "null commit"),
        ([{"repo": "lab/ds", "commit": "v1.0"}], Status.FAIL, "not 7-40 lowercase hex"),
    ],
)
def test_training_datasets_resolvable(make_checkpoint, run_check, datasets, status, text):
    """Format-only repo/commit rules (reference semantics)."""
    finding = run_check(training_datasets_resolvable, make_checkpoint(contract(training_datasets=datasets)))
    assert finding.status is status
    assert text in finding.message


# --------------------------------------------------------------------------- camera_identity

FRAME = b"reference frame png bytes"


def camera(**fields: Any) -> dict[str, Any]:
    return contract(images=[{"key": "observation.images.front", **fields}])


@pytest.mark.parametrize(
    ("fields", "files", "status", "text"),
    [
        ({}, {}, Status.SOFT_SIGNAL, "without serial/usb path/reference frame hash: observation.images.front"),
        ({"camera_serial": "CAM-1"}, {}, Status.PASS, "1 camera(s) identified"),
        ({"reference_frame_hash": "ABC"}, {}, Status.FAIL, "is not 64 lowercase hex"),
        ({"reference_frame_hash": sha(FRAME), "reference_frame_path": "ref.png"}, {"ref.png": FRAME}, Status.PASS, "identified"),
        ({"reference_frame_hash": "0" * 64, "reference_frame_path": "ref.png"}, {"ref.png": FRAME}, Status.FAIL, "!= sha256 of ref.png"),
        ({"reference_frame_hash": sha(FRAME), "reference_frame_path": "../ref.png"}, {}, Status.FAIL, "climbs out"),
        ({"reference_frame_hash": sha(FRAME), "reference_frame_path": "gone.png"}, {}, Status.SOFT_SIGNAL, "does not exist"),
    ],
)
def test_camera_identity(make_checkpoint, run_check, fields, files, status, text):
    """Missing identity is soft; malformed or mismatching reference frames fail."""
    finding = run_check(camera_identity, make_checkpoint(camera(**fields), files=files))
    assert finding.status is status
    assert text in finding.message


def test_camera_identity_no_images_is_not_checked(make_checkpoint, run_check):
    """A vision-free passport → not_checked."""
    finding = run_check(camera_identity, make_checkpoint(contract(state={"total_dim": 6})))
    assert finding.status is Status.NOT_CHECKED
    assert "images is empty" in finding.message


# --------------------------------------------------------------------------- horizon_consistency


@pytest.mark.parametrize(
    ("fields", "status", "text"),
    [
        ({"horizon": 16, "n_action_steps": 8}, Status.PASS, "horizon 16, n_action_steps 8 <= horizon"),
        ({"chunk_size": 10, "n_action_steps": 10}, Status.PASS, "horizon 10"),
        ({"chunk_size": 10, "horizon": 16}, Status.FAIL, "horizon 16 != chunk_size 10"),
        ({"horizon": 16, "n_action_steps": 17}, Status.FAIL, "n_action_steps 17 > horizon 16"),
        ({"horizon": 16, "n_action_steps": 0}, Status.FAIL, "n_action_steps 0 is not a positive integer"),
        ({"action_horizon": "16"}, Status.FAIL, "action_horizon '16' is not a positive integer"),
        ({"n_action_steps": 8, "input_features": {}}, Status.FAIL,
         "declares no horizon/chunk_size/action_horizon/action_chunk_size"),
        ({"architectures": ["LlamaForCausalLM"]}, Status.NOT_CHECKED, "not a policy config"),
    ],
)
def test_horizon_consistency(make_checkpoint, run_check, fields, status, text):
    """n_action_steps is not a horizon (spec §8.5 fix); non-policy configs are not checked."""
    finding = run_check(horizon_consistency, make_checkpoint(config=fields))
    assert finding.status is status
    assert text in finding.message


def test_horizon_without_config_is_not_checked(make_checkpoint, run_check):
    """A Metta bundle (policy_spec.json, no config) → not_checked."""
    spec = (FIXTURES / "metta" / "policy_spec.json").read_text()
    finding = run_check(horizon_consistency, make_checkpoint(files={"policy_spec.json": spec}))
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == "no config.json"


def test_horizon_unparseable_config_fails(make_checkpoint, run_check):
    """A config.json that is not an object fails naming it."""
    finding = run_check(horizon_consistency, make_checkpoint(config="[16]"))
    assert finding.status is Status.FAIL
    assert finding.details["config"] == "config.json"


# --------------------------------------------------------------------------- image_keys_declared


def test_image_keys_declared_visual(make_checkpoint, run_check, act_config):
    """VISUAL input features pass and are listed."""
    finding = run_check(image_keys_declared, make_checkpoint(config=act_config))
    assert finding.status is Status.PASS
    assert finding.details["image_keys"] == ["observation.images.front"]


def test_image_keys_image_features_block(make_checkpoint, run_check):
    """Keys of a legacy image_features block count as image keys."""
    finding = run_check(image_keys_declared, make_checkpoint(config={"image_features": {"observation.image": {"shape": [3, 8, 8]}}}))
    assert finding.status is Status.PASS
    assert "1 image key(s)" in finding.message


def test_image_keys_vision_free_policy_passes(run_check, act_state_only):
    """The state-only ACT fixture (STATE + ENV) is a vision-free policy → pass."""
    finding = run_check(image_keys_declared, act_state_only)
    assert finding.status is Status.PASS
    assert "vision-free policy" in finding.message
    assert finding.details["feature_types"] == ["ENV", "STATE"]


def test_image_keys_no_input_features_fails(make_checkpoint, run_check):
    """A policy config declaring no input features fails."""
    finding = run_check(image_keys_declared, make_checkpoint(config={"chunk_size": 10, "input_features": {}}))
    assert finding.status is Status.FAIL
    assert "declares no input features" in finding.message


def test_image_keys_no_config_is_not_checked(make_checkpoint, run_check, weights):
    """No config at all → not_checked (spec §8.4)."""
    finding = run_check(image_keys_declared, make_checkpoint(tensors={"weights.safetensors": weights.act()}))
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == "no config.json"


# --------------------------------------------------------------------------- state_dim_consistency


@pytest.mark.parametrize(
    ("config", "status", "text"),
    [
        ({"input_features": {"observation.state": {"shape": [13]}},
          "dataset_schema": {"state": [{"key": "joints", "dim": 7}, {"key": "ee_rot", "dim": 6}]}}, Status.PASS, "state dim 13"),
        ({"input_features": {"observation.state": {"shape": [16]}},
          "dataset_schema": {"state": [{"key": "joints", "dim": 7}, {"key": "ee_rot", "dim": 6}]}},
         Status.SOFT_SIGNAL, '"observation.state"] 16 != dataset_schema.state sum 13'),
        ({"input_features": {"observation.state": {"shape": [6]}}}, Status.PASS, "state dim 6"),
        ({"input_features": {}}, Status.NOT_CHECKED, "neither observation.state nor dataset_schema.state"),
    ],
)
def test_state_dim_consistency(make_checkpoint, run_check, config, status, text):
    """Model state dim vs the dataset schema sum: equal pass, different soft, neither not_checked."""
    finding = run_check(state_dim_consistency, make_checkpoint(config=config))
    assert finding.status is status
    assert text in finding.message


def test_state_dim_without_config_is_not_checked(make_checkpoint, run_check):
    """No config at all → not_checked."""
    finding = run_check(state_dim_consistency, make_checkpoint())
    assert finding.status is Status.NOT_CHECKED
    assert finding.message == "no config.json"


# --------------------------------------------------------------------------- norm_stats_vs_config


def test_norm_stats_lerobot_fixture_passes(run_check, act_state_only):
    """The state-only fixture's normalizer/unnormalizer files cover every normalized feature."""
    finding = run_check(norm_stats_vs_config, act_state_only)
    assert finding.status is Status.PASS
    assert NORMALIZER in finding.details["stats_files"] and UNNORMALIZER in finding.details["stats_files"]


def test_norm_stats_missing_with_normalization_declared_fails(make_checkpoint, run_check, act_config):
    """No stats file while normalization_mapping declares MEAN_STD fails (spec §8.6 fix)."""
    finding = run_check(norm_stats_vs_config, make_checkpoint(config=act_config))
    assert finding.status is Status.FAIL
    assert "normalization_mapping declares VISUAL=MEAN_STD" in finding.message


def test_norm_stats_missing_with_identity_is_not_checked(make_checkpoint, run_check, act_config):
    """No stats file and only IDENTITY normalization → not_checked."""
    act_config["normalization_mapping"] = {"VISUAL": "IDENTITY", "STATE": "IDENTITY", "ACTION": "IDENTITY"}
    finding = run_check(norm_stats_vs_config, make_checkpoint(config=act_config))
    assert finding.status is Status.NOT_CHECKED
    assert "no norm-stats file" in finding.message


@pytest.mark.parametrize(
    ("name", "content", "text"),
    [
        ("policy_stats.json", {"metadata": {"action_dim": 7}}, "policy_stats.json action_dim 7 != config.json output_features.action 6"),
        ("ramen_stats.json", {"metadata": {"horizon": 16}}, "ramen_stats.json horizon 16 != config.json chunk_size 10"),
        ("stats.json", {"action": {"mean": [0.0] * 5}}, "stats.json action_dim 5"),
        ("norm_stats.json", "{broken", "norm_stats.json cannot be parsed"),
    ],
)
def test_norm_stats_json_mismatch_fails(make_checkpoint, run_check, act_config, name, content, text):
    """JSON stats (including stats.json) disagreeing with the config, or unparseable, fail naming the file."""
    files = {name: content if isinstance(content, str) else json.dumps(content)}
    finding = run_check(norm_stats_vs_config, make_checkpoint(config=act_config, files=files))
    assert finding.status is Status.FAIL
    assert text in finding.message


def test_norm_stats_normalizer_missing_feature_fails(make_checkpoint, run_check, act_config, weights):
    """A normalizer file lacking stats for a normalized feature (the camera) fails naming it."""
    tensors = {NORMALIZER: weights.normalizer({"action": 6, "observation.state": 6})}
    finding = run_check(norm_stats_vs_config, make_checkpoint(config=act_config, tensors=tensors, files=PROCESSORS))
    assert finding.status is Status.FAIL
    assert "no stats for normalized feature(s) observation.images.front" in finding.message


def test_norm_stats_unnormalizer_needs_outputs_only(make_checkpoint, run_check, act_config, weights):
    """An unnormalizer file only needs the output features' stats."""
    tensors = {UNNORMALIZER: weights.normalizer({"action": 6})}
    finding = run_check(norm_stats_vs_config, make_checkpoint(config=act_config, tensors=tensors))
    assert finding.status is Status.PASS
    assert finding.details["stats_files"] == [UNNORMALIZER]


def test_norm_stats_without_config_is_not_checked(make_checkpoint, run_check):
    """Stats but no config: nothing to compare against → not_checked."""
    finding = run_check(norm_stats_vs_config, make_checkpoint(files={"policy_stats.json": '{"action_dim": 6}'}))
    assert finding.status is Status.NOT_CHECKED
    assert "no config.json" in finding.message


def test_norm_stats_unparseable_config_fails(make_checkpoint, run_check):
    """An unparseable config fails naming it, before any stats comparison."""
    finding = run_check(norm_stats_vs_config, make_checkpoint(config="{", files={"policy_stats.json": "{}"}))
    assert finding.status is Status.FAIL
    assert "config.json cannot be parsed" in finding.message


def test_norm_stats_horizon_uses_horizon_not_n_action_steps(make_checkpoint, run_check):
    """metadata horizon is compared with config horizon (16), not n_action_steps (8)."""
    config = {"horizon": 16, "n_action_steps": 8, "output_features": {"action": {"shape": [7]}}}
    files = {"policy_stats.json": json.dumps({"metadata": {"action_dim": 7, "state_dim": 8, "horizon": 16}})}
    finding = run_check(norm_stats_vs_config, make_checkpoint(config=config, files=files))
    assert finding.status is Status.PASS
    assert finding.details["stats_files"] == ["policy_stats.json"]


def test_identity_normalization_needs_no_source(make_checkpoint, run_check):
    """An IDENTITY normalization reads no stats, so a missing source is not a soft signal."""
    finding = run_check(input_contract_vs_norm_stats, make_checkpoint(normalized("actions", type="IDENTITY")))
    assert finding.status is Status.PASS
