"""``weight_integrity``: which files a passport declares, and their digests (spec §6.4).

Every regular file under the root is declared, whatever its name, except the two documents
at the root that describe the files (``MODEL_PASSPORT.json``, ``SIGNOFF.json``) and the temp
files of their atomic writers: the gate (``checkpoint_tree_declared``) fails on any file that
is neither declared nor matched by ``weight_integrity.ignore_patterns``.

Fix (reference §6.4): the reference leaves README.md, TRAINING_LOG.md, PASSPORT_SEED.json and
dot-files undeclared and follows symlinks; here they are declared (so signed), and a symlink,
FIFO, socket, device or unlistable directory stops the generation, naming it.
Files are hashed in parallel, largest first, through :class:`~pytest_passport.hashing.DigestCache`.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass

from ..checkpoint import Checkpoint
from ..hashing import DigestCache
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, TEMP_NAME, WeightFile, WeightIntegrity
from ._common import ExtractionError

#: Root-level files never declared: they describe the other files.
UNDECLARED_NAMES = frozenset({PASSPORT_FILENAME, SIGNOFF_FILENAME})


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
    """Whether ``rel`` belongs in ``weight_integrity``: every file but the root documents,
    their writers' temp files and ``excluded`` paths."""
    if "/" not in rel and (rel in UNDECLARED_NAMES or TEMP_NAME.match(rel)):
        return False
    return rel not in excluded


def declared_files(checkpoint: Checkpoint, excluded: Iterable[str] = ()) -> list[str]:
    """Sorted relative paths to declare; refuses links, special files and unlistable directories."""
    unsafe = checkpoint.tree.others
    if unsafe:
        # A signed passport never vouches for a link (its target can change) or a special file.
        listed = "; ".join(entry.describe() for entry in unsafe[:5])
        more = f" (+{len(unsafe) - 5} more)" if len(unsafe) > 5 else ""
        raise ExtractionError(
            f"{checkpoint.root}: only regular files and directories may sit in a checkpoint: {listed}{more}; "
            "copy linked files into the checkpoint and remove the rest"
        )
    skip = frozenset(excluded)
    return [rel for rel in checkpoint.files if is_declared(rel, skip)]


def ignore_patterns(excluded: Iterable[str]) -> list[str] | None:
    """``weight_integrity.ignore_patterns`` for files left out on purpose (``--output`` inside
    the root), each escaped so that it matches exactly that path."""
    patterns = [glob.escape(rel) for rel in sorted(set(excluded)) if is_declared(rel, frozenset())]
    return patterns or None


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


def weight_integrity(digests: FileDigests, excluded: Iterable[str] = ()) -> WeightIntegrity:
    return WeightIntegrity(
        weight_files=[WeightFile(path=f.path, sha256=f.sha256, size_bytes=f.size_bytes) for f in digests.files],
        ignore_patterns=ignore_patterns(excluded),
    )
