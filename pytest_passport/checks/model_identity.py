"""Checks of ``model_identity``: the class can be imported, the runtime satisfies the pins.

Both depend on the validating environment (installed packages), by design.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any

from ..findings import Finding
from ..schema import ModelIdentity
from ._base import CheckContext, check, no_passport

SECTION = "model_identity"
CATEGORY = "model_internals"


def _identity(ctx: CheckContext) -> ModelIdentity:
    passport = ctx.passport
    return (passport.model_identity if passport else None) or ModelIdentity()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


@check("model_identity_resolvable", section=SECTION, category=CATEGORY)
def model_identity_resolvable(ctx: CheckContext) -> Finding:
    """The recorded class imports (never instantiated); reference semantics.

    Hardening: anything the imported module raises (not only ImportError, and SystemExit)
    becomes a failure naming the exception, never a crash.

    Deviation: when the class's top-level package is not installed at all (e.g. lerobot on a
    CI runner that checks bytes and contract only), the identity cannot be judged here and the
    check is not_checked; the reference fails it, which makes static-only validation impossible.
    """
    name = "model_identity_resolvable"
    if (nc := no_passport(name, ctx)):
        return nc
    mi = _identity(ctx)
    if mi.class_module and mi.class_name:
        target = f"{mi.class_module}.{mi.class_name}"
        top = mi.class_module.split(".", 1)[0]
        if top and importlib.util.find_spec(top) is None:
            return Finding.not_checked(name, f"{top} is not installed here; cannot import {target}", class_module=mi.class_module)
        try:
            module = importlib.import_module(mi.class_module)
        except (Exception, SystemExit) as exc:
            return Finding.failed(name, f"model_identity.class_module {mi.class_module} cannot be imported: {_error(exc)}",
                                  class_module=mi.class_module, exception=type(exc).__name__)
        found = getattr(module, mi.class_name, None)
        if found is None:
            return Finding.failed(name, f"model_identity.class_name {mi.class_name} not found in {mi.class_module}",
                                  class_module=mi.class_module, class_name=mi.class_name)
        actual = getattr(found, "__name__", None)
        if actual != mi.class_name:
            return Finding.failed(name, f"{target} resolves to {actual!r}, not {mi.class_name!r}", resolved=actual)
        if mi.resolved_class_name and mi.resolved_class_name != actual:
            return Finding.failed(name, f"model_identity.resolved_class_name {mi.resolved_class_name} != imported {actual}",
                                  resolved=actual, resolved_class_name=mi.resolved_class_name)
        return Finding.passed(name, f"{target} imports", resolved_via="direct_import", target=target)
    architectures = [a for a in mi.config_architectures or [] if a]
    if architectures:
        arch = architectures[0]
        try:
            import transformers
        except (Exception, SystemExit) as exc:
            return Finding.soft(name, f"transformers cannot be imported to resolve {arch}: {_error(exc)}",
                                architecture=arch, exception=type(exc).__name__)
        try:
            found = getattr(transformers, arch)
        except (Exception, SystemExit) as exc:  # lazy modules raise more than AttributeError
            return Finding.failed(name, f"model_identity.config_architectures[0] {arch} not in transformers: {_error(exc)}",
                                  architecture=arch, exception=type(exc).__name__)
        actual = getattr(found, "__name__", None)
        if actual != arch:
            return Finding.failed(name, f"transformers.{arch} resolves to {actual!r}", architecture=arch, resolved=actual)
        return Finding.passed(name, f"transformers.{arch} resolves", resolved_via="transformers", architecture=arch)
    return Finding.soft(name, "model_identity has neither class_module+class_name nor config_architectures; "
                        "identity cannot be resolved", class_name=mi.class_name)


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
