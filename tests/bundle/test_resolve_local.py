"""Local forms: directories, zips in the content-keyed cache, file:// URIs, :latest, bundle names."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_passport.bundle import cache_root, resolve
from pytest_passport.checkpoint import Checkpoint
from pytest_passport.errors import BundleError, CheckpointNotFoundError

from .conftest import metta_files, sha256, tree, write_dir, write_zip


def test_directory_is_itself(metta_dir: Path, cache: Path) -> None:
    """A directory is validated in place; nothing goes to the cache."""
    resolved = resolve(metta_dir)
    assert (resolved.root, resolved.kind, resolved.location) == (metta_dir, "dir", str(metta_dir))
    assert (resolved.run, resolved.epoch, resolved.zip_path, resolved.revision) == ("demo-run", 3, None, None)
    assert not cache.exists()


def test_passport_file_names_its_directory(metta_dir: Path) -> None:
    """A path to MODEL_PASSPORT.json stands for the checkpoint directory holding it."""
    (metta_dir / "MODEL_PASSPORT.json").write_text("{}")
    assert resolve(metta_dir / "MODEL_PASSPORT.json").root == metta_dir


def test_missing_path(tmp_path: Path) -> None:
    """Nothing there: CheckpointNotFoundError naming what was given."""
    with pytest.raises(CheckpointNotFoundError, match="no such checkpoint"):
        resolve(tmp_path / "absent")


def test_plain_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    """A regular file that is not a zip is neither form."""
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointNotFoundError, match="neither a checkpoint directory nor a .zip bundle"):
        resolve(tmp_path / "notes.txt")


def test_unsupported_scheme() -> None:
    """Only file://, s3:// and hf:// URIs are understood."""
    with pytest.raises(BundleError, match="unsupported scheme ftp://"):
        resolve("ftp://example.org/demo-run:v3.zip")


def test_zip_extracts_into_content_keyed_cache(metta_zip: Path, cache: Path) -> None:
    """A zip is extracted under ``zips/<sha256 of its bytes>/root`` with its files byte for byte."""
    resolved = resolve(metta_zip)
    digest = sha256(metta_zip)
    assert resolved.root == cache / "zips" / digest / "root"
    assert (resolved.kind, resolved.zip_path, resolved.zip_sha256) == ("zip", metta_zip, digest)
    assert (resolved.run, resolved.epoch) == ("demo-run", 3)
    assert tree(resolved.root) == metta_files()
    assert sorted(p.name for p in (cache / "zips").iterdir()) == [digest]


def test_cached_extraction_is_reused(metta_zip: Path) -> None:
    """Resolving the same bytes again serves the same files without extracting anew."""
    first = resolve(metta_zip)
    inode = (first.root / "weights.safetensors").stat().st_ino
    second = resolve(metta_zip)
    assert second.root == first.root and (second.root / "weights.safetensors").stat().st_ino == inode


def test_overwritten_zip_is_never_served_stale(metta_zip: Path) -> None:
    """A new zip at the same path gets a new cache entry holding the new weights."""
    old = resolve(metta_zip)
    write_zip(metta_zip, metta_files(seed=1).items())
    new = resolve(metta_zip)
    assert new.root != old.root
    assert (new.root / "weights.safetensors").read_bytes() == metta_files(seed=1)["weights.safetensors"]
    assert (old.root / "weights.safetensors").read_bytes() == metta_files(seed=0)["weights.safetensors"]


def test_same_bytes_at_two_paths_share_one_entry(metta_zip: Path, tmp_path: Path) -> None:
    """The cache key is the content, not the path."""
    copy = tmp_path / "elsewhere" / "renamed.zip"
    copy.parent.mkdir()
    copy.write_bytes(metta_zip.read_bytes())
    assert resolve(copy).root == resolve(metta_zip).root


def test_tampered_cache_entry_is_rebuilt(metta_zip: Path) -> None:
    """Files written into an extracted root (or removed from it) do not survive the next resolve."""
    root = resolve(metta_zip).root
    (root / "SIGNOFF.json").write_text("{}")
    (root / "weights.safetensors").unlink()
    again = resolve(metta_zip)
    assert again.root == root and tree(again.root) == metta_files()


def test_cache_dir_argument_wins(metta_zip: Path, tmp_path: Path) -> None:
    """An explicit cache_dir overrides ``$PYTEST_PASSPORT_CACHE``."""
    chosen = tmp_path / "chosen-cache"
    assert resolve(metta_zip, cache_dir=chosen).root.parent.parent == chosen / "zips"


def test_default_cache_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without an override the cache is ``~/.cache/pytest-passport``."""
    monkeypatch.delenv("PYTEST_PASSPORT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "pytest-passport"


def test_extracted_root_is_a_valid_checkpoint_view(metta_zip: Path) -> None:
    """The extracted root is a plain directory: Checkpoint lists and resolves its files."""
    checkpoint = Checkpoint(resolve(metta_zip).root)
    assert checkpoint.files == ("policy_spec.json", "weights.safetensors")
    assert checkpoint.resolve("weights.safetensors").is_file()


@pytest.mark.parametrize("encode", [True, False])
def test_file_uri_to_zip(metta_zip: Path, encode: bool) -> None:
    """``file://`` URIs name the zip with the colon percent-encoded or not."""
    name = "demo-run%3Av3.zip" if encode else "demo-run:v3.zip"
    resolved = resolve(f"file://{metta_zip.parent}/{name}")
    assert (resolved.kind, resolved.zip_path, resolved.epoch) == ("file", metta_zip, 3)
    assert tree(resolved.root) == metta_files()


def test_file_uri_to_directory_with_encoded_path(tmp_path: Path) -> None:
    """Percent-encoded spaces and colons in a directory URI are decoded; localhost is local."""
    root = write_dir(tmp_path / "my runs" / "demo-run:v4", metta_files())
    resolved = resolve(f"file://localhost{tmp_path}/my%20runs/demo-run%3Av4")
    assert (resolved.root, resolved.kind, resolved.epoch) == (root, "file", 4)


def test_file_uri_relative_like_metta(metta_zip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``file://./ckpts/...`` is relative to the current directory, as Metta writes it."""
    monkeypatch.chdir(metta_zip.parent.parent)
    assert resolve("file://./ckpts/demo-run%3Av3.zip").zip_path == Path("./ckpts/demo-run:v3.zip")


def test_bundle_name_finds_its_zip(metta_zip: Path) -> None:
    """``ckpts/demo-run:v3`` with only ``demo-run:v3.zip`` beside it opens the zip."""
    resolved = resolve(metta_zip.parent / "demo-run:v3")
    assert resolved.zip_path == metta_zip and resolved.location.endswith("demo-run:v3.zip")


def test_directory_wins_over_zip_of_same_name(metta_dir: Path, tmp_path: Path) -> None:
    """When both ``x:v3/`` and ``x:v3.zip`` exist, the name without .zip is the directory."""
    write_zip(metta_dir.parent / "demo-run:v3.zip", metta_files(seed=5).items())
    assert resolve(metta_dir).root == metta_dir


def test_directory_missing_data_path_file(metta_dir: Path) -> None:
    """A Metta bundle directory whose data_path file is missing is refused, naming it."""
    (metta_dir / "weights.safetensors").unlink()
    with pytest.raises(BundleError, match="data_path") as info:
        resolve(metta_dir)
    assert info.value.entry == "weights.safetensors"


def test_directory_data_path_symlink_escape(metta_dir: Path, tmp_path: Path) -> None:
    """A data_path that is a symlink leading out of the bundle does not count as present."""
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes((metta_dir / "weights.safetensors").read_bytes())
    (metta_dir / "weights.safetensors").unlink()
    (metta_dir / "weights.safetensors").symlink_to(outside)
    with pytest.raises(BundleError, match="data_path"):
        resolve(metta_dir)


def test_bundle_named_directory_without_policy_spec(metta_dir: Path) -> None:
    """``<run>:v<N>/`` with neither policy_spec.json nor a passport is refused."""
    (metta_dir / "policy_spec.json").unlink()
    with pytest.raises(BundleError, match="missing") as info:
        resolve(metta_dir)
    assert info.value.entry == "policy_spec.json"


def test_bundle_named_directory_with_passport_only(metta_dir: Path) -> None:
    """A passport without a policy spec is left to the passport checks."""
    (metta_dir / "policy_spec.json").unlink()
    (metta_dir / "MODEL_PASSPORT.json").write_text("{}")
    assert resolve(metta_dir).root == metta_dir


def test_other_directories_are_not_metta(tmp_path: Path) -> None:
    """A directory without a bundle name or policy spec (e.g. LeRobot) opens as is."""
    root = write_dir(tmp_path / "pretrained_model", {"config.json": b"{}", "model.safetensors": b"x"})
    assert resolve(root).root == root


# ---------------------------------------------------------------------------- :latest


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Bundles as directories and zips, plus things :latest must ignore."""
    ckpts = tmp_path / "ckpts"
    write_dir(ckpts / "demo-run:v2", metta_files(2))
    write_dir(ckpts / "demo-run:v9", metta_files(9))
    write_zip(ckpts / "demo-run:v10.zip", metta_files(10).items())
    write_dir(ckpts / "demo-run:v12", {"notes.txt": b"no policy spec, no passport"})
    write_zip(ckpts / "other-run:v11.zip", metta_files(11).items())
    write_zip(ckpts / ".demo-run:v99.zip", metta_files(99).items())
    write_zip(ckpts / "demo-run:vX.zip", metta_files(0).items())
    (ckpts / "demo-run:v50.txt").write_text("not a bundle")
    return ckpts


def weights_seed(root: Path, seed: int) -> bool:
    return (root / "weights.safetensors").read_bytes() == metta_files(seed)["weights.safetensors"]


@pytest.mark.parametrize("suffix", ["/:latest", ":latest"])
def test_latest_over_directory(mixed: Path, suffix: str) -> None:
    """``dir/:latest`` and ``dir:latest`` take the highest epoch of any run: other-run:v11.zip."""
    resolved = resolve(f"{mixed}{suffix}")
    assert resolved.location == f"{mixed}/other-run:v11.zip"
    assert (resolved.run, resolved.epoch, resolved.kind) == ("other-run", 11, "zip")
    assert weights_seed(resolved.root, 11)


def test_latest_of_one_run(mixed: Path) -> None:
    """``dir/<run>:latest`` only considers that run: the zip at v10 beats directories v2 and v9."""
    resolved = resolve(f"{mixed}/demo-run:latest")
    assert (resolved.location, resolved.epoch) == (f"{mixed}/demo-run:v10.zip", 10)
    assert weights_seed(resolved.root, 10)


def test_latest_prefers_directory_on_tie(mixed: Path) -> None:
    """A directory of the same epoch as a zip wins (a passport alone marks a bundle directory)."""
    write_dir(mixed / "demo-run:v10", {"MODEL_PASSPORT.json": b"{}", "weights.safetensors": b"w"})
    resolved = resolve(f"{mixed}/demo-run:latest")
    assert (resolved.root, resolved.kind) == (mixed / "demo-run:v10", "dir")


def test_latest_file_uri_percent_encoded(mixed: Path) -> None:
    """``file://.../demo-run%3Alatest`` works and names its choice canonically."""
    resolved = resolve(f"file://{mixed}/demo-run%3Alatest")
    assert resolved.location == f"file://{mixed}/demo-run%3Av10.zip"
    assert (resolved.kind, resolved.epoch) == ("file", 10)


def test_latest_relative(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare ``:latest`` scans the current directory."""
    monkeypatch.chdir(mixed)
    assert resolve(":latest").location == "other-run:v11.zip"


def test_latest_with_nothing_to_pick(tmp_path: Path) -> None:
    """No bundle among the entries: CheckpointNotFoundError."""
    write_dir(tmp_path / "empty" / "demo-run:v1", {"notes.txt": b"x"})
    with pytest.raises(CheckpointNotFoundError, match="no bundle"):
        resolve(f"{tmp_path}/empty/:latest")


def test_latest_in_missing_directory(tmp_path: Path) -> None:
    """Scanning a directory that does not exist: CheckpointNotFoundError."""
    with pytest.raises(CheckpointNotFoundError, match="no such directory"):
        resolve(f"{tmp_path}/absent/:latest")


def test_latest_zip_is_still_checked(mixed: Path, cache: Path) -> None:
    """The bundle :latest picks goes through the same hostile-zip checks."""
    write_zip(mixed / "demo-run:v20.zip", [*metta_files().items(), ("../evil", b"x")])
    with pytest.raises(BundleError, match="climbs out"):
        resolve(f"{mixed}/demo-run:latest")
    assert not (mixed.parent / "evil").exists()

