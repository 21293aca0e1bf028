"""Rewriting a zip bundle in place (after ``generate-passport``/``sign-checkpoint``), compare-and-swap.

The new archive is written beside the old one and moved over it with ``os.replace``, and only
if the zip is still the one that was read: the same sha256, size, mtime and inode as when
:func:`edit_zip` extracted it (or, for :func:`rewrite_zip` alone, as when it started copying).
A zip changed by someone else meanwhile is left as they left it, and the edit is refused.
The last compare (a ``stat``) runs right before the rename; a writer that slips in between
those two system calls without changing size or mtime is the window that remains.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import BundleError
from ..hashing import BLOCK_SIZE, sha256_file
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME
from .archive import ZipState, read_zip
from .extract import extract_with_state
from .limits import ZipLimits, cache_root
from .names import safe_parts
from .scan import ZipEntry, scan_zip

__all__ = ["ZIP_EPOCH", "ZipEdit", "edit_zip", "rewrite_zip"]

#: Timestamp written on entries added by :func:`rewrite_zip` (deterministic output).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _copy_entry(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> None:
    clone = zipfile.ZipInfo(info.filename, info.date_time)
    clone.compress_type = info.compress_type
    clone.external_attr = info.external_attr
    clone.create_system = info.create_system
    clone.comment = info.comment
    clone.file_size = info.file_size
    if info.is_dir():
        zout.writestr(clone, b"")
        return
    try:
        with zin.open(info) as src, zout.open(clone, "w") as dst:
            shutil.copyfileobj(src, dst, BLOCK_SIZE)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BundleError(label, f"cannot be copied ({exc})", info.filename) from None


def _add_file(zout: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = path.stat().st_size
    with open(path, "rb") as src, zout.open(info, "w") as dst:
        shutil.copyfileobj(src, dst, BLOCK_SIZE)


def _write_zip(out: IO[bytes], zin: zipfile.ZipFile, keep: Sequence[ZipEntry], adds: Sequence[tuple[str, Path]], label: str) -> None:
    with zipfile.ZipFile(out, "w") as zout:
        for entry in keep:
            _copy_entry(zin, zout, entry.info, label)
        for name, path in adds:
            _add_file(zout, name, path)


def rewrite_zip(
    zip_path: Path | str,
    extracted_root: Path | str,
    names: Sequence[str] = (PASSPORT_FILENAME, SIGNOFF_FILENAME),
    *,
    limits: ZipLimits | None = None,
    expected: ZipState | None = None,
) -> str:
    """Rewrite ``zip_path`` atomically so its root entries ``names`` mirror ``extracted_root``.

    Each name present in ``extracted_root`` is added (or replaces the old entry) at the
    archive root; a name absent there is removed from the archive. Every other entry is
    copied unchanged. The new archive is written beside the old one and moved over it with
    ``os.replace`` (file mode kept). Returns the sha256 of the new zip.

    Raises :class:`BundleError` and leaves the zip alone when it is not ``expected`` (the
    state :func:`edit_zip` read) or changes while it is being copied.
    """
    zip_path, root = Path(zip_path), Path(extracted_root)
    label = str(zip_path)
    for name in names:
        if safe_parts(name) != (name,):
            raise ValueError(f"{name!r}: only plain file names at the archive root can be rewritten")
    adds = [(name, root / name) for name in names if (root / name).is_file()]
    with read_zip(zip_path, label) as (zin, state, fh):
        if expected is not None and state != expected:
            raise BundleError(label, "changed since it was read (another writer?); not overwritten, edit again")
        entries = scan_zip(zin, label, limits or ZipLimits.from_env())
        replaced = {(name,) for name in names}
        keep = [e for e in entries if e.is_dir or e.parts not in replaced]
        fd, tmp_name = tempfile.mkstemp(prefix=f".{zip_path.name}.", suffix=".tmp", dir=zip_path.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                _write_zip(out, zin, keep, adds, label)
            new_sha = sha256_file(tmp)[0]
            os.chmod(tmp, stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
            state.check_unchanged(fh, label)
            state.check_path(zip_path, label)
            os.replace(tmp, zip_path)
        finally:
            tmp.unlink(missing_ok=True)
    return new_sha


@dataclass
class ZipEdit:
    """A zip bundle opened for editing by :func:`edit_zip`; set ``save`` to write ``names`` back.

    ``read`` is what the zip was when it was extracted; the save is refused if it is not
    that any more.
    """

    root: Path
    zip_path: Path
    names: tuple[str, ...]
    save: bool = False
    sha256: str | None = None
    read: ZipState | None = None


@contextmanager
def edit_zip(
    zip_path: Path | str,
    names: Sequence[str] = (PASSPORT_FILENAME, SIGNOFF_FILENAME),
    *,
    cache_dir: Path | str | None = None,
    limits: ZipLimits | None = None,
) -> Iterator[ZipEdit]:
    """Extract a zip bundle into a private work directory to generate or sign in place.

    The work directory lies under ``<cache>/work/`` and is named after the bundle
    (``demo-run:v3.zip`` → ``.../demo-run:v3``), so name-derived metadata stays right; the
    shared extraction cache is never written into. On a normal exit with ``save`` set, the
    zip is rewritten with :func:`rewrite_zip` (its ``sha256`` recorded on the edit) if it is
    still the zip that was extracted; the work directory is always removed.
    """
    zip_path = Path(zip_path)
    work = cache_root(cache_dir) / "work"
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".edit-", dir=work))
    try:
        name = zip_path.name.removesuffix(".zip")
        root = scratch / (name if name not in ("", ".", "..") else "bundle")
        state = extract_with_state(zip_path, root, limits=limits)
        edit = ZipEdit(root, zip_path, tuple(names), read=state)
        yield edit
        if edit.save:
            edit.sha256 = rewrite_zip(zip_path, root, edit.names, limits=limits, expected=state)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
