"""Model runtimes behind one small interface (see :mod:`.base`), loaded once per process.

:func:`load_runtime` picks, in order: the consumer hooks (when a ``conftest.py`` implements
any of them), LeRobot (a checkpoint whose ``config.json`` has a ``type`` and LeRobot
features or pipelines), then the generic ``class_module.class_name`` of the passport (which
is also Metta's ``policy_spec.json`` ``class_path``). Model code is imported only from the
installed environment and only when a ``gpu`` item or ``--dynamic`` asks for it. When no
runtime can load the model, :class:`RuntimeUnavailable` carries the reason to skip with.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .base import Inference, NormStep, Observation, Runtime, RuntimeUnavailable

__all__ = ["Inference", "NormStep", "Observation", "Runtime", "RuntimeUnavailable", "clear_cache",
           "load_runtime", "resolve_device"]

#: One runtime (or the reason there is none) per checkpoint root and device, per process.
_CACHE: dict[tuple[str, str], Any] = {}
#: Seconds spent importing torch and loading each model in this process (for benchmarks).
TIMINGS: dict[str, float] = {}


def _torch() -> Any:
    try:
        start = time.perf_counter()
        import torch
    except ImportError:
        raise RuntimeUnavailable("torch is not installed (pip install 'pytest-passport[torch]')") from None
    TIMINGS.setdefault("import_torch_s", time.perf_counter() - start)
    return torch


def resolve_device(requested: str | None) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; an unavailable ``cuda`` is a skip reason."""
    torch = _torch()
    requested = (requested or "auto").lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeUnavailable(f"device {requested!r} requested but torch sees no CUDA device")
    return requested


def _builtin(checkpoint: Any, passport: Any, device: str) -> Runtime:
    from .lerobot import LeRobotRuntime, is_lerobot_checkpoint

    if is_lerobot_checkpoint(checkpoint):
        return LeRobotRuntime(checkpoint, passport, device)
    if passport is None:
        raise RuntimeUnavailable("no usable MODEL_PASSPORT.json names the model class")
    from .class_path import ClassPathRuntime

    return ClassPathRuntime(checkpoint, passport, device)


def load_runtime(checkpoint: Any, passport: Any, device: str | None = "auto", config: Any = None) -> Runtime:
    """The runtime of ``checkpoint`` on ``device``: loaded on first use, then reused in this process."""
    resolved = resolve_device(device)
    key = (str(Path(checkpoint.root).resolve()), resolved)
    cached = _CACHE.get(key)
    if cached is None:
        start = time.perf_counter()
        try:
            from .hooks import HookRuntime, hooks_implemented

            if hooks_implemented(config):
                cached = HookRuntime(config, checkpoint, passport, resolved,
                                     lambda: _builtin(checkpoint, passport, resolved))
            else:
                cached = _builtin(checkpoint, passport, resolved)
        except RuntimeUnavailable as exc:
            cached = exc
        except Exception as exc:  # noqa: BLE001 - a model that fails to load is reported, not raised
            cached = RuntimeError(f"loading the model failed: {type(exc).__name__}: {exc}")
        TIMINGS[f"load_s:{key[0]}"] = time.perf_counter() - start
        _CACHE[key] = cached
    if isinstance(cached, BaseException):
        raise cached
    return cached


def clear_cache() -> None:
    """Forget loaded models (tests that rewrite a checkpoint in place)."""
    _CACHE.clear()
