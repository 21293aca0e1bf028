"""Weight files: the tensor-header check, the whole-tree check and the per-declared-file hash check."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from ..errors import UnsafePathError
from ..findings import Finding
from ..hashing import kind_of
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, TEMP_NAME
from ..tree import shown
from ._base import CheckContext, check, no_passport

#: Code and files loaders deserialise (pickles, torch archives, arrays, native libraries):
#: undeclared, they fail ``checkpoint_tree_declared`` even when an ignore pattern matches.
NEVER_IGNORED_SUFFIXES = (
    ".py", ".so", ".pyd", ".dylib", ".pth", ".pkl", ".pickle", ".pt", ".bin", ".ckpt", ".joblib", ".npy", ".npz",
)


@check("weight_file_integrity", section="weight_integrity", category="model_internals", static=True)
def weight_file_integrity(ctx: CheckContext) -> Finding:
    """At least one ``*.safetensors``/``*.bin`` file exists and safetensors headers parse."""
    name = "weight_file_integrity"
    cp = ctx.checkpoint
    if not cp.weight_files:
        return Finding.failed(name, "no *.safetensors or *.bin weight file under the checkpoint root")
    broken = {rel: h.error for rel, h in cp.tensor_headers.items() if h.error}
    if broken:
        rel, error = next(iter(sorted(broken.items())))
        return Finding.failed(name, f"{rel}: unreadable safetensors header: {error}", broken=broken)
    if cp.tensor_count == 0:
        return Finding.failed(name, "weight files found but no tensor in any safetensors header", files=list(cp.weight_files))
    return Finding.passed(
        name, f"{cp.tensor_count} tensor(s) in {len(cp.tensor_headers)} safetensors file(s)", files=list(cp.weight_files)
    )


def check_declared_file(ctx: CheckContext, rel: str) -> Finding:
    """One ``weight_integrity.weight_files[]`` entry against the bytes on disk and the signoff.

    The reference never compares the passport's recorded sha256/size with disk (spec §8.8);
    this does, and also compares with the SIGNOFF.json artifact for the same path, so every
    declared file is read exactly once per run for all the checks that need its digest.
    """
    entry = ctx.declared.get(rel)
    if entry is None:
        return Finding.not_checked(rel, f"{rel} is not declared in {PASSPORT_FILENAME}")
    try:
        path = ctx.checkpoint.resolve(rel)
    except UnsafePathError as exc:
        return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} weight_integrity but rejected: {exc.reason}")
    problem = _not_regular(path)
    if problem == "missing":
        return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} weight_integrity but missing on disk")
    if problem is not None:
        return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} weight_integrity but not a regular file ({problem}); it is not read")
    try:
        digest, size = ctx.sha256_of(rel)
    except OSError as exc:
        return Finding.failed(rel, f"cannot read: {exc.strerror or exc}")
    details = {"sha256": digest, "size_bytes": size}
    if entry.size_bytes is not None and entry.size_bytes != size:
        return Finding.failed(
            rel, f"size {size} bytes on disk, {entry.size_bytes} in {PASSPORT_FILENAME} weight_integrity", expected_size_bytes=entry.size_bytes, **details
        )
    if entry.sha256 != digest:
        return Finding.failed(
            rel, f"sha256 on disk differs from {PASSPORT_FILENAME} weight_integrity", expected_sha256=entry.sha256, **details
        )
    if ctx.signoff is not None and not ctx.options.signing:
        signed = ctx.signed.get(rel)
        if signed is None:
            return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} but not covered by {SIGNOFF_FILENAME}", **details)
        if signed != digest:
            return Finding.failed(rel, f"sha256 on disk differs from {SIGNOFF_FILENAME}", signed_sha256=signed, **details)
    return Finding.passed(rel, f"sha256 {digest[:12]}…, {size} bytes", **details)


def auto_map_files(config: dict[str, Any]) -> set[str]:
    """Python files named by a Hugging Face ``config.json`` ``auto_map`` (``[repo--]module.Class``)."""
    auto_map = config.get("auto_map") if isinstance(config, dict) else None
    values: list[Any] = list(auto_map.values()) if isinstance(auto_map, dict) else []
    found: set[str] = set()
    for value in values:
        for ref in value if isinstance(value, list) else [value]:
            if isinstance(ref, str) and "." in ref:
                module = ref.rsplit("--", 1)[-1].rsplit(".", 1)[0]
                found.add(module.replace(".", "/") + ".py")
    return found


def never_ignored(rel: str, named_code: set[str]) -> bool:
    """Whether an undeclared file may never be waved through by ``ignore_patterns``."""
    return rel.lower().endswith(NEVER_IGNORED_SUFFIXES) or rel in named_code


def _ignored(rel: str, patterns: Iterable[str]) -> str | None:
    return next((p for p in patterns if fnmatchcase(rel, p)), None)


@check("checkpoint_tree_declared", section="weight_integrity", category="model_internals", static=True)
def checkpoint_tree_declared(ctx: CheckContext) -> Finding:
    """Every entry under the root is a regular file declared in ``weight_integrity.weight_files``
    or matched by ``weight_integrity.ignore_patterns`` (besides the root passport and signoff).

    Fails, naming them, on symlinks (to files or directories, inside or out, dangling), FIFOs,
    sockets, devices and unlistable directories (even without a passport), and on undeclared
    files; code and loader files (``*.py``, ``*.pkl``, ``*.bin``…, files named by
    ``config.json`` ``auto_map``) fail even when an ignore pattern matches. The listing uses
    ``os.scandir`` without following links and reads no file. Leftover temp files of the
    passport/signoff writers (``.SIGNOFF.json.<pid>.tmp``) are tolerated. Fix (reference): the
    reference checks only declared files, so anything added next to them passed.
    """
    name = "checkpoint_tree_declared"
    cp = ctx.checkpoint
    tree = cp.tree
    temps = [rel for rel in tree.files if "/" not in rel and TEMP_NAME.match(rel)]
    candidates = [rel for rel in tree.files if rel not in (PASSPORT_FILENAME, SIGNOFF_FILENAME) and rel not in temps]
    unsafe = [entry.describe() for entry in tree.others]
    problems: dict[str, list[str]] = {}
    if unsafe:
        problems["not_regular_files"] = unsafe
    if ctx.passport is None:
        if problems:
            return Finding.failed(name, f"not a regular file: {unsafe[0]}; only regular files may sit in a checkpoint", **problems)
        return no_passport(name, ctx) or Finding.not_checked(name, "no usable passport")
    wi = ctx.passport.weight_integrity
    patterns = [p for p in (wi.ignore_patterns or []) if isinstance(p, str)] if wi else []
    declared = set(ctx.declared)
    named_code = auto_map_files(ctx.config)
    code: list[str] = []
    unlisted: list[str] = []
    ignored: list[str] = []
    for rel in candidates:
        if rel in declared:
            continue
        if never_ignored(rel, named_code):
            pattern = _ignored(rel, patterns)
            code.append(shown(rel) + (f" (ignore pattern {pattern!r} does not apply to code or loader files)" if pattern else ""))
        elif _ignored(rel, patterns) is not None:
            ignored.append(shown(rel))
        else:
            unlisted.append(shown(rel))
    if code:
        problems["undeclared_code_or_loader_files"] = code
    if unlisted:
        problems["undeclared_files"] = unlisted
    present = declared & set(tree.files)
    resized = [rel for rel in present if isinstance(ctx.declared[rel].size_bytes, int) and ctx.declared[rel].size_bytes != tree.files[rel].st_size]
    if declared and (not present or (len(present) >= 2 and len(resized) == len(present))):
        what = "is in this checkpoint" if not present else "has the declared size here"
        return Finding.failed(
            name,
            f"none of the {len(declared)} file(s) declared in {PASSPORT_FILENAME} {what}: "
            "the passport describes another checkpoint; regenerate it (generate-passport) and re-sign",
            size_differs=sorted(map(shown, resized)),
            **problems,
        )
    if problems:
        kind, items = next(iter(problems.items()))
        text = {
            "not_regular_files": "not a regular file: {}; only regular files may sit in a checkpoint",
            "undeclared_code_or_loader_files": "code or loader file not declared in weight_integrity.weight_files: {}",
            "undeclared_files": "file not declared in weight_integrity.weight_files nor matched by weight_integrity.ignore_patterns: {}",
        }[kind]
        more = sum(len(v) for v in problems.values()) - 1
        return Finding.failed(name, text.format(items[0]) + (f" (+{more} more)" if more else ""), **problems)
    note = f"; {len(ignored)} ignored by pattern" if ignored else ""
    return Finding.passed(name, f"{len(candidates) - len(ignored)} file(s) in the tree, all declared{note}", ignored=ignored, temp_files=temps)


def _not_regular(path: Any) -> str | None:
    """``None`` for a regular file, else what the path is (``missing`` when nothing is there)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    kind = kind_of(mode)
    return None if kind == "regular file" else kind
