"""hashing.py: streaming digests, constant memory, each file once, largest first; light imports.

Correctness only: no timing assertions (the figures live in benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from pytest_passport import hashing
from pytest_passport.hashing import BLOCK_SIZE, DigestCache, sha256_file


def write(path: Path, size: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = hashlib.sha256(str(seed).encode()).digest() * 4096  # 128 KiB of non-repeating-ish bytes
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return path


@pytest.fixture
def count_hashes(monkeypatch: pytest.MonkeyPatch):
    """Replace ``hashing.sha256_file_stat`` (what DigestCache reads through) by a counting wrapper;
    returns the list of hashed paths."""
    calls: list[Path] = []
    lock = threading.Lock()
    real = hashing.sha256_file_stat

    def counting(path, *args, **kwargs):
        with lock:
            calls.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "sha256_file_stat", counting)
    return calls


# --------------------------------------------------------------------------- sha256_file


@pytest.mark.parametrize("size", [0, 1, 63, 64, 4095, 4096, 4097, 3 * 4096 + 17])
def test_digest_equals_hashlib_across_block_boundaries(tmp_path: Path, size: int) -> None:
    path = write(tmp_path / "f.bin", size, seed=size)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_file(path, block_size=4096) == (expected, size)
    assert sha256_file(path) == (expected, size)


def test_default_block_size_file_digest_matches(tmp_path: Path) -> None:
    path = write(tmp_path / "f.bin", 2 * BLOCK_SIZE + 12345, seed=7)
    with open(path, "rb") as fh:
        expected = hashlib.file_digest(fh, "sha256").hexdigest()
    assert sha256_file(path) == (expected, path.stat().st_size)


def test_reads_in_fixed_blocks_into_one_buffer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read asks for exactly BLOCK_SIZE bytes into the same buffer: memory is independent of file size."""
    path = write(tmp_path / "f.bin", 5 * BLOCK_SIZE + 3, seed=1)
    reads: list[tuple[int, int]] = []

    class Recording:
        def __init__(self, fh):
            self._fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

        def fileno(self):
            return self._fh.fileno()

        def readinto(self, buffer):
            reads.append((id(buffer), len(buffer)))
            return self._fh.readinto(buffer)

    real_open = open
    monkeypatch.setattr(hashing, "open", lambda *a, **k: Recording(real_open(*a, **k)), raising=False)
    digest, size = sha256_file(path)
    assert size == 5 * BLOCK_SIZE + 3
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(reads) == 7  # five full blocks, the 3-byte tail, the empty read at EOF
    assert {length for _, length in reads} == {BLOCK_SIZE}
    assert len({buffer for buffer, _ in reads}) == 1


def test_peak_python_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    path = write(tmp_path / "big.bin", 24 * BLOCK_SIZE, seed=2)
    tracemalloc.start()
    try:
        sha256_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * BLOCK_SIZE + (256 << 10), peak


def test_unreadable_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        sha256_file(tmp_path / "missing.bin")
    cache = DigestCache(workers=2)
    cache.prefetch([tmp_path / "missing.bin"])  # skipped: the per-file check reports it
    with pytest.raises(OSError):
        cache.get(tmp_path / "missing.bin")
    cache.close()


# --------------------------------------------------------------------------- DigestCache


def test_each_file_hashed_once_across_threads_and_prefetch(tmp_path: Path, count_hashes: list[Path]) -> None:
    paths = [write(tmp_path / f"f{i}.bin", (i + 1) * 300_000, seed=i) for i in range(4)]
    cache = DigestCache(workers=2)
    results: list[tuple[Path, tuple[str, int]]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(9)

    def ask(order: list[Path]) -> None:
        try:
            start.wait()
            for path in order:
                results.append((path, cache.get(path)))
        except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(paths[::1 if i % 2 else -1],)) for i in range(8)]
    for thread in threads:
        thread.start()
    start.wait()
    cache.prefetch(paths)
    for thread in threads:
        thread.join()
    cache.prefetch(paths)  # known paths are not submitted again
    cache.close()
    assert not errors
    assert sorted(count_hashes) == sorted(paths)
    expected = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size) for p in paths}
    assert all(value == expected[path] for path, value in results)
    assert len(results) == 8 * len(paths)
    assert cache.computed() == expected


def test_prefetch_runs_largest_first(tmp_path: Path, count_hashes: list[Path]) -> None:
    sizes = {"small.bin": 10, "b_big.bin": 5000, "medium.bin": 700, "a_big.bin": 5000, "tiny.bin": 0}
    paths = [write(tmp_path / name, size) for name, size in sizes.items()]
    cache = DigestCache(workers=1)  # one worker: execution order is submission order
    cache.prefetch(paths)
    for path in paths:
        cache.get(path)
    cache.close()
    assert [p.name for p in count_hashes] == ["a_big.bin", "b_big.bin", "medium.bin", "small.bin", "tiny.bin"]


def test_get_after_close_recomputes_dropped_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = write(tmp_path / "first.bin", 4000, 1), write(tmp_path / "second.bin", 10, 2)
    release = threading.Event()
    real = hashing.sha256_file

    def slow(path, *args, **kwargs):
        if Path(path) == first:
            release.wait(10)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "sha256_file", slow)
    cache = DigestCache(workers=1)
    cache.prefetch([first, second])  # first runs (and blocks); second waits in the queue
    closer = threading.Thread(target=cache.close)
    closer.start()
    closer.join(0.2)
    release.set()
    closer.join()
    assert cache.get(second) == (hashlib.sha256(second.read_bytes()).hexdigest(), 10)
    assert cache.get(first)[1] == 4000


def test_default_workers_is_at_least_one_and_at_most_the_affinity() -> None:
    assert 1 <= hashing.default_workers() <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cpu_max", "expected"), [("max 100000\n", None), ("150000 100000\n", 2), ("50000 100000\n", 1), ("garbage", None)]
)
def test_cgroup_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, expected: int | None) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max)
    monkeypatch.setattr(hashing, "CGROUP_CPU_FILES", ((str(tmp_path / "cpu.max"), None),))
    assert hashing._cgroup_cpu_quota() == expected


# --------------------------------------------------------------------------- import hygiene

HEAVY = ("numpy", "git", "PIL", "torch", "huggingface_hub", "safetensors", "transformers", "lerobot", "xdist")


@pytest.mark.parametrize("module", ["pytest_passport.plugin", "pytest_passport", "pytest_passport.cli"])
def test_import_does_not_pull_heavy_modules(module: str) -> None:
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
