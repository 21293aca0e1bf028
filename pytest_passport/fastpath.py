"""Opt-in reuse of file digests across :func:`pytest_passport.verify` calls in one process.

A loader that verifies the same checkpoint on every start of a long-lived process can skip
re-hashing files that did not change. A file counts as unchanged when its real path, size,
``st_mtime_ns`` and inode are all the same as when it was hashed. That is a trust decision:
a same-size rewrite in place that restores the old mtime is not detected, so the fast path
is off by default, and the command-line gate (``validate-checkpoint --require-signoff``) never
uses it. Every check still runs; only hashing is skipped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path

from .hashing import DigestCache

__all__ = ["RememberedDigests", "forget"]

StatKey = tuple[str, int, int, int]

_MEMO: dict[StatKey, tuple[str, int]] = {}
_MEMO_LOCK = threading.Lock()


def _key(path: Path) -> StatKey:
    info = os.stat(path)
    return (os.path.realpath(path), info.st_size, info.st_mtime_ns, info.st_ino)


def forget() -> None:
    """Drop every remembered digest."""
    with _MEMO_LOCK:
        _MEMO.clear()


class RememberedDigests(DigestCache):
    """A :class:`~pytest_passport.hashing.DigestCache` that remembers digests by (path, size, mtime_ns, inode)."""

    def _remembered(self, path: Path) -> tuple[str, int] | None:
        try:
            key = _key(path)
        except OSError:
            return None
        with _MEMO_LOCK:
            return _MEMO.get(key)

    def prefetch(self, paths: Iterable[Path]) -> None:
        todo = []
        for path in map(Path, paths):
            hit = self._remembered(path)
            if hit is None:
                todo.append(path)
                continue
            done: Future[tuple[str, int]] = Future()
            done.set_result(hit)
            with self._lock:
                self._futures.setdefault(path, done)
        super().prefetch(todo)

    def get(self, path: Path) -> tuple[str, int]:
        path = Path(path)
        hit = self._remembered(path)
        if hit is not None:
            return hit
        try:
            before = _key(path)
        except OSError:
            return super().get(path)
        result = super().get(path)
        try:
            unchanged = _key(path) == before
        except OSError:
            unchanged = False
        if unchanged and result[1] == before[1]:
            with _MEMO_LOCK:
                _MEMO[before] = result
        return result
