"""Write a small video-backed LeRobotDataset v3 with the installed lerobot (LeRobotDataset.create, use_videos=True).

Used by the LeRobot CI lane (scripts/lerobot_lane.sh). The lerobot-policies fixture dataset
``synthetic_arm`` keeps its camera frames as PNG inside the parquet files; most datasets on the
hub store them as MP4 under ``videos/`` instead, which only lerobot's loader decodes. This script
re-records the episodes of a PNG dataset (same features: two cameras, state, environment state,
7-D action, same tasks) through lerobot's own writer, so the cameras become videos encoded by
lerobot's encoder.

    python scripts/lerobot_video_dataset.py SOURCE_DATASET OUT_DIR [VCODEC]

VCODEC defaults to lerobot's own default (libsvtav1); h264, hevc and libaom-av1 are the other
software encoders lerobot accepts. OUT_DIR must not exist yet. Prints OUT_DIR.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from PIL import Image


def source_rows(source: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[int, str]]:
    """The source dataset's info.json, its rows (episode, frame order) and its tasks by index."""
    info = json.loads((source / "meta" / "info.json").read_text())
    rows: list[dict[str, Any]] = []
    for path in sorted((source / "data").glob("chunk-*/file-*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    rows.sort(key=lambda r: (r["episode_index"], r["frame_index"]))
    tasks = {int(r["task_index"]): str(r["task"]) for r in pq.read_table(source / "meta" / "tasks.parquet").to_pylist()}
    return info, rows, tasks


def write(source: Path, out: Path, vcodec: str = "libsvtav1") -> Path:
    from lerobot.configs.video import RGBEncoderConfig
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    info, rows, tasks = source_rows(source)
    bookkeeping = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
    features: dict[str, dict[str, Any]] = {}
    for key, spec in info["features"].items():
        if key in bookkeeping:
            continue
        spec = dict(spec)
        if spec["dtype"] == "image":
            spec["dtype"] = "video"
        features[key] = spec
    dataset = LeRobotDataset.create(repo_id=f"local/{out.name}", fps=int(info["fps"]), features=features, root=out,
                                    robot_type=info.get("robot_type"), use_videos=True,
                                    rgb_encoder=RGBEncoderConfig(vcodec=vcodec))
    episode = rows[0]["episode_index"]
    for row in rows:
        if row["episode_index"] != episode:
            dataset.save_episode(parallel_encoding=False)
            episode = row["episode_index"]
        frame: dict[str, Any] = {"task": tasks[int(row["task_index"])]}
        for key, spec in features.items():
            if spec["dtype"] == "video":
                with Image.open(io.BytesIO(row[key]["bytes"])) as image:
                    frame[key] = np.asarray(image.convert("RGB"), dtype=np.uint8)
            else:
                frame[key] = np.asarray(row[key], dtype=np.float32)
        dataset.add_frame(frame)
    dataset.save_episode(parallel_encoding=False)
    dataset.finalize()
    return out


if __name__ == "__main__":
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    print(write(source, out, *sys.argv[3:4]))
