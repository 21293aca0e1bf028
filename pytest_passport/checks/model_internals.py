"""Checks of ``model_internals``: recorded internals vs the weight files, and the action head."""

from __future__ import annotations

from typing import Any

from .. import policies
from ..findings import Finding
from ..sections import ModelInternals
from ._base import COMMIT, CheckContext, check, no_passport
from ._config import action_dim, config_gate, config_name, is_policy_config

SECTION = "model_internals"
CATEGORY = "model_internals"
#: Substrings (case-insensitive) that mark a tensor as a plausible output layer when the policy
#: type's own output layer is not known (the reference searched ``output``/``head``/``final_proj``).
HEAD_MARKERS = ("output", "head", "final", "proj", "mean_layer", "action")


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
    """The output layer of the weights carries ``config.json``'s action dimension.

    Heuristics and their failure rules:

    1. Known output layer (:data:`pytest_passport.policies.POLICIES`, e.g. ACT
       ``model.action_head.weight``, Diffusion ``diffusion.unet.final_conv.1.weight``, TD-MPC the
       last ``model._pi.N.weight``, the Gaussian actor ``actor.mean_layer.weight``, SmolVLA
       ``model.action_out_proj.weight``, X-VLA ``model.transformer.action_decoder.bias.weight``,
       VQ-BeT the last ``vqvae_model.decoder.N.weight``): its size on the type's axis must be the
       action dim, or ``max_action_dim`` ≥ dim for padding types, or ``steps × dim`` for VQ-BeT.
       Any other size **fails** — the only failure on weights.
    2. Otherwise (type without a known layer, or the layer absent), plausible output tensors
       (names with ``output``, ``head``, ``final``, ``proj``, ``mean_layer``, ``action``): one whose
       shape holds the dim (or the padded dim) passes; none holding it is a soft signal (a name
       heuristic is no evidence against the weights); no plausible tensor at all is not_checked.
    3. A LeRobot ``type`` missing from the table is a soft signal naming it, after the generic rule.

    Fix (spec §8.4): no config, or a non-policy config, is ``not_checked``; an unparseable config
    fails naming it. Fix: tensors of norm-stats files (LeRobot normalizer safetensors, whose
    ``action.*`` stats have the action shape) are not searched. Fix (spec: fail unless an
    ``output``/``head``/``final_proj`` tensor holds the dim): real output layers are named
    otherwise and padded or flattened, so only the known layer of the type can fail.
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
    tensors = {
        tensor: (rel, list(info.shape))
        for rel, header in ctx.checkpoint.tensor_headers.items() if rel not in stats
        for tensor, info in header.tensors.items()
    }
    policy_type = config.get("type")
    entry = policies.lookup(policy_type)
    layer = entry.output if entry else None
    details: dict[str, Any] = {"action_dim": dim, "policy_type": policy_type}
    if layer is not None and (tensor := layer.find(sorted(tensors))) is not None:
        rel, shape = tensors[tensor]
        accepted = sorted(layer.accepted(config, dim))
        details.update(tensor=tensor, shape=shape, file=rel, accepted=accepted, rule=layer.rule)
        size = shape[layer.axis] if -len(shape) <= layer.axis < len(shape) else None
        if size in accepted:
            how = {"dim": "", "padded": f" (padded: {cfg} max_action_dim {config.get(layer.padded_key or '')})",
                   "steps_x_dim": f" ({layer.steps_key} x action dim)"}[layer.rule] if size != dim else ""
            return Finding.passed(name, f"{policy_type} output layer {tensor} {shape} carries {cfg} action dim {dim}{how}",
                                  **details)
        return Finding.failed(name, f"{policy_type} output layer {tensor} {shape} has {size} on axis {layer.axis}, "
                              f"but {cfg} output_features.action is {dim} (accepted: {accepted})", **details)
    padded = policies.padding_dims(config)[1]
    wanted = {dim} | ({padded} if padded is not None and padded >= dim else set())
    heads = [(tensor, rel, shape) for tensor, (rel, shape) in tensors.items()
             if any(marker in tensor.lower() for marker in HEAD_MARKERS)]
    matches = [head for head in heads if wanted & set(head[2])]
    unknown = f"LeRobot policy type {policy_type!r} is not in this tool's table (generic rules used); " \
        if isinstance(policy_type, str) and entry is None else ""
    if matches:
        # A weight matrix is better evidence than a bias vector of the same length.
        tensor, rel, shape = max(matches, key=lambda head: len(head[2]) >= 2)
        details.update(tensor=tensor, shape=shape, file=rel)
        message = f"{tensor} {shape} carries {cfg} action dim {dim}"
        return Finding.soft(name, unknown + message, **details) if unknown else Finding.passed(name, message, **details)
    details["candidates"] = [f"{t} {s}" for t, _, s in heads[:20]]
    if not heads:
        return Finding.not_checked(name, f"{unknown}no output layer identifiable among {len(tensors)} tensor(s)", **details)
    return Finding.soft(name, f"{unknown}no plausible output tensor has {cfg} action dim {dim} "
                        "(the output layer of this policy is not known, so this is no evidence against the weights)",
                        **details)
