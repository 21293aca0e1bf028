"""Metta bundles, reference-style (RAMEN) configs and Hugging Face folders."""

from __future__ import annotations

from pytest_passport import __version__

import json
import math
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from pytest_passport import schema

from .builders import FIXTURES, Generate, load, raw, sha256

PASSPORT = schema.PASSPORT_FILENAME


# --------------------------------------------------------------------------- Metta


def test_metta_identity_and_weights(metta_bundle: Path, generate: Generate) -> None:
    """class_path is the identity, init_kwargs/architecture_spec ride along, data_path is the weights."""
    assert generate(metta_bundle).code == 0
    passport = load(metta_bundle / PASSPORT)
    spec = json.loads((FIXTURES / "metta" / "policy_spec.json").read_text())
    identity = passport.model_identity
    assert f"{identity.class_module}.{identity.class_name}" == spec["class_path"]
    assert identity.extra["architecture_spec"] == spec["init_kwargs"]["architecture_spec"]
    assert identity.extra["init_kwargs"] == spec["init_kwargs"]
    assert passport.stack == "metta"
    assert passport.model_internals.parameters.summary.extra["files"] == ["weights.safetensors"]
    assert passport.model_internals.state_dict.found_keys_count == 4
    assert [f.path for f in passport.declared_files] == ["policy_spec.json", "weights.safetensors"]
    assert passport.provenance.extra == {"metta_run": "demo-run", "metta_epoch": 3,
                                         "passport_creation_tool_version": f"pytest-passport=={__version__}"}
    assert passport.provenance.config_snapshot_path == "policy_spec.json"


def test_metta_missing_weights_refuses(metta_bundle: Path, generate: Generate) -> None:
    """A data_path naming a missing file exits 1 naming policy_spec.json and the field."""
    (metta_bundle / "weights.safetensors").unlink()
    run = generate(metta_bundle)
    assert run.code == 1
    assert "policy_spec.json: field data_path" in run.err
    assert not (metta_bundle / PASSPORT).exists()


@pytest.mark.parametrize("data_path", ["../weights.safetensors", "/etc/passwd"])
def test_metta_escaping_data_path_refuses(metta_bundle: Path, generate: Generate, data_path: str) -> None:
    """A data_path that leaves the bundle is refused, never followed."""
    spec = raw(metta_bundle / "policy_spec.json")
    spec["data_path"] = data_path
    (metta_bundle / "policy_spec.json").write_text(json.dumps(spec))
    run = generate(metta_bundle)
    assert run.code == 1 and "data_path" in run.err


def test_metta_bad_class_path_refuses(metta_bundle: Path, generate: Generate) -> None:
    """A class_path that is not module.Class exits 1 naming the field."""
    spec = raw(metta_bundle / "policy_spec.json")
    spec["class_path"] = "CheckpointPolicy"
    (metta_bundle / "policy_spec.json").write_text(json.dumps(spec))
    run = generate(metta_bundle)
    assert run.code == 1 and "field class_path" in run.err


# --------------------------------------------------------------------------- reference style


def build_reference(root: Path) -> Path:
    """A RAMEN-style diffusion checkpoint: 2 cameras, 13-D state, 10-D actions with rot6d dims 3..8."""
    root.mkdir()
    config = {
        "policy_type": "diffusion",
        "input_features": {
            "observation.images.wrist": {"type": "VISUAL", "shape": [3, 240, 320]},
            "observation.images.top": {"type": "VISUAL", "shape": [3, 240, 320]},
            "observation.state": {"type": "STATE", "shape": [13]},
        },
        "output_features": {"action": {"type": "ACTION", "shape": [10]}},
        "horizon": 16,
        "n_action_steps": 8,
        "n_obs_steps": 2,
        "normalization_mapping": {"VISUAL": "imagenet", "STATE": "min_max", "ACTION": "min_max"},
        "observation_encoder": {
            "vision": {"backbone": "resnet18.a1_in1k", "resize_shape": [224, 224], "crop_shape": [216, 216],
                       "lr_multiplier": 0.1},
            "text": {"type": "clip", "model": "openai/clip-vit-base-patch32"},
        },
        "dataset_schema": {
            "state": [{"key": "arm", "dim": 6}, {"key": "ee_quat", "dim": 4, "convert_rotation": True},
                      {"key": "gripper", "dim": 1}],
            "action": [{"key": "ee_pos", "dim": 3}, {"key": "ee_rot", "dim": 4, "convert_rotation": True},
                       {"key": "gripper", "dim": 1}],
            "rot6d_slice": [3, 9],
        },
        "objective": {"type": "diffusion", "num_inference_steps": 10, "noise_scheduler_type": "DDIM",
                      "prediction_type": "epsilon", "clip_sample": False, "clip_sample_range": 1.0},
        "datasets": [{"repo": "lab/tabletop", "loader_class": "ramen.data.Loader"}],
    }
    (root / "config.json").write_text(json.dumps(config, indent=2))
    stats = {
        "metadata": {"action_dim": 10, "state_dim": 13, "horizon": 16},
        "state": {"q02": [0.0] * 13, "q98": [1.0] * 13},
        "action": {"q02": [[0.0] * 10] * 16, "q98": [[1.0] * 10] * 16},
        "norm_mask": [True] * 9 + [False],
    }
    (root / "policy_stats.json").write_text(json.dumps(stats))
    save_file({"head.weight": np.zeros((10, 8), np.float16), "encoder.weight": np.zeros((8, 13), np.float16)},
              str(root / "model.safetensors"))
    return root


@pytest.fixture
def reference_passport(tmp_path: Path, generate: Generate) -> tuple[Path, schema.Passport]:
    """The passport of the reference-style checkpoint."""
    root = build_reference(tmp_path / "ramen")
    assert generate(root).code == 0
    return root, load(root / PASSPORT)


def test_reference_images(reference_passport: tuple[Path, schema.Passport]) -> None:
    """VISUAL inputs sorted by key, with encoder resize, crop and the imagenet descriptor."""
    _, passport = reference_passport
    images = passport.input_contract.images
    assert [i.key for i in images] == ["observation.images.top", "observation.images.wrist"]
    assert images[0].raw_shape == [3, 240, 320]
    assert images[0].encoder_resize == [224, 224]
    assert images[0].crop == {"shape": [216, 216]}
    assert images[0].normalization == {"type": "imagenet", "applied_by": "observation_encoder.vision (resnet18.a1_in1k)"}


def test_reference_state_and_actions(reference_passport: tuple[Path, schema.Passport]) -> None:
    """RAMEN_ modes, stats source and fingerprint, rot6d expansion, full masks with false kept."""
    root, passport = reference_passport
    fingerprint = {"file_sha256": sha256(root / "policy_stats.json")}
    state = passport.input_contract.state
    assert state.total_dim == 13
    assert [s["dim"] for s in state.sub_keys] == [6, 6, 1]
    assert state.sub_keys[1]["raw_dim"] == 4
    assert state.normalization == {"type": "RAMEN_min_max", "source": "policy_stats.json", "stats_dim": 13,
                                   "stats_fingerprint": fingerprint}
    actions = passport.input_contract.actions
    assert (actions.total_dim, actions.horizon) == (10, 16)
    assert actions.norm_mask == [True] * 9 + [False]
    assert actions.delta_dims.delta_mask == [True] * 3 + [False] * 6 + [True]
    assert actions.normalization["stats_layout"] == "(H=16, D=10) per-timestep"
    assert actions.normalization["stats_fingerprint"] == fingerprint


def test_reference_temporal_language_objective(reference_passport: tuple[Path, schema.Passport]) -> None:
    """n_obs_steps 2 gives [-1, 0]; CLIP text gives the tokenizer; objective fills inference parameters."""
    root, passport = reference_passport
    assert passport.input_contract.temporal.observation_delta_indices == [-1, 0]
    language = passport.input_contract.language
    assert (language.tokenizer_class, language.max_sequence_length, language.tokenizer_version) == (
        "CLIPTokenizer", 77, "openai/clip-vit-base-patch32")
    params = passport.output_spec.inference_parameters
    assert (params.type, params.scheduler, params.chunks_executed_per_inference) == ("diffusion", "DDIM", 8)
    assert raw(root / PASSPORT)["output_spec"]["inference_parameters"]["clip_sample"] is False
    assert passport.model_internals.forward_graph.expected_input_keys[-1] == "task"
    assert passport.model_internals.quantization.scheme == "fp16"


def test_reference_provenance_and_datasets(reference_passport: tuple[Path, schema.Passport]) -> None:
    """Pretrained encoders are recorded (timm, huggingface) and config datasets carried over."""
    _, passport = reference_passport
    vision, text = passport.model_internals.pretrained_provenance
    assert (vision.submodule, vision.source, vision.source_identifier, vision.lr_multiplier) == (
        "observation_encoder.vision", "timm", "resnet18.a1_in1k", 0.1)
    assert (text.source, text.source_identifier) == ("huggingface", "openai/clip-vit-base-patch32")
    (dataset,) = passport.input_contract.training_datasets
    assert (dataset.repo, dataset.loader_class) == ("lab/tabletop", "ramen.data.Loader")


# --------------------------------------------------------------------------- Hugging Face


def build_hf(root: Path) -> Path:
    """A two-shard Hugging Face folder with a tokenizer."""
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                                                  "transformers_version": "4.46.0"}))
    save_file({"wte.weight": np.zeros((32, 8), np.float32)}, str(root / "model-00001-of-00002.safetensors"))
    save_file({"lm_head.weight": np.zeros((32, 8), np.float32), "ln.bias": np.zeros(8, np.float32)},
              str(root / "model-00002-of-00002.safetensors"))
    index = {"metadata": {}, "weight_map": {"wte.weight": "model-00001-of-00002.safetensors",
                                            "lm_head.weight": "model-00002-of-00002.safetensors",
                                            "ln.bias": "model-00002-of-00002.safetensors"}}
    (root / "model.safetensors.index.json").write_text(json.dumps(index))
    (root / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024}))
    (root / "tokenizer.json").write_text("{}")
    return root


def test_hf_identity_shards_and_tokenizer(tmp_path: Path, generate: Generate) -> None:
    """architectures is the identity; every shard is counted and hashed; the tokenizer fills language."""
    root = build_hf(tmp_path / "hf")
    assert generate(root).code == 0
    passport = load(root / PASSPORT)
    assert passport.stack == "gpt2"
    assert passport.model_identity.config_architectures == ["GPT2LMHeadModel"]
    assert passport.model_identity.library_versions == {"transformers": "4.46.0"}
    assert passport.model_internals.parameters.summary.total_params == 32 * 8 * 2 + 8
    assert passport.model_internals.state_dict.found_keys_count == 3
    declared = {f.path for f in passport.declared_files}
    assert {"tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json"} <= declared
    assert (passport.input_contract.language.tokenizer_class, passport.input_contract.language.max_sequence_length) == (
        "GPT2Tokenizer", 1024)


def test_hf_missing_shard_refuses(tmp_path: Path, generate: Generate) -> None:
    """An index naming a shard that is not on disk exits 1 naming the index and the shard."""
    root = build_hf(tmp_path / "hf")
    (root / "model-00002-of-00002.safetensors").unlink()
    run = generate(root)
    assert run.code == 1
    assert "model.safetensors.index.json" in run.err and "model-00002-of-00002.safetensors is missing" in run.err


def test_corrupt_safetensors_header_refuses(tmp_path: Path, generate: Generate) -> None:
    """A model weight file whose header cannot be read refuses instead of counting nothing."""
    root = build_hf(tmp_path / "hf")
    (root / "model-00001-of-00002.safetensors").write_bytes(b"\xff" * 16)
    run = generate(root)
    assert run.code == 1 and "model-00001-of-00002.safetensors" in run.err


def test_parameter_totals_are_element_counts(tmp_path: Path, generate: Generate) -> None:
    """total_bytes is elements times dtype size across dtypes."""
    root = build_hf(tmp_path / "hf")
    save_file({"wte.weight": np.zeros((32, 8), np.float16)}, str(root / "model-00001-of-00002.safetensors"))
    assert generate(root).code == 0
    summary = load(root / PASSPORT).model_internals.parameters.summary
    assert summary.dtype_breakdown == {"float16": 256, "float32": 264}
    assert summary.total_bytes == 256 * 2 + 264 * 4 == math.prod((32, 8)) * 2 + 264 * 4
