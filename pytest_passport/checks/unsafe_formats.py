"""Pickle-based files in the checkpoint, scanned statically (section ``weight_integrity``).

Loading a ``.bin``/``.pt``/``.pth``/``.ckpt``/``.pkl``/``.joblib`` file, or a ``.npy``/``.npz``
holding object arrays, unpickles it, and unpickling runs whatever callables the stream names.
The tool never unpickles anything: :mod:`pytest_passport.pickle_scan` walks the opcodes.
Every pickle-based file under the root is scanned, declared or not, so a malicious pickle
dropped in unlisted fails here naming its global (the tree-coverage check fails it too).
"""

from __future__ import annotations

import os
import stat
from pathlib import PurePosixPath

from ..errors import UnsafePathError
from ..findings import Finding
from ..pickle_scan import PICKLE_SUFFIXES, ScanResult, looks_like_pickle, scan_file
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME
from ._base import CheckContext, check

#: Suffixes never sniffed for pickle content (text, images, safetensors, media, tables).
NOT_PICKLE_SUFFIXES = (
    ".safetensors", ".json", ".md", ".txt", ".yaml", ".yml", ".toml", ".png", ".jpg", ".jpeg",
    ".parquet", ".mp4", ".csv", ".py", ".cfg", ".ini", ".gif", ".webp", ".onnx",
)


def _candidates(ctx: CheckContext) -> list[str]:
    """Files to scan: pickle suffixes, and other files whose first bytes look like pickle or zip."""
    out: list[str] = []
    for rel in ctx.checkpoint.files:
        if rel in (PASSPORT_FILENAME, SIGNOFF_FILENAME):
            continue
        lower = PurePosixPath(rel).name.lower()
        if lower.endswith(PICKLE_SUFFIXES):
            out.append(rel)
        elif not lower.endswith(NOT_PICKLE_SUFFIXES) and _sniff(ctx, rel):
            out.append(rel)
    return out


def _sniff(ctx: CheckContext, rel: str) -> bool:
    try:
        path = ctx.checkpoint.resolve(rel)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, UnsafePathError):
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return looks_like_pickle(os.read(fd, 8))
    finally:
        os.close(fd)


@check("pickle_files_safe", section="weight_integrity", category="model_internals", static=True)
def pickle_files_safe(ctx: CheckContext) -> Finding:
    """No pickle-based file imports a dangerous global; any pickle weight file is a soft signal.

    Fails naming the file and the global (``os.system``, ``subprocess.Popen``,
    ``builtins.eval``, ``runpy...``) when unpickling would run code. A pickle file whose
    globals are all plain tensor/array rebuilders is a soft signal recommending safetensors;
    unknown globals or a stream that cannot be fully parsed are named in that soft signal.
    """
    name = "pickle_files_safe"
    scanned: dict[str, ScanResult] = {}
    unreadable: list[str] = []
    for rel in _candidates(ctx):
        try:
            scanned[rel] = scan_file(ctx.checkpoint.resolve(rel), rel)
        except (OSError, UnsafePathError) as exc:
            unreadable.append(f"{rel}: {getattr(exc, 'strerror', None) or exc}")
    dangerous = {rel: r.dangerous for rel, r in scanned.items() if r.dangerous}
    if dangerous:
        rel, names = next(iter(dangerous.items()))
        where = scanned[rel].where.get(names[0], rel)
        return Finding.failed(
            name,
            f"{rel}: unpickling it would import {names[0]}"
            + (f" (in {where})" if where != rel else "")
            + " -- it runs code when loaded; do not load this checkpoint",
            dangerous=dangerous,
        )
    pickles = sorted(rel for rel, r in scanned.items() if r.streams)
    unknown = {rel: r.unknown for rel, r in scanned.items() if r.unknown}
    errors = [e for r in scanned.values() if r.streams or PurePosixPath(r.path).name.lower().endswith(PICKLE_SUFFIXES) for e in r.errors]
    errors += unreadable
    if not pickles and not errors:
        return Finding.passed(name, "no pickle-based file in the checkpoint", scanned=sorted(scanned))
    parts = []
    if pickles:
        parts.append(
            f"{len(pickles)} pickle-based file(s) ({', '.join(pickles[:3])}{', ...' if len(pickles) > 3 else ''}): "
            "no dangerous import found, but loading pickle can run code; convert to safetensors"
        )
    if unknown:
        rel, names = next(iter(unknown.items()))
        parts.append(f"{rel} imports {', '.join(names[:3])} (not known to be safe)")
    if errors:
        parts.append(f"not fully scannable: {errors[0]}")
    return Finding.soft(name, "; ".join(parts), pickle_files=pickles, unknown_globals=unknown, scan_errors=errors)
