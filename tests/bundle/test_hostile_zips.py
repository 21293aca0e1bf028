"""Hostile and broken zip bundles: each is refused with the entry named, and nothing is written."""

from __future__ import annotations

import json
import os
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from pytest_passport.bundle import ZipLimits, extract_zip, resolve
from pytest_passport.errors import BundleError, CheckpointNotFoundError, PassportError

from .conftest import assert_nothing_extracted, metta_files, write_zip

MiB = 1024 * 1024


def refused(path: Path, cache: Path, entry: str | None, match: str, limits: ZipLimits | None = None) -> BundleError:
    """Resolve ``path``, expect a BundleError naming ``entry``, and check nothing was extracted."""
    with pytest.raises(BundleError, match=match) as info:
        resolve(path, limits=limits)
    assert info.value.entry == entry
    if entry is not None:
        assert repr(entry) in str(info.value)
    assert isinstance(info.value, PassportError)
    assert_nothing_extracted(cache)
    return info.value


def patch_first_entry(path: Path, *, flags: int | None = None, size: int | None = None) -> None:
    """Rewrite the first entry's flags or declared uncompressed size in its local and central headers."""
    raw = bytearray(path.read_bytes())
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    if flags is not None:
        struct.pack_into("<H", raw, local + 6, flags)
        struct.pack_into("<H", raw, central + 8, flags)
    if size is not None:
        struct.pack_into("<I", raw, local + 22, size)
        struct.pack_into("<I", raw, central + 24, size)
    path.write_bytes(bytes(raw))


def with_metta(*extra: tuple[str | zipfile.ZipInfo, bytes]) -> list[tuple[str | zipfile.ZipInfo, bytes]]:
    """A valid Metta bundle's entries first, then ``extra``: refusal must come before any write."""
    return [*metta_files().items(), *extra]


def test_parent_traversal(tmp_path: Path, cache: Path) -> None:
    """``../evil.txt`` is refused and never lands beside the cache."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("../evil.txt", b"x")))
    refused(path, cache, "../evil.txt", "climbs out")
    assert not (cache / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_nested_traversal(tmp_path: Path, cache: Path) -> None:
    """A ``..`` hidden after a real folder is refused too."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("extra/../../../evil.txt", b"x")))
    refused(path, cache, "extra/../../../evil.txt", "climbs out")


def test_absolute_path(tmp_path: Path, cache: Path) -> None:
    """An absolute entry name is refused."""
    target = tmp_path / "absolute-evil.txt"
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta((str(target), b"x")))
    refused(path, cache, str(target), "absolute path")
    assert not target.exists()


def test_windows_drive_path(tmp_path: Path, cache: Path) -> None:
    """A drive-letter name is absolute on Windows and refused everywhere."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("C:/Windows/evil.dll", b"x")))
    refused(path, cache, "C:/Windows/evil.dll", "absolute path")


def test_backslash_traversal(tmp_path: Path, cache: Path) -> None:
    """``..\\evil`` is a traversal on Windows; backslashes are refused."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("..\\evil.txt", b"x")))
    refused(path, cache, "..\\evil.txt", "backslash")


def test_symlink_entry(tmp_path: Path, cache: Path) -> None:
    """An entry whose mode is S_IFLNK is refused, not followed or created."""
    link = zipfile.ZipInfo("weights-link.safetensors")
    link.external_attr = 0o120777 << 16
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta((link, b"/etc/passwd")))
    refused(path, cache, "weights-link.safetensors", "symlink")


def test_device_entry(tmp_path: Path, cache: Path) -> None:
    """Other special files (here a FIFO) are refused."""
    fifo = zipfile.ZipInfo("pipe")
    fifo.external_attr = 0o010644 << 16
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta((fifo, b"")))
    refused(path, cache, "pipe", "not a regular file")


def test_duplicate_names(tmp_path: Path, cache: Path) -> None:
    """Two entries with the same name are refused (which one would win is undefined)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate it writes
        path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("weights.safetensors", b"shadow")))
    refused(path, cache, "weights.safetensors", "duplicate name")


def test_duplicate_after_normalisation(tmp_path: Path, cache: Path) -> None:
    """``./policy_spec.json`` duplicates ``policy_spec.json``."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("./policy_spec.json", b"{}")))
    refused(path, cache, "./policy_spec.json", "duplicate name")


def test_file_and_directory_clash(tmp_path: Path, cache: Path) -> None:
    """A name used both as a file and as a folder is refused."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("extra", b"file"), ("extra/inner.txt", b"x")))
    refused(path, cache, "extra", "both a file and a directory")


def test_declared_total_over_limit(tmp_path: Path, cache: Path) -> None:
    """Declared uncompressed bytes above the configured limit are refused before extraction."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("padding.bin", b"\x01" * 4096)))
    refused(path, cache, "padding.bin", "declared uncompressed total", ZipLimits(max_total_bytes=4096))


def test_declared_total_limit_from_environment(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``$PYTEST_PASSPORT_ZIP_MAX_BYTES`` sets the default limit."""
    monkeypatch.setenv("PYTEST_PASSPORT_ZIP_MAX_BYTES", "1000")
    path = write_zip(tmp_path / "demo-run:v3.zip", metta_files().items())
    refused(path, cache, "weights.safetensors", "declared uncompressed total")


def test_zip_bomb_ratio(tmp_path: Path, cache: Path) -> None:
    """64 MiB of zeros deflates ~1000:1, past the 200:1 limit: refused from the headers alone."""
    path = tmp_path / "demo-run:v3.zip"
    write_zip(path, metta_files().items())
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf, zf.open("bomb.bin", "w") as out:
        zero = bytes(MiB)
        for _ in range(64):
            out.write(zero)
    assert path.stat().st_size < 2 * MiB
    refused(path, cache, "bomb.bin", "compression ratio")


def test_small_entries_exempt_from_ratio(tmp_path: Path, cache: Path) -> None:
    """Entries up to 1 MiB may compress as well as they like (JSON does)."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("zeros.bin", bytes(MiB))))
    assert (resolve(path).root / "zeros.bin").stat().st_size == MiB


def test_actual_bytes_differ_from_declared(tmp_path: Path, cache: Path) -> None:
    """An entry that declares fewer bytes than it holds is refused while streaming, and cleaned up."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("weights.safetensors", b"w" * 5000), ("policy_spec.json", metta_files()["policy_spec.json"])], zipfile.ZIP_STORED)
    patch_first_entry(path, size=100)
    refused(path, cache, "weights.safetensors", "does not match its header|declares")


def test_actual_bytes_fewer_than_declared(tmp_path: Path, cache: Path) -> None:
    """An entry that holds fewer bytes than it declares is refused too."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("weights.safetensors", b"w" * 5000), ("policy_spec.json", metta_files()["policy_spec.json"])], zipfile.ZIP_STORED)
    patch_first_entry(path, size=9000)
    refused(path, cache, "weights.safetensors", "declares")


def test_encrypted_entry(tmp_path: Path, cache: Path) -> None:
    """An encrypted entry cannot be checked and is refused."""
    path = write_zip(tmp_path / "demo-run:v3.zip", metta_files().items())
    patch_first_entry(path, flags=0x1)
    refused(path, cache, "policy_spec.json", "encrypted")


def test_nested_bundle_folder(tmp_path: Path, cache: Path) -> None:
    """Files inside a ``<run>:v<N>/`` folder instead of at the root: refused, saying where they belong."""
    entries = [(f"demo-run:v3/{name}", data) for name, data in metta_files().items()]
    path = write_zip(tmp_path / "demo-run:v3.zip", entries)
    error = refused(path, cache, "demo-run:v3/", "archive root")
    assert "zip the bundle directory's contents" in str(error)


def test_nested_folder_holding_a_passport(tmp_path: Path, cache: Path) -> None:
    """Any single folder wrapping a policy spec or passport is refused the same way."""
    entries = [("checkpoint/policy_spec.json", metta_files()["policy_spec.json"]), ("checkpoint/MODEL_PASSPORT.json", b"{}")]
    path = write_zip(tmp_path / "bundle.zip", entries)
    refused(path, cache, "checkpoint/", "archive root")


def test_corrupt_zip(tmp_path: Path, cache: Path) -> None:
    """Bytes that are not a zip archive, under a .zip name."""
    path = tmp_path / "demo-run:v3.zip"
    path.write_bytes(b"this is not a zip archive at all" * 10)
    refused(path, cache, None, "corrupt or not a zip archive")


def test_truncated_zip(tmp_path: Path, cache: Path) -> None:
    """A zip cut short (a partial upload) has no central directory."""
    path = write_zip(tmp_path / "demo-run:v3.zip", metta_files().items())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refused(path, cache, None, "corrupt or not a zip archive")


def test_damaged_member(tmp_path: Path, cache: Path) -> None:
    """Flipped bytes inside an entry fail its CRC while streaming; the partial extraction is removed."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("weights.safetensors", b"w" * 5000), ("policy_spec.json", metta_files()["policy_spec.json"])], zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    raw[100:110] = b"X" * 10
    path.write_bytes(bytes(raw))
    refused(path, cache, "weights.safetensors", "does not match its header")


def test_empty_zip(tmp_path: Path, cache: Path) -> None:
    """An archive with no files is no bundle."""
    path = write_zip(tmp_path / "bundle.zip", [])
    refused(path, cache, None, "holds no files")


def test_missing_policy_spec(tmp_path: Path, cache: Path) -> None:
    """A ``<run>:v<N>.zip`` without policy_spec.json (or a passport) at its root."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("weights.safetensors", metta_files()["weights.safetensors"])])
    refused(path, cache, "policy_spec.json", "missing")


def test_missing_data_path_file(tmp_path: Path, cache: Path) -> None:
    """policy_spec.json names weights.safetensors, which the archive does not hold."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("policy_spec.json", metta_files()["policy_spec.json"])])
    refused(path, cache, "weights.safetensors", "data_path")


def test_escaping_data_path(tmp_path: Path, cache: Path) -> None:
    """A data_path pointing outside the bundle is refused, naming policy_spec.json."""
    spec = json.loads(metta_files()["policy_spec.json"])
    spec["data_path"] = "../weights.safetensors"
    entries = [("policy_spec.json", json.dumps(spec).encode()), ("weights.safetensors", b"w")]
    path = write_zip(tmp_path / "demo-run:v3.zip", entries)
    refused(path, cache, "policy_spec.json", "not a relative path inside the bundle")


def test_policy_spec_not_json(tmp_path: Path, cache: Path) -> None:
    """An unreadable policy spec is refused with the JSON error."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("policy_spec.json", b"{not json"), ("weights.safetensors", b"w")])
    refused(path, cache, "policy_spec.json", "invalid JSON")


def test_policy_spec_without_class_path(tmp_path: Path, cache: Path) -> None:
    """class_path is required."""
    entries = [("policy_spec.json", b'{"data_path": "weights.safetensors"}'), ("weights.safetensors", b"w")]
    path = write_zip(tmp_path / "demo-run:v3.zip", entries)
    refused(path, cache, "policy_spec.json", "class_path")


def test_root_directory_entry_is_harmless(tmp_path: Path) -> None:
    """A ``./`` directory entry (some zip tools write one) names the root and is skipped."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [("./", b""), *metta_files().items()])
    assert sorted(p.name for p in resolve(path).root.iterdir()) == ["policy_spec.json", "weights.safetensors"]


def test_too_many_entries(tmp_path: Path, cache: Path) -> None:
    """The entry-count limit is checked first."""
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(*((f"f{i}", b"") for i in range(5))))
    refused(path, cache, None, "entries exceed", ZipLimits(max_entries=4))


def test_extract_zip_into_named_directory(tmp_path: Path) -> None:
    """``extract_zip`` applies the same checks when extracting to a chosen place."""
    good = write_zip(tmp_path / "demo-run:v3.zip", metta_files().items())
    assert sorted(p.name for p in extract_zip(good, tmp_path / "out").iterdir()) == ["policy_spec.json", "weights.safetensors"]
    bad = write_zip(tmp_path / "bad.zip", with_metta(("../evil.txt", b"x")))
    with pytest.raises(BundleError, match="climbs out"):
        extract_zip(bad, tmp_path / "out2")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "evil.txt").exists()


# ---------------------------------------------------------------------------- bombs made of many entries


def repeated_entry_zip(path: Path, count: int, size: int) -> Path:
    """A zip of ``count`` entries of ``size`` zero bytes each, deflated once and written raw (fast to build)."""
    data = bytes(size)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    crc = zlib.crc32(data)
    body, central = bytearray(), bytearray()
    for i in range(count):
        name = f"shard-{i:04d}.bin".encode()
        header = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(packed), size, len(name), 0)
        central += struct.pack(
            "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(packed), size, len(name), 0, 0, 0, 0, 0, len(body)
        ) + name
        body += header + name + packed
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    path.write_bytes(bytes(body + central + end))
    return path


def test_thousand_one_mib_entries_are_a_bomb(tmp_path: Path, cache: Path) -> None:
    """1,000 entries of exactly 1 MiB of zeros (about 1 MiB of zip, ~1 GiB extracted) are refused from the headers."""
    path = repeated_entry_zip(tmp_path / "bundle.zip", 1000, MiB)
    with zipfile.ZipFile(path) as zf:  # a valid archive that zipfile reads as it is
        infos = zf.infolist()
        assert len(infos) == 1000 and sum(i.file_size for i in infos) == 1000 * MiB
        assert zf.read(infos[-1]) == bytes(MiB)
    assert path.stat().st_size < 1.25 * MiB
    limits = ZipLimits()
    crossing = limits.small_entries_budget_bytes // MiB  # the first entry past the small-entry budget
    refused(path, cache, f"shard-{crossing:04d}.bin", "summed compression ratio of the small entries")


def test_many_small_entries_within_the_budget_pass(tmp_path: Path, cache: Path) -> None:
    """Small entries compressing very well are fine while their sum stays within the budget (16 MiB)."""
    path = write_zip(tmp_path / "bundle.zip", with_metta(*((f"zeros-{i}.bin", bytes(MiB)) for i in range(8))))
    assert len(list(resolve(path).root.iterdir())) == 2 + 8


def test_entry_limit_from_environment(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``$PYTEST_PASSPORT_ZIP_MAX_ENTRIES`` caps the entries; the default is 10,000."""
    assert ZipLimits().max_entries == 10_000
    monkeypatch.setenv("PYTEST_PASSPORT_ZIP_MAX_ENTRIES", "3")
    path = write_zip(tmp_path / "demo-run:v3.zip", with_metta(("a", b""), ("b", b"")))
    refused(path, cache, None, "4 entries exceed the limit of 3")


# ---------------------------------------------------------------------------- not a plain zip


@pytest.mark.parametrize("prefix", [b"#!/bin/sh\nexec python -m evil\n", b"MZ" + bytes(510), b"PK\x03\x04garbage"])
def test_prepended_data_is_refused(tmp_path: Path, cache: Path, prefix: bytes) -> None:
    """Bytes before the first entry (zipfile accepts them, as for self-extracting archives) are refused."""
    plain = write_zip(tmp_path / "plain.zip", metta_files().items())
    path = tmp_path / "demo-run:v3.zip"
    path.write_bytes(prefix + plain.read_bytes())
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # the standard library takes it as a valid archive
    refused(path, cache, None, "data before the first zip entry")


def test_fifo_named_zip_does_not_block(tmp_path: Path, cache: Path) -> None:
    """A FIFO named like a zip bundle is refused without opening it for a blocking read."""
    path = tmp_path / "demo-run:v3.zip"
    os.mkfifo(path)
    with pytest.raises((BundleError, CheckpointNotFoundError)):
        resolve(path)
    with pytest.raises(BundleError, match="not a regular file"):
        extract_zip(path, tmp_path / "out")
    assert_nothing_extracted(cache)
