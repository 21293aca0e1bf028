"""Reference frames read through lerobot's own loader (``LeRobotDataset``), when lerobot is installed.

This is the reader :func:`.frames.read_episode` uses whenever ``lerobot.datasets.lerobot_dataset``
imports: it decodes video-backed datasets (cameras stored as MP4 under ``videos/``, the common
case on the hub) with the decoder lerobot itself trains with, and reads image-in-parquet
datasets exactly as training does. lerobot returns camera frames as ``(C, H, W)`` tensors —
uint8 from videos (``return_uint8=True``), float32 ``k / 255`` from PNG cells — and both are
turned back into uint8 ``(H, W, 3)`` without loss: a float frame whose values are not 8-bit
levels is refused rather than quantized.

Trust: the dataset folder is untrusted input. It is handed to lerobot because the user pointed
``--dataset-path`` at it and lerobot is a library the user installed (the same loader they train
with); nothing in the folder is imported or unpickled here, and lerobot reads only its json,
parquet and mp4 files. Before the folder gets here, :func:`.frames.read_episode` has read
``meta/info.json``, refused datasets marked synthetic, and refused any entry under ``meta/``,
``data/`` or ``videos/`` that is not a regular file or directory. The Hub is never contacted:
huggingface_hub's offline switch is held on while lerobot loads and reads, so a folder with
files missing is refused instead of being completed by a download. lerobot's loader keeps its
usual side effect of an Arrow cache of the parquet files under the ``datasets`` cache folder.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .frames import DatasetRefused, ReferenceFrames, dataset_name

__all__ = ["loader", "read_with_lerobot"]


def loader() -> tuple[Any, str]:
    """``(LeRobotDataset, "lerobot <version>")``, or ``(None, why it is unavailable)``."""
    try:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "lerobot":
            return None, "lerobot is not installed (pip install lerobot)"
        return None, f"lerobot's dataset loader does not import ({exc}; pip install 'lerobot[dataset]')"
    except Exception as exc:  # a broken install: report it, never a traceback
        return None, f"lerobot's dataset loader does not import ({type(exc).__name__}: {exc})"
    try:
        version = importlib.metadata.version("lerobot")
    except importlib.metadata.PackageNotFoundError:
        version = "(version unknown)"
    return LeRobotDataset, f"lerobot {version}"


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """huggingface_hub refuses every request while this is held (its own HF_HUB_OFFLINE switch)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def _numpy(value: Any) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _image(root: Path, key: str, value: Any) -> np.ndarray:
    """lerobot's ``(C, H, W)`` camera frame → uint8 ``(H, W, 3)``, exactly (as pillow's ``convert("RGB")``)."""
    array = _numpy(value)
    if array.ndim != 3:
        raise DatasetRefused(f"{root}: {key}: lerobot returned a frame of shape {array.shape}, not (C, H, W)")
    if array.dtype == np.uint8:
        chw = array
    elif np.issubdtype(array.dtype, np.floating):
        scaled = array.astype(np.float64) * 255.0
        levels = np.rint(scaled)
        if not np.all(np.isfinite(scaled)) or levels.min() < 0 or levels.max() > 255 \
                or float(np.max(np.abs(scaled - levels))) > 1e-3:
            raise DatasetRefused(f"{root}: {key}: lerobot returned float values that are not 8-bit levels in [0, 1] "
                                 "(a depth map or a 16-bit image cannot be stored as a PNG reference frame)")
        chw = levels.astype(np.uint8)
    else:
        raise DatasetRefused(f"{root}: {key}: lerobot returned {array.dtype} frames")
    if chw.shape[0] == 1:  # grayscale: replicated, as pillow's convert("RGB")
        chw = np.repeat(chw, 3, axis=0)
    elif chw.shape[0] == 4:  # alpha dropped, as pillow's convert("RGB")
        chw = chw[:3]
    elif chw.shape[0] != 3:
        raise DatasetRefused(f"{root}: {key}: {chw.shape[0]} channels, not an RGB camera")
    return np.ascontiguousarray(chw.transpose(1, 2, 0))


def read_with_lerobot(dataset_class: Any, reader: str, root: Path, image_keys: list[str], state_key: str | None,
                      episode: int, n_frames: int, feature_keys: tuple[str, ...]) -> ReferenceFrames:
    """Frames ``0..n_frames-1`` of ``episode`` through ``dataset_class`` (lerobot's ``LeRobotDataset``)."""
    try:
        with _offline():
            dataset = dataset_class(repo_id=f"local/{dataset_name(root)}", root=root, episodes=[episode],
                                    return_uint8=True)
            if len(dataset) < n_frames:
                raise DatasetRefused(f"{root}: episode {episode} has {len(dataset)} frames, {n_frames} needed")
            items = [dataset[i] for i in range(n_frames)]
    except DatasetRefused:
        raise
    except Exception as exc:  # lerobot's errors are many kinds; the user gets the folder and the reason
        if type(exc).__name__ == "OfflineModeIsEnabled":  # lerobot went for the Hub: the folder lacks files
            message = "files it needs are missing from the folder: it asked the Hub for them, and the Hub is never " \
                      "contacted while reading a dataset"
        else:
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}"
        raise DatasetRefused(f"{root}: {reader} could not load this dataset ({message})") from None
    first = items[0]
    indices = [(int(_numpy(item["episode_index"])), int(_numpy(item["frame_index"]))) for item in items]
    start = indices[0][1]
    if indices != [(episode, start + i) for i in range(n_frames)]:
        raise DatasetRefused(f"{root}: {reader} returned frames {indices} for episode {episode}, "
                             "not consecutive frames of it")
    missing = [key for key in image_keys if key not in first]
    if missing:
        raise DatasetRefused(f"{root}: no column {missing[0]} (the model's image keys must be dataset columns)")
    frames = ReferenceFrames(episode=episode, first_frame=start,
                             source=f"{dataset_name(root)} via {reader} LeRobotDataset")
    for key in image_keys:
        frames.images[key] = np.stack([_image(root, key, item[key]) for item in items])
    if state_key and state_key in first:
        frames.states = np.stack([_numpy(item[state_key]) for item in items]).astype(np.float32)
    for key in feature_keys:
        if key not in first:
            raise DatasetRefused(f"{root}: no column {key} (a model input)")
        frames.features[key] = np.stack([_numpy(item[key]) for item in items]).astype(np.float32)
    task = first.get("task")
    frames.task = task if isinstance(task, str) else ""
    return frames
