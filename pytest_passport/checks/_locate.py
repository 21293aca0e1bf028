"""Where a dotted module name would come from, answered without importing anything.

The trust boundary of static validation: a checkpoint names a class
(``model_identity.class_module``) and may ship Python files. Importing the named module,
or calling ``importlib.util.find_spec`` on a dotted name (which imports the parents),
would run code chosen by the checkpoint. Here the top-level package is looked up with the
import system's finders over ``sys.path`` *without* the current directory (``''``, ``.``,
the cwd) and without anything inside the checkpoint; it must be provided by an installed
distribution or be part of the standard library. Submodules are located by their files
under the package's search locations (``FileFinder`` only stats files), and a module's
source is read and parsed with :mod:`ast`, never compiled to code or executed.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery as machinery
import importlib.metadata
import keyword
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Bindings", "Located", "Unresolved", "bindings", "locate", "read_source"]

#: Sources larger than this are not parsed (no real policy module is anywhere near).
MAX_SOURCE_BYTES = 8 * 1024 * 1024

NEEDS_GPU = "resolving the class needs the model-running checks (-m gpu)"

_LOADERS = (
    (machinery.SourceFileLoader, machinery.SOURCE_SUFFIXES),
    (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
    (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
)


class Unresolved(Exception):
    """The module cannot be located as asked; ``status`` is ``not_checked`` or ``failed``."""

    def __init__(self, status: str, message: str, exception: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception = exception


@dataclass(frozen=True)
class Located:
    """A module found on disk: its source file (``None`` when it has none to read) and kind."""

    name: str
    origin: Path | None
    kind: str  # "source", "compiled", "namespace", "builtin"
    distribution: str | None = None


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        return True
    return any(real == root or root in real.parents for root in roots)


def _safe_path(untrusted: Sequence[Path]) -> list[str]:
    """``sys.path`` without the current directory and without entries inside ``untrusted``."""
    cwd = Path.cwd().resolve()
    out = []
    for entry in sys.path:
        if not isinstance(entry, str) or entry in ("", "."):
            continue
        try:
            real = Path(entry).resolve()
        except (OSError, RuntimeError):
            continue
        if real == cwd or _inside(real, untrusted):
            continue
        out.append(entry)
    return out


def _providers(top: str) -> list[str]:
    return list(_distributions_by_package(tuple(p for p in sys.path if isinstance(p, str))).get(top, []))


@functools.lru_cache(maxsize=4)
def _distributions_by_package(path: tuple[str, ...]) -> dict[str, list[str]]:
    """``packages_distributions()`` (reads every installed dist's metadata: cached per ``sys.path``)."""
    try:
        return importlib.metadata.packages_distributions()
    except Exception:  # broken metadata of an unrelated distribution must not crash the check
        return {}


def _find_top(top: str, path: list[str]) -> machinery.ModuleSpec | None:
    for finder in sys.meta_path:
        if finder is machinery.PathFinder:
            spec = machinery.PathFinder.find_spec(top, path)
        elif type(finder).__module__.startswith("_pytest") or not hasattr(finder, "find_spec"):
            continue  # pytest's assertion rewriter searches the full sys.path (rootdir included)
        else:
            try:
                spec = finder.find_spec(top, None)
            except Exception:
                continue
        if spec is not None:
            return spec
    return None


def _find_child(fullname: str, locations: Iterable[str]) -> machinery.ModuleSpec | None:
    portions: list[str] = []
    for location in locations:
        spec = machinery.FileFinder(location, *_LOADERS).find_spec(fullname)
        if spec is None:
            continue
        if spec.loader is not None:
            return spec
        portions.extend(spec.submodule_search_locations or [])
    if portions:
        spec = machinery.ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = portions
        return spec
    return None


def _spec_paths(spec: machinery.ModuleSpec) -> list[Path]:
    paths = [Path(spec.origin)] if spec.origin and spec.has_location else []
    return paths + [Path(p) for p in spec.submodule_search_locations or []]


def _kind(spec: machinery.ModuleSpec) -> str:
    if spec.loader is None:
        return "namespace"
    if isinstance(spec.loader, machinery.SourceFileLoader) or (spec.origin or "").endswith(".py"):
        return "source"
    if spec.has_location:
        return "compiled"
    return "builtin"


def locate(module: str, untrusted: Sequence[Path]) -> Located:
    """Locate ``module`` (dotted) in the installed environment; raise :class:`Unresolved` otherwise."""
    parts = module.split(".")
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        raise Unresolved("failed", f"model_identity.class_module {module!r} is not a dotted module name")
    roots = [r.resolve() for r in untrusted]
    top = parts[0]
    providers = [] if top in sys.stdlib_module_names else _providers(top)
    if not providers and top not in sys.stdlib_module_names:
        raise Unresolved("not_checked", f"{top} is not installed here (no installed distribution provides it)")
    spec = _find_top(top, _safe_path(roots))
    if spec is None:
        raise Unresolved("not_checked", f"{top} is not installed here (not found outside the working directory)")
    for name in parts[1:]:
        if any(_inside(p, roots) for p in _spec_paths(spec)):
            break
        locations = spec.submodule_search_locations
        fullname = f"{spec.name}.{name}"
        child = _find_child(fullname, locations) if locations is not None else None
        if child is None:
            parent = Located(spec.name, Path(spec.origin) if spec.origin and spec.has_location else None, _kind(spec))
            if _dynamic_parent(parent):
                raise Unresolved("not_checked", f"{fullname} is not a file under {spec.name}, which builds its "
                                 f"submodules at import time; {NEEDS_GPU}")
            what = "is not a package" if locations is None else f"has no submodule {name}"
            raise Unresolved("failed", f"model_identity.class_module {module} cannot be found: ModuleNotFoundError: "
                             f"{spec.name} {what}", exception="ModuleNotFoundError")
        spec = child
    if any(_inside(p, roots) for p in _spec_paths(spec)):
        raise Unresolved("not_checked", f"{spec.name} lies inside the checkpoint; code shipped in a checkpoint "
                         "is never imported or trusted")
    origin = Path(spec.origin) if spec.origin and spec.has_location else None
    return Located(module, origin, _kind(spec), providers[0] if providers else None)


def _dynamic_parent(parent: Located) -> bool:
    if parent.kind != "source" or parent.origin is None:
        return parent.kind != "namespace"
    try:
        return bindings(read_source(parent.origin)).dynamic
    except (OSError, ValueError, SyntaxError):
        return True


def read_source(path: Path) -> str:
    """The text of a regular file (never a FIFO or device), at most :data:`MAX_SOURCE_BYTES`."""
    info = os.stat(path)
    return _read_source(str(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=32)
def _read_source(path: str, mtime_ns: int, size: int) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if info.st_size > MAX_SOURCE_BYTES:
            raise ValueError(f"{path} is larger than {MAX_SOURCE_BYTES} bytes")
        data = fh.read(MAX_SOURCE_BYTES + 1)
    return data.decode("utf-8", errors="replace")


@dataclass
class Bindings:
    """Top-level names a module's source binds, read from its syntax tree."""

    classes: set[str] = field(default_factory=set)
    imported: dict[str, str] = field(default_factory=dict)  # bound name -> imported name
    aliases: dict[str, str] = field(default_factory=dict)  # ``A = B`` with B a plain name
    other: set[str] = field(default_factory=set)
    dynamic: bool = False  # star imports, module __getattr__, sys.modules or globals() games
    strings: set[str] = field(default_factory=set)


def _targets(node: ast.expr) -> Iterable[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            yield from _targets(elt)


def _visit(body: list[ast.stmt], out: Bindings) -> None:
    for node in body:
        if isinstance(node, ast.ClassDef):
            out.classes.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.other.add(node.name)
            out.dynamic |= node.name == "__getattr__"
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    out.dynamic = True
                else:
                    out.imported[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                out.other.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _targets(target):
                    if isinstance(node.value, ast.Name) and isinstance(target, ast.Name):
                        out.aliases[name] = node.value.id
                    else:
                        out.other.add(name)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            out.other.add(node.target.id)
        if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for block in ("body", "orelse", "finalbody"):
                _visit([n for n in getattr(node, block, None) or [] if isinstance(n, ast.stmt)], out)
            for handler in getattr(node, "handlers", None) or []:
                _visit(handler.body, out)


@functools.lru_cache(maxsize=32)
def bindings(source: str) -> Bindings:
    """What a module's top level binds; parsing only (``ast.parse`` never runs the code).

    Cached by source text: treat the result as read-only.
    """
    tree = ast.parse(source)
    out = Bindings()
    _visit(tree.body, out)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "modules" and isinstance(node.value, ast.Name) and node.value.id == "sys":
            out.dynamic = True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals":
            out.dynamic = True
        elif isinstance(node, ast.Name) and node.id == "__path__":
            out.dynamic = True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
            out.strings.add(node.value)
    return out
