"""Local forms: a directory as it is, a local zip through the verified cache; what resolving returns."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError, CheckpointNotFoundError
from ..schema import PASSPORT_FILENAME
from .cache import extract_cached
from .limits import ZipLimits
from .names import BUNDLE_MARKERS, POLICY_SPEC, entry_run_epoch, is_bundle_named
from .scan import check_metta

__all__ = ["ResolvedCheckpoint", "check_metta_dir", "open_local"]


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint made local.

    ``kind`` is how it was addressed: ``dir`` or ``zip`` (a local path), ``file`` (a
    ``file://`` URI), ``s3`` or ``hf``. ``location`` is the concrete path or URI after
    ``:latest`` was resolved. ``zip_path``/``zip_sha256`` are set whenever the bundle came
    from a zip (for ``s3`` the downloaded copy in the cache); ``revision`` is the commit
    of an ``hf`` snapshot.
    """

    root: Path
    source: str
    kind: str
    location: str
    zip_path: Path | None = None
    zip_sha256: str | None = None
    revision: str | None = None
    run: str | None = None
    epoch: int | None = None

    @property
    def is_zip(self) -> bool:
        return self.zip_path is not None


def _inside(root: Path, parts: tuple[str, ...]) -> bool:
    candidate = root.joinpath(*parts)
    real, base = Path(os.path.realpath(candidate)), Path(os.path.realpath(root))
    return base in real.parents and real.is_file()


def check_metta_dir(root: Path, label: str, bundle_named: bool, limits: ZipLimits) -> None:
    """The Metta layout checks of :func:`~.scan.scan_zip`, on a bundle directory."""
    spec = root / POLICY_SPEC
    names = [n for n in BUNDLE_MARKERS if (root / n).is_file()]

    def read() -> bytes:
        if not _inside(root, (POLICY_SPEC,)):
            raise BundleError(label, "resolves outside the bundle directory", POLICY_SPEC)
        if spec.stat().st_size > limits.max_spec_bytes:
            raise BundleError(label, f"larger than {limits.max_spec_bytes} bytes", POLICY_SPEC)
        return spec.read_bytes()

    check_metta(names, read, lambda parts: _inside(root, parts), label, bundle_named)


def open_local(
    source: str, location: str, path: Path, kind: str | None, cache: Path, limits: ZipLimits
) -> ResolvedCheckpoint:
    """A local directory as is, or a local zip extracted into the cache."""
    if path.is_file() and path.name == PASSPORT_FILENAME:
        path = path.parent
    if not path.exists():
        sibling = path.with_name(path.name + ".zip") if path.name else path
        if not (is_bundle_named(path.name) and sibling.is_file()):
            raise CheckpointNotFoundError(f"{source}: no such checkpoint directory or zip bundle")
        path, location = sibling, location + ".zip"
    run, epoch = entry_run_epoch(path.name)
    if path.is_dir():
        check_metta_dir(path, source, epoch is not None, limits)
        return ResolvedCheckpoint(path, source, kind or "dir", location, run=run, epoch=epoch)
    if not path.is_file() or not (path.name.endswith(".zip") or zipfile.is_zipfile(path)):
        raise CheckpointNotFoundError(f"{source}: neither a checkpoint directory nor a .zip bundle")
    root, digest = extract_cached(path, source, cache, limits, bundle_named=epoch is not None)
    return ResolvedCheckpoint(root, source, kind or "zip", location, path, digest, run=run, epoch=epoch)
