"""Extraction of checked entries: streamed, capped at the declared sizes, hashed as they are written."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from ..errors import BundleError
from ..hashing import BLOCK_SIZE
from .archive import ZipState, read_zip
from .limits import ZipLimits
from .names import is_bundle_named
from .scan import ZipEntry, scan_zip

__all__ = ["FileRecord", "extract_entries", "extract_with_state", "extract_zip"]

#: ``(size, sha256)`` of one extracted file.
FileRecord = tuple[int, str]


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, label: str) -> FileRecord:
    """Stream one entry to ``target`` (created exclusively), refusing more bytes than declared."""
    written = 0
    digest = hashlib.sha256()
    try:
        with zf.open(info) as src, open(target, "xb") as dst:
            while chunk := src.read(BLOCK_SIZE):
                written += len(chunk)
                if written > info.file_size:
                    raise BundleError(label, f"holds more bytes than the {info.file_size} it declares", info.filename)
                digest.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BundleError(label, f"content does not match its header ({exc})", info.filename) from None
    except OSError as exc:
        raise BundleError(label, f"cannot be extracted ({exc.strerror or exc})", info.filename) from None
    if written != info.file_size:
        raise BundleError(label, f"holds {written} bytes, not the {info.file_size} it declares", info.filename)
    return written, digest.hexdigest()


def extract_entries(
    zf: zipfile.ZipFile, entries: Sequence[ZipEntry], dest: Path, label: str, limits: ZipLimits
) -> dict[str, FileRecord]:
    """Write ``entries`` under the existing directory ``dest``; ``{relative path: (size, sha256)}``."""
    total = 0
    records: dict[str, FileRecord] = {}
    for entry in entries:
        target = dest.joinpath(*entry.parts)
        if entry.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        records[entry.rel] = record = _copy_member(zf, entry.info, target, label)
        total += record[0]
        if total > limits.max_total_bytes:
            raise BundleError(label, f"extracted bytes exceed the {limits.max_total_bytes}-byte limit", entry.info.filename)
    return records


def extract_zip(
    zip_path: Path | str, dest: Path | str, *, limits: ZipLimits | None = None, label: str | None = None, bundle_named: bool | None = None
) -> Path:
    """Check ``zip_path`` and extract it into the directory ``dest``, which must not exist yet."""
    extract_with_state(zip_path, dest, limits=limits, label=label, bundle_named=bundle_named)
    return Path(dest)


def extract_with_state(
    zip_path: Path | str, dest: Path | str, *, limits: ZipLimits | None = None, label: str | None = None, bundle_named: bool | None = None
) -> ZipState:
    """:func:`extract_zip`, returning what the zip was when it was read (for a later compare-and-swap)."""
    zip_path, dest = Path(zip_path), Path(dest)
    label = label or str(zip_path)
    named = is_bundle_named(zip_path.name) if bundle_named is None else bundle_named
    limits = limits or ZipLimits.from_env()
    with read_zip(zip_path, label) as (zf, state, fh):
        entries = scan_zip(zf, label, limits, bundle_named=named)
        dest.mkdir(parents=True)
        try:
            extract_entries(zf, entries, dest, label, limits)
            state.check_unchanged(fh, label)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    return state
