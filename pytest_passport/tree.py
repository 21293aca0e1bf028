"""Listing a checkpoint directory without following links, and showing its paths in messages.

:func:`walk` ``lstat``-s every entry and opens nothing but directories: regular files are kept
with their ``stat_result``, everything else (links, special files, unlistable directories) is
recorded as a :class:`TreeEntry`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .hashing import kind_of


def under_cache(rel: str) -> bool:
    """Whether ``rel`` lies under a ``.cache`` directory (config and stats discovery skip those)."""
    return ".cache" in PurePosixPath(rel).parts


def shown(rel: str) -> str:
    """A path for messages: a non-UTF-8 name (surrogate escapes) is shown with ``\\x`` escapes."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        pass
    try:  # bytes of a non-UTF-8 file name, as os.fsdecode escaped them
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate from a JSON document
        return rel.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class TreeEntry:
    """Something under the root that is neither a regular file nor a directory (or a directory
    that could not be listed): ``kind`` names it (``symbolic link``, ``FIFO``, ``socket``…)."""

    rel: str
    kind: str
    detail: str = ""

    def describe(self) -> str:
        return f"{shown(self.rel)} ({self.kind}{': ' + self.detail if self.detail else ''})"


@dataclass
class Tree:
    """One listing of the checkpoint, links never followed: regular files with their ``lstat``,
    and every other entry (links, special files, unlistable directories)."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    others: list[TreeEntry] = field(default_factory=list)


def walk(root: Path) -> Tree:
    """List ``root`` with ``os.scandir``, never following a link (so no cycle is possible) and
    never opening anything but directories; files are only ``lstat``-ed."""
    tree = Tree()
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as exc:
            tree.others.append(TreeEntry(prefix.rstrip("/") or ".", "unreadable directory", exc.strerror or str(exc)))
            continue
        for entry in entries:
            rel = prefix + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                tree.others.append(TreeEntry(rel, "unreadable entry", exc.strerror or str(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append((entry.path, rel + "/"))
            elif stat.S_ISREG(st.st_mode):
                tree.files[rel] = st
            elif stat.S_ISLNK(st.st_mode):
                tree.others.append(TreeEntry(rel, "symbolic link", _link_detail(root, entry.path)))
            else:
                tree.others.append(TreeEntry(rel, kind_of(st.st_mode)))
    tree.files = dict(sorted(tree.files.items()))
    tree.others.sort(key=lambda e: e.rel)
    return tree


def _link_detail(root: Path, path: str) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    real = os.path.realpath(path)
    if not os.path.lexists(real) or not os.path.exists(path):
        where = "dangling"
    elif real != str(root) and not real.startswith(str(root).rstrip(os.sep) + os.sep):
        where = "points outside the checkpoint"
    elif os.path.isdir(path):
        where = "to a directory"
    else:
        where = "inside the checkpoint"
    return f"-> {shown(target)}, {where}"
