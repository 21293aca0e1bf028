"""read_episode: the reference frames of a LeRobotDataset v3, through lerobot's loader or pyarrow + pillow.

The tests marked ``without lerobot`` hide lerobot (whether or not it is installed) and run in
every lane; the ``lerobot`` ones need lerobot's dataset loader (the LeRobot lane's venv) and
compare its frames with pyarrow's on the PNG fixture dataset, byte for byte, and read a
video-backed dataset written by lerobot itself.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from pytest_passport.runtime.frames import DatasetRefused, ReferenceFrames, read_episode

from .builders import IMAGE_KEYS, REPO, arm_dataset

pq = pytest.importorskip("pyarrow.parquet", reason="reading a dataset needs pyarrow (the torch extra)")

STATE = "observation.state"
ENV = ("observation.environment_state",)


@pytest.fixture
def no_lerobot(monkeypatch: pytest.MonkeyPatch) -> None:
    """lerobot cannot be imported in this test, installed or not."""
    for name in ("lerobot", "lerobot.datasets", "lerobot.datasets.lerobot_dataset"):
        monkeypatch.setitem(sys.modules, name, None)


def episode_rows(dataset: Path, episode: int = 0) -> list[dict]:
    rows = [r for path in sorted((dataset / "data").glob("chunk-*/file-*.parquet"))
            for r in pq.read_table(path).to_pylist() if r["episode_index"] == episode]
    return sorted(rows, key=lambda r: r["frame_index"])


def png(cell: dict) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(cell["bytes"])) as image:
        return np.asarray(image.convert("RGB"))


def read(dataset: Path) -> ReferenceFrames:
    return read_episode(dataset, list(IMAGE_KEYS), STATE, feature_keys=ENV)


def test_pyarrow_reader_without_lerobot(no_lerobot: None) -> None:
    """Without lerobot, episode 0 frames 0-9 come from the parquet rows and their PNG cells."""
    frames = read(arm_dataset())
    rows = episode_rows(arm_dataset())[:10]
    assert frames.n_frames == 10 and frames.episode == 0 and frames.first_frame == 0
    for key in IMAGE_KEYS:
        assert frames.images[key].dtype == np.uint8 and frames.images[key].shape == (10, 64, 80, 3)
        np.testing.assert_array_equal(frames.images[key], np.stack([png(r[key]) for r in rows]))
    np.testing.assert_array_equal(frames.states, np.asarray([r[STATE] for r in rows], np.float32))
    np.testing.assert_array_equal(frames.features[ENV[0]], np.asarray([r[ENV[0]] for r in rows], np.float32))
    assert frames.states.dtype == frames.features[ENV[0]].dtype == np.float32
    assert frames.task == "pick up the red block"
    assert frames.source == "synthetic_arm via pyarrow+pillow"


def test_source_is_the_folder_name_not_a_path(no_lerobot: None, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The frames' source travels in the passport: the dataset folder's name, however the path was given."""
    dataset = Path(shutil.copytree(arm_dataset(), tmp_path / "kitchen_arm"))
    assert read(dataset).source == "kitchen_arm via pyarrow+pillow"
    monkeypatch.chdir(dataset)
    source = read(Path(".")).source
    assert source == "kitchen_arm via pyarrow+pillow"
    assert str(tmp_path) not in source and os.sep not in source


def video_backed(tmp_path: Path) -> Path:
    """synthetic_arm as a video-backed dataset would look: cameras of dtype video, absent from the parquet."""
    dataset = Path(shutil.copytree(arm_dataset(), tmp_path / "arm_video"))
    info = json.loads((dataset / "meta" / "info.json").read_text())
    for key in IMAGE_KEYS:
        info["features"][key]["dtype"] = "video"
    info["video_path"] = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    (dataset / "meta" / "info.json").write_text(json.dumps(info))
    for path in (dataset / "data").glob("chunk-*/file-*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(list(IMAGE_KEYS)), path)
    return dataset


def test_video_dataset_without_lerobot_asks_for_lerobot(no_lerobot: None, tmp_path: Path) -> None:
    """A video-backed dataset cannot be read without lerobot: the refusal says to install it."""
    dataset = video_backed(tmp_path)
    with pytest.raises(DatasetRefused) as refused:
        read(dataset)
    message = str(refused.value)
    assert "observation.images" in message and "video-backed datasets need lerobot installed" in message
    assert "pip install lerobot" in message and str(dataset) in message


def test_dataset_marked_synthetic_is_refused(no_lerobot: None, tmp_path: Path) -> None:
    """A dataset that says it is synthetic never supplies reference frames (checked before any reader)."""
    dataset = Path(shutil.copytree(arm_dataset(), tmp_path / "arm"))
    info = json.loads((dataset / "meta" / "info.json").read_text())
    (dataset / "meta" / "info.json").write_text(json.dumps({**info, "synthetic": True}))
    with pytest.raises(DatasetRefused, match="synthetic.*real recorded data"):
        read(dataset)


def test_file_linked_to_a_regular_file_is_read(no_lerobot: None, tmp_path: Path) -> None:
    """A data file that links to a regular file (as in a Hugging Face cache snapshot) reads the same frames."""
    dataset = Path(shutil.copytree(arm_dataset(), tmp_path / "arm"))
    expected = read(dataset)
    target = next((dataset / "data").glob("chunk-*/file-*.parquet"))
    target.symlink_to(target.rename(tmp_path / "blob.parquet"))
    linked = read(dataset)
    assert linked.images.keys() == expected.images.keys()
    assert all(np.array_equal(linked.images[k], expected.images[k]) for k in expected.images)
    assert np.array_equal(linked.states, expected.states)


@pytest.mark.parametrize("kind", ["fifo", "dangling", "linked_dir"])
def test_irregular_entry_in_the_dataset_is_refused(no_lerobot: None, tmp_path: Path, kind: str) -> None:
    """A FIFO, a dangling link or a linked directory under data/ refuses the dataset, naming the entry."""
    dataset = Path(shutil.copytree(arm_dataset(), tmp_path / "arm"))
    target = next((dataset / "data").glob("chunk-*/file-*.parquet"))
    if kind == "fifo":
        target.unlink()
        os.mkfifo(target)
        entry = target
    elif kind == "dangling":
        target.unlink()
        target.symlink_to(tmp_path / "missing.parquet")
        entry = target
    else:
        entry = target.parent
        entry.rename(tmp_path / "chunk")
        entry.symlink_to(tmp_path / "chunk", target_is_directory=True)
    rel = entry.relative_to(dataset).as_posix()
    with pytest.raises(DatasetRefused, match=rf"{rel}"):
        read(dataset)


# Through lerobot's own loader.

lerobot = pytest.mark.skipif(importlib.util.find_spec("lerobot") is None,
                             reason="needs lerobot's dataset loader (the LeRobot lane's venv)")


@pytest.fixture(scope="module")
def lerobot_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """synthetic_arm re-recorded by lerobot itself with use_videos=True (cameras as AV1 MP4 under videos/)."""
    path = REPO / "scripts" / "lerobot_video_dataset.py"
    spec = importlib.util.spec_from_file_location("lerobot_video_dataset", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.write(arm_dataset(), tmp_path_factory.mktemp("videos") / "arm_video")


@lerobot
def test_lerobot_and_pyarrow_agree_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a PNG dataset, lerobot's float CHW frames come back to exactly pyarrow + pillow's uint8 HWC."""
    through_lerobot = read(arm_dataset())
    with monkeypatch.context() as hidden:
        for name in ("lerobot", "lerobot.datasets", "lerobot.datasets.lerobot_dataset"):
            hidden.setitem(sys.modules, name, None)
        through_pyarrow = read(arm_dataset())
    assert through_lerobot.source.startswith("synthetic_arm via lerobot ")
    assert through_pyarrow.source == "synthetic_arm via pyarrow+pillow"
    for key in IMAGE_KEYS:
        assert through_lerobot.images[key].dtype == np.uint8
        assert through_lerobot.images[key].shape == through_pyarrow.images[key].shape
        assert through_lerobot.images[key].tobytes() == through_pyarrow.images[key].tobytes()
    assert through_lerobot.states.dtype == np.float32
    assert through_lerobot.states.tobytes() == through_pyarrow.states.tobytes()
    assert through_lerobot.features[ENV[0]].tobytes() == through_pyarrow.features[ENV[0]].tobytes()
    assert (through_lerobot.task, through_lerobot.first_frame) == (through_pyarrow.task, through_pyarrow.first_frame)


@lerobot
def test_lerobot_reads_a_video_dataset(lerobot_video: Path) -> None:
    """A dataset lerobot wrote with use_videos=True is decoded by lerobot: uint8 HWC frames, in order."""
    frames = read(lerobot_video)
    rows = episode_rows(arm_dataset())[:10]
    assert frames.source.startswith("arm_video via lerobot ") and frames.task == "pick up the red block"
    np.testing.assert_array_equal(frames.states, np.asarray([r[STATE] for r in rows], np.float32))
    for key in IMAGE_KEYS:
        assert frames.images[key].dtype == np.uint8 and frames.images[key].shape == (10, 64, 80, 3)
        originals = np.stack([png(r[key]) for r in rows]).astype(int)
        nearest = [int(np.argmin([np.abs(frame.astype(int) - original).mean() for original in originals]))
                   for frame in frames.images[key]]
        assert nearest == list(range(10)), key  # lossy, but each decoded frame is its own original


@lerobot
def test_lerobot_failure_is_refused_naming_the_folder(lerobot_video: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder lerobot cannot load is refused with its reason, and the Hub is not asked for the missing file."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the reader holds the Hub off by itself
    dataset = Path(shutil.copytree(lerobot_video, tmp_path / "arm_video"))
    next((dataset / "videos").glob("observation.images.top/chunk-*/file-*.mp4")).unlink()
    with pytest.raises(DatasetRefused) as refused:
        read(dataset)
    message = str(refused.value)
    assert message.startswith(f"{dataset}: lerobot ") and "could not load this dataset" in message
    assert "missing from the folder" in message
    assert constants.HF_HUB_OFFLINE is False
