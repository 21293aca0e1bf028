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


def test_incomplete_fails_listing_fields(make_checkpoint, run_check):
    """A present but incomplete vector fails and names the empty fields."""
    root = make_checkpoint(vector(input_state_hash="", input_images_hash={}), files=asset_files())
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
