"""What verifying the zip cache on every use costs, next to the other reads of a run.

Builds (once) a stored zip bundle of random weights under ``--dir``, then times, page cache
warm, the median of ``--rounds``:

* ``cold resolve``: hash the zip, scan, extract (hashing while writing), write the manifest;
* ``warm resolve``: hash the zip, scan, verify the cached tree against its manifest (this fix);
* ``warm, names+sizes only``: the same with the check the cache trusted before (no hashing);
* ``zip sha256``: hashing the zip alone (keys the cache; every run pays it);
* ``verify tree``: the manifest check alone (list without following links + sha256 per file);
* ``gate hashing``: what the load gate spends hashing the same files (``DigestCache``);
* ``re-extract``: extracting afresh instead of verifying.

    .venv/bin/python benchmarks/bench_bundle_cache.py --mib 512 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from pytest_passport.bundle import ZipLimits, cache as bundle_cache, extract_zip, resolve
from pytest_passport.bundle.archive import open_regular, sha256_fileobj
from pytest_passport.hashing import DigestCache


def build(folder: Path, mib: int) -> Path:
    path = folder / f"bench-run:v{mib}.zip"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [mib * 3 // 8, mib * 3 // 8, mib - 2 * (mib * 3 // 8)]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("MODEL_PASSPORT.json", b"{}")
        for i, size in enumerate(sizes):
            with zf.open(f"model-{i:05d}.safetensors", "w") as out:
                for _ in range(size):
                    out.write(os.urandom(1 << 20))
    os.replace(tmp, path)
    return path


def timed(fn: Callable[[], object], rounds: int, before: Callable[[], object] | None = None) -> list[float]:
    samples = []
    for _ in range(rounds):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "passport-bundle-bench")
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    ns = parser.parse_args()
    zip_path = build(ns.dir, ns.mib)
    cache = ns.dir / "cache"
    limits = ZipLimits(max_cache_bytes=1 << 62)
    shutil.rmtree(cache, ignore_errors=True)
    resolved = resolve(zip_path, cache_dir=cache, limits=limits)
    entry, root = resolved.root.parent, resolved.root
    expected = {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}
    files = [root / rel for rel in expected]

    def listing_only(entry: Path, sizes: dict[str, int]) -> bool:
        found = bundle_cache.walk_files(entry / bundle_cache.ROOT)
        return found is not None and {rel: st.st_size for rel, st in found.items()} == dict(sizes)

    def zip_sha() -> None:
        with open_regular(zip_path, str(zip_path)) as fh:
            sha256_fileobj(fh)

    def gate() -> None:
        digests = DigestCache()
        digests.prefetch(files)
        for path in files:
            digests.get(path)
        digests.close()

    def warm_listing() -> None:
        with mock.patch.object(bundle_cache, "verify_manifest", listing_only):
            resolve(zip_path, cache_dir=cache, limits=limits)

    out = ns.dir / "re-extract"
    rows = {
        "cold resolve": timed(lambda: resolve(zip_path, cache_dir=cache, limits=limits), ns.rounds, lambda: shutil.rmtree(cache / "zips", ignore_errors=True)),
        "warm resolve (verified)": timed(lambda: resolve(zip_path, cache_dir=cache, limits=limits), ns.rounds),
        "warm, names+sizes only": timed(warm_listing, ns.rounds),
        "zip sha256": timed(zip_sha, ns.rounds),
        "verify tree": timed(lambda: bundle_cache.verify_manifest(entry, expected), ns.rounds),
        "gate hashing": timed(gate, ns.rounds),
        "re-extract": timed(lambda: extract_zip(zip_path, out, limits=limits), ns.rounds, lambda: shutil.rmtree(out, ignore_errors=True)),
    }
    size = sum(expected.values())
    print(f"{size / 2**20:.0f} MiB in {len(expected)} files; {os.cpu_count()} CPUs; median of {ns.rounds}")
    for name, samples in rows.items():
        median = statistics.median(samples)
        print(f"  {name:26s} {median:7.3f} s   {size / median / 1e9:6.2f} GB/s   (min {min(samples):.3f}, max {max(samples):.3f})")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
