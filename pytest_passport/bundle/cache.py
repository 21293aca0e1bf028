"""The private cache of extracted bundles: verified on every use, installed atomically, evicted by last use.

Layout (``<cache>`` is :func:`~.limits.cache_root`)::

    <cache>/zips/<sha256 of the zip>/root/           the extracted files
    <cache>/zips/<sha256 of the zip>/manifest.json   {relative path: [size, sha256]}, total bytes
    <cache>/hf/<key>/root/ + manifest.json           hub snapshots as hard links (or copies)
    <cache>/downloads/<sha256>.zip                   zips fetched from S3
    <cache>/work/                                    private copies opened by edit_zip

**Verified on every use.** An entry is built in a temporary folder beside its final place:
the files are hashed while they are extracted, the manifest is written after the last one,
and the folder is renamed into place in one step, so a half-built entry is never seen. On
each later use the files under ``root/`` are listed without following links (any symlink,
special file, missing or extra file fails), then every file is opened with ``O_NOFOLLOW``,
checked to be the inode that was listed, hashed, and compared with the manifest; the
manifest's names and sizes must also match the zip's central directory. Anything off and the
entry is thrown away and extracted again: a byte flipped in a cached file is never served.

Cost: one read of the extracted bytes per use, hashed on one thread per core. Checking the
zip's CRC-32 against the files would read as much and is forgeable; names, sizes and mtimes
(what the cache trusted before) are cheap but miss a flipped byte. The manifest sits in the
user's own cache: it catches writes into extracted trees (tools, scripts, a stray editor),
not an attacker who can rewrite both the tree and its manifest (who could equally replace
this package).

**Eviction.** After an entry is opened, while the cache holds more than
``ZipLimits.max_cache_bytes`` (``$PYTEST_PASSPORT_CACHE_MAX_BYTES``, 32 GiB by default),
entries are deleted oldest first by last use (the manifest's mtime, or a download's), never
the entry being opened and never one used in the last ``cache_grace_s`` (an hour), since
another run may be validating it. Temporary folders older than a day (a killed run) go too.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from ..errors import BundleError
from ..hashing import default_workers
from .archive import read_zip, sha256_fileobj
from .extract import FileRecord, extract_entries
from .limits import ZipLimits
from .scan import scan_zip

__all__ = [
    "MANIFEST",
    "ROOT",
    "cached_tree",
    "discard",
    "evict",
    "extract_cached",
    "hash_tree",
    "verify_manifest",
    "walk_files",
]

MANIFEST = "manifest.json"
ROOT = "root"
MANIFEST_FORMAT = 1
#: Temporary folders and partial downloads older than this are left over from a killed run.
STALE_TEMP_S = 24 * 3600.0
#: Below this many bytes, hashing on one thread beats starting a pool.
PARALLEL_BYTES = 8 << 20


def walk_files(root: Path) -> dict[str, os.stat_result] | None:
    """``{relative path: lstat}`` of the regular files under ``root``, never following a link.

    ``None`` when ``root`` is not a real directory or holds a symlink, a special file or an
    unreadable folder: such a tree is never used. Without following links there is no cycle.
    """
    try:
        if not stat.S_ISDIR(os.lstat(root).st_mode):
            return None
    except OSError:
        return None
    found: dict[str, os.stat_result] = {}
    stack = [(str(root), "")]
    while stack:
        path, prefix = stack.pop()
        try:
            with os.scandir(path) as it:
                for entry in it:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append((entry.path, f"{prefix}{entry.name}/"))
                    elif stat.S_ISREG(st.st_mode):
                        found[prefix + entry.name] = st
                    else:
                        return None
        except OSError:
            return None
    return found


def _hash_listed(path: Path, listed: os.stat_result) -> str | None:
    """sha256 of ``path`` if it is still the regular file (same inode) that was listed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (listed.st_dev, listed.st_ino):
            return None
        return sha256_fileobj(fh)


def hash_tree(root: Path, files: Mapping[str, os.stat_result]) -> dict[str, str | None]:
    """``{relative path: sha256 or None}`` of listed files, on one thread per core when it pays."""
    items = sorted(files.items(), key=lambda item: -item[1].st_size)
    if len(items) < 2 or sum(st.st_size for _, st in items) < PARALLEL_BYTES:
        return {rel: _hash_listed(root / rel, st) for rel, st in items}
    from concurrent.futures import ThreadPoolExecutor  # only runs that verify large trees start threads

    with ThreadPoolExecutor(min(default_workers(), len(items)), thread_name_prefix="passport-verify") as pool:
        digests = pool.map(lambda item: _hash_listed(root / item[0], item[1]), items)
        return dict(zip((rel for rel, _ in items), digests))


def write_manifest(entry: Path, records: Mapping[str, tuple[int, str | None]]) -> None:
    """The manifest of a finished tree (``entry`` is still the temporary folder: no one sees it yet)."""
    doc = {
        "format": MANIFEST_FORMAT,
        "bytes": sum(size for size, _ in records.values()),
        "files": {rel: [size, sha] for rel, (size, sha) in sorted(records.items())},
    }
    with open(entry / MANIFEST, "x", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=0)


def read_manifest(entry: Path) -> dict[str, tuple[int, str | None]] | None:
    """``{relative path: (size, sha256)}`` from ``entry``'s manifest; ``None`` if absent or malformed."""
    try:
        fd = os.open(entry / MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            doc = json.loads(fh.read())
        files = doc["files"]
        if doc.get("format") != MANIFEST_FORMAT or not isinstance(files, dict):
            return None
        return {str(rel): (int(size), sha if isinstance(sha, str) else None) for rel, (size, sha) in files.items()}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def verify_manifest(entry: Path, expected_sizes: Mapping[str, int]) -> bool:
    """Whether ``entry/root`` holds exactly the files its manifest records, byte for byte.

    ``expected_sizes`` comes from the zip's central directory: the manifest must describe
    that zip. Each file is hashed once (see the module docstring for the cost).
    """
    manifest = read_manifest(entry)
    if manifest is None or {rel: size for rel, (size, _) in manifest.items()} != dict(expected_sizes):
        return False
    root = entry / ROOT
    files = walk_files(root)
    if files is None or {rel: st.st_size for rel, st in files.items()} != dict(expected_sizes):
        return False
    digests = hash_tree(root, files)
    return all(digests[rel] is not None and digests[rel] == sha for rel, (_, sha) in manifest.items())


def discard(path: Path) -> None:
    """Move ``path`` out of the way atomically, then delete it (a link is removed, never followed)."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
            return
        trash = Path(tempfile.mkdtemp(prefix=".stale-", dir=path.parent))
        os.replace(path, trash / "old")
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _touch(entry: Path) -> None:
    try:
        os.utime(entry / MANIFEST)
    except OSError:
        pass


def cached_tree(
    final: Path,
    label: str,
    fill: Callable[[Path], Mapping[str, FileRecord | tuple[int, None]]],
    is_valid: Callable[[Path], bool],
    *,
    prefix: str,
    before_install: Callable[[], None] | None = None,
) -> Path:
    """``final/root``: reused when ``is_valid(final)``, else rebuilt by ``fill`` and installed in one rename.

    ``fill(root)`` writes the files and returns their manifest records; ``before_install``
    may still refuse (e.g. the zip changed while it was read). Nothing is checked once and
    trusted later: ``is_valid`` runs on every call.
    """
    if final.exists() or final.is_symlink():
        if not final.is_symlink() and is_valid(final):
            _touch(final)
            return final / ROOT
        discard(final)  # tampered with since it was built, or left half-made by an old version
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
    try:
        (tmp / ROOT).mkdir()
        write_manifest(tmp, fill(tmp / ROOT))
        if before_install is not None:
            before_install()
        try:
            os.replace(tmp, final)
        except OSError as exc:  # a concurrent run installed it first: use theirs if it is right
            if not is_valid(final):
                raise BundleError(label, f"cannot install into the cache at {final} ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _touch(final)
    return final / ROOT


def _entries(cache: Path, now: float) -> list[tuple[float, int, Path]]:
    """``(last use, bytes, path)`` of every cache entry; stale temporaries are removed on the way."""
    found: list[tuple[float, int, Path]] = []
    for kind in ("zips", "hf", "downloads"):
        try:
            listing = list(os.scandir(cache / kind))
        except OSError:
            continue
        for item in listing:
            path = Path(item.path)
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if item.name.startswith("."):
                if now - st.st_mtime > STALE_TEMP_S:
                    discard(path)
                continue
            if kind == "downloads":
                found.append((st.st_mtime, st.st_size, path))
                continue
            manifest = read_manifest(path)
            try:
                used = os.stat(path / MANIFEST).st_mtime if manifest is not None else 0.0
            except OSError:
                used = 0.0
            found.append((used, sum(size for size, _ in (manifest or {}).values()), path))
    return found


def evict(cache: Path, limits: ZipLimits, keep: Collection[Path] = ()) -> list[Path]:
    """Delete least recently used entries while the cache is over ``limits.max_cache_bytes``; the deleted paths."""
    now = time.time()
    entries = sorted(_entries(cache, now), key=lambda e: (e[0], str(e[2])))
    total = sum(size for _, size, _ in entries)
    removed: list[Path] = []
    for used, size, path in entries:
        if total <= limits.max_cache_bytes:
            break
        if path in keep or now - used < limits.cache_grace_s:
            continue
        discard(path)
        removed.append(path)
        total -= size
    return removed


def extract_cached(
    zip_path: Path, label: str, cache: Path, limits: ZipLimits, *, bundle_named: bool, digest: str | None = None
) -> tuple[Path, str]:
    """``zip_path`` checked and extracted into ``<cache>/zips/<sha256>/root``; returns that root and the sha256.

    Hashing, scanning and extracting read one open file. An existing entry is used only after
    :func:`verify_manifest` passes; the cache is then trimmed to its size bound.
    """
    with read_zip(zip_path, label, digest=digest) as (zf, state, fh):
        entries = scan_zip(zf, label, limits, bundle_named=bundle_named)
        expected = {e.rel: e.info.file_size for e in entries if not e.is_dir}
        final = cache / "zips" / state.sha256
        root = cached_tree(
            final,
            label,
            lambda root: extract_entries(zf, entries, root, label, limits),
            lambda entry: verify_manifest(entry, expected),
            prefix=".extract-",
            before_install=lambda: state.check_unchanged(fh, label),
        )
    evict(cache, limits, keep={final, Path(zip_path)})
    return root, state.sha256
