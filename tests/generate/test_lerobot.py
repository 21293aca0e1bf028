"""LeRobot checkpoints: the passport declares what the checkpoint's own files say, field by field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from safetensors.numpy import load_file

from pytest_passport import schema

from .builders import NORMALIZER, UNNORMALIZER, Generate, act_model_tensors, load, raw, sha256


@pytest.fixture
def act_passport(act_small: Path, generate: Generate) -> schema.Passport:
    """The passport generated for the small ACT checkpoint."""
    assert generate(act_small).code == 0
    return load(act_small / schema.PASSPORT_FILENAME)


def config(root: Path) -> dict:
    return json.loads((root / "config.json").read_text())


def test_images_match_config_keys_and_shapes(act_small: Path, act_passport: schema.Passport) -> None:
    """Every VISUAL input becomes an image with its key and C,H,W shape, in key order."""
    features = config(act_small)["input_features"]
    expected = sorted(k for k, f in features.items() if f["type"] == "VISUAL")
    images = act_passport.input_contract.images
    assert [i.key for i in images] == expected
    for image in images:
        assert image.raw_shape == features[image.key]["shape"]
        assert (image.channel_layout, image.dtype, image.value_range, image.color_order) == ("CHW", "float32", [0.0, 1.0], "RGB")


def test_image_normalization_points_at_the_preprocessor_stats(act_small: Path, act_passport: schema.Passport) -> None:
    """Images carry the VISUAL mode and the preprocessor normalizer file's fingerprint."""
    mode = config(act_small)["normalization_mapping"]["VISUAL"]
    for image in act_passport.input_contract.images:
        assert image.normalization["type"] == mode
        assert image.normalization["source"] == NORMALIZER
        assert image.normalization["stats_fingerprint"] == {"file_sha256": sha256(act_small / NORMALIZER)}


def test_state_dim_mode_and_fingerprint(act_small: Path, act_passport: schema.Passport) -> None:
    """State: total dim from observation.state, STATE mode without a RAMEN_ prefix, normalizer sha256."""
    cfg = config(act_small)
    state = act_passport.input_contract.state
    assert state.total_dim == cfg["input_features"]["observation.state"]["shape"][0] == 6
    assert state.sub_keys == [{"key": "observation.state", "dim": 6}]
    assert state.normalization["type"] == cfg["normalization_mapping"]["STATE"] == "MEAN_STD"
    assert state.normalization["source"] == NORMALIZER
    assert state.normalization["stats_dim"] == 6
    assert state.normalization["stats_fingerprint"]["file_sha256"] == sha256(act_small / NORMALIZER)


def test_actions_dim_horizon_mode_and_fingerprint(act_small: Path, act_passport: schema.Passport) -> None:
    """Actions: dim from output_features, horizon = chunk_size, stats of the postprocessor unnormalizer."""
    cfg = config(act_small)
    actions = act_passport.input_contract.actions
    assert actions.total_dim == cfg["output_features"]["action"]["shape"][0] == 6
    assert actions.horizon == cfg["chunk_size"] == 10
    assert actions.normalization["type"] == cfg["normalization_mapping"]["ACTION"]
    assert actions.normalization["source"] == UNNORMALIZER
    assert actions.normalization["stats_dim"] == 6
    assert actions.normalization["stats_fingerprint"]["file_sha256"] == sha256(act_small / UNNORMALIZER)
    assert actions.delta_dims is None  # LeRobot configs do not say; left for a human


def test_temporal_records_lerobot_delta_indices_for_act(act_passport: schema.Passport) -> None:
    """ACT has no observation delta indices; its action indices are 0..chunk_size-1."""
    temporal = act_passport.input_contract.temporal
    assert temporal.n_obs_steps == 1
    assert temporal.observation_delta_indices is None
    assert temporal.extra["action_delta_indices"] == list(range(10))


def test_diffusion_delta_indices_and_scheduler(act_small: Path, generate: Generate) -> None:
    """A diffusion config gets [-1, 0] observations, shifted action indices and its scheduler fields."""
    cfg = config(act_small)
    cfg.update(type="diffusion", n_obs_steps=2, horizon=16, n_action_steps=8, noise_scheduler_type="DDIM",
               num_train_timesteps=100, num_inference_steps=10, beta_schedule="squaredcos_cap_v2",
               prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0, crop_shape=[84, 84],
               crop_is_random=True)
    del cfg["chunk_size"]
    (act_small / "config.json").write_text(json.dumps(cfg, indent=4))
    assert generate(act_small).code == 0
    passport = load(act_small / schema.PASSPORT_FILENAME)
    temporal = passport.input_contract.temporal
    assert temporal.observation_delta_indices == [-1, 0]
    assert temporal.extra["action_delta_indices"] == list(range(-1, 15))
    assert passport.input_contract.actions.horizon == 16
    params = passport.output_spec.inference_parameters
    assert (params.type, params.scheduler, params.num_inference_steps) == ("diffusion", "DDIM", 10)
    assert params.prediction_type == "epsilon"
    assert (params.clip_sample, params.clip_sample_range, params.chunks_executed_per_inference) == (True, 1.0, 8)
    assert params.extra == {"num_train_timesteps": 100, "beta_schedule": "squaredcos_cap_v2"}
    assert passport.model_identity.class_name == "DiffusionPolicy"
    assert passport.model_identity.class_module == "lerobot.policies.diffusion.modeling_diffusion"
    assert passport.input_contract.images[0].crop == {"shape": [84, 84], "mode": "random_in_training_center_at_inference"}
    assert passport.model_internals.forward_graph.sample_output_shapes == {"action": [1, 16, 6]}


def test_identity_and_inference_parameters_for_act(act_passport: schema.Passport) -> None:
    """ACT maps to ACTPolicy in lerobot.policies.act.modeling_act, regression, first n action steps."""
    assert act_passport.stack == "act"
    assert (act_passport.model_identity.class_module, act_passport.model_identity.class_name) == (
        "lerobot.policies.act.modeling_act", "ACTPolicy")
    params = act_passport.output_spec.inference_parameters
    assert (params.type, params.chunk_aggregation) == ("regression", "first_n_action_steps")
    assert params.chunks_executed_per_inference == 10
    assert act_passport.output_spec.actions.horizon == act_passport.input_contract.actions.horizon
    assert act_passport.output_spec.post_processing.unnormalize is True


def test_unknown_policy_type_records_no_class(act_small: Path, generate: Generate) -> None:
    """A policy type outside the known table gets no class (never a guessed import path)."""
    cfg = config(act_small)
    cfg["type"] = "my_lab_policy"
    (act_small / "config.json").write_text(json.dumps(cfg))
    run = generate(act_small)
    assert run.code == 0
    identity = load(act_small / schema.PASSPORT_FILENAME).model_identity
    assert identity.class_module is None and identity.class_name is None
    assert "my_lab_policy" in run.out


def test_transform_pipeline_follows_processor_steps(act_small: Path, act_passport: schema.Passport) -> None:
    """Pre-processor steps (input) then post-processor steps (output), in order, state files fingerprinted."""
    pre = json.loads((act_small / "policy_preprocessor.json").read_text())["steps"]
    post = json.loads((act_small / "policy_postprocessor.json").read_text())["steps"]
    steps = act_passport.transform_pipeline
    assert [s.order for s in steps] == list(range(len(pre) + len(post)))
    assert [s.parameters["config"] for s in steps] == [s["config"] for s in pre + post]
    assert [s.direction for s in steps] == ["input"] * len(pre) + ["output"] * len(post)
    normalizer = steps[3]
    assert normalizer.operation == "normalize"
    assert normalizer.parameters["state_file"] == NORMALIZER
    assert normalizer.parameters["state_file_sha256"] == sha256(act_small / NORMALIZER)


def test_rename_map_becomes_key_rename_map_and_aliases(act_small: Path, generate: Generate) -> None:
    """A rename step's map is recorded on the datasets and as camera aliases."""
    pre = json.loads((act_small / "policy_preprocessor.json").read_text())
    pre["steps"][0]["config"]["rename_map"] = {"observation.images.top": "observation.images.front"}
    (act_small / "policy_preprocessor.json").write_text(json.dumps(pre, indent=2))
    assert generate(act_small, "--dataset-repo", "lab/pick@" + "ab" * 20).code == 0
    contract = load(act_small / schema.PASSPORT_FILENAME).input_contract
    assert contract.training_datasets[0].key_rename_map == {"observation.images.top": "observation.images.front"}
    assert contract.images[0].aliases == ["observation.images.top"]
    assert contract.training_datasets[0].loader_class == "lerobot.datasets.lerobot_dataset.LeRobotDataset"


def test_parameter_totals_from_headers_exclude_stats(act_small: Path, act_passport: schema.Passport) -> None:
    """Totals count model.safetensors tensors only, never the normalizer state files."""
    tensors = act_model_tensors()
    summary = act_passport.model_internals.parameters.summary
    total = sum(math.prod(t.shape) for t in tensors.values())
    assert summary.total_params == total
    assert summary.total_bytes == total * 4
    assert summary.dtype_breakdown == {"float32": total}
    assert act_passport.model_internals.state_dict.found_keys_count == len(tensors)
    assert act_passport.model_internals.quantization.scheme == "none"
    headers = act_passport.model_internals.extra["tensor_headers"]
    assert list(headers) == ["model.safetensors"]
    assert headers["model.safetensors"]["model.action_head.weight"] == {"dtype": "float32", "shape": [6, 64]}


def test_forward_graph_shapes(act_passport: schema.Passport) -> None:
    """Input shapes are [1, n_obs_steps, *shape]; the output is [1, horizon, action_dim]."""
    graph = act_passport.model_internals.forward_graph
    assert graph.expected_input_keys == ["observation.images.front", "observation.images.wrist", "observation.state"]
    assert graph.sample_input_shapes["observation.images.front"] == [1, 1, 3, 96, 128]
    assert graph.sample_input_shapes["observation.state"] == [1, 1, 6]
    assert graph.sample_output_shapes == {"action": [1, 10, 6]}


def test_pretrained_backbone_provenance(act_small: Path, generate: Generate) -> None:
    """pretrained_backbone_weights names a torchvision asset on the backbone module from the tensor names."""
    cfg = config(act_small)
    cfg["pretrained_backbone_weights"] = "ResNet18_Weights.IMAGENET1K_V1"
    (act_small / "config.json").write_text(json.dumps(cfg))
    assert generate(act_small).code == 0
    (asset,) = load(act_small / schema.PASSPORT_FILENAME).model_internals.pretrained_provenance
    assert (asset.submodule, asset.source) == ("model.backbone", "torchvision")
    assert asset.source_identifier == "ResNet18_Weights.IMAGENET1K_V1"
    assert asset.source_revision is None
    assert asset.lr_multiplier == pytest.approx(1.0)


def test_no_pretrained_provenance_for_random_backbone(act_passport: schema.Passport) -> None:
    """A null pretrained_backbone_weights records no external asset."""
    assert act_passport.model_internals.pretrained_provenance is None


def test_weight_integrity_lists_every_file_with_its_digest(act_small: Path, act_passport: schema.Passport) -> None:
    """Config, weights, processor JSON and stats files are all declared with sha256 and size."""
    entries = act_passport.weight_integrity.weight_files
    assert [e.path for e in entries] == sorted(p.name for p in act_small.iterdir() if p.name != schema.PASSPORT_FILENAME)
    for entry in entries:
        assert entry.sha256 == sha256(act_small / entry.path)
        assert entry.size_bytes == (act_small / entry.path).stat().st_size


def test_environment_state_input(act_state_only: Path, generate: Generate) -> None:
    """An ENV input goes to input_contract.environment_state, not into the state vector."""
    assert generate(act_state_only).code == 0
    passport = load(act_state_only / schema.PASSPORT_FILENAME)
    contract = passport.input_contract
    assert contract.images is None
    assert contract.state.total_dim == 6
    env = contract.extra["environment_state"]
    assert (env["key"], env["total_dim"]) == ("observation.environment_state", 4)
    # The saved norm_map names no ENV mode, so LeRobot passes it through unnormalized.
    assert env["normalization"] == {"type": "IDENTITY", "applied_by": "policy_preprocessor.json steps[3] (normalizer_processor)"}
    assert "observation.environment_state" in passport.model_internals.forward_graph.expected_input_keys


def test_real_state_only_stats_dims_match_the_normalizer(act_state_only: Path, generate: Generate) -> None:
    """The real fixture's declared stats dims equal the normalizer file's own mean shapes."""
    assert generate(act_state_only).code == 0
    contract = load(act_state_only / schema.PASSPORT_FILENAME).input_contract
    pre = load_file(str(act_state_only / NORMALIZER))
    post = load_file(str(act_state_only / UNNORMALIZER))
    assert contract.state.normalization["stats_dim"] == pre["observation.state.mean"].shape[-1]
    assert contract.actions.normalization["stats_dim"] == post["action.mean"].shape[-1]


def test_dataset_path_adds_rate_layout_and_names(act_small: Path, dataset_path: Path, generate: Generate) -> None:
    """--dataset-path gives control_rate_hz from fps, per-dim names and LeRobot delta timestamps."""
    assert generate(act_small, "--dataset-path", dataset_path).code == 0
    contract = load(act_small / schema.PASSPORT_FILENAME).input_contract
    info = raw(dataset_path / "meta" / "info.json")
    assert contract.temporal.control_rate_hz == float(info["fps"]) == 10.0
    assert contract.temporal.delta_timestamps == {"action": [i / 10 for i in range(10)]}
    state = contract.state.sub_keys[0]
    assert state["names"] == info["features"]["observation.state"]["names"]
    assert state["dataset_dim"] == 6
    layout = contract.extra["dataset_layout"]
    assert layout["fps"] == 10 and layout["codebase_version"] == "v3.0"
    assert layout["features"]["observation.images.front"]["shape"] == [96, 128, 3]


def test_dataset_resolution_mismatch_is_warned(act_small: Path, dataset_path: Path, generate: Generate) -> None:
    """A model resolution differing from the dataset's is written as-is and warned about."""
    cfg = config(act_small)
    cfg["input_features"]["observation.images.front"]["shape"] = [3, 48, 64]
    (act_small / "config.json").write_text(json.dumps(cfg))
    run = generate(act_small, "--dataset-path", dataset_path)
    assert run.code == 0
    assert "observation.images.front" in run.err and "[96, 128, 3]" in run.err


def test_pipeline_mode_overrides_config_mapping_with_warning(act_small: Path, generate: Generate) -> None:
    """When the saved normalizer's norm_map disagrees with config.json, the pipeline wins and a warning says so."""
    pre = json.loads((act_small / "policy_preprocessor.json").read_text())
    pre["steps"][3]["config"]["norm_map"]["STATE"] = "MIN_MAX"
    (act_small / "policy_preprocessor.json").write_text(json.dumps(pre))
    run = generate(act_small)
    assert run.code == 0
    assert load(act_small / schema.PASSPORT_FILENAME).input_contract.state.normalization["type"] == "MIN_MAX"
    assert "normalization_mapping says MEAN_STD" in run.err


def test_missing_state_file_refuses(act_small: Path, generate: Generate) -> None:
    """A pipeline step naming an absent state file refuses, naming the pipeline file and field."""
    (act_small / NORMALIZER).unlink()
    run = generate(act_small)
    assert run.code == 1
    assert "policy_preprocessor.json: field steps[3].state_file" in run.err
    assert not (act_small / schema.PASSPORT_FILENAME).exists()
