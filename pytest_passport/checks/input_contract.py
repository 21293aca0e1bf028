"""Checks of ``input_contract`` (what the model must be fed) and the static config/stats checks.

The config helpers at the top (``config_gate``, ``action_dim``, ``config_horizon`` …) are shared
with :mod:`.model_internals`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
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
    is_policy_config,
    input_features,
    output_features,
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


# --------------------------------------------------------------------------- static checks


@check("horizon_consistency", section=SECTION, category="model_internals", static=True)
def horizon_consistency(ctx: CheckContext) -> Finding:
    """The config's chunk length and the steps executed per call are consistent.

    Heuristics and their failure rules:

    1. Every horizon key present (``horizon``, ``chunk_size``, ``action_horizon``,
       ``action_chunk_size``) must be a positive integer, and all present must agree — else fail.
    2. A chunked LeRobot type must carry its own chunk key (:mod:`pytest_passport.policies`, e.g.
       ACT ``chunk_size``, Diffusion ``horizon``, VQ-BeT ``action_chunk_size``) — else fail: lerobot
       would silently use its default. A single-step type (the Gaussian actor, SAC) emits one
       action per call, has no chunk and passes.
    3. ``n_action_steps`` (executed per call) must be a positive integer ≤ the chunk — else fail.
       For TD-MPC the horizon is the MPC planning horizon, and ``n_action_repeats`` must be a
       positive integer.
    4. A LeRobot ``type`` missing from the table gets the generic keys; no horizon then is a soft
       signal naming the type. A policy config without ``type`` and without a horizon fails.

    Fix (spec §8.5): ``n_action_steps`` must be ≤ the horizon instead of equal to it, and the
    keys include ``action_chunk_size`` (VQ-BeT). Fix (§8.4): no config, or a config that is not
    a policy config (e.g. a HF LLM config), is ``not_checked``. Fix (the spec fails every policy
    config without a horizon): a single-step policy has none and passes; an unknown type is a
    soft signal.
    """
    name = "horizon_consistency"
    if (gate := config_gate(name, ctx)):
        return gate
    config, cfg = ctx.config, config_name(ctx)
    policy_type = config.get("type")
    entry = policies.lookup(policy_type)
    present = policies.horizon_values(config)
    bad = {k: v for k, v in present.items() if not _is_int(v) or v <= 0}
    if bad:
        key, value = next(iter(bad.items()))
        return Finding.failed(name, f"{cfg} {key} {value!r} is not a positive integer", **present)
    if len(set(present.values())) > 1:
        text = " != ".join(f"{k} {v}" for k, v in present.items())
        return Finding.failed(name, f"{cfg} {text}", **present)
    steps = config.get("n_action_steps")
    details: dict[str, Any] = {**present, "n_action_steps": steps, "policy_type": policy_type}
    if steps is not None and (not _is_int(steps) or steps <= 0):
        return Finding.failed(name, f"{cfg} n_action_steps {steps!r} is not a positive integer", **details)
    if entry is not None and entry.repeats_key and (repeats := config.get(entry.repeats_key)) is not None:
        details[entry.repeats_key] = repeats
        if not _is_int(repeats) or repeats <= 0:
            return Finding.failed(name, f"{cfg} {entry.repeats_key} {repeats!r} is not a positive integer", **details)
    if not present:
        if entry is not None and entry.single_step:
            return Finding.passed(name, f"{cfg}: {policy_type} is a single-step policy (one action per call, no chunk)",
                                  **details)
        if not is_policy_config(config):
            return Finding.not_checked(name, f"{cfg} is not a policy config (no features, no horizon)")
        if isinstance(policy_type, str) and entry is None:
            return Finding.soft(name, f"LeRobot policy type {policy_type!r} is not in this tool's table and {cfg} "
                                f"declares none of {', '.join(policies.HORIZON_KEYS)}", **details)
        wanted = entry.horizon_key if entry is not None and entry.horizon_key else "/".join(policies.HORIZON_KEYS)
        return Finding.failed(name, f"{cfg} declares no {wanted}", **details)
    if entry is not None and entry.horizon_key and entry.horizon_key not in present:
        return Finding.failed(name, f"{cfg} declares {', '.join(present)} but a {policy_type} policy reads its chunk "
                              f"length from {entry.horizon_key} (lerobot would use its default)", **details)
    horizon = next(iter(present.values()))
    kind = "planning horizon" if entry is not None and entry.planning_horizon else "horizon"
    if steps is not None:
        if steps > horizon:
            return Finding.failed(name, f"{cfg} n_action_steps {steps} > {kind} {horizon}", **details)
        return Finding.passed(name, f"{cfg} {kind} {horizon}, n_action_steps {steps} <= {kind}", **details)
    return Finding.passed(name, f"{cfg} {kind} {horizon}", **details)


@check("image_keys_declared", section=SECTION, category=CATEGORY, static=True)
def image_keys_declared(ctx: CheckContext) -> Finding:
    """The config declares its image inputs.

    Fix (spec §8.4): no config, or a non-policy config, is ``not_checked``. Fix (spec §2.1
    allows vision-free policies): ``input_features`` without a VISUAL entry but with other
    features pass as a vision-free policy; only a policy config declaring no input features fails.
    """
    name = "image_keys_declared"
    if (gate := config_gate(name, ctx)):
        return gate
    config, cfg = ctx.config, config_name(ctx)
    images = sorted(image_shapes(config))
    if images:
        return Finding.passed(name, f"{cfg} declares {len(images)} image key(s)", image_keys=images)
    features = input_features(config)
    if features:
        types = sorted({str(_dict(f).get("type", "?")) for f in features.values()})
        return Finding.passed(name, f"vision-free policy: {cfg} input_features have no VISUAL entry ({', '.join(types)})",
                              image_keys=[], feature_types=types)
    if not is_policy_config(config):
        return Finding.not_checked(name, f"{cfg} is not a policy config (no input_features)")
    return Finding.failed(name, f"{cfg} declares no input features (input_features/image_features empty)")


@check("state_dim_consistency", section=SECTION, category=CATEGORY, static=True)
def state_dim_consistency(ctx: CheckContext) -> Finding:
    """Reference semantics: model state dim vs the sum of ``dataset_schema.state[].dim``.

    Fix (spec §8.4): a checkpoint without config is ``not_checked`` (an unparseable one fails).
    """
    name = "state_dim_consistency"
    if (gate := config_gate(name, ctx)):
        return gate
    config, cfg = ctx.config, config_name(ctx)
    model = state_dim(config)
    entries = [e for e in _dict(config.get("dataset_schema")).get("state") or [] if isinstance(e, dict) and e.get("key")]
    schema = sum(e["dim"] for e in entries if _is_int(e.get("dim"))) if entries else None
    details = {"model_state_dim": model, "dataset_schema_state_dim": schema}
    if model is None and schema is None:
        return Finding.not_checked(name, f"{cfg} declares neither observation.state nor dataset_schema.state", **details)
    if model is not None and schema is not None and model != schema:
        return Finding.soft(name, f'{cfg} input_features["observation.state"] {model} != dataset_schema.state sum {schema} '
                            "(expected with rotation expansion; document it)", **details)
    return Finding.passed(name, f"{cfg} state dim {model if model is not None else schema}", **details)


def _normalized_features(config: dict[str, Any], stats_path: str) -> list[str]:
    """Features a LeRobot (un)normalizer file must hold stats for, per ``normalization_mapping``."""
    mapping = _dict(config.get("normalization_mapping"))
    unnormalizer = "unnormalizer" in PurePosixPath(stats_path).name
    features = {} if unnormalizer else dict(input_features(config))
    features.update(output_features(config))
    return sorted(
        key for key, feature in features.items()
        if str(mapping.get(str(_dict(feature).get("type")), "IDENTITY")).upper() != "IDENTITY"
    )


@check("norm_stats_vs_config", section=SECTION, category=CATEGORY, static=True)
def norm_stats_vs_config(ctx: CheckContext) -> Finding:
    """Discovered norm stats agree with the config's action dim and horizon.

    Fix (spec §8.6): stats come from ``Checkpoint.norm_stats`` (also ``stats.json`` and LeRobot
    normalizer safetensors). No stats: fail only when ``normalization_mapping`` declares a
    non-IDENTITY mode, else ``not_checked``. An unparseable stats file fails naming it, and a
    LeRobot normalizer file must hold stats for every feature the config normalizes.
    """
    name = "norm_stats_vs_config"
    info = ctx.checkpoint.config
    if info.error:
        return Finding.failed(name, f"{info.path} cannot be parsed: {info.error}", config=info.path)
    config, cfg = ctx.config, config_name(ctx)
    stats = ctx.checkpoint.norm_stats
    if not stats:
        modes = {k: v for k, v in _dict(config.get("normalization_mapping")).items() if str(v).upper() != "IDENTITY"}
        if modes:
            text = ", ".join(f"{k}={v}" for k, v in modes.items())
            return Finding.failed(name, f"{cfg} normalization_mapping declares {text} but no norm-stats file was found",
                                  normalization_mapping=modes)
        return Finding.not_checked(name, "no norm-stats file and no normalization declared")
    problems = [f"{s.path} cannot be parsed: {s.error}" for s in stats if s.error]
    files = [s.path for s in stats]
    if info.path is None and not problems:
        return Finding.not_checked(name, f"no config.json to compare {len(files)} norm-stats file(s) with", stats_files=files)
    expected_action = action_dim(config)
    horizon = config_horizon(config)
    for entry in stats:
        if entry.error:
            continue
        meta = entry.metadata
        if expected_action is not None and meta.get("action_dim") is not None and meta["action_dim"] != expected_action:
            problems.append(f"{entry.path} action_dim {meta['action_dim']} != {cfg} output_features.action {expected_action}")
        if horizon is not None and meta.get("horizon") is not None and meta["horizon"] != horizon[1]:
            problems.append(f"{entry.path} horizon {meta['horizon']} != {cfg} {horizon[0]} {horizon[1]}")
        if entry.path.endswith(".safetensors") and isinstance(meta.get("features"), list):
            absent = [k for k in _normalized_features(config, entry.path) if k not in meta["features"]]
            if absent:
                problems.append(f"{entry.path} has no stats for normalized feature(s) {', '.join(absent)}")
    if problems:
        return Finding.failed(name, problems[0] + _more(problems), problems=problems, stats_files=files)
    return Finding.passed(name, f"{len(files)} norm-stats file(s) agree with {cfg}", stats_files=files)
