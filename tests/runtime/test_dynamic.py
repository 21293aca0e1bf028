"""generate-passport --dynamic: what the live model adds to the passport, and what it refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pytest_passport.hashing import sha256_file

from .builders import DELTA_MASK, arm_dataset, build, passport_for, run

pytest.importorskip("torch", reason="needs the torch extra (pip install -e '.[torch]')")


@pytest.fixture(scope="module")
def passport(signed_tiny: Path) -> dict:
    """The signed tiny checkpoint's passport as JSON."""
    return json.loads((signed_tiny / "MODEL_PASSPORT.json").read_text())


def test_identity_and_versions(passport: dict) -> None:
    """model_identity names the class resolved, how, from which file, and the library versions."""
    identity = passport["model_identity"]
    assert identity["resolved_class_name"] == identity["class_name"] == "TinyPolicy"
    assert identity["resolved_via"] == "direct_import"
    assert identity["module_file"].endswith("tinypolicy/__init__.py")
    import torch

    assert identity["library_versions"]["torch"] == torch.__version__
    assert identity["library_versions"]["tinypolicy"] == "0.1.0"
    assert identity["python_version"] == identity["library_versions"]["python"]


def test_internals(passport: dict) -> None:
    """Hierarchy, parameter summary, state dict and forward graph agree with the live model."""
    import torch
    from tinypolicy import TinyPolicy

    internals = passport["model_internals"]
    model = TinyPolicy(json.loads(json.dumps({**passport_config(passport)})))
    total = sum(p.numel() for p in model.parameters())
    summary = internals["parameters"]["summary"]
    assert summary["total_params"] == total and summary["dtype_breakdown"] == {"float32": total}
    assert summary["total_bytes"] == 4 * total
    assert [m["name"] for m in internals["module_hierarchy"]] == [n for n, _ in model.named_children()]
    state = internals["state_dict"]
    assert state["expected_keys_count"] == state["found_keys_count"] == len(model.state_dict())
    assert state["missing_keys"] == state["unexpected_keys"] == []
    graph = internals["forward_graph"]
    assert graph["sample_input_shapes"]["observation.state"] == [1, 2, 8]
    assert graph["sample_output_shapes"]["action"] == [1, 4, 7]
    health = internals["numerical_health"]
    assert health["determinism"] == {"passed": True, "max_abs_diff": 0.0}
    assert health["no_nan_inf"]["passed"] is True and health["no_nan_inf"]["params_checked"] == len(list(model.parameters()))
    assert health["dropout_in_eval"] == {"passed": True}
    del torch


def passport_config(passport: dict) -> dict:
    from .builders import config

    return config()


def test_smoke_buckets(passport: dict) -> None:
    """The five smoke buckets are measured on the reference frames and pass."""
    smoke = passport["output_spec"]["smoke_results"]
    assert smoke["calibration_batch_size"] == passport["reference_test_vector"]["n_frames"]
    for bucket in ("determinism", "nan_inf", "liveness", "distribution"):
        assert smoke[bucket]["status"] == "pass", bucket
    # the tiny policy's config names no sampler clip: the min_max bound is recorded, not judged
    assert smoke["range_check"]["expected_range"] == [-1.0, 1.0]
    assert "status" not in smoke["range_check"] and smoke["range_check"]["details"]["inside"] is True
    assert smoke["nan_inf"]["samples_checked"] == 10 * 4 * 7


def test_reference_vector_is_real_hashed_and_declared(passport: dict, signed_tiny: Path) -> None:
    """Episode 0 frames 0-9 are stored as PNG and npy, hashed in the vector and declared in weight_integrity."""
    rtv = passport["reference_test_vector"]
    declared = {f["path"]: f["sha256"] for f in passport["weight_integrity"]["weight_files"]}
    assert rtv["n_frames"] == 10 and rtv["input_prompt"] == "pick up the red block"
    assert sorted(rtv["input_images_hash"]) == ["gripper", "top"]
    for camera, hashes in rtv["input_images_hash"].items():
        for i, digest in enumerate(hashes):
            rel = f"assets/reference_frames/{camera}_{i:03d}.png"
            assert sha256_file(signed_tiny / rel)[0] == digest == declared[rel]
    for field, path_field in (("input_state_hash", "input_state_path"), ("expected_output_hash", "expected_output_path")):
        rel = rtv[path_field]
        assert sha256_file(signed_tiny / rel)[0] == rtv[field] == declared[rel]
    states = np.load(signed_tiny / rtv["input_state_path"])
    import pyarrow.parquet as pq

    table = pq.read_table(next((arm_dataset() / "data").glob("chunk-*/file-*.parquet"))).to_pylist()
    episode = [r["observation.state"] for r in table if r["episode_index"] == 0][:10]
    np.testing.assert_array_equal(states, np.asarray(episode, np.float32))
    assert rtv["tolerance"] >= rtv["repeat_error"] * 10
    images = {i["key"]: i for i in passport["input_contract"]["images"]}
    assert images["observation.images.top"]["reference_frame_hash"] == rtv["input_images_hash"]["top"][0]


def test_vector_names_the_dataset_folder_not_its_path(passport: dict) -> None:
    """The passport travels: notes and the calibration source name the dataset folder and the reader, no path."""
    notes = passport["reference_test_vector"]["notes"]
    source = passport["output_spec"]["smoke_results"]["calibration_batch_source"]
    assert notes.startswith("dataset=synthetic_arm via ") and notes.endswith(", episode=0, frames=0..9")
    assert source.startswith("reference frames (synthetic_arm via ")
    for text in (notes, source):
        assert str(arm_dataset()) not in text and "/" not in text


def test_round_trip_per_normalize_step(passport: dict) -> None:
    """Each normalize step (two cameras, state, action) round-trips with the checkpoint's own stats."""
    results = {r["step_name"]: r for r in passport["norm_round_trip_results"]}
    assert sorted(results) == ["normalize_action", "normalize_observation.images.gripper",
                               "normalize_observation.images.top", "normalize_state"]
    for result in results.values():
        assert result["status"] == "pass" and result["within_clip_bound"] is True
        assert result["max_abs_error"] < 1e-6


def test_hand_written_fields_are_kept(passport: dict) -> None:
    """Fields a human added after Phase 1 survive the --dynamic regeneration."""
    assert passport["input_contract"]["actions"]["delta_dims"]["delta_mask"] == DELTA_MASK
    assert passport["model_identity"]["class_module"] == "tinypolicy"


def test_dynamic_output_is_deterministic(signed_tiny: Path, tmp_path: Path) -> None:
    """Regenerating --dynamic on identical inputs gives a byte-identical passport (CPU)."""
    copy = Path(shutil.copytree(signed_tiny, tmp_path / "again"))
    (copy / "SIGNOFF.json").unlink()
    again = passport_for(copy, tmp_path)
    assert again.returncode == 0, again.stderr
    first, second = (json.loads((p / "MODEL_PASSPORT.json").read_text()) for p in (signed_tiny, copy))
    for side in (first, second):
        side["provenance"].pop("training_repo_commit", None)
        side["provenance"].pop("training_repo", None)
        side["reference_test_vector"].pop("notes", None)
        side["model_identity"].pop("module_file", None)
    assert first == second


def test_synthetic_dataset_is_refused(tmp_path: Path) -> None:
    """A dataset marked synthetic cannot supply the reference test vector; nothing is written."""
    dataset = Path(shutil.copytree(arm_dataset(), tmp_path / "dummy_arm"))
    info = json.loads((dataset / "meta" / "info.json").read_text())
    (dataset / "meta" / "info.json").write_text(json.dumps({**info, "synthetic": True}))
    root = build(tmp_path / "tiny")
    first = passport_for(root, tmp_path)
    assert first.returncode == 0, first.stderr
    before = (root / "MODEL_PASSPORT.json").read_bytes()
    refused = run("generate-passport", root, "--dynamic", "--device", "cpu", "--dataset-path", dataset)
    assert refused.returncode == 1
    assert "synthetic" in refused.stderr and "real recorded data" in refused.stderr
    assert (root / "MODEL_PASSPORT.json").read_bytes() == before


def test_dynamic_without_a_class_says_why(tmp_path: Path) -> None:
    """--dynamic on a passport that names no importable class exits 1 with the reason."""
    root = build(tmp_path / "tiny")
    result = run("generate-passport", root, "--dynamic", "--device", "cpu")
    assert result.returncode == 1
    assert "error: --dynamic: model_identity names no class_module/class_name to import" in result.stderr


def test_nan_model_gets_a_passport_that_signing_refuses(tmp_path: Path) -> None:
    """A model whose every output is NaN is recorded (null figures, failing buckets), and not signed."""
    from safetensors.torch import load_file, save_file

    root = build(tmp_path / "tiny")
    tensors = {k: v.clone().fill_(float("nan")) for k, v in load_file(str(root / "model.safetensors")).items()}
    save_file(tensors, str(root / "model.safetensors"))
    dynamic = passport_for(root, tmp_path)
    assert dynamic.returncode == 0, dynamic.stderr
    assert "Warning" not in dynamic.stderr
    smoke = json.loads((root / "MODEL_PASSPORT.json").read_text())["output_spec"]["smoke_results"]
    assert smoke["nan_inf"]["status"] == "fail" and smoke["nan_inf"]["n_nan"] == smoke["nan_inf"]["samples_checked"]
    assert "min" not in smoke["distribution"] and smoke["liveness"]["status"] == "fail"  # NaN: not measured
    sign = run("sign-checkpoint", root, "--reason", "reviewed")
    assert sign.returncode == 1
    assert "smoke_results_pass" in sign.stdout + sign.stderr and "nan_inf" in sign.stdout + sign.stderr
