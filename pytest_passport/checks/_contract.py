"""Helpers of the ``input_contract`` checks, kept out of :mod:`.input_contract`.

* the config → contract direction of ``input_contract_vs_config``: every config feature has an entry;
* the local dataset ``input_contract_vs_dataset`` reads (``--dataset-path`` or the hub cache).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from .. import policies
from ..contract import InputContract, TrainingDatasetSpec
from ..errors import ascii_path
from ._base import COMMIT, REPO
from ._config import _dict, _first_dim, _is_int, _shape, input_features, output_features

__all__ = ["cached_dataset", "dataset_unreadable", "missing_from_contract", "read_dataset_info"]


def _contract_extra_inputs(ic: InputContract) -> dict[str, dict[str, Any]]:
    """Extension input blocks by key: ``environment_state`` (one block or ``{"inputs": [...]}``) and ``other_inputs``."""
    found: dict[str, dict[str, Any]] = {}
    env = _dict(ic.extra.get("environment_state"))
    for block in env.get("inputs") if isinstance(env.get("inputs"), list) else [env]:
        if isinstance(block, dict) and isinstance(block.get("key"), str):
            found[block["key"]] = {**block, "_field": "input_contract.environment_state"}
    for block in ic.extra.get("other_inputs") or []:
        if isinstance(block, dict) and isinstance(block.get("key"), str):
            found[block["key"]] = {**block, "_field": "input_contract.other_inputs"}
    return found


def missing_from_contract(config: dict[str, Any], ic: InputContract) -> list[dict[str, Any]]:
    """Config features (LeRobot ``input_features``/``output_features``) without a contract entry of their shape."""
    problems: list[dict[str, Any]] = []
    images = {image.key: image for image in ic.images or [] if image is not None and image.key}
    extras = _contract_extra_inputs(ic)

    def missing(key: str, shape: Any, where: str) -> None:
        problems.append({"kind": "config_feature_missing_from_contract", "config_key": key, "config": shape,
                         "message": f"config feature {key} {shape} has no entry in {where}"})

    def differs(field: str, ours: Any, key: str, theirs: Any) -> None:
        problems.append({"kind": "config_feature_shape_mismatch", "field": field, "passport": ours, "config_key": key,
                         "config": theirs, "message": f"{field} {ours} != config feature {key} {theirs}"})

    features = {**input_features(config), **output_features(config)}
    for key, feature in features.items():
        kind, shape = str(_dict(feature).get("type", "")).upper(), _shape(feature)
        dim = _first_dim(feature)
        if kind == "VISUAL":
            if key not in images:
                missing(key, shape, "input_contract.images")
        elif key == "observation.state":
            if ic.state is None or ic.state.total_dim is None:
                missing(key, shape, "input_contract.state")
        elif key == "action" or kind == "ACTION":
            if ic.actions is None or ic.actions.total_dim is None:
                missing(key, shape, "input_contract.actions")
        elif key not in extras:
            missing(key, shape, "input_contract.environment_state/other_inputs")
        else:
            block = extras[key]
            ours = block.get("shape") if block.get("shape") is not None else (
                [block["total_dim"]] if _is_int(block.get("total_dim")) else None)
            if ours is not None and shape is not None and list(ours) != list(shape):
                differs(f"{block['_field']} {key} shape", ours, key, shape)
            elif block.get("total_dim") is not None and dim is not None and block["total_dim"] != dim:
                differs(f"{block['_field']} {key} total_dim", block["total_dim"], key, dim)
    for key, block in extras.items():
        if key not in features:
            problems.append({"kind": "contract_entry_missing_from_config", "field": block["_field"], "passport": key,
                             "message": f"{block['_field']} {key!r} is not a feature of the config"})
    return problems


# --------------------------------------------------------------------------- the local dataset
#
# An unreadable dataset (a hub cache or --dataset-path the user may not read) raises OSError
# from here, on every Python version; the check reports it as not_checked via dataset_unreadable().


def _is_kind(path: Path, kind: int) -> bool:
    """Whether ``path`` is a directory/regular file (``kind`` as in :mod:`stat`); absent is False.

    Unlike ``Path.is_dir``/``is_file`` on some Python versions, a directory on the way that
    cannot be searched raises (``PermissionError``) instead of reading as "absent".
    """
    try:
        return stat.S_IFMT(path.stat().st_mode) == kind
    except (FileNotFoundError, NotADirectoryError):
        return False


def cached_dataset(spec: TrainingDatasetSpec) -> Path | None:
    """``datasets--<org>--<name>/snapshots/<commit>`` in the hub cache, or the only snapshot there is."""
    if not spec.repo or not REPO.match(spec.repo):
        return None
    snapshots = policies.hf_hub_cache() / f"datasets--{spec.repo.replace('/', '--')}" / "snapshots"
    if spec.commit and COMMIT.match(spec.commit) and _is_kind(snapshots / spec.commit, stat.S_IFDIR):
        return snapshots / spec.commit
    try:
        found = [p for p in snapshots.iterdir() if _is_kind(p, stat.S_IFDIR)]
    except (FileNotFoundError, NotADirectoryError):  # not cached
        return None
    return found[0] if len(found) == 1 else None


def read_dataset_info(info_path: Path) -> Any:
    """The parsed ``meta/info.json``; None when there is none. OSError: unreadable; ValueError: not JSON."""
    if not _is_kind(info_path, stat.S_IFREG):
        return None
    return json.loads(info_path.read_bytes())


def dataset_unreadable(exc: OSError, what: str) -> str:
    """The not_checked reason when ``what`` (the dataset, the hub cache) may not be read: the path and the OS error."""
    where = f"{ascii_path(exc.filename)}: " if exc.filename is not None else ""
    return f"cannot read {what}: {where}{exc.strerror or exc}"
