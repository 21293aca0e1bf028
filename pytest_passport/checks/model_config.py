"""Static checks of the policy config and its norm-stats files (no passport needed).

``horizon_consistency``, ``image_keys_declared``, ``state_dim_consistency`` and
``norm_stats_vs_config`` read ``config.json`` and the discovered norm stats only (``static=True``).
Their node-id section is ``input_contract``, like the passport checks of :mod:`.input_contract`.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from .. import policies
from ..findings import Finding
from ._base import CheckContext, check
from ._config import (
    _dict,
    _is_int,
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
