"""Checks of ``model_identity``: the class is defined where it says, the runtime satisfies the pins.

Both depend on the validating environment (installed packages), by design.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from ..findings import Finding
from ..sections import ModelIdentity
from ._base import CheckContext, check, no_passport
from ._locate import NEEDS_GPU, Unresolved, bindings, locate, read_source

SECTION = "model_identity"
CATEGORY = "model_internals"


def _identity(ctx: CheckContext) -> ModelIdentity:
    passport = ctx.passport
    return (passport.model_identity if passport else None) or ModelIdentity()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


@check("model_identity_resolvable", section=SECTION, category=CATEGORY)
def model_identity_resolvable(ctx: CheckContext) -> Finding:
    """The recorded class is defined in the installed environment; nothing is imported.

    Fix (reference imports ``class_module``, which runs code a checkpoint names — also
    a module shipped inside the checkpoint when it sits under the working directory):
    the top-level package is located with the import system's finders, only when an
    installed distribution (or the standard library) provides it and never from the
    current directory or the checkpoint; submodules are located by their files, and
    the module's source is parsed (``ast``), never executed. Passes when the source
    defines ``class <class_name>`` (or re-exports it by name); fails when the installed
    package has no such module, or the module plainly binds no such name, or an alias
    names another class than ``resolved_class_name``. Compiled modules, star imports,
    module ``__getattr__`` and ``sys.modules`` games cannot be read statically:
    not_checked, deferred to the model-running checks (``-m gpu``), which import from
    the installed environment only when asked.

    Deviation: a package not installed here (e.g. lerobot on a CI runner that checks
    bytes and contract only) is not_checked; the reference fails it.

    Architectures (``config_architectures``) are looked up in installed transformers'
    source the same way: found as a name it exports passes, otherwise not_checked.
    """
    name = "model_identity_resolvable"
    if (nc := no_passport(name, ctx)):
        return nc
    mi = _identity(ctx)
    untrusted = (ctx.checkpoint.root,)
    if mi.class_module and mi.class_name:
        return _resolve_class(name, mi, untrusted)
    architectures = [a for a in mi.config_architectures or [] if a]
    if architectures:
        return _resolve_architecture(name, architectures[0], untrusted)
    return Finding.soft(name, "model_identity has neither class_module+class_name nor config_architectures; "
                        "identity cannot be resolved", class_name=mi.class_name)


def _resolve_class(name: str, mi: ModelIdentity, untrusted: tuple[Path, ...]) -> Finding:
    module, cls = str(mi.class_module), str(mi.class_name)
    target = f"{module}.{cls}"
    try:
        found = locate(module, untrusted)
    except Unresolved as exc:
        if exc.status == "failed":
            return Finding.failed(name, exc.message, class_module=module, exception=exc.exception)
        return Finding.not_checked(name, f"{exc.message}; cannot resolve {target} without importing it",
                                   class_module=module)
    if found.kind == "namespace":
        return Finding.failed(name, f"model_identity.class_module {module} is a namespace package without code; "
                              f"no class {cls} in it", class_module=module)
    if found.kind != "source" or found.origin is None:
        return Finding.not_checked(name, f"{module} is a {found.kind} module; {NEEDS_GPU}", class_module=module)
    try:
        names = bindings(read_source(found.origin))
    except SyntaxError as exc:
        return Finding.failed(name, f"model_identity.class_module {module} cannot be parsed: SyntaxError: {exc.msg} "
                              f"({found.origin}, line {exc.lineno})", class_module=module, exception="SyntaxError")
    except (OSError, ValueError) as exc:
        return Finding.not_checked(name, f"{module} source cannot be read ({_error(exc)}); {NEEDS_GPU}", class_module=module)
    where = dict(class_module=module, source=str(found.origin), target=target)
    resolved: str | None = None
    if cls in names.classes:
        resolved, via = cls, "class_definition"
    elif cls in names.imported:
        resolved, via = names.imported[cls], "import"
    elif cls in names.aliases and names.aliases[cls] in names.classes:
        resolved, via = names.aliases[cls], "alias"
    elif cls in names.aliases or cls in names.other or names.dynamic:
        return Finding.not_checked(name, f"{target} is bound at import time, not by a class statement; {NEEDS_GPU}", **where)
    else:
        return Finding.failed(name, f"model_identity.class_name {cls} not found in {module} "
                              f"(its source was read, not imported)", class_name=cls, **where)
    if resolved != cls:
        return Finding.failed(name, f"{target} resolves to {resolved!r}, not {cls!r}", resolved=resolved, **where)
    if mi.resolved_class_name and mi.resolved_class_name != resolved:
        return Finding.failed(name, f"model_identity.resolved_class_name {mi.resolved_class_name} != defined {resolved}",
                              resolved=resolved, resolved_class_name=mi.resolved_class_name, **where)
    return Finding.passed(name, f"{target} is defined in the installed environment (source read, not imported)",
                          resolved_via=via, distribution=found.distribution, **where)


def _resolve_architecture(name: str, arch: str, untrusted: tuple[Path, ...]) -> Finding:
    try:
        found = locate("transformers", untrusted)
    except Unresolved as exc:
        return Finding.soft(name, f"transformers cannot be located to resolve {arch}: {exc.message}", architecture=arch)
    try:
        names = bindings(read_source(found.origin)) if found.kind == "source" and found.origin else None
    except (OSError, ValueError, SyntaxError):
        names = None
    if names is not None and (arch in names.strings or arch in names.classes or arch in names.imported):
        return Finding.passed(name, f"transformers exports {arch} (source read, not imported)",
                              resolved_via="transformers", architecture=arch)
    return Finding.not_checked(name, f"{arch} is not listed in installed transformers' top-level source; {NEEDS_GPU}",
                               architecture=arch)


def _violation(dist: str, required: str) -> dict[str, Any] | None:
    """Why the installed ``dist`` does not satisfy ``required`` (None when it does)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    entry: dict[str, Any] = {"distribution": dist, "required": required, "installed": None}
    try:
        spec = SpecifierSet(required)
    except InvalidSpecifier:
        return {**entry, "problem": "invalid specifier"}
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return {**entry, "problem": "not installed"}
    entry["installed"] = installed
    try:
        ok = spec.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        return {**entry, "problem": "installed version is not PEP 440"}
    return None if ok else {**entry, "problem": "version outside specifier"}


@check("runtime_constraints", section=SECTION, category=CATEGORY)
def runtime_constraints(ctx: CheckContext) -> Finding:
    """Reference semantics: installed distributions satisfy ``required_versions``.

    An unparseable specifier is a violation; pre-release installs are judged by their
    version number (``prereleases=True``).
    """
    name = "runtime_constraints"
    if (nc := no_passport(name, ctx)):
        return nc
    constraints = _identity(ctx).runtime_constraints
    required = (constraints.required_versions if constraints else None) or {}
    if not required:
        return Finding.not_checked(name, "model_identity.runtime_constraints.required_versions is empty")
    violations = [v for dist, spec in sorted(required.items()) if (v := _violation(dist, spec or ""))]
    if violations:
        first = violations[0]
        more = f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
        installed = f" (installed {first['installed']})" if first["installed"] else ""
        return Finding.failed(name, f"runtime_constraints.required_versions {first['distribution']} {first['required']!r}: "
                              f"{first['problem']}{installed}{more}", violations=violations)
    return Finding.passed(name, f"{len(required)} required version(s) satisfied", required_versions=dict(required))
