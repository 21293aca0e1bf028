"""Real frames for the reference test vector: read from a LeRobotDataset v3, stored as PNG + npy.

:func:`read_episode` takes episode 0, frames 0–9 of a LeRobotDataset v3.0 folder: through
lerobot's own loader when it is installed (:mod:`.frames_lerobot`; video-backed datasets need
it), else straight from the parquet files with pyarrow and the PNG bytes with pillow. When
lerobot is installed and cannot load the folder, the dataset is refused with lerobot's reason;
there is no second try with pyarrow, so the frames always come from the reader the frames'
``source`` names (``<folder name> via lerobot <version> LeRobotDataset`` or ``<folder name> via
pyarrow+pillow``: the folder's name, never the generating machine's path). Datasets that are not
real recordings — a ``meta/info.json`` that says ``"synthetic": true`` or a repo id containing
``dummy`` — are refused: a reference vector exists to catch feeding bugs on real data.

The folder is untrusted input: only regular files are read (an entry under ``meta/``, ``data/``
or ``videos/`` that is a link, a FIFO or a device refuses the dataset), nothing is unpickled,
and nothing from the folder is imported. :func:`load_vector` reads a stored vector back.
"""

from __future__ import annotations

import io
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .base import Observation, RuntimeUnavailable

__all__ = ["DatasetRefused", "ReferenceFrames", "dataset_name", "load_vector", "read_episode", "short_name",
           "windows"]

N_FRAMES = 10


class DatasetRefused(ValueError):
    """The dataset cannot serve as a source of real reference frames."""


def short_name(key: str) -> str:
    """``observation.images.top`` → ``top`` (spec §2.8)."""
    return key.rsplit(".", 1)[-1]


@dataclass
class ReferenceFrames:
    """Consecutive frames of one episode: uint8 RGB ``(N, H, W, 3)`` per image key, states ``(N, D)``."""

    images: dict[str, np.ndarray] = field(default_factory=dict)
    states: np.ndarray | None = None
    features: dict[str, np.ndarray] = field(default_factory=dict)
    task: str = ""
    episode: int = 0
    first_frame: int = 0
    source: str = ""

    @property
    def n_frames(self) -> int:
        if self.states is not None:
            return len(self.states)
        return len(next(iter(self.images.values()))) if self.images else 0


def windows(frames: ReferenceFrames, offsets: list[int] | None = None) -> list[Observation]:
    """One observation per frame, each holding the history ``offsets`` asks for (clamped at 0)."""
    offsets = offsets or [0]
    out = []
    for t in range(frames.n_frames):
        idx = [min(max(t + o, 0), frames.n_frames - 1) for o in offsets]
        out.append(Observation(
            images={key: arr[idx] for key, arr in frames.images.items()},
            state=frames.states[idx] if frames.states is not None else None,
            task=frames.task, index=frames.first_frame + t,
            features={key: arr[idx] for key, arr in frames.features.items()}))
    return out


def dataset_name(root: Path) -> str:
    """The dataset folder's own name (what a passport records: never the generating machine's path)."""
    return Path(os.path.abspath(root)).name or str(root)


def _decode(cell: Any) -> np.ndarray:
    from PIL import Image

    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if not data:
        raise DatasetRefused("image cell without PNG bytes (video-backed datasets need lerobot installed)")
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _refuse_synthetic(root: Path, info: dict[str, Any]) -> None:
    marker = info.get("synthetic") or info.get("dummy")
    repo = str(info.get("repo_id", ""))
    if marker or "dummy" in repo.lower():
        raise DatasetRefused(f"{root}: meta/info.json marks this dataset as synthetic; "
                             "the reference test vector must come from real recorded data")


def _refuse_irregular(root: Path) -> None:
    """Every entry under meta/, data/ and videos/ is a directory or a regular file.

    A file may be a symbolic link to a regular file (a Hugging Face cache snapshot links its
    files to blobs); a linked directory, a link to anything else, a FIFO or a device refuses
    the dataset, so nothing can block a read or lead the walk out of the folder.
    """
    for top in ("meta", "data", "videos"):
        if not os.path.lexists(root / top):
            continue
        entries = [root / top]
        for base, dirs, files in os.walk(root / top):  # os.walk never descends into a linked directory
            entries.extend(Path(base) / name for name in [*dirs, *files])
        for path in entries:
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISLNK(mode) and stat.S_ISREG(os.stat(path).st_mode) and path != root / top:
                    continue
            except OSError as exc:
                raise DatasetRefused(f"{root}: {exc}") from None
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "a symbolic link to something other than a regular file" if stat.S_ISLNK(mode) \
                    else "not a regular file"
                raise DatasetRefused(f"{root}: {path.relative_to(root).as_posix()} is {kind}; "
                                     "a dataset is read from regular files and directories only")


def read_episode(root: Path, image_keys: list[str], state_key: str | None = "observation.state",
                 episode: int = 0, n_frames: int = N_FRAMES, feature_keys: tuple[str, ...] = ()) -> ReferenceFrames:
    """Frames ``0..n_frames-1`` of ``episode`` from a LeRobotDataset v3 folder (lerobot's loader when installed)."""
    root = Path(root)
    info_path = root / "meta" / "info.json"
    try:
        if not stat.S_ISREG(os.lstat(info_path).st_mode):
            raise OSError("not a regular file")
        info = json.loads(info_path.read_text())
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise DatasetRefused(f"{info_path}: not a LeRobotDataset v3 folder ({exc})") from None
    _refuse_synthetic(root, info)
    _refuse_irregular(root)
    from .frames_lerobot import loader, read_with_lerobot

    dataset_class, reader = loader()
    if dataset_class is not None:
        return read_with_lerobot(dataset_class, reader, root, image_keys, state_key, episode, n_frames, feature_keys)
    features = info.get("features") if isinstance(info.get("features"), dict) else {}
    videos = [key for key in image_keys
              if isinstance(features.get(key), dict) and features[key].get("dtype") == "video"]
    if videos:
        raise DatasetRefused(f"{root}: {videos[0]} is stored as video under videos/: video-backed datasets need "
                             f"lerobot installed to be decoded, and {reader}")
    return _read_parquet(root, image_keys, state_key, episode, n_frames, feature_keys)


def _read_parquet(root: Path, image_keys: list[str], state_key: str | None, episode: int, n_frames: int,
                  feature_keys: tuple[str, ...]) -> ReferenceFrames:
    """The reader without lerobot: the parquet rows with pyarrow, the PNG cells with pillow."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeUnavailable("reading a LeRobotDataset needs pyarrow (pip install 'pytest-passport[torch]')") from None
    files = sorted((root / "data").glob("chunk-*/file-*.parquet"))
    if not files:
        raise DatasetRefused(f"{root}/data: no chunk-*/file-*.parquet (only datasets with images inside parquet "
                             "are read without lerobot)")
    rows: list[dict[str, Any]] = []
    columns = [c for c in [*image_keys, state_key, *feature_keys, "episode_index", "frame_index", "task_index"] if c]
    for path in files:
        table = pq.read_table(path)
        present = [c for c in columns if c in table.column_names]
        for row in table.select(present).to_pylist():
            if row.get("episode_index") == episode:
                rows.append(row)
    rows.sort(key=lambda r: r.get("frame_index", 0))
    rows = rows[:n_frames]
    if len(rows) < n_frames:
        raise DatasetRefused(f"{root}: episode {episode} has {len(rows)} frames, {n_frames} needed")
    missing = [k for k in image_keys if k not in rows[0]]
    if missing:
        raise DatasetRefused(f"{root}: no column {missing[0]} (the model's image keys must be dataset columns)")
    frames = ReferenceFrames(episode=episode, first_frame=int(rows[0].get("frame_index", 0)),
                             source=f"{dataset_name(root)} via pyarrow+pillow")
    for key in image_keys:
        frames.images[key] = np.stack([_decode(r[key]) for r in rows])
    if state_key and state_key in rows[0]:
        frames.states = np.asarray([r[state_key] for r in rows], dtype=np.float32)
    for key in feature_keys:
        if key not in rows[0]:
            raise DatasetRefused(f"{root}: no column {key} (a model input)")
        frames.features[key] = np.asarray([r[key] for r in rows], dtype=np.float32)
    frames.task = _task(root, rows[0].get("task_index"))
    return frames


def _task(root: Path, index: Any) -> str:
    path = root / "meta" / "tasks.parquet"
    if index is None or not path.is_file():
        return ""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = table.column_names
    for row in table.to_pylist():
        if row.get("task_index") == index:
            text = row.get("task") or row.get("__index_level_0__")
            if isinstance(text, str):
                return text
    if "__index_level_0__" in names:  # pandas index holds the task text
        for row in table.to_pylist():
            if row.get("task_index") == index:
                return str(row["__index_level_0__"])
    return ""


def load_vector(checkpoint: Any, passport: Any) -> ReferenceFrames:
    """The stored reference vector of ``passport`` (PNG frames + states .npy) read back from the checkpoint."""
    from PIL import Image

    rtv = passport.reference_test_vector
    if rtv is None or not rtv.input_images_hash and not rtv.input_state_path:
        raise LookupError("the passport has no reference_test_vector")
    frames = ReferenceFrames(task=rtv.input_prompt or "", source="reference_test_vector")
    if rtv.input_state_path:
        frames.states = np.load(checkpoint.resolve(rtv.input_state_path), allow_pickle=False)
    keys = {short_name(image.key): image.key for image in (passport.input_contract.images or [])
            if image is not None and image.key} \
        if passport.input_contract else {}
    base = (rtv.input_images_path or "").rstrip("/")
    for camera, hashes in sorted((rtv.input_images_hash or {}).items()):
        stack = []
        for i in range(len(hashes or [])):
            with Image.open(checkpoint.resolve(f"{base}/{camera}_{i:03d}.png")) as image:
                stack.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
        frames.images[keys.get(camera, camera)] = np.stack(stack)
    for key, rel in sorted((rtv.extra.get("input_feature_paths") or {}).items()):
        frames.features[key] = np.load(checkpoint.resolve(rel), allow_pickle=False)
    return frames
