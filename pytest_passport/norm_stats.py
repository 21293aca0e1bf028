"""Normalization statistics of a checkpoint: which files hold them, and the dimensions they imply.

Discovery reads the checkpoint's file list, JSON stats files and safetensors headers through
:class:`~pytest_passport.checkpoint.Checkpoint` (which caches the result as ``norm_stats``);
no tensor data is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import DocumentError
from .hashing import read_regular
from .tree import under_cache

if TYPE_CHECKING:
    from .checkpoint import Checkpoint


@dataclass
class NormStats:
    """One discovered normalization-statistics file and the dimensions it states or implies."""

    key: str
    path: str
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _dims_from_stats(data: dict[str, Any]) -> dict[str, Any]:
    """``action_dim``/``state_dim`` implied by LeRobot-style ``{feature: {mean: [...]}}`` stats."""
    dims: dict[str, Any] = {}
    for feature, key in (("action", "action_dim"), ("observation.state", "state_dim"), ("state", "state_dim")):
        block = data.get(feature)
        if key in dims or not isinstance(block, dict):
            continue
        for stat in ("mean", "std", "min", "max", "q01", "q02", "q99", "q98"):
            values = block.get(stat)
            if isinstance(values, list) and values:
                last = values[-1] if isinstance(values[-1], list) else values
                dims[key] = len(last)
                break
    return dims


def discover(checkpoint: Checkpoint) -> list[NormStats]:
    """Stats files: ``*_stats*.json``, ``stats.json``, LeRobot normalizer safetensors, extras.

    The reference sees only ``*_stats*.json``; ``stats.json`` and LeRobot's normalizer
    state files are real stats too and are discovered here.
    """
    out: list[NormStats] = []
    for rel in checkpoint.files:
        name = PurePosixPath(rel).name
        if under_cache(rel):
            continue
        if name.endswith(".json") and ("_stats" in name or name == "stats.json"):
            out.append(_json_stats(checkpoint, f"stats:{rel}", rel))
    normalizers = set(checkpoint.processor_state_files)
    normalizers.update(rel for rel in checkpoint.files if rel.endswith("normalizer_processor.safetensors"))
    for rel in sorted(normalizers):
        out.append(_tensor_stats(checkpoint, f"stats:{rel}", rel))
    for extra in checkpoint.extra_norm_stats:
        stats = NormStats(f"extra:{extra.name}", str(extra))
        try:
            data = json.loads(read_regular(extra, follow=True))
        except (OSError, ValueError):
            continue  # unreadable extras are skipped, as in the reference
        stats.metadata = _stats_metadata(data)
        out.append(stats)
    return out


def _stats_metadata(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    meta = data.get("metadata")
    metadata = dict(meta) if isinstance(meta, dict) else dict(data)
    for key, value in _dims_from_stats(data).items():
        metadata.setdefault(key, value)
    return metadata


def _json_stats(checkpoint: Checkpoint, key: str, rel: str) -> NormStats:
    stats = NormStats(key, rel)
    try:
        data = checkpoint.read_json(rel)
    except DocumentError as exc:
        stats.error = "; ".join(exc.problems)
        return stats
    if not isinstance(data, dict):
        stats.error = "top level is not an object"
        return stats
    stats.metadata = _stats_metadata(data)
    return stats


def _tensor_stats(checkpoint: Checkpoint, key: str, rel: str) -> NormStats:
    stats = NormStats(key, rel)
    header = checkpoint.tensor_headers.get(rel)
    if header is None:
        stats.error = "file is missing" if not checkpoint.exists(rel) else "not a safetensors file"
        return stats
    if header.error:
        stats.error = header.error
        return stats
    for feature, dim_key in (("action", "action_dim"), ("observation.state", "state_dim")):
        for stat in ("mean", "std", "min", "max", "q01", "q99"):
            info = header.tensors.get(f"{feature}.{stat}")
            if info is not None and info.shape:
                stats.metadata.setdefault(dim_key, info.shape[-1])
                break
    stats.metadata["features"] = sorted({name.rsplit(".", 1)[0] for name in header.tensors})
    return stats
