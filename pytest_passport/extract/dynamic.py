"""Phase 2 of ``generate-passport``: load the model in its runtime and record what it does.

``generate-passport --dynamic [--device D] [--dataset-path DIR]`` calls :func:`splice` with the
fresh Phase-1 passport. Fields a human wrote into the passport already on disk (e.g.
``model_identity.class_module``, ``delta_dims``, camera serials) are kept wherever Phase 1
leaves them empty; then the live model fills:

* ``model_identity``: ``resolved_class_name``, ``resolved_via``, ``library_versions``
  (importlib.metadata: python, torch, CUDA, numpy, safetensors, the model's package),
  ``python_version``, ``cuda_version`` and the module file the class came from;
* ``model_internals``: module hierarchy (two levels), parameter summary, buffers, the state
  dict as a non-strict load sees it, forward graph shapes, numerical health;
* ``output_spec.smoke_results``: the five buckets on the reference frames (or, without any,
  on a synthetic batch built from the input contract — named as such);
* ``reference_test_vector`` from ``--dataset-path`` (episode 0, frames 0–9 of a real
  LeRobotDataset v3): PNG frames, states, the task as prompt, and the model's output through
  the public path as ``expected_output.npy`` with a tolerance from this device's repeat error;
  each file hashed into the vector and into ``weight_integrity``;
* ``norm_round_trip_results``: each normalize step of the runtime's pipeline, both ways.
"""

from __future__ import annotations

import importlib.metadata as metadata
import io
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .._jsonmap import dump_block, finite_or_none
from ..checkpoint import Checkpoint
from ..hashing import sha256_bytes
from ..schema import PASSPORT_FILENAME, Passport, passport_from_dict, passport_to_dict, read_passport
from ._common import ExtractionError

__all__ = ["FRAMES_DIR", "VECTOR_DIR", "library_versions", "splice"]

FRAMES_DIR = "assets/reference_frames"
VECTOR_DIR = "assets/reference_test_vector"
STATES_FILE = f"{VECTOR_DIR}/input_states.npy"
EXPECTED_FILE = f"{VECTOR_DIR}/expected_output.npy"
#: Tolerance floor relative to the output scale, and the factor over the measured repeat error.
TOLERANCE_REL, TOLERANCE_REPEAT_FACTOR = 1e-4, 10.0
SEED = 0


# --------------------------------------------------------------------------- merging


def _fill(new: Any, old: Any) -> Any:
    """``new`` with every key it lacks (or holds as null) taken from ``old``, recursively."""
    if not isinstance(new, dict) or not isinstance(old, dict):
        return old if new is None else new
    out = dict(new)
    for key, value in old.items():
        out[key] = _fill(out.get(key), value)
    return out


def _previous(checkpoint: Path) -> dict[str, Any]:
    path = checkpoint / PASSPORT_FILENAME
    if not path.is_file():
        return {}
    try:
        return passport_to_dict(read_passport(path))
    except Exception:  # noqa: BLE001 - an unreadable old passport has nothing worth keeping
        return {}


# --------------------------------------------------------------------------- facts


def library_versions(class_path: str) -> tuple[dict[str, str], str | None]:
    """Versions of python, torch, numpy, safetensors and the model's distribution; CUDA version."""
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("numpy", "safetensors", "lerobot"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    top = class_path.split(".", 1)[0]
    dists = metadata.packages_distributions().get(top, [])
    for dist in dists:
        versions[dist] = metadata.version(dist)
    if not dists and top in sys.modules and isinstance(getattr(sys.modules[top], "__version__", None), str):
        versions[top] = sys.modules[top].__version__
    cuda = torch.version.cuda
    if cuda:
        versions["cuda"] = cuda
    return dict(sorted(versions.items())), cuda


def _png(frame: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class _Writer:
    """Writes asset files into the checkpoint and remembers their digests for weight_integrity."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: dict[str, tuple[str, int]] = {}

    def put(self, rel: str, data: bytes) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        digest = sha256_bytes(data)
        self.written[rel] = (digest, len(data))
        return digest


def _dataset_keys(passport: Passport) -> dict[str, str]:
    """Model image key → dataset column (through the first training dataset's key_rename_map)."""
    contract = passport.input_contract
    rename = {}
    if contract and contract.training_datasets and contract.training_datasets[0].key_rename_map:
        rename = {model: data for data, model in contract.training_datasets[0].key_rename_map.items()}
    return {image.key: rename.get(image.key, image.key) for image in (contract.images or [])} if contract else {}


def _reference(runtime: Any, passport: Passport, dataset: Path, writer: _Writer, offsets: list[int]) -> tuple[dict[str, Any], Any]:
    from ..runtime.frames import DatasetRefused, read_episode, short_name, windows
    from ..runtime.measure import run_windows

    keys = _dataset_keys(passport)
    state_key = "observation.state" if passport.input_contract and passport.input_contract.state else None
    try:
        frames = read_episode(dataset, list(keys.values()), state_key,
                              feature_keys=tuple(getattr(runtime, "extra_features", ())))
    except DatasetRefused as exc:
        raise ExtractionError(f"--dataset-path: {exc}") from None
    frames.images = {model: frames.images[column] for model, column in keys.items()}
    hashes: dict[str, list[str]] = {}
    for key, stack in sorted(frames.images.items()):
        camera = short_name(key)
        hashes[camera] = [writer.put(f"{FRAMES_DIR}/{camera}_{i:03d}.png", _png(frame)) for i, frame in enumerate(stack)]
    for image in (passport.input_contract.images or []):
        camera = short_name(image.key)
        if not image.reference_frame_hash and hashes.get(camera):
            image.reference_frame_hash, image.reference_frame_path = hashes[camera][0], f"{FRAMES_DIR}/{camera}_000.png"
    vector: dict[str, Any] = {"n_frames": frames.n_frames, "input_images_path": FRAMES_DIR,
                              "input_images_hash": hashes, "input_prompt": frames.task,
                              "notes": f"dataset={frames.source}, episode={frames.episode}, "
                                       f"frames={frames.first_frame}..{frames.first_frame + frames.n_frames - 1}"}
    if frames.states is not None:
        vector["input_state_path"] = STATES_FILE
        vector["input_state_hash"] = writer.put(STATES_FILE, _npy(frames.states))
    if frames.features:
        paths = {key: f"{VECTOR_DIR}/{key}.npy" for key in sorted(frames.features)}
        vector["input_feature_paths"] = paths
        vector["input_feature_hashes"] = {key: writer.put(rel, _npy(frames.features[key])) for key, rel in paths.items()}
    observations = windows(frames, offsets)
    first = np.stack([r.actions[0] for r in run_windows(runtime, observations, SEED)])
    second = np.stack([r.actions[0] for r in run_windows(runtime, observations, SEED)])
    repeat = float(np.max(np.abs(first - second))) if first.size else 0.0
    scale = max(1.0, float(np.max(np.abs(first))) if first.size else 1.0)
    expected = first.astype(np.float32)
    vector.update(expected_output_path=EXPECTED_FILE, expected_output_hash=writer.put(EXPECTED_FILE, _npy(expected)),
                  expected_output_shape=list(expected.shape),
                  tolerance=max(TOLERANCE_REPEAT_FACTOR * repeat, TOLERANCE_REL * scale),
                  repeat_error=repeat, torch_seed=SEED, device=runtime.device,
                  output_stage="actions after the runtime's post-processing (batch of 1), one entry per frame window")
    return vector, frames


def _synthetic(passport: Passport, n: int = 8, runtime: Any = None, checkpoint: Checkpoint | None = None) -> list[Any]:
    """A calibration batch from the input contract alone (smoke only; never a reference vector)."""
    from ..runtime.base import Observation

    rng = np.random.default_rng(SEED)
    contract = passport.input_contract
    steps = (contract.temporal.n_obs_steps if contract and contract.temporal and contract.temporal.n_obs_steps else 1)
    out = []
    for i in range(n):
        images = {}
        for image in (contract.images or []) if contract else []:
            c, h, w = (image.raw_shape or [3, 64, 64])[-3:]
            images[image.key] = rng.integers(0, 256, size=(steps, h, w, c), dtype=np.uint8)
        state = None
        if contract and contract.state and contract.state.total_dim:
            state = rng.normal(size=(steps, contract.state.total_dim)).astype(np.float32)
        features = {}
        config_features = (checkpoint.config.data.get("input_features") or {}) if checkpoint is not None else {}
        for key in getattr(runtime, "extra_features", ()):
            shape = (config_features.get(key) or {}).get("shape") or [1]
            features[key] = rng.normal(size=(steps, *shape)).astype(np.float32)
        out.append(Observation(images=images, state=state, task="", index=i, features=features))
    return out


def _round_trip(steps: list[Any], from_frames: bool) -> list[dict[str, Any]]:
    results = []
    for step in steps:
        sample = step.sample
        source = "reference_test_vector" if from_frames and sample is not None else "norm_stats_grid"
        if sample is None:
            continue
        x = np.asarray(sample, dtype=np.float64)
        y = np.asarray(step.normalize(x), dtype=np.float64)
        back = np.asarray(step.unnormalize(y), dtype=np.float64)
        error = float(np.max(np.abs(back - x))) if x.size else 0.0
        within = bool(step.clip is None or np.all(np.abs(y) <= step.clip + 1e-6))
        bound = 1e-5 * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
        results.append({"step_name": step.name, "max_abs_error": error, "within_clip_bound": within,
                        "input_source": source, "status": "pass" if error <= bound else "fail",
                        "feature": step.feature, "mode": step.mode, "tolerance": bound})
    return results


def _shapes(batch: Any) -> dict[str, list[int]]:
    inputs = getattr(batch, "inputs", batch)
    if not isinstance(inputs, dict):
        return {}
    return {k: list(v.shape) for k, v in sorted(inputs.items()) if hasattr(v, "shape")}


# --------------------------------------------------------------------------- entry point


def smoke(runtime: Any, passport: Passport, calibration: list[Any], source: str) -> dict[str, Any]:
    """The five smoke buckets; range_check judged against the sampler's own clip, when it has one.

    The action normalization's bound (1 for min_max / quantiles) maps the training range (or its
    quantiles) onto [-1, 1] but does not clip: a policy may extrapolate past it and quantile-
    normalized training data lies past it by design, so that bound is recorded, not judged.
    """
    from ..runtime.measure import smoke_results

    stats, norm_bound = runtime.action_bounds()
    clip = None
    parameters = passport.output_spec.inference_parameters if passport.output_spec else None
    if parameters is not None and parameters.clip_sample and parameters.clip_sample_range:
        clip = parameters.clip_sample_range  # the sampler clips normalized actions to this bound
    return smoke_results(runtime, calibration, source, stats, clip, norm_bound)


def measure(runtime: Any, passport: Passport, checkpoint: Checkpoint, calibration: list[Any],
            source: str) -> dict[str, Any]:
    """Every live-model fact, keyed by passport section (shared with the gpu re-checks)."""
    from ..runtime import measure as m

    batch = runtime.make_batch(calibration[0])
    sample = m.infer_seeded(runtime, calibration[0])
    return {
        "hierarchy": m.module_hierarchy(runtime.model),
        "parameters": m.parameter_summary(runtime.model),
        "buffers": m.buffers(runtime.model),
        "state_dict": m.state_dict_report(runtime.model, checkpoint),
        "forward_graph": {"forward_signature": "select_action(batch) -> Tensor",
                          "expected_input_keys": sorted(_shapes(batch)) or None,
                          "sample_input_shapes": _shapes(batch) or None,
                          "sample_output_shapes": {"action": list(sample.raw.shape)}},
        "numerical_health": m.numerical_health(runtime, calibration[0]),
        "smoke": smoke(runtime, passport, calibration, source),
    }


def splice(passport: Passport, checkpoint: Path, device: str = "auto", dataset_path: Path | None = None) -> Passport:
    """The Phase-1 ``passport`` with the hand-written fields kept and every Phase-2 field filled."""
    from ..runtime.measure import quiet_numerics

    with quiet_numerics():
        return _splice(passport, checkpoint, device, dataset_path)


def _splice(passport: Passport, checkpoint: Path, device: str, dataset_path: Path | None) -> Passport:
    from ..runtime import RuntimeUnavailable, load_runtime
    from ..runtime.frames import load_vector, windows

    root = Path(checkpoint)
    data = _fill(passport_to_dict(passport), _previous(root))
    merged = passport_from_dict(data)
    view = Checkpoint(root)
    try:
        runtime = load_runtime(view, merged, device)
    except RuntimeUnavailable as exc:
        raise ExtractionError(f"--dynamic: {exc}") from None
    except RuntimeError as exc:
        raise ExtractionError(f"--dynamic: {exc}") from None
    offsets = list(getattr(getattr(runtime, "feeder", None), "offsets", None) or [0])
    writer = _Writer(root)
    frames = None
    if dataset_path is not None:
        data["reference_test_vector"], frames = _reference(runtime, merged, Path(dataset_path), writer, offsets)
        if merged.input_contract and merged.input_contract.images:  # reference_frame_hash filled per camera
            data["input_contract"]["images"] = [dump_block(image) for image in merged.input_contract.images]
    elif merged.reference_test_vector and merged.reference_test_vector.input_images_hash:
        try:
            frames = load_vector(view, merged)
        except (OSError, ValueError, LookupError):
            frames = None
    if frames is not None:
        calibration, source = windows(frames, offsets), f"reference frames ({frames.source})"
    else:
        calibration, source = _synthetic(merged, runtime=runtime, checkpoint=view), \
            "synthetic batch from input_contract (no --dataset-path)"
    facts = measure(runtime, merged, view, calibration, source)
    versions, cuda = library_versions(runtime.class_path)
    identity = data.setdefault("model_identity", {}) or {}
    data["model_identity"] = identity
    module_name, _, class_name = runtime.class_path.rpartition(".")
    identity.setdefault("class_name", class_name)
    identity.setdefault("class_module", module_name)
    identity.update(resolved_class_name=class_name, resolved_via=runtime.resolved_via, library_versions=versions,
                    python_version=platform.python_version(), module_file=runtime.module_file)
    if cuda:
        identity["cuda_version"] = cuda
    internals = data.get("model_internals") or {}
    internals.update(module_hierarchy=facts["hierarchy"], buffers=facts["buffers"],
                     forward_graph=_fill(facts["forward_graph"], internals.get("forward_graph")),
                     numerical_health=facts["numerical_health"])
    if facts["parameters"]:
        internals["parameters"] = {"summary": facts["parameters"]}
    if facts["state_dict"]:
        block = dict(facts["state_dict"])
        block["expected_keys_count"] -= len(block["aliased_keys"])  # stored once in the files
        internals["state_dict"] = block
    data["model_internals"] = internals
    output = data.get("output_spec") or {}
    output["smoke_results"] = facts["smoke"]
    data["output_spec"] = output
    steps = runtime.norm_steps(frames.states if frames else None, frames.images if frames else None)
    data["norm_round_trip_results"] = _round_trip(steps, frames is not None) or None
    _declare(data, writer)
    return passport_from_dict(finite_or_none(data))  # NaN figures: not measured, buckets fail


def _declare(data: dict[str, Any], writer: _Writer) -> None:
    """Add (or refresh) the written assets in ``weight_integrity.weight_files``, sorted by path."""
    integrity = data.get("weight_integrity") or {}
    files = {f["path"]: f for f in integrity.get("weight_files") or [] if isinstance(f, dict) and "path" in f}
    for rel, (digest, size) in writer.written.items():
        files[rel] = {**files.get(rel, {}), "path": rel, "sha256": digest, "size_bytes": size}
    integrity["weight_files"] = [files[p] for p in sorted(files)]
    data["weight_integrity"] = integrity
