"""Unit tests for the reference_test_vector check."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pytest_passport.checks.reference_test_vector import reference_test_vector
from pytest_passport.findings import Status

STATE = b"\x93NUMPY fake state bytes"
FRAMES = {"front": [b"png-front-0", b"png-front-1"], "wrist": [b"png-wrist-0"]}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vector(**overrides: Any) -> dict[str, Any]:
    section = {
        "n_frames": 2,
        "input_state_path": "assets/reference_test_vector/input_states.npy",
        "input_state_hash": sha(STATE),
        "input_images_path": "assets/reference_test_vector/images",
        "input_images_hash": {cam: [sha(f) for f in frames] for cam, frames in FRAMES.items()},
        "input_prompt": "",
    }
    section.update(overrides)
    return {"reference_test_vector": section}


def asset_files() -> dict[str, bytes]:
    files = {"assets/reference_test_vector/input_states.npy": STATE}
    for cam, frames in FRAMES.items():
        for i, data in enumerate(frames):
            files[f"assets/reference_test_vector/images/{cam}_{i:03d}.png"] = data
    return files


def test_without_passport_is_not_checked(make_checkpoint, run_check):
    """No passport → not_checked."""
    finding = run_check(reference_test_vector, make_checkpoint())
    assert finding.status is Status.NOT_CHECKED
    assert "MODEL_PASSPORT.json" in finding.message


@pytest.mark.parametrize("passport", [{}, {"reference_test_vector": {}}, {"reference_test_vector": {"input_prompt": ""}}])
def test_absent_or_empty_is_soft(make_checkpoint, run_check, passport):
    """Absent/empty section is a soft signal (spec §8.3 fix), not a failure."""
    finding = run_check(reference_test_vector, make_checkpoint(passport))
    assert finding.status is Status.SOFT_SIGNAL
    assert finding.message == "no reference test vector; Phase-2 field"


def with_contract(passport: dict[str, Any], cameras: list[str], state: bool = True) -> dict[str, Any]:
    contract: dict[str, Any] = {"images": [{"key": f"observation.images.{cam}"} for cam in cameras]}
    if state:
        contract["state"] = {"total_dim": 2}
    return {**passport, "input_contract": contract}


def test_incomplete_fails_listing_fields(make_checkpoint, run_check):
    """A present but incomplete vector fails and names the empty fields."""
    root = make_checkpoint(with_contract(vector(input_state_hash="", input_images_hash={}), list(FRAMES)),
                           files=asset_files())
    finding = run_check(reference_test_vector, root)
    assert finding.status is Status.FAIL
    assert finding.details["missing"] == ["input_state_hash", "input_images_hash"]
    assert "incomplete" in finding.message


def test_complete_and_matching_passes(make_checkpoint, run_check):
    """All files present with matching sha256 pass."""
    finding = run_check(reference_test_vector, make_checkpoint(vector(), files=asset_files()))
    assert finding.status is Status.PASS
    assert finding.details["image_files"] == 3
    assert finding.details["cameras"] == ["front", "wrist"]


def test_tampered_frame_fails(make_checkpoint, run_check):
    """A frame whose bytes changed fails naming the file."""
    files = asset_files()
    files["assets/reference_test_vector/images/wrist_000.png"] = b"swapped camera"
    finding = run_check(reference_test_vector, make_checkpoint(vector(), files=files))
    assert finding.status is Status.FAIL
    assert "wrist_000.png" in finding.message
    assert len(finding.details["problems"]) == 1


def test_state_hash_mismatch_fails(make_checkpoint, run_check):
    """input_state_hash not matching the .npy bytes fails."""
    finding = run_check(reference_test_vector, make_checkpoint(vector(input_state_hash="0" * 64), files=asset_files()))
    assert finding.status is Status.FAIL
    assert "input_states.npy" in finding.message


def test_missing_files_fail(make_checkpoint, run_check):
    """Declared files that are not on disk fail, one problem per file."""
    finding = run_check(reference_test_vector, make_checkpoint(vector()))
    assert finding.status is Status.FAIL
    assert "is missing" in finding.message
    assert len(finding.details["problems"]) == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [("input_state_path", "../outside.npy"), ("input_state_path", "/etc/passwd"), ("input_images_path", "../../images")],
)
def test_paths_outside_root_fail(make_checkpoint, run_check, field, value):
    """Declared paths escaping the checkpoint root are hard failures, never followed."""
    finding = run_check(reference_test_vector, make_checkpoint(vector(**{field: value}), files=asset_files()))
    assert finding.status is Status.FAIL
    assert field in finding.message


def test_state_only_policy_needs_no_frames(make_checkpoint, run_check):
    """A policy without cameras passes with a state-only vector (no frames to store)."""
    passport = with_contract(vector(input_images_path=None, input_images_hash={}), cameras=[])
    files = {k: v for k, v in asset_files().items() if k.endswith(".npy")}
    finding = run_check(reference_test_vector, make_checkpoint(passport, files=files))
    assert finding.status is Status.PASS, finding.message
    assert finding.details["image_files"] == 0


def test_camera_policy_without_frames_fails_naming_cameras(make_checkpoint, run_check):
    """Cameras in the contract but no frames in the vector fails and names the cameras."""
    passport = with_contract(vector(input_images_path=None, input_images_hash={}), cameras=["front"])
    finding = run_check(reference_test_vector, make_checkpoint(passport, files=asset_files()))
    assert finding.status is Status.FAIL
    assert finding.details["missing"] == ["input_images_path", "input_images_hash"]
    assert "observation.images.front" in finding.message


def test_vector_naming_no_input_fails(make_checkpoint, run_check):
    """A vector that names neither a state nor a frame nor another input is incomplete."""
    passport = with_contract({"reference_test_vector": {"n_frames": 2}}, cameras=[], state=False)
    finding = run_check(reference_test_vector, make_checkpoint(passport))
    assert finding.status is Status.FAIL
    assert "incomplete" in finding.message


EXTRA = {"assets/reference_test_vector/observation.environment_state.npy": b"env-bytes",
         "assets/reference_test_vector/expected_output.npy": b"expected-bytes"}


def extended(**overrides: Any) -> dict[str, Any]:
    env, out = EXTRA
    section = vector(input_feature_paths={"observation.environment_state": env},
                     input_feature_hashes={"observation.environment_state": sha(EXTRA[env])},
                     expected_output_path=out, expected_output_hash=sha(EXTRA[out]))
    section["reference_test_vector"].update(overrides)
    return with_contract(section, list(FRAMES))


def test_extension_files_are_verified(make_checkpoint, run_check):
    """Other input features and the expected output are hashed like the frames."""
    finding = run_check(reference_test_vector, make_checkpoint(extended(), files=asset_files() | EXTRA))
    assert finding.status is Status.PASS, finding.message
    assert finding.details["other_files"] == list(EXTRA)


@pytest.mark.parametrize("rel", sorted(EXTRA))
def test_tampered_extension_file_fails(make_checkpoint, run_check, rel):
    """A changed feature .npy or expected_output.npy fails naming the file."""
    files = asset_files() | EXTRA | {rel: b"changed"}
    finding = run_check(reference_test_vector, make_checkpoint(extended(), files=files))
    assert finding.status is Status.FAIL
    assert rel in finding.message


def test_unpaired_extension_fails(make_checkpoint, run_check):
    """An expected output without its hash (or a feature path without one) is incomplete."""
    finding = run_check(reference_test_vector, make_checkpoint(extended(expected_output_hash=None),
                                                               files=asset_files() | EXTRA))
    assert finding.status is Status.FAIL
    assert "expected_output_path/expected_output_hash" in finding.message
