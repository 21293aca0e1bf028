"""Build the tiny policy's checkpoint and take it through generate → sign, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SITE = Path(__file__).resolve().parent / "site"
EPOCH = "1764000000"
BIN = Path(sys.executable).parent
ARM_CANDIDATES = (
    REPO / "tests" / "fixtures" / "lerobot-policies" / "dataset" / "synthetic_arm",
    REPO.parent / "shared" / "fixtures" / "lerobot-policies" / "dataset" / "synthetic_arm",
)
IMAGE_KEYS = ("observation.images.gripper", "observation.images.top")
DELTA_MASK = [True, True, True, True, True, True, False]


def arm_dataset() -> Path:
    """The LeRobotDataset v3 ``synthetic_arm`` (2 cameras 64×80, 8-D state, 7-D delta actions)."""
    for candidate in ARM_CANDIDATES:
        if (candidate / "meta" / "info.json").is_file():
            return candidate
    raise FileNotFoundError("synthetic_arm dataset not found in tests/fixtures/lerobot-policies")


def env() -> dict[str, str]:
    """Subprocess environment: the tiny policy importable, timestamps pinned, no inherited addopts."""
    out = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    out.pop("PYTEST_ADDOPTS", None)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE), out.get("PYTHONPATH", "")) if p)
    return out


def run(name: str, *args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, env=env(),
                          timeout=600, cwd=cwd)


def config(noise: str = "global") -> dict[str, Any]:
    visual = {"type": "VISUAL", "shape": [3, 64, 80]}
    return {
        "policy_type": "tiny",
        "input_features": {**{k: visual for k in IMAGE_KEYS}, "observation.state": {"type": "STATE", "shape": [8]}},
        "output_features": {"action": {"type": "ACTION", "shape": [7]}},
        "normalization_mapping": {"VISUAL": "imagenet", "STATE": "min_max", "ACTION": "min_max"},
        "n_obs_steps": 2,
        "chunk_size": 4,
        "noise": noise,
    }


def build(root: Path, noise: str = "global", seed: int = 0) -> Path:
    """config.json, model.safetensors (seeded random init) and policy_stats.json from the dataset's stats."""
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, str(SITE))
    try:
        from tinypolicy import TinyPolicy
    finally:
        sys.path.remove(str(SITE))
    root.mkdir(parents=True)
    cfg = config(noise)
    (root / "config.json").write_text(json.dumps(cfg, indent=2))
    torch.manual_seed(seed)
    save_file({k: v.contiguous() for k, v in TinyPolicy(cfg).state_dict().items()}, str(root / "model.safetensors"))
    stats = json.loads((arm_dataset() / "meta" / "stats.json").read_text())
    keep = ("min", "max", "mean", "std")
    out = {"metadata": {"state_dim": 8, "action_dim": 7},
           "observation.state": {k: stats["observation.state"][k] for k in keep},
           "action": {k: stats["action"][k] for k in keep}}
    (root / "policy_stats.json").write_text(json.dumps(out, indent=2))
    return root


def make_git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for args in (["init", "-q"], ["-c", "user.email=t@e.org", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


def hand_edit(root: Path) -> None:
    """What a human adds after Phase 1: the importable class and which action dims are deltas."""
    path = root / "MODEL_PASSPORT.json"
    data = json.loads(path.read_text())
    data["model_identity"] = {**(data.get("model_identity") or {}), "class_module": "tinypolicy", "class_name": "TinyPolicy"}
    data["input_contract"]["actions"]["delta_dims"] = {
        "delta_mask": DELTA_MASK, "absolute_dims_reason": "dim 6 is an absolute gripper command"}
    path.write_text(json.dumps(data, indent=2))


def passport_for(root: Path, tmp: Path, *extra: object) -> subprocess.CompletedProcess[str]:
    """generate (static) → hand edit → generate --dynamic --dataset-path; returns the dynamic run."""
    repo = make_git_repo(tmp / "training-repo")
    common = ("--training-repo", repo, "--run-log", "https://example.org/run/1", "--dataset-repo", "local/synthetic_arm")
    first = run("generate-passport", root, *common)
    assert first.returncode == 0, first.stderr
    hand_edit(root)
    return run("generate-passport", root, *common, "--dynamic", "--device", "cpu", "--dataset-path", arm_dataset(), *extra)


def signed(root: Path, tmp: Path) -> Path:
    """The tiny checkpoint with a dynamic passport and a signoff."""
    dynamic = passport_for(root, tmp)
    assert dynamic.returncode == 0, dynamic.stdout + dynamic.stderr
    sign = run("sign-checkpoint", root, "--reason", "tiny policy: soft signals reviewed")
    assert sign.returncode == 0, sign.stdout + sign.stderr
    return root
