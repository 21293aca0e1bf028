"""hf://org/repo[@revision][/subdir] through huggingface_hub, from a local hub cache, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_passport import verify
from pytest_passport.bundle import checkpoint_uri_for_epoch, resolve
from pytest_passport.checkpoint import Checkpoint
from pytest_passport.errors import BundleError, CheckpointNotFoundError

from .conftest import HfCache, metta_files, tree, write_zip


@pytest.mark.usefixtures("metta_runtime")
def test_validate_signed_bundle_by_hf_uri(hf_cache: HfCache, signed_template: Path) -> None:
    """A signed bundle in the hub cache passes the load gate from hf://org/repo, offline."""
    commit = hf_cache.add("lab/demo-run", tree(signed_template))
    resolved = resolve("hf://lab/demo-run")
    assert (resolved.kind, resolved.revision, resolved.location) == ("hf", commit, f"hf://lab/demo-run@{commit}")
    assert tree(resolved.root) == tree(signed_template)
    assert verify(resolved.root, require_signoff=True).loadable


def test_materialised_root_holds_real_files(hf_cache: HfCache) -> None:
    """The hub's snapshot symlinks into blobs/ become plain files the Checkpoint view accepts."""
    hf_cache.add("lab/demo-run", metta_files())
    root = resolve("hf://lab/demo-run").root
    assert not any(p.is_symlink() for p in root.rglob("*"))
    assert Checkpoint(root).resolve("weights.safetensors").is_file()
    assert resolve("hf://lab/demo-run").root == root


def test_revision_pinned_by_commit_and_by_branch(hf_cache: HfCache) -> None:
    """``@<sha>`` and ``@<branch>`` record the commit the snapshot came from."""
    old = hf_cache.add("lab/demo-run", metta_files(1), ref="stable")
    new = hf_cache.add("lab/demo-run", metta_files(2))
    assert resolve(f"hf://lab/demo-run@{old}").revision == old
    stable = resolve("hf://lab/demo-run@stable")
    assert stable.revision == old and tree(stable.root) == metta_files(1)
    latest = resolve("hf://lab/demo-run")
    assert latest.revision == new and tree(latest.root) == metta_files(2)


def test_subdirectory_bundle(hf_cache: HfCache) -> None:
    """``hf://org/repo/<subdir>`` opens that folder; run and epoch come from its name."""
    files = {f"checkpoints/demo-run:v3/{name}": data for name, data in metta_files().items()}
    commit = hf_cache.add("lab/runs", files)
    resolved = resolve("hf://lab/runs/checkpoints/demo-run:v3")
    assert (resolved.run, resolved.epoch, resolved.revision) == ("demo-run", 3, commit)
    assert resolved.location == f"hf://lab/runs@{commit}/checkpoints/demo-run:v3"
    assert tree(resolved.root) == metta_files()


def test_zip_bundle_in_repo(hf_cache: HfCache, tmp_path: Path) -> None:
    """A .zip stored in the repo is extracted through the same checks (percent-encoded name too)."""
    data = write_zip(tmp_path / "b.zip", metta_files().items()).read_bytes()
    commit = hf_cache.add("lab/runs", {"demo-run:v3.zip": data})
    resolved = resolve("hf://lab/runs/demo-run%3Av3.zip")
    assert (resolved.kind, resolved.revision, resolved.epoch) == ("hf", commit, 3)
    assert resolved.zip_sha256 is not None and tree(resolved.root) == metta_files()


def test_hostile_zip_in_repo(hf_cache: HfCache, tmp_path: Path, cache: Path) -> None:
    """A traversal entry in a hub-hosted zip is refused."""
    data = write_zip(tmp_path / "b.zip", [*metta_files().items(), ("../evil", b"x")]).read_bytes()
    hf_cache.add("lab/runs", {"demo-run:v3.zip": data})
    with pytest.raises(BundleError, match="climbs out"):
        resolve("hf://lab/runs/demo-run:v3.zip")


def test_latest_in_repo(hf_cache: HfCache, tmp_path: Path) -> None:
    """``:latest`` scans the folder inside the snapshot: a directory at v10 beats a zip at v4."""
    files = {f"ckpts/demo-run:v10/{name}": data for name, data in metta_files(10).items()}
    files["ckpts/demo-run:v4.zip"] = write_zip(tmp_path / "v4.zip", metta_files(4).items()).read_bytes()
    commit = hf_cache.add("lab/runs", files)
    resolved = resolve("hf://lab/runs/ckpts/:latest")
    assert (resolved.epoch, resolved.location) == (10, f"hf://lab/runs@{commit}/ckpts/demo-run:v10")
    assert tree(resolved.root) == metta_files(10)
    assert checkpoint_uri_for_epoch("hf://lab/runs/ckpts/demo-run:latest", 4) == f"hf://lab/runs@{commit}/ckpts/demo-run:v4"


def test_repo_missing_offline(hf_cache: HfCache) -> None:
    """A repository absent from the cache, offline: CheckpointNotFoundError, no network."""
    with pytest.raises(CheckpointNotFoundError, match="hf://lab/absent"):
        resolve("hf://lab/absent")


def test_revision_missing_offline(hf_cache: HfCache) -> None:
    """A revision the cache does not hold: CheckpointNotFoundError."""
    hf_cache.add("lab/demo-run", metta_files())
    with pytest.raises(CheckpointNotFoundError):
        resolve("hf://lab/demo-run@no-such-branch")


def test_subdirectory_missing(hf_cache: HfCache) -> None:
    """A subdir the snapshot does not have: CheckpointNotFoundError."""
    hf_cache.add("lab/demo-run", metta_files())
    with pytest.raises(CheckpointNotFoundError, match="no such checkpoint"):
        resolve("hf://lab/demo-run/absent")


def test_subdirectory_climbing_out(hf_cache: HfCache) -> None:
    """``..`` in the subdir is refused before anything is read."""
    with pytest.raises(BundleError, match=r"'\.\.'"):
        resolve("hf://lab/demo-run/../../etc")


@pytest.mark.parametrize("uri", ["hf://lab", "hf://", "hf:///repo"])
def test_malformed_hf_uri(uri: str) -> None:
    """An hf:// URI must name org/repo."""
    with pytest.raises(BundleError, match="hf://org/repo"):
        resolve(uri)


def test_snapshot_link_escaping_the_cache(hf_cache: HfCache, tmp_path: Path) -> None:
    """A snapshot symlink that leaves the repository's cache folder is refused, naming the file."""
    commit = hf_cache.add("lab/demo-run", metta_files())
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"secret")
    os.symlink(outside, hf_cache.snapshot("lab/demo-run", commit) / "extra.bin")
    with pytest.raises(BundleError, match="outside the repository's cache") as info:
        resolve("hf://lab/demo-run")
    assert info.value.entry == "extra.bin"


@pytest.mark.parametrize("target", [".", "..", "../sub"])
def test_snapshot_directory_link_cycle(hf_cache: HfCache, target: str) -> None:
    """A directory symlink in the snapshot (here a cycle back up the tree) is refused, never walked into."""
    commit = hf_cache.add("lab/demo-run", {**metta_files(), "sub/notes.txt": b"n"})
    os.symlink(target, hf_cache.snapshot("lab/demo-run", commit) / "sub" / "loop", target_is_directory=True)
    with pytest.raises(BundleError, match="linked directory") as info:
        resolve("hf://lab/demo-run")
    assert info.value.entry == "sub/loop"


def test_snapshot_over_byte_cap(hf_cache: HfCache, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot holding more than ``$PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES`` is refused before it is materialised."""
    files = metta_files()
    hf_cache.add("lab/demo-run", files)
    total = sum(len(data) for data in files.values())
    monkeypatch.setenv("PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES", str(total - 1))
    with pytest.raises(BundleError, match=f"holds {total} bytes, over the {total - 1}-byte limit"):
        resolve("hf://lab/demo-run")
    assert not (cache / "hf").exists()
    monkeypatch.setenv("PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES", str(total))
    assert tree(resolve("hf://lab/demo-run").root) == files


def test_materialised_file_replaced_is_rebuilt(hf_cache: HfCache) -> None:
    """A file in the materialised tree that is no longer the hub's blob (rewritten or relinked) is replaced."""
    hf_cache.add("lab/demo-run", metta_files())
    root = resolve("hf://lab/demo-run").root
    (root / "weights.safetensors").unlink()
    (root / "weights.safetensors").write_bytes(b"planted")
    again = resolve("hf://lab/demo-run").root
    assert again == root and tree(again) == metta_files()


def test_online_snapshot_over_cap_is_not_fetched(hf_cache: HfCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online, the hub's dry-run sizes are summed first: past the cap, the real download is never started."""
    file_download = pytest.importorskip("huggingface_hub.file_download")
    if not hasattr(file_download, "DryRunFileInfo"):
        pytest.skip("this huggingface_hub has no dry run; the size is checked after download only")
    import huggingface_hub

    calls: list[bool] = []

    def hub(repo_id: str, *, dry_run: bool = False, **kwargs: object) -> object:
        """The hub's answer for a repository holding one 5,000-byte file not cached yet."""
        calls.append(dry_run)
        assert dry_run, "the download itself must not start"
        return [file_download.DryRunFileInfo("c" * 40, 5000, "weights.safetensors", "/nowhere", False, True)]

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES", "4999")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hub)
    with pytest.raises(BundleError, match="would download 5000 bytes, over the 4999-byte limit; nothing fetched"):
        resolve("hf://lab/demo-run")
    assert calls == [True]
