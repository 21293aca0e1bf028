"""Checks of ``input_contract`` (what the model must be fed), read from the passport.

The static config/stats checks of the same node-id section are in :mod:`.model_config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import policies
from ..contract import InputContract, TrainingDatasetSpec
from ..errors import DocumentError, UnsafePathError
from ..findings import Finding
from ._base import COMMIT, NULL_COMMIT, REPO, SHA256, CheckContext, check, no_passport
from ._contract import cached_dataset, dataset_unreadable, missing_from_contract, read_dataset_info
from ._config import (
    _dict,
    _is_int,
    _shape,
    _first_dim,
    _more,
    config_gate,
    config_name,
    action_dim,
    state_dim,
    image_shapes,
    config_horizon,
)

SECTION = "input_contract"
CATEGORY = "input_expectation"

def _contract(ctx: CheckContext) -> InputContract:
    passport = ctx.passport
    return (passport.input_contract if passport else None) or InputContract()


# --------------------------------------------------------------------------- passport checks


@check("input_contract_vs_config", section=SECTION, category=CATEGORY)
def input_contract_vs_config(ctx: CheckContext) -> Finding:
    """The passport's input contract and the config describe the same features, in both directions.

    Contract → config: every image key exists in the config with the same shape; ``state``,
    ``actions`` dims and the action horizon equal the config's. Config → contract (LeRobot
    ``input_features``/``output_features``): every feature has a contract entry — a VISUAL one in
    ``images``, ``observation.state`` in ``state``, ``action`` in ``actions``, any other (e.g.
    ``observation.environment_state``) in the ``environment_state``/``other_inputs`` extension
    blocks, with the same shape — and every extension entry names a config feature. Any
    difference fails.

    Fix (spec §8.5): the action horizon is compared with the policy type's chunk key (else the
    first of ``horizon``, ``chunk_size``, ``action_horizon``, ``action_chunk_size``) — never
    ``n_action_steps``. Fix (§8.4): a checkpoint without any config is ``not_checked``; an
    unparseable config fails naming the file. Fix (spec checks only contract → config, so a
    passport with its cameras deleted passed): the config → contract direction.
    """
    name = "input_contract_vs_config"
    if (nc := no_passport(name, ctx)):
        return nc
    if (gate := config_gate(name, ctx)):
        return gate
    config, cfg = ctx.config, config_name(ctx)
    ic = _contract(ctx)
    mismatches: list[dict[str, Any]] = []

    def mismatch(kind: str, field: str, ours: Any, key: str, theirs: Any) -> None:
        mismatches.append({"kind": kind, "field": field, "passport": ours, "config_key": key, "config": theirs,
                           "message": f"{field} {ours} != {cfg} {key} {theirs}"})

    images = image_shapes(config)
    for i, image in enumerate(ic.images or []):
        if image is None:
            continue
        field = f"input_contract.images[{i}]"
        if image.key not in images:
            mismatches.append({"kind": "image_key_missing_from_config", "field": f"{field}.key", "passport": image.key,
                               "message": f"{field}.key {image.key!r} is not an image key of {cfg}"})
        elif image.raw_shape and images[image.key] is not None and list(image.raw_shape) != images[image.key]:
            mismatch("image_shape_mismatch", f"{field}.raw_shape", image.raw_shape, f"{image.key}.shape", images[image.key])
    if ic.state and ic.state.total_dim is not None:
        ours = ic.state.total_dim
        if (theirs := state_dim(config)) is not None:
            if theirs != ours:
                mismatch("state_total_dim_mismatch", "input_contract.state.total_dim", ours,
                         'input_features["observation.state"].shape[0]', theirs)
        elif (theirs := _first_dim(config.get("robot_state_feature"))) is not None and theirs != ours:
            mismatch("state_total_dim_mismatch", "input_contract.state.total_dim", ours, "robot_state_feature.shape[0]", theirs)
    actions = ic.actions
    if actions and actions.total_dim is not None and (theirs := action_dim(config)) is not None and theirs != actions.total_dim:
        mismatch("action_total_dim_mismatch", "input_contract.actions.total_dim", actions.total_dim,
                 "output_features.action.shape[0]", theirs)
    if actions and actions.horizon is not None and (found := config_horizon(config)) and found[1] != actions.horizon:
        mismatch("action_horizon_mismatch", "input_contract.actions.horizon", actions.horizon, *found)
    elif actions and actions.horizon is not None and policies.rules(config).single_step and not config_horizon(config):
        mismatch("action_horizon_mismatch", "input_contract.actions.horizon", actions.horizon,
                 "type", f"{config.get('type')} (single-step: no chunk)")
    for problem in missing_from_contract(config, ic):
        problem["message"] = f"{problem['message']} ({cfg})"
        mismatches.append(problem)
    if mismatches:
        return Finding.failed(name, mismatches[0]["message"] + _more(mismatches), config=cfg, mismatches=mismatches)
    return Finding.passed(name, f"input_contract agrees with {cfg}", config=cfg)


def _stats_dim(ctx: CheckContext, rel: str, side: str) -> tuple[int | None, str | None]:
    """The dimension a stats file states for ``side`` (``state``/``actions``), or why it cannot be read.

    JSON: ``metadata.state_dim`` / ``metadata.action_dim`` (top level when there is no ``metadata``).
    LeRobot normalizer safetensors: last axis of ``observation.state.mean`` / ``action.mean``.
    """
    if rel.lower().endswith(".safetensors"):
        header = ctx.checkpoint.tensor_headers.get(ctx.checkpoint.relpath(ctx.checkpoint.resolve(rel)))
        if header is None or header.error:
            return None, header.error if header else "not a safetensors file"
        info = header.tensors.get("observation.state.mean" if side == "state" else "action.mean")
        return (info.shape[-1] if info is not None and info.shape else None), None
    try:
        data = ctx.checkpoint.read_json(rel)
    except DocumentError as exc:
        return None, "; ".join(exc.problems)
    if not isinstance(data, dict):
        return None, "top level is not an object"
    meta = data["metadata"] if isinstance(data.get("metadata"), dict) else data
    value = meta.get("state_dim" if side == "state" else "action_dim")
    return (value if _is_int(value) else None), None


@check("input_contract_vs_norm_stats", section=SECTION, category=CATEGORY)
def input_contract_vs_norm_stats(ctx: CheckContext) -> Finding:
    """``state``/``actions`` normalization descriptors must point at a matching stats file.

    Fix: ``source`` must resolve inside the checkpoint root (an escaping path is a hard
    failure, never followed), and may be a LeRobot normalizer ``.safetensors`` file whose
    ``action.mean`` / ``observation.state.mean`` header shape gives the stats dimension.
    An ``IDENTITY`` normalization needs no stats, so a missing ``source`` is fine there.
    """
    name = "input_contract_vs_norm_stats"
    if (nc := no_passport(name, ctx)):
        return nc
    ic = _contract(ctx)
    hard: list[dict[str, Any]] = []
    soft: list[dict[str, Any]] = []
    checked: list[str] = []
    for side, spec in (("state", ic.state), ("actions", ic.actions)):
        norm = spec.normalization if spec else None
        if not norm:
            continue
        field = f"input_contract.{side}.normalization"
        checked.append(side)
        source = norm.get("source")
        if not isinstance(source, str) or not source:
            if str(norm.get("type", "")).upper() != "IDENTITY":  # identity reads no stats
                soft.append({"kind": "missing_source", "field": field, "message": f"{field} has no source"})
            continue
        try:
            path = ctx.checkpoint.resolve(source)
        except UnsafePathError as exc:
            hard.append({"kind": "source_outside_root", "field": f"{field}.source", "source": source,
                         "message": f"{field}.source {source!r}: {exc.reason}"})
            continue
        if not path.is_file():
            hard.append({"kind": "source_file_missing", "field": f"{field}.source", "source": source,
                         "message": f"{field}.source {source} does not exist"})
            continue
        dim, error = _stats_dim(ctx, source, side)
        if error:
            hard.append({"kind": "source_unreadable", "field": f"{field}.source", "source": source,
                         "message": f"{field}.source {source} is unreadable: {error}"})
            continue
        declared = norm.get("stats_dim")
        if declared is not None and dim is not None and declared != dim:
            hard.append({"kind": "dim_mismatch", "field": f"{field}.stats_dim", "source": source, "passport": declared,
                         "stats": dim, "message": f"{field}.stats_dim {declared} != {source} dim {dim}"})
        fingerprint = _dict(norm.get("stats_fingerprint")).get("file_sha256")
        if fingerprint:
            actual, _ = ctx.sha256_of(source)
            if str(fingerprint).lower() != actual:
                hard.append({"kind": "fingerprint_sha_mismatch", "field": f"{field}.stats_fingerprint.file_sha256",
                             "source": source, "expected": fingerprint, "actual": actual,
                             "message": f"{field}.stats_fingerprint.file_sha256 != sha256 of {source}"})
    problems = hard + soft
    if hard:
        return Finding.failed(name, hard[0]["message"] + _more(problems), problems=problems)
    if soft:
        return Finding.soft(name, soft[0]["message"] + _more(soft), problems=soft)
    if not checked:
        return Finding.passed(name, "no state/actions normalization declared")
    return Finding.passed(name, f"normalization stats match for {', '.join(checked)}", checked=checked)


def _dataset_image_chw(feature: dict[str, Any]) -> list[Any] | None:
    """A dataset image shape in C,H,W order (datasets store H,W,C unless ``names`` say otherwise)."""
    return policies.dataset_image_chw(_shape(feature), feature.get("names"))


@check("input_contract_vs_dataset", section=SECTION, category=CATEGORY)
def input_contract_vs_dataset(ctx: CheckContext) -> Finding:
    """Passport keys and shapes must exist in the dataset's ``meta/info.json`` (no network).

    Fix (spec §8.15): ``state.sub_keys[].key`` are component names, so they are only looked up
    when the dataset has no ``observation.state`` feature. Also compares shapes: image
    ``raw_shape`` (C,H,W) vs the dataset's H,W,C shape (fail), state ``total_dim`` vs dataset
    ``observation.state`` (soft: rotation expansion is legitimate), action ``total_dim`` vs
    dataset ``action`` (fail). A dataset (or hub cache) this process may not read is
    ``not_checked``, naming the path and the OS error.
    """
    name = "input_contract_vs_dataset"
    if (nc := no_passport(name, ctx)):
        return nc
    ic = _contract(ctx)
    first = next((d for d in ic.training_datasets or [] if d is not None), None)
    try:
        directory = ctx.options.dataset_path or (cached_dataset(first) if first else None)
    except OSError as exc:  # only the hub cache lookup reads anything here
        reason = dataset_unreadable(exc, "the Hugging Face hub cache")
        return Finding.not_checked(name, reason, dataset=exc.filename, error=exc.strerror)
    if directory is None:
        return Finding.not_checked(name, "no local dataset (give --dataset-path or cache training_datasets[0])")
    info_path = Path(directory) / "meta" / "info.json"
    details: dict[str, Any] = {"dataset": str(directory)}
    try:
        info = read_dataset_info(info_path)
    except OSError as exc:
        return Finding.not_checked(name, dataset_unreadable(exc, f"the local dataset {directory}"), error=exc.strerror, **details)
    except ValueError as exc:
        return Finding.failed(name, f"{info_path} is unreadable: {exc}", **details)
    if info is None:
        return Finding.soft(name, f"{info_path} is missing", **details)
    features = info.get("features") if isinstance(info, dict) else None
    if not isinstance(features, dict):
        return Finding.failed(name, f"{info_path} has no features object", **details)

    renames = (first.key_rename_map if first else None) or {}
    to_dataset = {model: data for data, model in renames.items()}
    missing: list[str] = []
    hard: list[str] = []
    soft: list[str] = []

    def lookup(model_key: str) -> tuple[str, dict[str, Any] | None]:
        key = to_dataset.get(model_key, model_key)
        feature = features.get(key)
        return key, feature if isinstance(feature, dict) else ({} if key in features else None)

    for image in ic.images or []:
        if image is None or not image.key:
            continue
        key, feature = lookup(image.key)
        if feature is None:
            missing.append(key)
        elif image.raw_shape and (chw := _dataset_image_chw(feature)) and list(image.raw_shape) != chw:
            hard.append(f"{image.key} raw_shape {image.raw_shape} != dataset {key} shape {_shape(feature)} (C,H,W {chw})")
    state = ic.state
    if state and (state.total_dim is not None or state.sub_keys):
        key, feature = lookup("observation.state")
        if feature is not None:
            dim = _first_dim(feature)
            if state.total_dim is not None and dim is not None and dim != state.total_dim:
                soft.append(f"input_contract.state.total_dim {state.total_dim} != dataset {key} shape[0] {dim}")
        elif state.sub_keys:
            for sub in state.sub_keys:
                sub_key = _dict(sub).get("key")
                if isinstance(sub_key, str) and lookup(sub_key)[1] is None:
                    missing.append(to_dataset.get(sub_key, sub_key))
        else:
            missing.append(key)
    actions = ic.actions
    if actions and actions.total_dim is not None:
        key, feature = lookup("action")
        dim = _first_dim(feature)
        if dim is not None and dim != actions.total_dim:
            hard.append(f"input_contract.actions.total_dim {actions.total_dim} != dataset {key} shape[0] {dim}")
    details.update(missing_keys=missing, mismatches=hard, soft_mismatches=soft)
    if missing:
        return Finding.failed(name, f"dataset {info_path} lacks feature(s) {', '.join(missing)}", **details)
    if hard:
        return Finding.failed(name, hard[0] + _more(hard), **details)
    if soft:
        return Finding.soft(name, soft[0] + _more(soft), **details)
    return Finding.passed(name, f"input_contract keys and shapes found in {info_path}", **details)


@check("training_datasets_present", section=SECTION, category=CATEGORY)
def training_datasets_present(ctx: CheckContext) -> Finding:
    """Reference semantics: an empty ``training_datasets`` list is a soft signal."""
    name = "training_datasets_present"
    if (nc := no_passport(name, ctx)):
        return nc
    datasets = [d for d in _contract(ctx).training_datasets or [] if d is not None]
    if not datasets:
        return Finding.soft(name, "input_contract.training_datasets is empty")
    repos = [d.repo for d in datasets]
    return Finding.passed(name, f"{len(datasets)} training dataset(s) declared", repos=repos)


@check("training_datasets_resolvable", section=SECTION, category=CATEGORY)
def training_datasets_resolvable(ctx: CheckContext) -> Finding:
    """Reference semantics: repo ids and commit pins are well-formed (format only, no hub)."""
    name = "training_datasets_resolvable"
    if (nc := no_passport(name, ctx)):
        return nc
    datasets = _contract(ctx).training_datasets or []
    if not datasets:
        return Finding.not_checked(name, "input_contract.training_datasets is empty")
    problems: list[str] = []
    unpinned: list[str] = []
    for i, spec in enumerate(datasets):
        field = f"input_contract.training_datasets[{i}]"
        spec = spec or TrainingDatasetSpec()
        if not spec.repo or not REPO.match(spec.repo):
            problems.append(f"{field}.repo {spec.repo!r} is not <org>/<name>")
        if not spec.commit:
            unpinned.append(spec.repo or field)
        elif NULL_COMMIT.match(spec.commit):
            problems.append(f"{field}.commit {spec.commit!r} is a null commit")
        elif not COMMIT.match(spec.commit):
            problems.append(f"{field}.commit {spec.commit!r} is not 7-40 lowercase hex")
    if problems:
        return Finding.failed(name, problems[0] + _more(problems), problems=problems, unpinned=unpinned)
    if unpinned:
        return Finding.soft(name, f"training dataset(s) without a commit pin: {', '.join(unpinned)}", unpinned=unpinned)
    return Finding.passed(name, f"{len(datasets)} training dataset(s) pinned and well-formed")


@check("camera_identity", section=SECTION, category=CATEGORY)
def camera_identity(ctx: CheckContext) -> Finding:
    """Every camera should carry a serial, USB path or reference-frame hash.

    Deviation from the current reference (which fails): a camera with no identity at all is a
    soft signal (the legacy semantics), since generators cannot know serials. Fix: a
    ``reference_frame_hash`` that is not 64 lowercase hex fails, and when
    ``reference_frame_path`` exists its sha256 must equal the hash; an escaping path fails.
    """
    name = "camera_identity"
    if (nc := no_passport(name, ctx)):
        return nc
    images = [img for img in _contract(ctx).images or [] if img is not None]
    if not images:
        return Finding.not_checked(name, "input_contract.images is empty")
    hard: list[str] = []
    soft: list[str] = []
    anonymous: list[str] = []
    for i, image in enumerate(images):
        field = f"input_contract.images[{i}]"
        digest, frame = image.reference_frame_hash, image.reference_frame_path
        if not (image.camera_serial or image.camera_usb_path or digest):
            anonymous.append(image.key or field)
        if digest and not SHA256.match(digest):
            hard.append(f"{field}.reference_frame_hash {digest!r} is not 64 lowercase hex")
        elif digest and frame:
            try:
                path = ctx.checkpoint.resolve(frame)
            except UnsafePathError as exc:
                hard.append(f"{field}.reference_frame_path {frame!r}: {exc.reason}")
                continue
            if not path.is_file():
                soft.append(f"{field}.reference_frame_path {frame} does not exist")
            elif (actual := ctx.sha256_of(frame)[0]) != digest:
                hard.append(f"{field}.reference_frame_hash != sha256 of {frame} ({actual})")
    details = {"without_identity": anonymous, "problems": hard + soft}
    if hard:
        return Finding.failed(name, hard[0] + _more(hard), **details)
    if anonymous:
        return Finding.soft(name, f"camera(s) without serial/usb path/reference frame hash: {', '.join(anonymous)}", **details)
    if soft:
        return Finding.soft(name, soft[0] + _more(soft), **details)
    return Finding.passed(name, f"{len(images)} camera(s) identified", **details)
