"""Shared fixtures: real checkpoints built in tmp dirs, with real git repos and real files."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from pytest_passport import schema

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).parent / "data"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def png_bytes(seed: int, size: tuple[int, int] = (8, 6)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def make_git_repo(path: Path, files: dict[str, str] | None = None) -> str:
    """A real git repository with one commit; returns the HEAD sha."""
    import git

    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Passport Tests")
        cfg.set_value("user", "email", "tests@example.invalid")
    for rel, text in (files or {"README.md": "runner\n"}).items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
        repo.index.add([rel])
    repo.index.commit("initial")
    return repo.head.commit.hexsha


@dataclass
class Built:
    root: Path
    passport: schema.Passport

    def write_passport(self) -> None:
        schema.write_passport(self.passport, self.root / schema.PASSPORT_FILENAME)

    def declare(self, *rels: str) -> None:
        """Add files written after the build to weight_integrity (so the whole tree stays declared)."""
        for rel in rels:
            path = self.root / rel
            self.passport.weight_integrity.weight_files.append(schema.WeightFile(rel, sha256(path), path.stat().st_size))
        self.write_passport()

    def rehash(self) -> None:
        """Refresh weight_integrity from disk (after editing a declared file on purpose)."""
        for entry in self.passport.declared_files:
            path = self.root / entry.path
            entry.sha256, entry.size_bytes = sha256(path), path.stat().st_size
        self.write_passport()


def build_clean_checkpoint(root: Path) -> Built:
    """A small, complete, signable checkpoint: every gate-required field is filled and true.

    One camera, a 4-D state, 3-D actions in chunks of 5, LeRobot-style normalizer stats,
    a 2-frame reference test vector, and a passport whose every hash matches the bytes.
    """
    root.mkdir(parents=True, exist_ok=True)
    config = {
        "type": "act",
        "n_obs_steps": 1,
        "input_features": {
            "observation.images.front": {"type": "VISUAL", "shape": [3, 6, 8]},
            "observation.state": {"type": "STATE", "shape": [4]},
        },
        "output_features": {"action": {"type": "ACTION", "shape": [3]}},
        "chunk_size": 5,
        "n_action_steps": 5,
        "normalization_mapping": {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"},
    }
    (root / "config.json").write_text(json.dumps(config, indent=4))
    rng = np.random.default_rng(0)
    save_file(
        {
            "model.action_head.weight": rng.standard_normal((3, 16)).astype(np.float32),
            "model.action_head.bias": np.zeros(3, np.float32),
            "model.encoder.weight": rng.standard_normal((16, 4)).astype(np.float32),
        },
        str(root / "model.safetensors"),
    )
    stats: dict[str, np.ndarray] = {}
    for feature, dim in (("observation.state", 4), ("action", 3)):
        stats[f"{feature}.mean"] = np.zeros(dim, np.float32)
        stats[f"{feature}.std"] = np.ones(dim, np.float32)
    stats["observation.images.front.mean"] = np.full((3, 1, 1), 0.5, np.float32)
    stats["observation.images.front.std"] = np.full((3, 1, 1), 0.25, np.float32)
    normalizer = "policy_preprocessor_step_0_normalizer_processor.safetensors"
    save_file(stats, str(root / normalizer))
    (root / "policy_preprocessor.json").write_text(
        json.dumps(
            {
                "name": "policy_preprocessor",
                "steps": [
                    {"registry_name": "normalizer_processor", "config": {"eps": 1e-8}, "state_file": normalizer}
                ],
            },
            indent=2,
        )
    )
    rtv = root / "assets" / "reference_test_vector"
    (rtv / "images").mkdir(parents=True)
    np.save(rtv / "input_states.npy", rng.standard_normal((2, 4)).astype(np.float32))
    for frame in range(2):
        (rtv / "images" / f"front_{frame:03d}.png").write_bytes(png_bytes(frame))
    (root / "assets" / "front_reference.png").write_bytes(png_bytes(99))
    (root / "TRAINING_LOG.md").write_text("# run 7\nloss went down\n")

    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != schema.PASSPORT_FILENAME
    )
    weight_files = [schema.WeightFile(rel, sha256(root / rel), (root / rel).stat().st_size) for rel in files]
    stats_fp = {"file_sha256": sha256(root / normalizer)}
    passport = schema.Passport(
        schema_version="0.2",
        generated_by="tests",
        generated_at="2026-11-01T00:00:00Z",
        stack="act",
        input_contract=schema.InputContract(
            images=[
                schema.ImageSpec(
                    key="observation.images.front",
                    raw_shape=[3, 6, 8],
                    color_order="RGB",
                    camera_serial="CAM-FRONT-1",
                    reference_frame_hash=sha256(root / "assets" / "front_reference.png"),
                    reference_frame_path="assets/front_reference.png",
                )
            ],
            state=schema.StateSpec(
                total_dim=4,
                normalization={"type": "MEAN_STD", "source": normalizer, "stats_dim": 4, "stats_fingerprint": stats_fp},
            ),
            actions=schema.ActionSpec(
                total_dim=3,
                horizon=5,
                delta_dims=schema.DeltaSpec(delta_mask=[True, True, False], absolute_dims_reason="gripper is absolute"),
                normalization={"type": "MEAN_STD", "source": normalizer, "stats_dim": 3, "stats_fingerprint": stats_fp},
            ),
            training_datasets=[
                schema.TrainingDatasetSpec(repo="example-lab/tiny-pick", commit="a" * 40, loader_class="lerobot.datasets.LeRobotDataset")
            ],
        ),
        # Any importable class exercises the direct-import path, in every xdist worker too.
        model_identity=schema.ModelIdentity(class_name="OrderedDict", class_module="collections"),
        model_internals=schema.ModelInternals(
            state_dict=schema.StateDictBlock(expected_keys_count=3 + len(stats), missing_keys=[], unexpected_keys=[]),
            quantization=schema.Quantization(scheme="none"),
        ),
        output_spec=schema.OutputSpec(actions=schema.OutputActions(horizon=5, sub_keys="see input_contract.actions.sub_keys")),
        weight_integrity=schema.WeightIntegrity(weight_files=weight_files),
        provenance=schema.Provenance(
            run_log_path="TRAINING_LOG.md",
            training_repo_commit="b" * 40,
            passport_creation_repo_commit="c" * 40,
            deployment_repo_commit="d" * 40,
        ),
        reference_test_vector=schema.ReferenceTestVector(
            n_frames=2,
            input_state_path="assets/reference_test_vector/input_states.npy",
            input_state_hash=sha256(rtv / "input_states.npy"),
            input_images_path="assets/reference_test_vector/images",
            input_images_hash={"front": [sha256(rtv / "images" / f"front_{i:03d}.png") for i in range(2)]},
            input_prompt="",
            notes="dataset=example-lab/tiny-pick, episode=0, frames=0..1",
        ),
    )
    built = Built(root, passport)
    built.write_passport()
    return built


@pytest.fixture
def clean_checkpoint(tmp_path: Path) -> Built:
    """A complete checkpoint with a passport and no signoff yet."""
    return build_clean_checkpoint(tmp_path / "ckpt")


@pytest.fixture
def copy_fixture(tmp_path: Path) -> Callable[[str], Path]:
    """Copy one of tests/fixtures/ into tmp (writable) and return its path."""

    def copy(name: str) -> Path:
        target = tmp_path / Path(name).name
        shutil.copytree(FIXTURES / name, target)
        for path in target.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return target

    return copy


@pytest.fixture(autouse=True)
def _no_unrelated_site_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's PYTEST_ADDOPTS or hub caches."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
