"""Streaming SHA-256 of checkpoint files: constant memory, one pass per file, all cores."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

#: Read size per ``readinto``; large enough that syscall overhead vanishes, small enough for cache.
BLOCK_SIZE = 1 << 20


def sha256_file(path: Path | str) -> tuple[str, int]:
    """Hex digest and byte count of one file, read in fixed ``BLOCK_SIZE`` blocks."""
    digest = hashlib.sha256()
    buffer = bytearray(BLOCK_SIZE)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_workers() -> int:
    """One worker per usable core: more only makes the largest file finish alone."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class DigestCache:
    """Digests of files, each computed at most once, optionally prefetched on a thread pool.

    ``hashlib`` releases the GIL while hashing, so threads use every core.
    Files are submitted largest first so the longest job never starts last.
    """

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or default_workers()
        self._futures: dict[Path, Future[tuple[str, int]]] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def prefetch(self, paths: Iterable[Path]) -> None:
        sized = []
        for path in paths:
            try:
                sized.append((path.stat().st_size, path))
            except OSError:
                continue  # the per-file check reports it when it asks
        sized.sort(key=lambda item: (-item[0], str(item[1])))
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="passport-sha256")
            for _, path in sized:
                if path not in self._futures:
                    self._futures[path] = self._pool.submit(sha256_file, path)

    def get(self, path: Path) -> tuple[str, int]:
        """Digest and size of ``path``; raises ``OSError`` if it cannot be read."""
        with self._lock:
            future = self._futures.get(path)
            if future is None:
                future = Future()
                self._futures[path] = future
                owner = True
            else:
                owner = False
        if owner:
            try:
                future.set_result(sha256_file(path))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
