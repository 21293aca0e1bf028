"""The extraction cache: verified against its manifest on every use, refused when swapped, evicted by last use."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from pytest_passport.bundle import ZipLimits, cache as bundle_cache, resolve
from pytest_passport.errors import BundleError

from .conftest import assert_nothing_extracted, metta_files, sha256, tree, write_zip

WEIGHTS = "weights.safetensors"


def flip_byte(path: Path, offset: int) -> None:
    """Flip one byte in place, keeping size and mtime (what the old name+size check trusted)."""
    st = path.stat()
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_flipped_byte_in_cached_file_is_not_served(metta_zip: Path, where: str) -> None:
    """One byte flipped in an extracted file (size and mtime kept) is re-extracted, not served."""
    root = resolve(metta_zip).root
    size = (root / WEIGHTS).stat().st_size
    flip_byte(root / WEIGHTS, {"start": 0, "middle": size // 2, "end": size - 1}[where])
    assert tree(root) != metta_files()
    again = resolve(metta_zip)
    assert again.root == root and tree(again.root) == metta_files()


def test_manifest_records_every_file(metta_zip: Path, cache: Path) -> None:
    """The manifest beside the extracted root holds each file's size and sha256, and the total."""
    resolved = resolve(metta_zip)
    manifest = json.loads((resolved.root.parent / "manifest.json").read_text())
    assert manifest["bytes"] == sum(len(data) for data in metta_files().values())
    assert manifest["files"] == {rel: [len(data), sha256(resolved.root / rel)] for rel, data in metta_files().items()}
    assert not (resolved.root / "manifest.json").exists()


def test_entry_without_manifest_is_rebuilt(metta_zip: Path) -> None:
    """An entry with files but no manifest (a half-made or old-format entry) is never trusted."""
    root = resolve(metta_zip).root
    (root.parent / "manifest.json").unlink()
    (root / WEIGHTS).write_bytes(b"planted")
    assert tree(resolve(metta_zip).root) == metta_files()


def test_symlinked_file_swapped_in_after_acceptance(metta_zip: Path, tmp_path: Path) -> None:
    """A cached file later swapped for a symlink (even to identical bytes) is re-extracted, not followed."""
    root = resolve(metta_zip).root
    twin = tmp_path / "outside" / WEIGHTS
    twin.parent.mkdir()
    shutil.copyfile(root / WEIGHTS, twin)
    (root / WEIGHTS).unlink()
    (root / WEIGHTS).symlink_to(twin)
    again = resolve(metta_zip).root
    assert not (again / WEIGHTS).is_symlink() and tree(again) == metta_files()
    assert twin.read_bytes() == metta_files()[WEIGHTS]


@pytest.mark.parametrize("level", ["root", "entry"])
def test_symlinked_directory_swapped_in_after_acceptance(metta_zip: Path, tmp_path: Path, level: str) -> None:
    """The extracted root, or its whole cache entry, swapped for a link to an identical copy: rebuilt as real folders."""
    root = resolve(metta_zip).root
    victim = root if level == "root" else root.parent
    copy = Path(shutil.copytree(victim, tmp_path / "copy"))
    shutil.rmtree(victim)
    victim.symlink_to(copy, target_is_directory=True)
    again = resolve(metta_zip).root
    assert again == root and not again.is_symlink() and not again.parent.is_symlink()
    assert tree(again) == metta_files() and tree(copy if level == "root" else copy / "root") == metta_files()


def test_zip_changed_while_extracting_is_refused(metta_zip: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip written to between hashing and extracting fills no cache entry (it would be keyed by the old bytes)."""
    real_scan = bundle_cache.scan_zip

    def scan_then_append(*args: object, **kwargs: object) -> object:
        entries = real_scan(*args, **kwargs)
        with open(metta_zip, "ab") as fh:  # another writer, after the hash was taken
            fh.write(b"\0" * 16)
        return entries

    monkeypatch.setattr(bundle_cache, "scan_zip", scan_then_append)
    with pytest.raises(BundleError, match="changed while it was being read"):
        resolve(metta_zip)
    assert_nothing_extracted(cache)


# ---------------------------------------------------------------------------- eviction


def bundle_zip(tmp_path: Path, seed: int) -> Path:
    return write_zip(tmp_path / "zips" / f"demo-run:v{seed}.zip", metta_files(seed).items())


def entry_bytes() -> int:
    return sum(len(data) for data in metta_files().values())


def test_eviction_oldest_last_use_first(tmp_path: Path, cache: Path) -> None:
    """Over the size bound, the entry used least recently goes first; a re-used old entry stays."""
    limits = ZipLimits(max_cache_bytes=int(2.5 * entry_bytes()), cache_grace_s=0)
    a, b, c = (bundle_zip(tmp_path, seed) for seed in (1, 2, 3))
    root_a = resolve(a, limits=limits).root
    time.sleep(0.02)
    root_b = resolve(b, limits=limits).root
    time.sleep(0.02)
    assert resolve(a, limits=limits).root == root_a  # A is now the most recently used
    time.sleep(0.02)
    root_c = resolve(c, limits=limits).root
    assert root_a.is_dir() and root_c.is_dir() and not root_b.parent.exists()
    assert sorted(p.name for p in (cache / "zips").iterdir()) == sorted([sha256(a), sha256(c)])


def test_eviction_spares_recent_and_current_entries(tmp_path: Path, cache: Path) -> None:
    """Entries used within the grace period are kept even over the bound; the one being opened always is."""
    first = resolve(bundle_zip(tmp_path, 1), limits=ZipLimits(max_cache_bytes=1)).root
    second = resolve(bundle_zip(tmp_path, 2), limits=ZipLimits(max_cache_bytes=1)).root
    assert first.is_dir() and second.is_dir()
    alone = resolve(bundle_zip(tmp_path, 3), limits=ZipLimits(max_cache_bytes=1, cache_grace_s=0)).root
    assert alone.is_dir() and not first.exists() and not second.exists()


def test_cache_bound_from_environment(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``$PYTEST_PASSPORT_CACHE_MAX_BYTES`` sets the bound; a bad value is a clear error naming it."""
    monkeypatch.setenv("PYTEST_PASSPORT_CACHE_MAX_BYTES", "12345")
    assert ZipLimits.from_env().max_cache_bytes == 12345
    monkeypatch.setenv("PYTEST_PASSPORT_CACHE_MAX_BYTES", "lots")
    with pytest.raises(BundleError, match=r"\$PYTEST_PASSPORT_CACHE_MAX_BYTES: not a number"):
        resolve(bundle_zip(tmp_path, 1))


def test_stale_temporary_folders_are_removed(tmp_path: Path, cache: Path) -> None:
    """A temporary folder left by a killed extraction a day ago is removed by the next run; a fresh one is not."""
    stale, fresh = cache / "zips" / ".extract-old", cache / "zips" / ".extract-new"
    for path in (stale, fresh):
        (path / "root").mkdir(parents=True)
    old = time.time() - 2 * 24 * 3600
    os.utime(stale, (old, old))
    resolve(bundle_zip(tmp_path, 1))
    assert not stale.exists() and fresh.exists()


@pytest.mark.usefixtures("metta_runtime")
def test_gate_after_cached_byte_flip_validates_the_zip_bytes(signed_zip: Path) -> None:
    """validate-checkpoint on a signed zip whose cached weights had a byte flipped checks the zip's bytes again."""
    from pytest_passport.cli import validate_main

    root = resolve(signed_zip).root
    flip_byte(root / WEIGHTS, 100)
    assert validate_main([str(signed_zip), "--require-signoff"]) == 0
    assert (root / WEIGHTS).read_bytes() == zipfile.ZipFile(signed_zip).read(WEIGHTS)
