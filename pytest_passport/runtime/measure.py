"""What only a live model can tell: structure, parameters, state-dict load, numerical health, smoke.

Every function takes a loaded :class:`~.base.Runtime` (or its ``torch.nn.Module``) and returns
plain JSON-able dicts in the passport's field names (spec §2.3, §2.4), so the same numbers are
written by ``generate-passport --dynamic`` and re-measured by the ``gpu`` items.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..checkpoint import Checkpoint
from .base import Inference, Observation, Runtime

__all__ = [
    "DETERMINISM_SEED", "buffers", "determinism", "model_weight_files", "module_hierarchy", "nan_inf_in_model",
    "numerical_health", "parameter_summary", "run_windows", "smoke_results", "state_dict_report",
]

DETERMINISM_SEED = 0
#: Liveness: outputs across different inputs must spread by more than this (relative to their scale).
LIVENESS_REL_STD = 1e-6


def _module(model: Any) -> Any:
    import torch

    return model if isinstance(model, torch.nn.Module) else None


def module_hierarchy(model: Any, depth: int = 2) -> list[dict[str, Any]]:
    """The top ``depth`` levels of the module tree as ``{name, type, children}``."""
    module = _module(model)
    if module is None:
        return [{"name": "", "type": type(model).__name__}]

    def walk(node: Any, level: int) -> list[dict[str, Any]]:
        out = []
        for name, child in node.named_children():
            entry: dict[str, Any] = {"name": name, "type": type(child).__name__}
            if level < depth and any(True for _ in child.named_children()):
                entry["children"] = walk(child, level + 1)
            out.append(entry)
        return out

    return walk(module, 1)


def _dtype(tensor: Any) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def parameter_summary(model: Any) -> dict[str, Any] | None:
    module = _module(model)
    if module is None:
        return None
    seen: set[int] = set()
    total = trainable = size = 0
    breakdown: dict[str, int] = defaultdict(int)
    for param in module.parameters():  # shared parameters are yielded once
        if id(param) in seen:
            continue
        seen.add(id(param))
        count = param.numel()
        total += count
        trainable += count if param.requires_grad else 0
        size += count * param.element_size()
        breakdown[_dtype(param)] += count
    return {"total_params": total, "trainable_params": trainable, "frozen_params": total - trainable,
            "total_bytes": size, "dtype_breakdown": dict(sorted(breakdown.items()))}


def buffers(model: Any) -> list[dict[str, Any]]:
    """Persistent buffers (those in the state dict), sorted by name."""
    module = _module(model)
    if module is None:
        return []
    state = module.state_dict()
    return [{"name": name, "shape": list(buf.shape), "dtype": _dtype(buf)}
            for name, buf in sorted(module.named_buffers()) if name in state]


def model_weight_files(checkpoint: Checkpoint) -> list[str]:
    """The safetensors files holding the model (not processor/normalizer state, not assets)."""
    skip = set(checkpoint.processor_state_files)
    return [rel for rel in checkpoint.tensor_headers if rel not in skip and not rel.startswith("assets/")]


def _alias_groups(state: dict[str, Any]) -> dict[str, set[str]]:
    """State-dict keys that share storage with another key (safetensors stores such tensors once)."""
    groups: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for key, tensor in state.items():
        try:
            ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        except Exception:  # noqa: BLE001 - meta/sparse tensors have no storage to compare
            continue
        groups[ident].add(key)
    return {key: group for group in groups.values() if len(group) > 1 for key in group}


def state_dict_report(model: Any, checkpoint: Checkpoint) -> dict[str, Any] | None:
    """Expected (live model) vs found (weight-file) keys, as a non-strict load would see them."""
    module = _module(model)
    if module is None:
        return None
    expected = module.state_dict()
    found: set[str] = set()
    for rel in model_weight_files(checkpoint):
        header = checkpoint.tensor_headers[rel]
        found.update(header.tensors)
    aliases = _alias_groups(expected)
    missing = sorted(k for k in expected if k not in found and not (aliases.get(k, set()) & found))
    unexpected = sorted(k for k in found if k not in expected)
    return {"expected_keys_count": len(expected), "found_keys_count": len(found),
            "missing_keys": missing, "unexpected_keys": unexpected,
            "aliased_keys": sorted(k for k in aliases if k not in found)}


def nan_inf_in_model(model: Any) -> dict[str, Any]:
    """Parameters and buffers holding NaN or Inf, by name."""
    module = _module(model)
    if module is None:
        return {"passed": True, "params_checked": 0, "buffers_checked": 0, "bad": []}
    import torch

    bad, params, bufs = [], 0, 0
    for kind, items in (("param", module.named_parameters()), ("buffer", module.named_buffers())):
        for name, tensor in items:
            if kind == "param":
                params += 1
            else:
                bufs += 1
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                bad.append(name)
    return {"passed": not bad, "params_checked": params, "buffers_checked": bufs, "bad": bad}


@contextlib.contextmanager
def quiet_numerics() -> Iterator[None]:
    """NaN/Inf outputs are measured (and reported), not warned about by numpy on the way."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def infer_seeded(runtime: Runtime, observation: Observation, seed: int = DETERMINISM_SEED) -> Inference:
    """One public-path call from a fresh episode under ``torch.manual_seed(seed)``."""
    import torch

    runtime.reset()
    torch.manual_seed(seed)
    return runtime.infer(runtime.make_batch(observation))


def run_windows(runtime: Runtime, observations: list[Observation], seed: int = DETERMINISM_SEED) -> list[Inference]:
    """Each observation through the public path, from a fresh episode, under the same seed."""
    return [infer_seeded(runtime, obs, seed) for obs in observations]


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return math.inf
    diff = np.abs(a - b)
    return float(np.nanmax(diff)) if diff.size else 0.0


@quiet_numerics()
def determinism(runtime: Runtime, observation: Observation) -> dict[str, Any]:
    first = infer_seeded(runtime, observation)
    second = infer_seeded(runtime, observation)
    diff = _max_abs_diff(first.actions, second.actions)
    scale = max(1.0, float(np.nanmax(np.abs(first.actions))) if first.actions.size else 1.0)
    return {"passed": bool(diff <= 1e-6 * scale), "max_abs_diff": diff}


@quiet_numerics()
def numerical_health(runtime: Runtime, observation: Observation) -> dict[str, Any]:
    module = _module(runtime.model)
    dropout = bn_ok = True
    if module is not None:
        import torch

        dropout = not any(m.training for m in module.modules() if isinstance(m, torch.nn.modules.dropout._DropoutNd))
        bn_ok = all(m.running_mean is not None for m in module.modules()
                    if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    health = nan_inf_in_model(runtime.model)
    return {
        "determinism": determinism(runtime, observation),
        "no_nan_inf": {k: health[k] for k in ("passed", "params_checked", "buffers_checked")}
        | ({"bad": health["bad"][:20]} if health["bad"] else {}),
        "dropout_in_eval": {"passed": dropout},
        "bn_running_stats_present": {"passed": bn_ok},
    }


def _stack(results: list[Inference], attr: str) -> np.ndarray:
    return np.stack([getattr(r, attr) for r in results])


@quiet_numerics()
def smoke_results(runtime: Runtime, observations: list[Observation], source: str,
                  action_stats: dict[str, np.ndarray] | None, clip: float | None,
                  norm_bound: float | None = None) -> dict[str, Any]:
    """The five buckets on a calibration batch (spec §2.4); all-NaN outputs give NaN figures, not warnings.

    ``clip`` is the bound the model itself clips its normalized outputs to (judged: beyond it
    fails); ``norm_bound`` the one the action normalization maps the training range onto
    (recorded with the actual range, not judged).
    """
    det = determinism(runtime, observations[0])
    results = run_windows(runtime, observations)
    raw, unnorm = _stack(results, "raw"), _stack(results, "unnormalized")
    n_nan, n_inf, checked = _non_finite(raw, unnorm)
    finite = raw[np.isfinite(raw)]
    spread = float(np.nanmax(np.std(raw, axis=0))) if raw.size and len(results) > 1 else 0.0
    scale = max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)
    out: dict[str, Any] = {
        "calibration_batch_source": source,
        "calibration_batch_size": len(observations),
        "determinism": {"status": "pass" if det["passed"] else "fail", "max_abs_diff": det["max_abs_diff"],
                        "method": f"two public-path calls, same input, torch.manual_seed({DETERMINISM_SEED}) each"},
        "nan_inf": {"status": "pass" if n_nan + n_inf == 0 else "fail", "n_nan": n_nan, "n_inf": n_inf,
                    "samples_checked": checked},
        "liveness": {"status": "pass" if spread > LIVENESS_REL_STD * scale else "fail", "std": spread,
                     "mean": float(np.nanmean(raw)) if raw.size else 0.0,
                     "criterion": f"max over output dims of the std across {len(results)} different inputs "
                                  f"> {LIVENESS_REL_STD} x output scale"},
    }
    flat = unnorm.reshape(-1, unnorm.shape[-1]) if unnorm.ndim >= 2 else unnorm.reshape(-1, 1)
    dist: dict[str, Any] = {"min": float(np.nanmin(flat)), "max": float(np.nanmax(flat)),
                            "mean": float(np.nanmean(flat)), "std": float(np.nanstd(flat)),
                            "per_dim_mean": [float(v) for v in np.nanmean(flat, axis=0)],
                            "per_dim_std": [float(v) for v in np.nanstd(flat, axis=0)]}
    staged = all(r.staged for r in results)
    low, high = _bounds(action_stats, flat.shape[-1]) if staged else (None, None)
    if not staged:
        dist["details"] = {"acceptable": "not judged: the consumer's infer hook returns robot commands only"}
    elif low is not None and high is not None:
        span = np.maximum(high - low, 1e-8)
        inside = (flat >= low - span) & (flat <= high + span)
        ok = bool(inside.all())
        dist.update(status="pass" if ok else "fail", ratio_in_acceptable_range=ok,
                    details={"acceptable": "within the training action [min - span, max + span] per dimension",
                             "fraction_inside": float(inside.mean())})
    elif staged:
        dist["details"] = {"acceptable": "no training action min/max in the checkpoint's stats"}
    out["distribution"] = dist
    if staged and raw.size and (clip is not None or norm_bound is not None):
        lo, hi = float(np.nanmin(raw)), float(np.nanmax(raw))
        if clip is not None:
            ok = bool(-clip - 1e-6 <= lo and hi <= clip + 1e-6)
            out["range_check"] = {"status": "pass" if ok else "fail", "in_expected_range": ok,
                                  "expected_range": [-clip, clip], "actual_min": lo, "actual_max": hi,
                                  "rationale": "normalized outputs must stay inside the sampler's clip range "
                                               f"[-{clip}, {clip}] (clip_sample_range)"}
        else:
            out["range_check"] = {"expected_range": [-norm_bound, norm_bound], "actual_min": lo, "actual_max": hi,
                                  "rationale": f"the action normalization maps the training range onto "
                                               f"[-{norm_bound}, {norm_bound}] but nothing clips to it",
                                  "details": {"judged": False, "inside": bool(-norm_bound <= lo and hi <= norm_bound),
                                              "why": "a policy may extrapolate past its training range and quantile "
                                                     "normalization puts training data past it; the distribution "
                                                     "bucket judges the actions against the training range"}}
    return out


def _non_finite(raw: np.ndarray, unnorm: np.ndarray) -> tuple[int, int, int]:
    """``(n_nan, n_inf, values checked)``: a value counts once when both stages hold it."""
    if raw.shape == unnorm.shape:
        nan = np.isnan(raw) | np.isnan(unnorm)
        inf = ~nan & (np.isinf(raw) | np.isinf(unnorm))
        return int(nan.sum()), int(inf.sum()), int(raw.size)
    return (int(np.isnan(raw).sum() + np.isnan(unnorm).sum()), int(np.isinf(raw).sum() + np.isinf(unnorm).sum()),
            int(raw.size + unnorm.size))


def _bounds(stats: dict[str, np.ndarray] | None, dim: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not stats:
        return None, None
    low, high = stats.get("min"), stats.get("max")
    if low is None or high is None:
        return None, None
    low, high = np.asarray(low, np.float64).reshape(-1), np.asarray(high, np.float64).reshape(-1)
    if low.size != dim or high.size != dim:
        return None, None
    return low, high
