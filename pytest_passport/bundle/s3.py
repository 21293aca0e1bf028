"""``s3://bucket/key.zip`` through fsspec + s3fs (imported only here, only when asked), capped in bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import BundleError, CheckpointNotFoundError, PassportError
from ..hashing import BLOCK_SIZE
from .cache import extract_cached
from .latest import Lister, latest_location
from .limits import ZipLimits
from .local import ResolvedCheckpoint
from .names import latest_base, parse_bundle_name

__all__ = ["download", "resolve_s3"]


def _s3_filesystem(source: str) -> Any:
    """A fresh s3fs filesystem (no stale listings), honouring ``AWS_ENDPOINT_URL[_S3]``."""
    try:
        import fsspec
        import s3fs  # noqa: F401  (fsspec needs it for s3://; fail clearly here when absent)
    except ImportError:
        raise BundleError(source, "s3:// checkpoints need s3fs (pip install s3fs)") from None
    kwargs: dict[str, Any] = {"skip_instance_cache": True}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["client_kwargs"] = {"endpoint_url": endpoint}
    return fsspec.filesystem("s3", **kwargs)


def _s3_path(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.netloc + parts.path


def _s3_candidates(fs: Any, path: str) -> Iterator[tuple[str, bool]]:
    for info in fs.ls(path, detail=True):
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        if info.get("type") == "file" and name.endswith(".zip"):
            yield name, False


def _s3_lister(fs: Any) -> Lister:
    def is_dir(path: str) -> bool:
        return bool(path.strip("/")) and fs.isdir(path)

    return Lister(_s3_path, is_dir, lambda p: _s3_candidates(fs, p))


def _s3_object(fs: Any, uri: str, source: str) -> tuple[str, dict[str, Any]]:
    """``(uri, info)`` of the object; ``uri + '.zip'`` is tried when ``uri`` names nothing."""
    tries = [uri] if uri.endswith(".zip") else [uri, uri + ".zip"]
    for candidate in tries:
        try:
            info = fs.info(_s3_path(candidate))
        except FileNotFoundError:
            continue
        if info.get("type") == "directory":
            continue
        return candidate, info
    if not uri.endswith(".zip") and fs.exists(_s3_path(uri)):
        raise BundleError(source, "names an S3 prefix; S3 checkpoints are zip bundles (s3://bucket/key.zip)")
    raise CheckpointNotFoundError(f"{source}: no such S3 object")


def download(fs: Any, uri: str, source: str, cache: Path, max_bytes: int) -> tuple[Path, str]:
    """Stream to a temp file in the cache, hashing and counting; move it to ``<sha256>.zip``.

    Stops as soon as more than ``max_bytes`` arrived, whatever the listing said the object
    holds (it may have been replaced since, or the server may not say).
    """
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".fetch-", suffix=".part", dir=downloads)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(fd, "wb") as out, fs.open(_s3_path(uri), "rb") as src:
            while chunk := src.read(min(BLOCK_SIZE, max_bytes + 1 - received)):
                received += len(chunk)
                if received > max_bytes:
                    raise BundleError(source, f"the download passed the {max_bytes}-byte limit; stopped")
                digest.update(chunk)
                out.write(chunk)
        if not zipfile.is_zipfile(tmp):
            raise BundleError(source, "the S3 object is not a zip archive; S3 checkpoints are zip bundles")
        final = downloads / f"{digest.hexdigest()}.zip"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final, digest.hexdigest()


def resolve_s3(source: str, cache: Path, limits: ZipLimits) -> ResolvedCheckpoint:
    """Download the zip (``:latest`` picks the highest epoch under the prefix) and open it from the cache."""
    fs = _s3_filesystem(source)
    location = source
    parts = urlsplit(location)
    if not parts.netloc or not parts.path.strip("/"):
        raise BundleError(source, "S3 checkpoints are named s3://bucket/key.zip")
    cap = min(limits.max_download_bytes, limits.max_total_bytes)
    try:
        head = latest_base(location)
        if head is not None:
            location = latest_location(source, head, _s3_lister(fs))
        location, info = _s3_object(fs, location, source)
        if int(info.get("size") or 0) > cap:
            raise BundleError(source, f"the object is larger than the {cap}-byte limit")
        zip_path, digest = download(fs, location, source, cache, cap)
    except PassportError:
        raise
    except (FileNotFoundError, PermissionError) as exc:
        raise CheckpointNotFoundError(f"{source}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - botocore/aiohttp errors are not all OSError
        raise BundleError(source, f"cannot fetch from S3 ({type(exc).__name__}: {exc})") from None
    run, epoch = parse_bundle_name(location)
    root, digest = extract_cached(zip_path, source, cache, limits, bundle_named=epoch is not None, digest=digest)
    return ResolvedCheckpoint(root, source, "s3", location, zip_path, digest, run=run, epoch=epoch)
