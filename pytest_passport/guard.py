"""Keep the checkpoint from configuring pytest: rootdir, ini file, conftests, invocation dir.

A checkpoint is untrusted. pytest reads its configuration (ini file, ``addopts``, ``-p``
plugins, ``conftest.py``) from the rootdir and the directories it is given; a checkpoint
that is the rootdir, holds the ini file, or is the directory pytest runs from could switch
the gate off (``addopts = --co``, ``-k …``, ``-m "not static"``) or run its own code.

pytest reads the ini file (and imports an ini's ``-p`` plugins) before any installed
plugin is loaded, so the earliest point a plugin can refuse is
``pytest_load_initial_conftests``, which still comes before any ``conftest.py`` is
imported. There :func:`early_check` refuses with a usage error (exit 4). The safe forms
are ``validate-checkpoint`` and ``pytest --checkpoint=PATH`` run from outside the
checkpoint (README, "Trust boundary").

``--checkpoint PATH`` written as two words: pytest determines rootdir and ini file before
this plugin has declared ``--checkpoint``, so it takes ``PATH`` for a test path.
:func:`early_check` recomputes the setup without it; when only the rootdir differs it is
corrected (the same ini file was read either way), otherwise the run is refused with the
``--checkpoint=PATH`` spelling to use.
"""

from __future__ import annotations

import inspect
import os
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from .errors import ascii_path
from .schema import PASSPORT_FILENAME

__all__ = ["early_check", "late_check", "local_root", "inside", "readable_root", "utf8_safe"]


def inside(path: Path | str | None, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it (both resolved)."""
    if path is None:
        return False
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    return real == root or root in real.parents


def local_root(given: str) -> Path | None:
    """The directory a ``--checkpoint`` value names when it is a local directory (else None)."""
    if "://" in given or given.endswith(":latest"):
        return None
    try:
        path = Path(given).resolve()
        if path.is_file() and path.name == PASSPORT_FILENAME:
            return path.parent
        return path if path.is_dir() else None
    except (OSError, RuntimeError):
        return None


def _refuse(root: Path, what: str, why: str) -> pytest.UsageError:
    return pytest.UsageError(ascii_path(
        f"--checkpoint {root}: {what} lies inside the checkpoint; {why}. A checkpoint must not configure "
        "pytest: run validate-checkpoint, or pytest --checkpoint=PATH from outside the checkpoint "
        "(README: Trust boundary)"
    ))


def _setup_without(config: pytest.Config) -> tuple[Path, Path | None] | None:
    """(rootdir, inifile) pytest would pick for the same command line without the checkpoint path."""
    from _pytest.config import findpaths

    ns = config.known_args_namespace
    kwargs = {
        "inifile": getattr(ns, "inifilename", None),
        "override_ini": getattr(ns, "override_ini", None),
        "args": list(getattr(ns, "file_or_dir", []) or []),
        "rootdir_cmd_arg": getattr(ns, "rootdir", None) or None,
        "invocation_dir": config.invocation_params.dir,
    }
    try:
        accepted = inspect.signature(findpaths.determine_setup).parameters
        result = findpaths.determine_setup(**{k: v for k, v in kwargs.items() if k in accepted})
    except Exception:  # a pytest whose private API moved: keep the other checks
        return None
    return Path(result[0]), (Path(result[1]) if result[1] is not None else None)


def utf8_safe(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (no lone surrogates from undecodable file names)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _hermetic(config: pytest.Config) -> bool:
    """``-c /dev/null --noconftest`` (what validate-checkpoint runs): no ini, no conftest is read."""
    ns = config.known_args_namespace
    return bool(getattr(ns, "noconftest", False)) and config.inipath == Path(os.devnull)


def _spaced(config: pytest.Config) -> bool:
    args = [str(a) for a in config.invocation_params.args]
    return "--checkpoint" in args


def early_check(config: pytest.Config) -> None:
    """Refuse (``UsageError``) before any conftest is imported when the checkpoint steers pytest."""
    given = getattr(config.known_args_namespace, "checkpoint", None)
    if not given:
        return
    if getattr(config.known_args_namespace, "numprocesses", None) and not utf8_safe(str(given)):
        raise pytest.UsageError(f"--checkpoint {ascii_path(str(given))}: the path is not valid UTF-8, which "
                                "pytest-xdist cannot pass to its workers; run without -n or rename it")
    root = local_root(str(given))
    if root is None:
        return
    if inside(config.inipath, root):
        raise _refuse(root, f"the ini file {config.inipath}", "its addopts and -p plugins would configure the gate")
    if _hermetic(config):
        return
    if _spaced(config) and not hasattr(config, "workerinput"):
        _correct_spaced_form(config, str(given))
    if inside(config.rootpath, root):
        raise _refuse(root, f"the rootdir {config.rootpath}", "pytest would read its conftest.py and packages")
    if inside(config.invocation_params.dir, root):
        raise _refuse(root, f"the invocation directory {config.invocation_params.dir}",
                      "pytest would read its conftest.py, packages and ini files")
    for arg in getattr(config.known_args_namespace, "file_or_dir", None) or []:
        path = str(arg).split("::", 1)[0]
        if inside(path, root):
            raise _refuse(root, f"the test path {arg}", "pytest would collect it and import its conftest.py")


def _correct_spaced_form(config: pytest.Config, given: str) -> None:
    setup = _setup_without(config)
    if setup is None:
        return
    rootpath, inipath = setup
    if inipath != config.inipath:
        raise pytest.UsageError(ascii_path(
            f"--checkpoint {given}: written as two words, pytest took {given} for a test path and read "
            f"{config.inipath or 'no ini file'} instead of {inipath or 'no ini file'}; write --checkpoint={given}"
        ))
    if rootpath != config.rootpath:
        old = str(config.rootpath)
        config._rootpath = rootpath  # pytest chose it from the checkpoint path; same ini either way
        ns = config.known_args_namespace
        if getattr(ns, "confcutdir", None) == old:
            ns.confcutdir = str(rootpath)


def late_check(config: pytest.Config, root: Path) -> None:
    """After the checkpoint is resolved (zips, URIs): the same refusals, and no conftest from inside it."""
    real = root.resolve()
    if _hermetic(config):
        return
    for what, path in (("the ini file", config.inipath), ("the rootdir", config.rootpath),
                       ("the invocation directory", config.invocation_params.dir)):
        if inside(path, real):
            raise _refuse(real, f"{what} {path}", "it would configure the gate")
    for module in _conftests(config.pluginmanager.get_plugins()):
        if inside(getattr(module, "__file__", None), real):
            raise _refuse(real, f"the conftest or plugin {module.__file__}", "pytest imported it")


def _conftests(plugins: Iterable[Any]) -> Iterable[types.ModuleType]:
    """Registered plugins that are modules loaded from a file (conftest.py files, ``-p`` modules)."""
    for plugin in plugins:
        if isinstance(plugin, types.ModuleType) and getattr(plugin, "__file__", None):
            yield plugin


def readable_root(root: Path) -> Path:
    """``root`` when it is a directory this process can list; else :class:`UnreadableCheckpointError`."""
    from .errors import UnreadableCheckpointError

    try:
        with os.scandir(root) as entries:
            next(entries, None)
    except NotADirectoryError:
        raise UnreadableCheckpointError(root, "not a directory") from None
    except OSError as exc:
        raise UnreadableCheckpointError(exc.filename or root, exc.strerror or str(exc)) from None
    return root
