"""``weight_integrity``: which files a passport declares, and their digests (spec §6.4).

Every regular file under the root is declared except dot-files and the documents that are
not inference inputs (the passport itself, its seed, the signoff, README and training log).
Files are hashed in parallel, largest first, through :class:`~pytest_passport.hashing.DigestCache`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..checkpoint import Checkpoint
from ..errors import UnsafePathError
from ..hashing import DigestCache
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, WeightFile, WeightIntegrity
from ._common import ExtractionError

#: File names never declared, at any depth: they are not inference inputs, or they describe the files.
UNDECLARED_NAMES = frozenset({PASSPORT_FILENAME, "PASSPORT_SEED.json", SIGNOFF_FILENAME, "README.md", "TRAINING_LOG.md"})


@dataclass(frozen=True)
class HashedFile:
    path: str
    sha256: str
    size_bytes: int


class FileDigests:
    """Digest and size of every declared file, looked up by relative path."""

    def __init__(self, files: Iterable[HashedFile]) -> None:
        self.files = tuple(sorted(files, key=lambda f: f.path))
        self._by_path = {f.path: f for f in self.files}

    def __contains__(self, rel: str) -> bool:
        return rel in self._by_path

    def sha256(self, rel: str) -> str | None:
        entry = self._by_path.get(rel)
        return entry.sha256 if entry else None

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def is_declared(rel: str, excluded: frozenset[str]) -> bool:
    """Whether ``rel`` belongs in ``weight_integrity`` (files inside dot-directories do)."""
    name = PurePosixPath(rel).name
    return not name.startswith(".") and name not in UNDECLARED_NAMES and rel not in excluded


def declared_files(checkpoint: Checkpoint, excluded: Iterable[str] = ()) -> list[str]:
    """Sorted relative paths to declare; refuses a symlink that leads out of the root."""
    skip = frozenset(excluded)
    declared = [rel for rel in checkpoint.files if is_declared(rel, skip)]
    for rel in declared:
        try:
            checkpoint.resolve(rel)
        except UnsafePathError as exc:
            # A signed passport must never vouch for bytes outside the checkpoint.
            raise ExtractionError(f"{rel}: {exc.reason}; copy the file into the checkpoint instead of linking it") from None
    return declared


def hash_files(checkpoint: Checkpoint, paths: list[str], cache: DigestCache) -> FileDigests:
    """Digest every path on all cores (largest first), then collect them in path order."""
    absolute = {rel: checkpoint.resolve(rel) for rel in paths}
    cache.prefetch(absolute.values())
    hashed: list[HashedFile] = []
    for rel, path in absolute.items():
        try:
            digest, size = cache.get(path)
        except OSError as exc:
            raise ExtractionError(f"{rel}: cannot be read: {exc.strerror or exc}") from None
        hashed.append(HashedFile(rel, digest, size))
    return FileDigests(hashed)


def weight_integrity(digests: FileDigests) -> WeightIntegrity:
    return WeightIntegrity(
        weight_files=[WeightFile(path=f.path, sha256=f.sha256, size_bytes=f.size_bytes) for f in digests.files]
    )
