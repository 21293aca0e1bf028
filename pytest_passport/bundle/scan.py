"""Zip scanning: every entry of an archive is checked from its headers before anything is written.

Refused: absolute names, backslashes, ``..``, symlink and special entries, encrypted entries,
duplicates (after normalisation), a name that is both a file and a folder, more entries or
bytes than :class:`~.limits.ZipLimits` allows, compression bombs (per large entry and summed
over small ones), a single ``<run>:v<N>/`` folder wrapping the bundle, and a Metta
``policy_spec.json`` that is not an object naming a ``class_path`` and an existing ``data_path``.
"""

from __future__ import annotations

import json
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..errors import BundleError
from ..schema import PASSPORT_FILENAME
from .limits import ZipLimits
from .names import BUNDLE_MARKERS, POLICY_SPEC, entry_run_epoch, name_problem, safe_parts, split_parts

__all__ = ["ZipEntry", "check_metta", "scan_zip"]


@dataclass(frozen=True)
class ZipEntry:
    """One checked archive entry: its header and its normalised relative components."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    is_dir: bool

    @property
    def rel(self) -> str:
        return "/".join(self.parts)


def _entry(info: zipfile.ZipInfo, label: str) -> ZipEntry | None:
    """The checked entry; ``None`` for a directory entry naming the root itself (``./``)."""
    name = info.filename
    problem = name_problem(name)
    if problem:
        raise BundleError(label, problem, name)
    parts = split_parts(name)
    if not parts:
        if info.is_dir():
            return None
        raise BundleError(label, "empty entry name", name)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise BundleError(label, "symlink entry; links in bundles are never extracted", name)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise BundleError(label, f"not a regular file or directory (mode {kind:#o})", name)
    if info.flag_bits & 0x1:
        raise BundleError(label, "encrypted entry", name)
    return ZipEntry(info, parts, info.is_dir() or kind == stat.S_IFDIR)


def _check_unique(entries: Sequence[ZipEntry], label: str) -> None:
    files: dict[str, str] = {}
    dirs: set[str] = set()
    for entry in entries:
        if entry.is_dir:
            dirs.add(entry.rel)
            continue
        if entry.rel in files:
            raise BundleError(label, f"duplicate name (also stored as {files[entry.rel]!r})", entry.info.filename)
        files[entry.rel] = entry.info.filename
        dirs.update("/".join(entry.parts[:i]) for i in range(1, len(entry.parts)))
    clash = sorted(set(files) & dirs)
    if clash:
        raise BundleError(label, "is both a file and a directory", files[clash[0]])


def _bomb(label: str, ratio: float, limits: ZipLimits, entry: str, what: str = "compression ratio") -> BundleError:
    return BundleError(label, f"{what} {ratio:.0f}:1 exceeds the {limits.max_ratio:.0f}:1 limit (zip bomb?)", entry)


def _check_sizes(entries: Sequence[ZipEntry], label: str, limits: ZipLimits) -> None:
    """Declared totals: all bytes, each large entry's ratio, and the summed ratio of small entries.

    Fix (issue 9): entries up to ``ratio_floor_bytes`` used to be exempt one by one, so a
    thousand 1 MiB entries of zeros (1.19 MiB of zip) expanded to 1 GiB on every run.
    """
    total = small = small_packed = 0
    for entry in entries:
        info = entry.info
        if entry.is_dir:
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise BundleError(
                label, f"declared uncompressed total exceeds the {limits.max_total_bytes}-byte limit (zip bomb?)", info.filename
            )
        if info.file_size > limits.ratio_floor_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise _bomb(label, ratio, limits, info.filename)
            continue
        small += info.file_size
        small_packed += info.compress_size
        if small > limits.small_entries_budget_bytes and small > limits.max_ratio * max(small_packed, 1):
            raise _bomb(label, small / max(small_packed, 1), limits, info.filename, "summed compression ratio of the small entries")


def _check_at_root(files: Sequence[ZipEntry], label: str) -> None:
    """Refuse a single folder wrapping the whole bundle (Metta's loader rejects it too)."""
    tops = {e.parts[0] for e in files}
    if len(tops) != 1 or any(len(e.parts) == 1 for e in files):
        return
    (top,) = tops
    inner = {e.parts[1] for e in files if len(e.parts) == 2}
    if entry_run_epoch(top)[1] is not None or inner & set(BUNDLE_MARKERS):
        raise BundleError(
            label,
            "every file sits in this folder; a bundle's files must sit at the archive root "
            "(zip the bundle directory's contents, not the directory)",
            top + "/",
        )


def _check_spec(raw: bytes, exists: Callable[[tuple[str, ...]], bool], label: str) -> None:
    """Check a Metta ``policy_spec.json``: JSON object, ``class_path``, ``data_path`` present."""
    try:
        spec = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(label, f"invalid JSON ({exc})", POLICY_SPEC) from None
    if not isinstance(spec, dict):
        raise BundleError(label, "not a JSON object", POLICY_SPEC)
    if not isinstance(spec.get("class_path"), str) or not spec["class_path"]:
        raise BundleError(label, "class_path is missing or not a string", POLICY_SPEC)
    data_path = spec.get("data_path")
    if data_path is None:
        return
    parts = safe_parts(data_path) if isinstance(data_path, str) else None
    if parts is None:
        raise BundleError(label, f"data_path {data_path!r} is not a relative path inside the bundle", POLICY_SPEC)
    if not exists(parts):
        raise BundleError(label, f"missing: {POLICY_SPEC} data_path names it, but the bundle does not hold it", data_path)


def check_metta(
    names: Iterable[str],
    read_spec: Callable[[], bytes],
    exists: Callable[[tuple[str, ...]], bool],
    label: str,
    bundle_named: bool,
) -> None:
    """Metta's layout: ``policy_spec.json`` at the root of a ``<run>:v<epoch>`` bundle, its ``data_path`` present.

    A bundle that already carries a MODEL_PASSPORT.json (and no policy spec) is left to the passport checks.
    """
    present = set(names)
    if POLICY_SPEC not in present:
        if bundle_named and PASSPORT_FILENAME not in present:
            raise BundleError(label, f"missing: a <run>:v<epoch> bundle holds {POLICY_SPEC} at its root", POLICY_SPEC)
        return
    _check_spec(read_spec(), exists, label)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limit: int) -> bytes:
    if info.file_size > limit:
        raise BundleError(label, f"larger than {limit} bytes", info.filename)
    try:
        with zf.open(info) as fh:
            return fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise BundleError(label, f"cannot be read ({exc})", info.filename) from None


def scan_zip(zf: zipfile.ZipFile, label: str, limits: ZipLimits, *, bundle_named: bool = False) -> list[ZipEntry]:
    """Check every entry of an open archive without extracting anything; the entries in order."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise BundleError(label, f"{len(infos)} entries exceed the limit of {limits.max_entries}")
    entries = [e for e in (_entry(info, label) for info in infos) if e is not None]
    _check_unique(entries, label)
    _check_sizes(entries, label, limits)
    files = [e for e in entries if not e.is_dir]
    if not files:
        raise BundleError(label, "the archive holds no files")
    _check_at_root(files, label)
    by_rel = {e.rel: e.info for e in files}
    check_metta(
        by_rel,
        lambda: _read_member(zf, by_rel[POLICY_SPEC], label, limits.max_spec_bytes),
        lambda parts: "/".join(parts) in by_rel,
        label,
        bundle_named,
    )
    return entries
