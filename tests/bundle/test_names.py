"""Metta bundle names, ``:latest`` choice and sibling URIs for another epoch."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_passport.bundle import (
    checkpoint_uri_for_epoch,
    parse_bundle_name,
    pick_latest,
    resolve,
)

from .conftest import metta_files, write_dir, write_zip


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo-run:v3", ("demo-run", 3)),
        ("demo-run:v3.zip", ("demo-run", 3)),
        ("/train/ckpts/demo-run:v12/", ("demo-run", 12)),
        ("file:///train/ckpts/demo-run%3Av9.zip", ("demo-run", 9)),
        ("file:///train/ckpts/demo-run:v9.zip", ("demo-run", 9)),
        ("s3://bucket/runs/demo-run:v2.zip?versionId=7#frag", ("demo-run", 2)),
        ("team:run:v7", ("team:run", 7)),
        ("demo-run:v3:v4", ("demo-run:v3", 4)),
        ("demo-run:vlatest", ("demo-run:vlatest", None)),
        ("demo-run:v", ("demo-run:v", None)),
        (":v3", (":v3", None)),
        ("plain-dir", ("plain-dir", None)),
        ("demo-run:v٣", ("demo-run:v٣", None)),
    ],
)
def test_parse_bundle_name(name: str, expected: tuple[str, int | None]) -> None:
    """Run and epoch come from the last component, after dropping .zip, ?/# and percent-encoding."""
    assert parse_bundle_name(name) == expected


def test_pick_latest_highest_epoch_numerically() -> None:
    """v10 beats v9: epochs compare as numbers, not strings."""
    assert pick_latest([("run:v9", True), ("run:v10.zip", False), ("run:v2", True)]) == "run:v10.zip"


def test_pick_latest_prefers_directory_on_tie() -> None:
    """A directory and a zip of the same epoch: the directory wins, whatever the listing order."""
    assert pick_latest([("run:v3.zip", False), ("run:v3", True)]) == "run:v3"
    assert pick_latest([("run:v3", True), ("run:v3.zip", False)]) == "run:v3"


def test_pick_latest_tie_between_runs_is_deterministic() -> None:
    """Two runs at the same epoch and kind: the lexicographically smallest name, in any order."""
    names = [("b-run:v5.zip", False), ("a-run:v5.zip", False)]
    assert pick_latest(names) == pick_latest(reversed(names)) == "a-run:v5.zip"


def test_pick_latest_filters_run_and_ignores_others() -> None:
    """The run filter, dot-files and names without an epoch are honoured."""
    names = [("other:v50.zip", False), (".run:v99.zip", False), ("run:vX.zip", False), ("run:v4", True)]
    assert pick_latest(names, "run") == "run:v4"
    assert pick_latest(names, "missing") is None


def test_uri_for_epoch_file_percent_encoded_round_trip(tmp_path: Path) -> None:
    """A canonical file URI keeps its %3A and its .zip, and comes back unchanged."""
    write_zip(tmp_path / "demo-run:v3.zip", metta_files(0).items())
    write_zip(tmp_path / "demo-run:v9.zip", metta_files(9).items())
    uri = f"file://{tmp_path}/demo-run%3Av3.zip"
    other = checkpoint_uri_for_epoch(uri, 9)
    assert other == f"file://{tmp_path}/demo-run%3Av9.zip"
    assert checkpoint_uri_for_epoch(other, 3) == uri
    assert resolve(other).epoch == 9 and resolve(other).zip_path == tmp_path / "demo-run:v9.zip"


def test_uri_for_epoch_file_plain_round_trip(tmp_path: Path) -> None:
    """A file URI with a bare colon keeps it."""
    uri = f"file://{tmp_path}/demo-run:v3.zip"
    assert checkpoint_uri_for_epoch(checkpoint_uri_for_epoch(uri, 11), 3) == uri
    assert checkpoint_uri_for_epoch(uri, 11) == f"file://{tmp_path}/demo-run:v11.zip"


def test_uri_for_epoch_directory_stays_directory(tmp_path: Path) -> None:
    """A bundle directory's sibling is a directory name (no .zip added)."""
    base = write_dir(tmp_path / "demo-run:v3", metta_files())
    assert checkpoint_uri_for_epoch(base, 4) == str(tmp_path / "demo-run:v4")
    assert checkpoint_uri_for_epoch(f"{base}/", 4) == str(tmp_path / "demo-run:v4")


def test_uri_for_epoch_keeps_zip_when_base_resolved_to_one(tmp_path: Path) -> None:
    """A bare bundle name that resolves to ``<name>.zip`` gets ``.zip`` on its sibling."""
    write_zip(tmp_path / "demo-run:v3.zip", metta_files().items())
    assert checkpoint_uri_for_epoch(str(tmp_path / "demo-run:v3"), 5) == str(tmp_path / "demo-run:v5.zip")


def test_uri_for_epoch_from_latest(tmp_path: Path) -> None:
    """``:latest`` is resolved first; the sibling keeps the resolved form (here a zip)."""
    write_zip(tmp_path / "demo-run:v7.zip", metta_files().items())
    assert checkpoint_uri_for_epoch(f"{tmp_path}/:latest", 2) == f"{tmp_path}/demo-run:v2.zip"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/runs/demo-run:v3.zip", "s3://bucket/runs/demo-run:v8.zip"),
        ("s3://bucket/runs/demo-run:v3", "s3://bucket/runs/demo-run:v8.zip"),
        ("s3://bucket/runs/demo-run%3Av3.zip?versionId=1", "s3://bucket/runs/demo-run%3Av8.zip"),
    ],
)
def test_uri_for_epoch_s3_always_zip(uri: str, expected: str) -> None:
    """S3 siblings are always .zip bundles; query strings do not carry over."""
    assert checkpoint_uri_for_epoch(uri, 8) == expected


@pytest.mark.parametrize("epoch", [-1, True, 2.0, "3"])
def test_uri_for_epoch_rejects_bad_epoch(epoch: object) -> None:
    """Epochs are non-negative integers."""
    with pytest.raises(ValueError, match="epoch"):
        checkpoint_uri_for_epoch("s3://bucket/demo-run:v3.zip", epoch)  # type: ignore[arg-type]


@pytest.mark.parametrize("uri", ["s3://bucket/model.zip", "/ckpts/demo-run:vX", "/ckpts/:v3"])
def test_uri_for_epoch_needs_a_bundle_name(uri: str) -> None:
    """Without ``<run>:v<epoch>`` in the last component there is no sibling to name."""
    with pytest.raises(ValueError, match="<run>:v<epoch>"):
        checkpoint_uri_for_epoch(uri, 1)
