"""s3://bucket/key.zip through fsspec/s3fs, against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_passport import verify
from pytest_passport.bundle import checkpoint_uri_for_epoch, resolve
from pytest_passport.bundle import s3 as bundle_s3
from pytest_passport.errors import BundleError, CheckpointNotFoundError

from .conftest import (
    Bucket,
    assert_nothing_extracted,
    metta_files,
    sha256,
    tree,
    write_zip,
)


def zip_bytes(tmp_path: Path, seed: int = 0, extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    return write_zip(tmp_path / f"upload-{seed}-{len(extra)}.zip", [*metta_files(seed).items(), *extra]).read_bytes()


@pytest.mark.usefixtures("metta_runtime")
def test_validate_signed_bundle_by_s3_uri(s3: Bucket, signed_zip: Path, cache: Path) -> None:
    """A signed bundle zipped and uploaded passes the load gate from its s3:// URI."""
    uri = s3.put("team/runs/demo-run:v3.zip", signed_zip.read_bytes())
    resolved = resolve(uri)
    assert (resolved.kind, resolved.location, resolved.run, resolved.epoch) == ("s3", uri, "demo-run", 3)
    assert resolved.zip_sha256 == sha256(signed_zip)
    assert resolved.zip_path == cache / "downloads" / f"{resolved.zip_sha256}.zip"
    assert resolved.root == cache / "zips" / resolved.zip_sha256 / "root"
    report = verify(resolved.root, require_signoff=True)
    assert report.loadable


def test_endpoint_from_service_specific_variable(s3: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``AWS_ENDPOINT_URL_S3`` is honoured as well as ``AWS_ENDPOINT_URL``."""
    uri = s3.put("demo-run:v3.zip", zip_bytes(tmp_path))
    endpoint = s3.client.meta.endpoint_url
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    assert tree(resolve(uri).root) == metta_files()


def test_key_without_zip_suffix(s3: Bucket, tmp_path: Path) -> None:
    """``s3://b/run:v3`` finds ``run:v3.zip`` (S3 bundles are always zips)."""
    s3.put("runs/demo-run:v3.zip", zip_bytes(tmp_path))
    resolved = resolve(s3.uri("runs/demo-run:v3"))
    assert resolved.location == s3.uri("runs/demo-run:v3.zip")


def test_overwritten_object_is_never_stale(s3: Bucket, tmp_path: Path) -> None:
    """A new object at the same key serves the new weights."""
    uri = s3.put("demo-run:v3.zip", zip_bytes(tmp_path, seed=0))
    first = resolve(uri)
    s3.put("demo-run:v3.zip", zip_bytes(tmp_path, seed=1))
    second = resolve(uri)
    assert second.root != first.root and tree(second.root) == metta_files(1)


def test_latest_on_s3(s3: Bucket, tmp_path: Path) -> None:
    """``s3://b/prefix/:latest`` and ``.../<run>:latest`` take the highest epoch among the zips."""
    for seed in (2, 9, 10):
        s3.put(f"ckpts/demo-run:v{seed}.zip", zip_bytes(tmp_path, seed))
    s3.put("ckpts/other:v30.zip", zip_bytes(tmp_path, 30))
    s3.put("ckpts/notes.txt", b"not a bundle")
    assert resolve(s3.uri("ckpts/:latest")).location == s3.uri("ckpts/other:v30.zip")
    resolved = resolve(s3.uri("ckpts/demo-run:latest"))
    assert (resolved.location, resolved.epoch) == (s3.uri("ckpts/demo-run:v10.zip"), 10)
    assert tree(resolved.root) == metta_files(10)


def test_uri_for_epoch_round_trip_on_s3(s3: Bucket, tmp_path: Path) -> None:
    """The sibling URI of another epoch resolves to that epoch, and maps back to the original."""
    uri = s3.put("runs/demo-run:v3.zip", zip_bytes(tmp_path, 3))
    s3.put("runs/demo-run:v9.zip", zip_bytes(tmp_path, 9))
    other = checkpoint_uri_for_epoch(uri, 9)
    assert other == s3.uri("runs/demo-run:v9.zip")
    assert checkpoint_uri_for_epoch(other, 3) == uri
    assert tree(resolve(other).root) == metta_files(9)
    assert checkpoint_uri_for_epoch(s3.uri("runs/:latest"), 4) == s3.uri("runs/demo-run:v4.zip")


def test_non_zip_object(s3: Bucket, cache: Path) -> None:
    """An object that is not a zip archive is refused; no download is left behind."""
    uri = s3.put("demo-run:v3.zip", b'{"this": "is json, not a zip"}')
    with pytest.raises(BundleError, match="not a zip archive"):
        resolve(uri)
    assert not any((cache / "downloads").iterdir())
    assert_nothing_extracted(cache)


def test_hostile_zip_from_s3(s3: Bucket, tmp_path: Path, cache: Path) -> None:
    """Remote zips go through the same entry checks."""
    uri = s3.put("demo-run:v3.zip", zip_bytes(tmp_path, extra=(("../../evil.txt", b"x"),)))
    with pytest.raises(BundleError, match="climbs out") as info:
        resolve(uri)
    assert info.value.entry == "../../evil.txt" and info.value.bundle == uri
    assert_nothing_extracted(cache)


def test_missing_object(s3: Bucket) -> None:
    """A key that names nothing: CheckpointNotFoundError."""
    with pytest.raises(CheckpointNotFoundError, match="no such S3 object"):
        resolve(s3.uri("absent/demo-run:v3.zip"))


def test_missing_bucket(s3: Bucket) -> None:
    """A bucket that does not exist: CheckpointNotFoundError."""
    with pytest.raises(CheckpointNotFoundError):
        resolve(f"s3://{s3.name}-absent/demo-run:v3.zip")


def test_prefix_instead_of_zip(s3: Bucket) -> None:
    """An unzipped bundle uploaded as a prefix is refused with what to do instead."""
    for name, data in metta_files().items():
        s3.put(f"runs/demo-run:v3/{name}", data)
    with pytest.raises(BundleError, match="S3 prefix"):
        resolve(s3.uri("runs/demo-run:v3"))


def test_bucket_only_uri(s3: Bucket) -> None:
    """``s3://bucket`` alone names no bundle."""
    with pytest.raises(BundleError, match="s3://bucket/key.zip"):
        resolve(f"s3://{s3.name}")


# ---------------------------------------------------------------------------- byte cap


def large_zip(tmp_path: Path) -> bytes:
    """A bundle of about 3 MiB that does not compress (random weights padding)."""
    padding = np.random.default_rng(7).bytes(3 * 1024 * 1024)
    return zip_bytes(tmp_path, extra=(("padding.bin", padding),))


def test_object_over_download_cap_is_not_fetched(s3: Bucket, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An object the listing says is over ``$PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES`` is refused before downloading."""
    uri = s3.put("demo-run:v3.zip", large_zip(tmp_path))
    monkeypatch.setenv("PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES", str(1024 * 1024))
    with pytest.raises(BundleError, match="larger than the 1048576-byte limit"):
        resolve(uri)
    assert not (cache / "downloads").exists() or not any((cache / "downloads").iterdir())
    assert_nothing_extracted(cache)


def test_download_stops_at_the_cap_whatever_the_listing_says(
    s3: Bucket, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the listing understates the size (object replaced after it), streaming stops at the cap."""
    cap = 1024 * 1024
    data = large_zip(tmp_path)
    uri = s3.put("demo-run:v3.zip", data)
    monkeypatch.setenv("PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES", str(cap))
    real_object = bundle_s3._s3_object
    real_filesystem = bundle_s3._s3_filesystem
    received: list[int] = []

    def understated(fs: object, where: str, source: str) -> tuple[str, dict]:
        location, info = real_object(fs, where, source)
        return location, {**info, "size": 100}

    class Counting:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def read(self, n: int = -1) -> bytes:
            chunk = self.fh.read(n)
            received.append(len(chunk))
            return chunk

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    def counting_filesystem(source: str) -> object:
        fs = real_filesystem(source)
        opener = fs.open
        fs.open = lambda *a, **k: Counting(opener(*a, **k))
        return fs

    monkeypatch.setattr(bundle_s3, "_s3_object", understated)
    monkeypatch.setattr(bundle_s3, "_s3_filesystem", counting_filesystem)
    with pytest.raises(BundleError, match=f"passed the {cap}-byte limit; stopped"):
        resolve(uri)
    assert len(data) > 3 * cap and cap < sum(received) <= cap + 1
    assert not any((cache / "downloads").iterdir())
    assert_nothing_extracted(cache)
