"""Import model code from the installed environment only, never from a checkpoint.

A checkpoint is untrusted: a ``modeling_x.py`` shipped inside it, or a package that shadows an
installed one from the working directory, must never run. :func:`import_class` therefore

* drops the implicit "current directory" entries (``''``, ``'.'``, the working directory) and
  every ``sys.path`` entry at or below the checkpoint root while it imports;
* asks where the top-level package would come from (``PathFinder.find_spec`` of a top-level
  name imports nothing) and refuses an origin below the checkpoint root or the working
  directory before anything runs;
* after the import, checks the class's module file again (a package may extend its own path).
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any, Iterator

from ..checks._locate import _safe_path
from .base import RuntimeUnavailable

__all__ = ["import_class", "import_module", "module_file"]


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _forbidden_roots(checkpoint_root: Path | None) -> list[Path]:
    return [_real(checkpoint_root)] if checkpoint_root is not None else []


@contextmanager
def _restricted_path(forbidden: list[Path]) -> Iterator[list[str]]:
    """``sys.path`` without the current directory and the checkpoint while importing (shared with
    the static identity check, :func:`~pytest_passport.checks._locate._safe_path`)."""
    saved = list(sys.path)
    sys.path[:] = _safe_path(forbidden)
    try:
        yield sys.path
    finally:
        sys.path[:] = saved + [p for p in sys.path if p not in saved]


def module_file(module: Any) -> str | None:
    path = getattr(module, "__file__", None)
    return str(_real(path)) if path else None


def _check_origin(what: str, origin: str | None, forbidden: list[Path]) -> None:
    if not origin or origin in ("built-in", "frozen"):
        return
    real = _real(origin)
    if any(_under(real, root) for root in forbidden):
        raise RuntimeUnavailable(f"refused to import {what}: it would load {real}, inside the checkpoint")


def import_module(name: str, checkpoint_root: Path | None = None) -> Any:
    """Import ``name`` from the installed environment; refuse code located in the checkpoint."""
    forbidden = _forbidden_roots(checkpoint_root)
    top = name.split(".", 1)[0]
    loaded = sys.modules.get(top)
    if loaded is None:  # where the unrestricted path would find it (finding imports nothing)
        unrestricted = PathFinder.find_spec(top, [p if p else os.getcwd() for p in sys.path])
        _check_origin(name, unrestricted.origin if unrestricted else None, forbidden)
    with _restricted_path(forbidden) as path:
        if loaded is None:
            spec = PathFinder.find_spec(top, path)
            if spec is None:
                raise RuntimeUnavailable(f"{top} is not installed in this environment (needed for {name})")
            _check_origin(name, spec.origin, forbidden)
        else:
            _check_origin(name, module_file(loaded), forbidden)
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise RuntimeUnavailable(f"cannot import {name}: {exc}") from None
    _check_origin(name, module_file(module), forbidden)
    return module


def import_class(module_name: str, class_name: str, checkpoint_root: Path | None = None) -> tuple[type, str | None]:
    """``module_name.class_name`` and the file its module was loaded from."""
    module = import_module(module_name, checkpoint_root)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise RuntimeUnavailable(f"{module_name} has no class {class_name}")
    owner = sys.modules.get(getattr(cls, "__module__", module_name), module)
    _check_origin(f"{module_name}.{class_name}", module_file(owner), _forbidden_roots(checkpoint_root))
    return cls, module_file(owner) or module_file(module)
