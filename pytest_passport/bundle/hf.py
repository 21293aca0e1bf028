"""``hf://[datasets/|spaces/]org/repo[@revision][/subdir]`` through huggingface_hub (imported only here).

``huggingface_hub.snapshot_download`` honours ``HF_HUB_OFFLINE`` and the hub cache. Online, a
dry run first sums what would be downloaded and refuses past ``ZipLimits.max_download_bytes``
before a byte is fetched; in every mode the snapshot's files are summed again before use.
The hub cache keeps files as symlinks into ``blobs/``; they are walked without following
directory links (a linked directory, hence any cycle, is refused) and each file link must
land on a regular file in that repository's cache. The snapshot is then handed over as real
files: hard links to the blobs under ``<cache>/hf/<key>/root``, reused only while every file
there is still the very blob inode it was linked to (copies, on another filesystem, are made
again on each use).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import BundleError, CheckpointNotFoundError
from ..schema import PASSPORT_FILENAME
from .cache import ROOT, cached_tree, evict, read_manifest, walk_files
from .latest import latest_location, local_lister
from .limits import ZipLimits
from .local import ResolvedCheckpoint, check_metta_dir, open_local
from .names import LATEST, entry_run_epoch, latest_base

__all__ = ["HfRef", "parse_hf", "resolve_hf"]

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class HfRef:
    repo_id: str
    repo_type: str
    revision: str | None
    subpath: str


def parse_hf(source: str) -> HfRef:
    """``hf://[datasets/|spaces/]org/repo[@revision][/subdir]`` (revision percent-encoded if it holds ``/``)."""
    from urllib.parse import unquote

    parts = source[len("hf://"):].split("/")
    repo_type = "model"
    if parts[0] in ("models", "datasets", "spaces") and len(parts) >= 3:
        repo_type = parts.pop(0)[:-1]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BundleError(source, "hf:// URIs name a repository: hf://org/repo[@revision][/subdir]")
    name, _, revision = parts[1].partition("@")
    sub = "/".join(p for p in parts[2:] if p not in ("", "."))
    if ".." in sub.split("/"):
        raise BundleError(source, "the subdirectory climbs out of the repository with '..'")
    return HfRef(f"{parts[0]}/{name}", repo_type, unquote(revision) or None, unquote(sub))


def _hf_cache_dir() -> str | None:
    """The hub cache as the environment names it now (huggingface_hub reads it only at import)."""
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(key):
            return os.environ[key]
    home = os.environ.get("HF_HOME")
    return os.path.join(home, "hub") if home else None


def _hf_patterns(sub: str, latest: bool) -> list[str] | None:
    if not sub:
        return None
    if not latest:
        return [sub, f"{sub}/*"]
    head = sub[: -len(LATEST)]
    directory = head.rstrip("/") if head.endswith("/") else head.rpartition("/")[0]
    return [f"{directory}/*"] if directory else None


def _hf_snapshot(ref: HfRef, source: str, latest: bool, cap: int) -> Path:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:
        raise BundleError(source, "hf:// checkpoints need huggingface_hub (pip install huggingface_hub)") from None
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
    kwargs = dict(
        repo_type=ref.repo_type,
        revision=ref.revision,
        cache_dir=_hf_cache_dir(),
        local_files_only=offline,
        allow_patterns=_hf_patterns(ref.subpath, latest),
    )
    if not offline:
        try:
            planned = snapshot_download(ref.repo_id, dry_run=True, **kwargs)  # type: ignore[call-overload]
        except Exception:  # noqa: BLE001 - no dry run in this huggingface_hub, or the hub said no: the real call reports
            planned = []
        fetch = sum(int(info.file_size or 0) for info in planned if getattr(info, "will_download", False))
        if fetch > cap:
            raise BundleError(source, f"the snapshot would download {fetch} bytes, over the {cap}-byte limit; nothing fetched")
    try:
        folder = snapshot_download(ref.repo_id, **kwargs)  # type: ignore[call-overload]
    except (OSError, ValueError, EntryNotFoundError) as exc:
        raise CheckpointNotFoundError(f"{source}: {exc}") from None
    return Path(str(folder))


def _snapshot_files(src: Path, storage: Path, source: str) -> dict[str, Path]:
    """``{relative path: real file}`` under a snapshot folder, walked without following directory links."""
    base = Path(os.path.realpath(storage))
    found: dict[str, Path] = {}
    stack = [(src, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))
                    continue
                real = Path(os.path.realpath(entry.path))
                try:
                    kind = os.stat(entry.path).st_mode if entry.is_symlink() else entry.stat(follow_symlinks=False).st_mode
                except OSError:
                    raise BundleError(source, "dangling link in the snapshot", rel) from None
                if stat.S_ISDIR(kind):
                    raise BundleError(source, "linked directory in the snapshot (the hub links files only)", rel)
                if base not in real.parents or not stat.S_ISREG(kind):
                    raise BundleError(source, f"links outside the repository's cache (to {real})", rel)
                found[rel] = real
    return found


def _link_or_copy(files: Mapping[str, Path], dest: Path) -> dict[str, tuple[int, None]]:
    records: dict[str, tuple[int, None]] = {}
    for rel, real in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(real, target)
        except OSError:
            shutil.copyfile(real, target)
        records[rel] = (target.stat().st_size, None)
    return records


def _materialize(src: Path, snapshot: Path, ref: HfRef, source: str, cache: Path, limits: ZipLimits) -> Path:
    """The snapshot directory as real files (the hub cache holds symlinks into ``blobs/``)."""
    files = _snapshot_files(src, snapshot.parent.parent, source)
    stats = {rel: os.stat(real) for rel, real in files.items()}
    total = sum(st.st_size for st in stats.values())
    cap = min(limits.max_download_bytes, limits.max_total_bytes)
    if total > cap:
        raise BundleError(source, f"the snapshot holds {total} bytes, over the {cap}-byte limit")
    expected = {rel: (st.st_size, st.st_dev, st.st_ino) for rel, st in stats.items()}

    def is_valid(entry: Path) -> bool:
        found = walk_files(entry / ROOT)
        return (
            found is not None
            and read_manifest(entry) is not None
            and {rel: (st.st_size, st.st_dev, st.st_ino) for rel, st in found.items()} == expected
        )

    rel = src.relative_to(snapshot).as_posix()
    key = hashlib.sha256(f"{ref.repo_type}/{ref.repo_id}@{snapshot.name}/{rel}".encode()).hexdigest()
    final = cache / "hf" / key
    root = cached_tree(final, source, lambda tmp: _link_or_copy(files, tmp), is_valid, prefix=".link-")
    evict(cache, limits, keep={final})
    return root


def resolve_hf(source: str, cache: Path, limits: ZipLimits) -> ResolvedCheckpoint:
    """The snapshot (or the bundle under its subdirectory, or its ``:latest``) made local."""
    ref = parse_hf(source)
    head = latest_base(ref.subpath)
    snapshot = _hf_snapshot(ref, source, head is not None, min(limits.max_download_bytes, limits.max_total_bytes))
    if head is not None:
        target = Path(latest_location(source, f"{snapshot}/{head}", local_lister(None)))
    else:
        target = snapshot / ref.subpath if ref.subpath else snapshot
    if target.name == PASSPORT_FILENAME and target.is_file():
        target = target.parent
    commit = snapshot.name
    rel = target.relative_to(snapshot).as_posix() if target != snapshot else ""
    prefix = "" if ref.repo_type == "model" else f"{ref.repo_type}s/"
    location = f"hf://{prefix}{ref.repo_id}@{commit}" + (f"/{rel}" if rel else "")
    if not target.is_dir():
        return replace(open_local(source, location, target, "hf", cache, limits), revision=commit)
    root = _materialize(target, snapshot, ref, source, cache, limits)
    run, epoch = entry_run_epoch(target.name) if rel else (ref.repo_id.rsplit("/", 1)[-1], None)
    check_metta_dir(root, source, epoch is not None, limits)
    return ResolvedCheckpoint(root, source, "hf", location, revision=commit, run=run, epoch=epoch)
