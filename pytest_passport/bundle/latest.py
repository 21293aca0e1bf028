"""``:latest``: the bundle with the highest epoch among a directory's (or a prefix's) entries."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..errors import CheckpointNotFoundError
from .names import BUNDLE_MARKERS, entry_run_epoch, file_uri_to_path, run_epoch, uri_scheme

__all__ = ["Lister", "latest_location", "local_lister", "pick_latest"]


def pick_latest(candidates: Iterable[tuple[str, bool]], run: str | None = None) -> str | None:
    """The name with the highest epoch among ``(name, is_directory)`` candidates.

    Only ``<run>:v<epoch>`` names count (dot-files never), filtered to ``run`` when given.
    Ties are broken deterministically: a directory beats a zip of the same epoch
    (``x:v3/`` over ``x:v3.zip``), then the lexicographically smallest name wins.
    """
    best: tuple[int, int, str] | None = None
    for name, is_dir in candidates:
        if name.startswith("."):
            continue
        found_run, epoch = entry_run_epoch(name) if not is_dir else run_epoch(name)
        if epoch is None or (run is not None and found_run != run):
            continue
        key = (-epoch, 0 if is_dir else 1, name)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def _local_candidates(directory: Path) -> Iterator[tuple[str, bool]]:
    """Bundle directories (holding a policy_spec.json or MODEL_PASSPORT.json) and ``*.zip`` files."""
    with os.scandir(directory) as it:
        for entry in it:
            if entry.is_dir():
                if any((Path(entry.path) / marker).is_file() for marker in BUNDLE_MARKERS):
                    yield entry.name, True
            elif entry.name.endswith(".zip") and entry.is_file():
                yield entry.name, False


@dataclass
class Lister:
    """How ``:latest`` sees one namespace: path conversion, directory test, candidate listing."""

    to_path: Callable[[str], str]
    is_dir: Callable[[str], bool]
    candidates: Callable[[str], Iterable[tuple[str, bool]]]
    encode: Callable[[str], str] = field(default=lambda name: name)
    decode: Callable[[str], str] = field(default=lambda name: name)


def local_lister(scheme: str | None) -> Lister:
    """The lister for plain paths (``scheme`` ``None``) or ``file://`` URIs (percent-encoded names)."""
    if scheme == "file":
        return Lister(
            to_path=lambda text: file_uri_to_path(text) or "/",
            is_dir=os.path.isdir,
            candidates=lambda p: _local_candidates(Path(p)),
            encode=lambda name: quote(name, safe=""),
            decode=unquote,
        )
    return Lister(lambda text: text or ".", os.path.isdir, lambda p: _local_candidates(Path(p)))


def latest_location(source: str, head: str, lister: Lister) -> str:
    """The concrete path or URI that ``<head>:latest`` stands for, in the same notation."""
    if head.endswith("/") or head == "" or uri_scheme(head) and not urlsplit(head).path.strip("/"):
        directory, run = head, None
    elif lister.is_dir(lister.to_path(head)):
        directory, run = head + "/", None
    else:
        parent, slash, last = head.rpartition("/")
        directory, run = parent + slash, lister.decode(last)
    where = lister.to_path(directory)
    if not lister.is_dir(where):
        raise CheckpointNotFoundError(f"{source}: no such directory to scan for the latest bundle")
    name = pick_latest(lister.candidates(where), run)
    if name is None:
        wanted = f"of run {run!r} " if run else ""
        raise CheckpointNotFoundError(f"{source}: no bundle {wanted}(a <run>:v<epoch> directory or .zip) in {directory or '.'}")
    if directory and not directory.endswith("/"):
        directory += "/"
    return directory + lister.encode(name)
