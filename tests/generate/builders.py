"""Builders for generate-passport tests: checkpoints, datasets and git repos, all under tmp.

The 45 MB LeRobot ACT fixture is rebuilt small: its config and processor JSON are kept
verbatim (tests/fixtures/lerobot/act_random_small/) and the safetensors files are written
here with the real tensor names and the real normalizer layout, only with small shapes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from pytest_passport import schema

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
EPOCH_TEXT = "2026-01-01T00:00:00Z"
NORMALIZER = "policy_preprocessor_step_3_normalizer_processor.safetensors"
UNNORMALIZER = "policy_postprocessor_step_0_unnormalizer_processor.safetensors"
STATS = ("count", "max", "mean", "min", "q01", "q10", "q50", "q90", "q99", "std")
BOOKKEEPING = ("episode_index", "frame_index", "index", "task_index", "timestamp")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def act_model_tensors() -> dict[str, np.ndarray]:
    """ACT weights with the real names (dim_model 64, 6-D state/action, chunk 10), small backbone."""
    rng = np.random.default_rng(0)

    def t(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    return {
        "model.action_head.weight": t(6, 64),
        "model.action_head.bias": t(6),
        "model.backbone.conv1.weight": t(64, 3, 7, 7),
        "model.backbone.bn1.weight": t(64),
        "model.backbone.bn1.running_mean": t(64),
        "model.decoder_pos_embed.weight": t(10, 64),
        "model.encoder_robot_state_input_proj.weight": t(64, 6),
        "model.encoder_robot_state_input_proj.bias": t(64),
        "model.encoder_img_feat_input_proj.weight": t(64, 512, 1, 1),
    }


def normalizer_tensors(image_count_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The normalizer state layout LeRobot 0.6 writes: ``<feature>.<stat>`` for every dataset feature."""
    tensors: dict[str, np.ndarray] = {}
    for feature, shape in (("action", (6,)), ("observation.state", (6,)),
                           ("observation.images.front", (3, 1, 1)), ("observation.images.wrist", (3, 1, 1)),
                           *((name, (1,)) for name in BOOKKEEPING)):
        for stat in STATS:
            if stat == "count":
                stat_shape = image_count_shape if feature.startswith("observation.images") else (1,)
            else:
                stat_shape = shape
            tensors[f"{feature}.{stat}"] = np.full(stat_shape, 0.5 if stat != "std" else 0.25, np.float32)
    return tensors


def build_act_small(root: Path) -> Path:
    copy_tree(FIXTURES / "lerobot" / "act_random_small", root)
    save_file(act_model_tensors(), str(root / "model.safetensors"))
    save_file(normalizer_tensors((1, 1, 1)), str(root / NORMALIZER))
    post = normalizer_tensors((1,))
    post["action.mean"] = np.full(6, 0.75, np.float32)  # keep the two stats files distinct
    save_file(post, str(root / UNNORMALIZER))
    return root


def build_metta(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "metta" / "policy_spec.json", root / "policy_spec.json")
    rng = np.random.default_rng(1)
    save_file({
        "_action_head.weight": rng.standard_normal((5, 16)).astype(np.float32),
        "_action_head.bias": np.zeros(5, np.float32),
        "_net.0.weight": rng.standard_normal((16, 30)).astype(np.float32),
        "_value_head.weight": rng.standard_normal((1, 16)).astype(np.float32),
    }, str(root / "weights.safetensors"))
    return root


def make_git_repo(path: Path, origin: str | None = None) -> str:
    """A real git repository with one commit (and an optional origin remote); returns HEAD."""
    import git

    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Passport Tests")
        cfg.set_value("user", "email", "tests@example.invalid")
    (path / "train.py").write_text("print('train')\n")
    repo.index.add(["train.py"])
    repo.index.commit("initial")
    if origin is not None:
        repo.create_remote("origin", origin)
    return repo.head.commit.hexsha




def load(path: Path) -> schema.Passport:
    return schema.read_passport(path)


def raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@dataclass
class Run:
    """One in-process generate-passport run."""

    code: int
    out: str
    err: str


Generate = Callable[..., Run]
