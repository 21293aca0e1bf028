"""``gpu`` checks: the model loaded in its runtime, compared with what the passport recorded.

Each check is a pure function ``(CheckContext, Runtime) -> Finding`` registered with
:func:`gpu_check`. :meth:`GpuCheckSpec.run` loads the runtime (once per process, see
:func:`pytest_passport.runtime.load_runtime`); when no runtime can load the model — torch or
the model's library absent, no class named — the check is ``not_checked`` with that reason,
so the ``gpu`` items skip. A model that fails to load is a failure. These checks run on CPU
when there is no GPU; ``--passport-device`` chooses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..findings import Finding
from ._base import CheckContext, no_passport

__all__ = ["GPU_ORDER", "GPU_REGISTRY", "GpuCheckSpec", "gpu_catalogue", "gpu_check"]

GpuFunction = Callable[[CheckContext, Any], Finding]


@dataclass(frozen=True)
class GpuCheckSpec:
    name: str
    section: str
    category: str
    function: GpuFunction
    static: bool = False

    def run(self, ctx: CheckContext) -> Finding:
        from ..runtime import RuntimeUnavailable, load_runtime

        if (nc := no_passport(self.name, ctx)):
            return nc
        try:
            runtime = load_runtime(ctx.checkpoint, ctx.passport, ctx.options.device, ctx.options.hook_config)
        except RuntimeUnavailable as exc:
            return Finding.not_checked(self.name, str(exc))
        except Exception as exc:  # noqa: BLE001 - the model failing to load is the finding
            return Finding.failed(self.name, f"the model does not load: {exc}")
        try:
            return self.function(ctx, runtime)
        except Exception as exc:  # noqa: BLE001 - the report must never crash
            return Finding.failed(self.name, f"check crashed: {type(exc).__name__}: {exc}", exception=type(exc).__name__)


GPU_REGISTRY: dict[str, GpuCheckSpec] = {}
#: Collection order of the gpu items (after every static item of the checkpoint).
GPU_ORDER: tuple[str, ...] = (
    "runtime_identity", "runtime_versions", "runtime_dtype", "runtime_state_dict", "runtime_numerical_health",
    "runtime_output_shape", "runtime_smoke", "runtime_replay", "runtime_norm_round_trip",
)


def gpu_check(name: str, *, section: str, category: str) -> Callable[[GpuFunction], GpuFunction]:
    def register(function: GpuFunction) -> GpuFunction:
        GPU_REGISTRY[name] = GpuCheckSpec(name, section, category, function)
        return function

    return register


def gpu_catalogue() -> list[GpuCheckSpec]:
    return [GPU_REGISTRY[name] for name in GPU_ORDER]


# --------------------------------------------------------------------------- helpers


def _observations(ctx: CheckContext, runtime: Any) -> tuple[list[Any], str, Any]:
    """The stored reference frames as observation windows, else a synthetic contract batch."""
    from ..extract.dynamic import _synthetic
    from ..runtime.frames import load_vector, windows

    offsets = list(getattr(getattr(runtime, "feeder", None), "offsets", None) or [0])
    try:
        frames = load_vector(ctx.checkpoint, ctx.passport)
    except (LookupError, OSError, ValueError):
        return _synthetic(ctx.passport, runtime=runtime, checkpoint=ctx.checkpoint), \
            "synthetic batch from input_contract", None
    return windows(frames, offsets), "reference_test_vector", frames


def _first(items: list[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


# --------------------------------------------------------------------------- checks


@gpu_check("runtime_identity", section="model_identity", category="model_internals")
def runtime_identity(ctx: CheckContext, runtime: Any) -> Finding:
    """The class loaded is the passport's, imported from where the passport says.

    Fails when the loaded class name differs from ``class_name``/``resolved_class_name``, or
    when the recorded ``module_file`` exists on this machine but another copy with different
    bytes was imported (a stale installed package shadowing the training checkout). The same
    bytes at another path (the same release in another venv) pass with a note, and so does a
    recorded file absent here (a different machine or venv): no evidence either way.
    """
    name = "runtime_identity"
    identity = ctx.passport.model_identity
    loaded = runtime.class_path.rpartition(".")[2]
    details = {"loaded": runtime.class_path, "module_file": runtime.module_file, "runtime": runtime.name,
               "device": runtime.device}
    for field in ("class_name", "resolved_class_name"):
        expected = getattr(identity, field, None) if identity else None
        if expected and expected != loaded and runtime.name != "hooks":
            return Finding.failed(name, f"model_identity.{field} is {expected} but {runtime.name} loaded "
                                  f"{runtime.class_path}", **details)
    recorded = identity.extra.get("module_file") if identity else None
    if isinstance(recorded, str) and recorded and runtime.module_file:
        if os.path.realpath(recorded) != os.path.realpath(runtime.module_file):
            if os.path.exists(recorded):
                if not _same_bytes(recorded, runtime.module_file):
                    return Finding.failed(name, f"{loaded} was imported from {runtime.module_file}, but the passport's "
                                          f"module_file {recorded} exists here with other code: a stale copy shadows it",
                                          **details)
                return Finding.passed(name, f"{runtime.class_path} loaded via {runtime.name} from {runtime.module_file}, "
                                      f"the same bytes as the recorded {recorded}", recorded_module_file=recorded, **details)
            return Finding.passed(name, f"{runtime.class_path} loaded via {runtime.name}; recorded module_file "
                                  f"{recorded} is not on this machine", recorded_module_file=recorded, **details)
    return Finding.passed(name, f"{runtime.class_path} loaded via {runtime.name} from {runtime.module_file}", **details)


def _same_bytes(a: str, b: str) -> bool:
    """Whether two module files hold the same bytes (an unreadable one counts as different)."""
    from ..hashing import sha256_file

    try:
        return sha256_file(a)[0] == sha256_file(b)[0]
    except OSError:
        return False


def _major_minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


@gpu_check("runtime_versions", section="model_identity", category="model_internals")
def runtime_versions(ctx: CheckContext, runtime: Any) -> Finding:
    """Installed versions in the model's process against ``runtime_constraints`` and ``library_versions``.

    Fails on a ``required_versions`` violation or a ``required_python`` mismatch; a recorded
    ``library_versions`` entry whose major.minor differs from the installed one is a soft signal
    (history, not a contract).
    """
    import importlib.metadata as metadata
    import platform

    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    name = "runtime_versions"
    identity = ctx.passport.model_identity
    constraints = identity.runtime_constraints if identity else None
    violations: list[str] = []
    for dist, spec in sorted(((constraints.required_versions if constraints else None) or {}).items()):
        try:
            installed = metadata.version(dist)
            if not SpecifierSet(spec or "", prereleases=True).contains(installed, prereleases=True):
                violations.append(f"{dist} {installed} does not satisfy {spec!r}")
        except metadata.PackageNotFoundError:
            violations.append(f"{dist} is not installed (required {spec!r})")
        except InvalidSpecifier:
            violations.append(f"{dist}: specifier {spec!r} cannot be parsed")
    python = platform.python_version()
    required_python = constraints.required_python if constraints else None
    if required_python:
        try:
            if not SpecifierSet(required_python).contains(python):
                violations.append(f"python {python} does not satisfy {required_python!r}")
        except InvalidSpecifier:
            violations.append(f"required_python {required_python!r} cannot be parsed")
    if violations:
        return Finding.failed(name, f"runtime_constraints: {_first(violations)}", violations=violations)
    drift = []
    for dist, recorded in sorted(((identity.library_versions if identity else None) or {}).items()):
        if dist in ("python", "cuda") or not isinstance(recorded, str):
            continue
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        if _major_minor(installed) != _major_minor(recorded):
            drift.append(f"{dist} {recorded} recorded, {installed} installed")
    if drift:
        return Finding.soft(name, f"library_versions drift: {_first(drift)}", drift=drift)
    return Finding.passed(name, "installed versions satisfy the passport", python=python)


@gpu_check("runtime_dtype", section="model_internals", category="model_internals")
def runtime_dtype(ctx: CheckContext, runtime: Any) -> Finding:
    """The live model's parameter dtypes equal ``parameters.summary.dtype_breakdown``."""
    from ..runtime.measure import parameter_summary

    name = "runtime_dtype"
    internals = ctx.passport.model_internals
    summary = internals.parameters.summary if internals and internals.parameters else None
    recorded = summary.dtype_breakdown if summary else None
    live = parameter_summary(runtime.model)
    if live is None:
        return Finding.not_checked(name, f"{runtime.class_path} is not a torch.nn.Module")
    if not recorded:
        return Finding.not_checked(name, "model_internals.parameters.summary.dtype_breakdown is not recorded",
                                   live=live["dtype_breakdown"])
    if dict(recorded) != live["dtype_breakdown"]:
        return Finding.failed(name, f"runtime dtypes {live['dtype_breakdown']} != passport dtype_breakdown "
                              f"{dict(recorded)}", live=live["dtype_breakdown"], recorded=dict(recorded))
    return Finding.passed(name, f"runtime dtypes match: {live['dtype_breakdown']}")


@gpu_check("runtime_state_dict", section="model_internals", category="model_internals")
def runtime_state_dict(ctx: CheckContext, runtime: Any) -> Finding:
    """Every key of the live model's state dict is in the weight files, and nothing else is.

    A key the files lack stays at random init under a non-strict load, so it fails; keys
    stored once for several aliased (shared) tensors are not missing. The passport's
    ``expected_keys_count`` must equal the live model's count.
    """
    from ..runtime.measure import state_dict_report

    name = "runtime_state_dict"
    report = state_dict_report(runtime.model, ctx.checkpoint)
    if report is None:
        return Finding.not_checked(name, f"{runtime.class_path} is not a torch.nn.Module")
    missing, unexpected = report["missing_keys"], report["unexpected_keys"]
    details = {"missing_keys": missing[:20], "unexpected_keys": unexpected[:20], "aliased_keys": report["aliased_keys"][:20]}
    if missing:
        return Finding.failed(name, f"{len(missing)} key(s) of the live model are not in the weight files "
                              f"(random init under a non-strict load): {_first(missing)}", **details)
    if unexpected:
        return Finding.failed(name, f"{len(unexpected)} weight-file key(s) the model does not have: "
                              f"{_first(unexpected)}", **details)
    internals = ctx.passport.model_internals
    recorded = internals.state_dict.expected_keys_count if internals and internals.state_dict else None
    live = report["expected_keys_count"] - len(report["aliased_keys"])
    if recorded is not None and recorded != live:
        return Finding.failed(name, f"model_internals.state_dict.expected_keys_count {recorded} != {live} "
                              "in the live model", **details)
    return Finding.passed(name, f"all {report['expected_keys_count']} state-dict keys load from the weight files",
                          **details)


@gpu_check("runtime_numerical_health", section="model_internals", category="model_internals")
def runtime_numerical_health(ctx: CheckContext, runtime: Any) -> Finding:
    """No NaN/Inf in the live weights and buffers; the same input and seed give the same actions."""
    from ..runtime.measure import determinism, nan_inf_in_model

    name = "runtime_numerical_health"
    health = nan_inf_in_model(runtime.model)
    if not health["passed"]:
        return Finding.failed(name, f"NaN/Inf in {len(health['bad'])} tensor(s) of the live model: "
                              f"{_first(health['bad'])}", bad=health["bad"][:20])
    observations, source, _ = _observations(ctx, runtime)
    det = determinism(runtime, observations[0])
    if not det["passed"]:
        return Finding.failed(name, f"non-deterministic: two calls with the same input and torch seed differ by "
                              f"{det['max_abs_diff']:.3g}", source=source, **det)
    return Finding.passed(name, f"{health['params_checked']} parameters and {health['buffers_checked']} buffers "
                          "finite; deterministic under a fixed seed", source=source)


@gpu_check("runtime_output_shape", section="output_spec", category="output_spec")
def runtime_output_shape(ctx: CheckContext, runtime: Any) -> Finding:
    """The public path's output has the passport's action dim (and horizon, for chunk outputs)."""
    from ..runtime.measure import infer_seeded

    name = "runtime_output_shape"
    actions = ctx.passport.input_contract.actions if ctx.passport.input_contract else None
    observations, source, _ = _observations(ctx, runtime)
    out = infer_seeded(runtime, observations[0]).actions
    shape = list(out.shape)
    details = {"output_shape": shape, "source": source}
    if actions is None or not actions.total_dim:
        return Finding.not_checked(name, f"input_contract.actions.total_dim not recorded (output {shape})", **details)
    if not shape or shape[-1] != actions.total_dim:
        return Finding.failed(name, f"output action dim {shape[-1] if shape else None} != input_contract.actions."
                              f"total_dim {actions.total_dim} (output {shape})", **details)
    if len(shape) >= 3 and actions.horizon and shape[-2] != actions.horizon:
        return Finding.failed(name, f"output chunk length {shape[-2]} != input_contract.actions.horizon "
                              f"{actions.horizon} (output {shape})", **details)
    return Finding.passed(name, f"output {shape} matches action dim {actions.total_dim}", **details)


@gpu_check("runtime_smoke", section="output_spec", category="output_spec")
def runtime_smoke(ctx: CheckContext, runtime: Any) -> Finding:
    """The five smoke buckets re-run here; a failing bucket fails, naming it (liveness: frozen output)."""
    from ..extract.dynamic import smoke as run_smoke

    name = "runtime_smoke"
    observations, source, _ = _observations(ctx, runtime)
    smoke = run_smoke(runtime, ctx.passport, observations, source)
    buckets = ("determinism", "nan_inf", "liveness", "distribution", "range_check")
    failed = [b for b in buckets if isinstance(smoke.get(b), dict) and smoke[b].get("status") == "fail"]
    summary = {b: smoke[b] for b in buckets if b in smoke}
    if failed:
        first = smoke[failed[0]]
        why = {"liveness": f"outputs do not change with the input (std {first.get('std', 0):.3g})",
               "determinism": f"same seed, max abs diff {first.get('max_abs_diff', 0):.3g}",
               "nan_inf": f"{first.get('n_nan', 0)} NaN, {first.get('n_inf', 0)} Inf in the outputs",
               "distribution": "actions outside the training action range",
               "range_check": f"outputs [{first.get('actual_min')}, {first.get('actual_max')}] outside "
                              f"{first.get('expected_range')}"}[failed[0]]
        return Finding.failed(name, f"smoke {', '.join(failed)} failed: {why}", failed=failed, **summary)
    return Finding.passed(name, f"smoke buckets pass on {len(observations)} {source} input(s)", **summary)


@gpu_check("runtime_replay", section="reference_test_vector", category="model_internals")
def runtime_replay(ctx: CheckContext, runtime: Any) -> Finding:
    """The reference frames through the public path reproduce ``expected_output.npy`` within tolerance."""
    import numpy as np

    from ..hashing import sha256_file
    from ..runtime.measure import run_windows

    name = "runtime_replay"
    rtv = ctx.passport.reference_test_vector
    path = rtv.extra.get("expected_output_path") if rtv else None
    if not isinstance(path, str):
        return Finding.not_checked(name, "reference_test_vector has no expected_output_path "
                                   "(generate-passport --dynamic --dataset-path DIR records one)")
    target = ctx.checkpoint.resolve(path)
    recorded_hash = rtv.extra.get("expected_output_hash")
    if recorded_hash and sha256_file(target)[0] != recorded_hash:
        return Finding.failed(name, f"{path} does not match reference_test_vector.expected_output_hash")
    expected = np.load(target, allow_pickle=False)
    observations, source, _ = _observations(ctx, runtime)
    if source != "reference_test_vector":
        return Finding.not_checked(name, "the reference frames cannot be read back")
    seed = int(rtv.extra.get("torch_seed", 0) or 0)
    actual = np.stack([r.actions[0] for r in run_windows(runtime, observations, seed)])
    tolerance = float(rtv.extra.get("tolerance", 1e-4) or 1e-4)
    details = {"expected_shape": list(expected.shape), "actual_shape": list(actual.shape), "tolerance": tolerance,
               "runtime": runtime.name}
    if actual.shape != expected.shape:
        return Finding.failed(name, f"replayed actions have shape {list(actual.shape)}, {path} holds "
                              f"{list(expected.shape)}", **details)
    error = np.abs(actual - expected.astype(np.float64))
    worst = float(np.nanmax(error)) if error.size else 0.0
    if not np.isfinite(error).all() or worst > tolerance:
        index = tuple(int(i) for i in np.unravel_index(np.nanargmax(error), error.shape)) if error.size else ()
        frame, dim = (index[0], index[-1]) if index else (None, None)
        return Finding.failed(name, f"replayed actions differ from {path}: max abs error {worst:.4g} > tolerance "
                              f"{tolerance:.3g} (frame {frame}, action dim {dim})",
                              max_abs_error=worst, worst_index=list(index), **details)
    return Finding.passed(name, f"replay of {len(observations)} reference frame(s) matches {path}: max abs error "
                          f"{worst:.3g} <= {tolerance:.3g}", max_abs_error=worst, **details)


@gpu_check("runtime_norm_round_trip", section="norm_round_trip_results", category="model_internals")
def runtime_norm_round_trip(ctx: CheckContext, runtime: Any) -> Finding:
    """Every normalize step of the runtime round-trips with the checkpoint's stats, and the recorded
    ``norm_round_trip_results`` agree (a recorded ``fail`` fails)."""
    from ..extract.dynamic import _round_trip

    name = "runtime_norm_round_trip"
    _, _, frames = _observations(ctx, runtime)
    steps = runtime.norm_steps(frames.states if frames else None, frames.images if frames else None)
    results = _round_trip(steps, frames is not None)
    recorded = [r for r in (ctx.passport.norm_round_trip_results or []) if r is not None]
    bad = [r for r in results if r["status"] != "pass"] + \
          [{"step_name": r.step_name, "max_abs_error": r.max_abs_error} for r in recorded if r.status == "fail"]
    if bad:
        return Finding.failed(name, f"round trip fails for {bad[0]['step_name']}: max abs error "
                              f"{bad[0]['max_abs_error']}", failing=bad)
    if not results:
        return Finding.not_checked(name, f"the {runtime.name} runtime exposes no normalize step")
    return Finding.passed(name, f"{len(results)} normalize step(s) round-trip: "
                          f"max error {max(r['max_abs_error'] for r in results):.3g}", steps=[r["step_name"] for r in results])
