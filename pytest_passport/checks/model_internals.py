"""Checks of ``model_internals``: recorded internals vs the weight files, and the action head."""

from __future__ import annotations


from ..findings import Finding
from ..schema import ModelInternals
from ._base import COMMIT, CheckContext, check, no_passport
from ._config import action_dim, config_gate, config_name, is_policy_config

SECTION = "model_internals"
CATEGORY = "model_internals"
#: Substrings (case-insensitive) that mark a tensor as a candidate output head.
HEAD_MARKERS = ("output", "head", "final_proj")


def _internals(ctx: CheckContext) -> ModelInternals:
    passport = ctx.passport
    return (passport.model_internals if passport else None) or ModelInternals()


def _model_tensor_count(ctx: CheckContext) -> int:
    """Tensors in safetensors files other than norm-stats (LeRobot normalizer) files."""
    stats = {s.path for s in ctx.checkpoint.norm_stats}
    return sum(len(h.tensors) for rel, h in ctx.checkpoint.tensor_headers.items() if rel not in stats)


@check("internals_vs_weight_files", section=SECTION, category=CATEGORY)
def internals_vs_weight_files(ctx: CheckContext) -> Finding:
    """``state_dict.expected_keys_count`` equals the tensor count of the safetensors headers.

    Deviation (same reasoning as spec §8.4/§8.6 for LeRobot): the count also passes when it
    equals the tensors outside norm-stats files, since LeRobot normalizer safetensors are not
    part of the model's state dict; the reference count over all files is still accepted.
    """
    name = "internals_vs_weight_files"
    if (nc := no_passport(name, ctx)):
        return nc
    state_dict = _internals(ctx).state_dict
    expected = state_dict.expected_keys_count if state_dict else None
    total, model = ctx.checkpoint.tensor_count, _model_tensor_count(ctx)
    details = {"expected_keys_count": expected, "tensors_found": total, "model_tensors_found": model}
    if expected is None and total == 0:
        return Finding.not_checked(name, "neither state_dict.expected_keys_count nor safetensors tensors", **details)
    if expected is None:
        return Finding.passed(name, f"{total} tensor(s) in safetensors headers; no expected_keys_count recorded", **details)
    if total == 0:
        return Finding.passed(name, f"expected_keys_count {expected}; no safetensors tensors to compare", **details)
    if expected not in (total, model):
        extra = f" ({total} incl. norm-stats files)" if total != model else ""
        return Finding.failed(name, f"model_internals.state_dict.expected_keys_count {expected} != "
                              f"{model} tensor(s) in safetensors headers{extra}", **details)
    return Finding.passed(name, f"expected_keys_count {expected} matches the safetensors headers", **details)


@check("state_dict_completeness", section=SECTION, category=CATEGORY)
def state_dict_completeness(ctx: CheckContext) -> Finding:
    """Reference semantics: recorded missing/unexpected keys fail; counts are not compared."""
    name = "state_dict_completeness"
    if (nc := no_passport(name, ctx)):
        return nc
    sd = _internals(ctx).state_dict
    if sd is None or all(v is None for v in (sd.expected_keys_count, sd.found_keys_count, sd.missing_keys, sd.unexpected_keys)):
        return Finding.not_checked(name, "model_internals.state_dict is empty")
    missing, unexpected = sd.missing_keys or [], sd.unexpected_keys or []
    details = {"missing_keys": missing[:20], "unexpected_keys": unexpected[:20],
               "n_missing": len(missing), "n_unexpected": len(unexpected)}
    if missing or unexpected:
        return Finding.failed(name, f"model_internals.state_dict: {len(missing)} missing key(s), "
                              f"{len(unexpected)} unexpected key(s)", **details)
    return Finding.passed(name, "model_internals.state_dict has no missing or unexpected keys", **details)


def _recorded(name: str, block: str, ctx: CheckContext) -> Finding:
    """Reference rule for ``numerical_health.<block>``: ``passed`` must be exactly ``true``."""
    if (nc := no_passport(name, ctx)):
        return nc
    health = _internals(ctx).numerical_health
    record = getattr(health, block) if health else None
    field = f"model_internals.numerical_health.{block}"
    if not record:
        return Finding.not_checked(name, f"{field} not recorded")
    if record.get("passed") is True:
        return Finding.passed(name, f"{field}.passed is true", record=record)
    return Finding.failed(name, f"{field}.passed is {record.get('passed')!r}, not true", record=record)


@check("no_nan_inf_recorded", section=SECTION, category=CATEGORY)
def no_nan_inf_recorded(ctx: CheckContext) -> Finding:
    """Reference semantics: ``numerical_health.no_nan_inf.passed`` is true."""
    return _recorded("no_nan_inf_recorded", "no_nan_inf", ctx)


@check("determinism_recorded", section=SECTION, category=CATEGORY)
def determinism_recorded(ctx: CheckContext) -> Finding:
    """Reference semantics: ``numerical_health.determinism.passed`` is true."""
    return _recorded("determinism_recorded", "determinism", ctx)


@check("external_pretrained_assets_pinned", section=SECTION, category=CATEGORY)
def external_pretrained_assets_pinned(ctx: CheckContext) -> Finding:
    """Reference semantics: each pretrained sub-model is pinned by a commit or an identifier."""
    name = "external_pretrained_assets_pinned"
    if (nc := no_passport(name, ctx)):
        return nc
    assets = [a for a in _internals(ctx).pretrained_provenance or [] if a is not None]
    if not assets:
        return Finding.passed(name, "no external pretrained assets declared")
    unpinned: list[str] = []
    bad_format: list[str] = []
    for asset in assets:
        if asset.source_revision:
            if not COMMIT.match(asset.source_revision):
                bad_format.append(f"{asset.submodule} source_revision {asset.source_revision!r}")
        elif not asset.source_identifier:
            unpinned.append(str(asset.submodule))
    details = {"unpinned": unpinned, "bad_format": bad_format, "assets": [a.submodule for a in assets]}
    if unpinned or bad_format:
        parts = ([f"unpinned: {', '.join(unpinned)}"] if unpinned else []) + (
            [f"malformed revision: {', '.join(bad_format)}"] if bad_format else [])
        return Finding.failed(name, f"model_internals.pretrained_provenance {'; '.join(parts)}", **details)
    return Finding.passed(name, f"{len(assets)} pretrained asset(s) pinned", **details)


@check("action_dim_config_vs_weights", section=SECTION, category=CATEGORY, static=True)
def action_dim_config_vs_weights(ctx: CheckContext) -> Finding:
    """Some output-head tensor has the config's action dimension in its shape.

    Fix (spec §8.4): no config, or a non-policy config, is ``not_checked``; an unparseable
    config fails naming it. Fix: tensors of norm-stats files (LeRobot normalizer safetensors,
    whose ``action.*`` stats have the action shape) are not searched for the head.
    """
    name = "action_dim_config_vs_weights"
    if (gate := config_gate(name, ctx)):
        return gate
    config, cfg = ctx.config, config_name(ctx)
    dim = action_dim(config)
    if dim is None:
        if not is_policy_config(config):
            return Finding.not_checked(name, f"{cfg} is not a policy config (no output_features)")
        return Finding.failed(name, f"{cfg} declares no output_features.action.shape")
    stats = {s.path for s in ctx.checkpoint.norm_stats}
    heads = [
        (rel, tensor, list(info.shape))
        for rel, header in ctx.checkpoint.tensor_headers.items() if rel not in stats
        for tensor, info in header.tensors.items() if any(marker in tensor.lower() for marker in HEAD_MARKERS)
    ]
    matches = [head for head in heads if dim in head[2]]
    if matches:
        # A weight matrix is better evidence than a bias vector of the same length.
        rel, tensor, shape = max(matches, key=lambda head: len(head[2]) >= 2)
        return Finding.passed(name, f"{tensor} {shape} carries {cfg} action dim {dim}",
                              action_dim=dim, tensor=tensor, shape=shape, file=rel)
    return Finding.failed(name, f"no output/head/final_proj tensor has {cfg} action dim {dim}",
                          action_dim=dim, candidates=[f"{t} {s}" for _, t, s in heads[:20]])
