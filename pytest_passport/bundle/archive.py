"""Opening a zip once: one descriptor is hashed, scanned and extracted, and its identity is kept.

* Only a regular file is opened (``O_NONBLOCK``, then ``fstat``): a FIFO named ``x.zip``
  never blocks.
* The sha256 that keys the cache is computed from the same descriptor the entries are read
  from, so a zip swapped between hashing and extracting cannot fill another zip's cache entry;
  :meth:`ZipState.check_unchanged` refuses a file written to meanwhile.
* Data before the first entry is refused: :mod:`zipfile` accepts a zip with anything
  prepended (self-extracting archives), which would let two different files share the
  entries a check looked at.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import BundleError
from ..hashing import BLOCK_SIZE

__all__ = ["ZipState", "open_regular", "read_zip", "sha256_fileobj"]

_LOCAL_HEADER = b"PK\x03\x04"


def open_regular(path: Path | str, label: str) -> IO[bytes]:
    """``path`` opened for binary reading, only if it is a regular file (never blocks on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BundleError(label, f"cannot open the zip archive ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BundleError(label, "not a regular file")
    return os.fdopen(fd, "rb")


def sha256_fileobj(fh: IO[bytes]) -> str:
    """Hex sha256 of an open file from its start; leaves the position at the end."""
    digest = hashlib.sha256()
    buffer = bytearray(BLOCK_SIZE)
    view = memoryview(buffer)
    fh.seek(0)
    while n := fh.readinto(buffer):  # type: ignore[attr-defined]
        digest.update(view[:n])
    return digest.hexdigest()


@dataclass(frozen=True)
class ZipState:
    """Which file was read and what it held: compared before the cache or the zip is written."""

    sha256: str
    size: int
    mtime_ns: int
    dev: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result, sha256: str) -> ZipState:
        return cls(sha256, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)

    def same_stat(self, st: os.stat_result) -> bool:
        return (st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino) == (self.size, self.mtime_ns, self.dev, self.ino)

    def check_unchanged(self, fh: IO[bytes], label: str) -> None:
        """Refuse when the open file's size or mtime moved since it was hashed."""
        if not self.same_stat(os.fstat(fh.fileno())):
            raise BundleError(label, "the zip changed while it was being read; nothing was used from it")

    def check_path(self, path: Path, label: str) -> None:
        """Refuse when ``path`` no longer names the file that was read, unchanged."""
        try:
            st = os.stat(path)
        except OSError as exc:
            raise BundleError(label, f"changed since it was read ({exc.strerror or exc}); not overwritten") from None
        if not self.same_stat(st):
            raise BundleError(label, "changed since it was read (size, mtime or file replaced); not overwritten")


def _check_no_prefix(fh: IO[bytes], zf: zipfile.ZipFile, label: str) -> None:
    infos = zf.infolist()
    fh.seek(0)
    head = fh.read(4)
    first = min((info.header_offset for info in infos), default=0)
    if infos and (head != _LOCAL_HEADER or first != 0):
        raise BundleError(label, "data before the first zip entry (not a plain zip archive; re-zip the bundle)")


@contextmanager
def read_zip(path: Path | str, label: str, *, digest: str | None = None) -> Iterator[tuple[zipfile.ZipFile, ZipState, IO[bytes]]]:
    """The archive at ``path`` opened once: ``(zipfile, state, raw file)``.

    ``digest`` skips hashing when the caller hashed these bytes already (a download it wrote).
    """
    fh = open_regular(path, label)
    with fh:
        st = os.fstat(fh.fileno())
        state = ZipState.of(st, digest or sha256_fileobj(fh))
        fh.seek(0)
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile as exc:
            raise BundleError(label, f"corrupt or not a zip archive ({exc})") from None
        except (OSError, EOFError, ValueError) as exc:
            raise BundleError(label, f"cannot open the zip archive ({exc})") from None
        with zf:
            _check_no_prefix(fh, zf, label)
            yield zf, state, fh
