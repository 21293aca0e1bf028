"""Signing bundles: a signed directory zipped passes the gate; a zip is signed by rewriting it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pytest_passport import verify
from pytest_passport.bundle import edit_zip, resolve, rewrite, rewrite_zip
from pytest_passport.cli import validate_main
from pytest_passport.errors import BundleError, VerificationError

from .conftest import (
    generate_and_sign,
    metta_files,
    sha256,
    write_dir,
    write_zip,
    zip_dir,
    zip_names,
)

SIGNED = ["MODEL_PASSPORT.json", "SIGNOFF.json"]


@pytest.fixture(params=["built", "fixture"])
def bundles(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A folder holding ``demo-run:v3/`` and ``demo-run:v3.zip``: built here, or the real Metta fixture."""
    if request.param == "fixture":
        return request.getfixturevalue("real_metta")
    folder = tmp_path / "built"
    zip_dir(write_dir(folder / "demo-run:v3", metta_files()), folder / "demo-run:v3.zip")
    return folder


def entries(path: Path) -> dict[str, tuple[bytes, int, tuple[int, ...]]]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: (zf.read(i), i.compress_type, i.date_time) for i in zf.infolist()}


@pytest.mark.usefixtures("metta_runtime")
def test_sign_directory_then_zip_passes_gate(bundles: Path, training_repo: Path, tmp_path: Path) -> None:
    """generate → sign on the directory, zip it (files at the root): the zip passes --require-signoff."""
    root = bundles / "demo-run:v3"
    generate_and_sign(root, training_repo)
    signed_zip = zip_dir(root, tmp_path / "out" / "demo-run:v3.zip")
    resolved = resolve(signed_zip)
    assert verify(resolved.root, require_signoff=True).loadable
    assert validate_main([str(resolved.root), "--require-signoff"]) == 0


@pytest.mark.usefixtures("metta_runtime")
def test_sign_zip_by_rewriting_it(bundles: Path, training_repo: Path, cache: Path) -> None:
    """Open the zip for editing, generate → sign, save: both documents sit at its root and it passes the gate."""
    path = bundles / "demo-run:v3.zip"
    before = entries(path)
    with edit_zip(path) as edit:
        assert edit.root.name == "demo-run:v3" and cache / "work" in edit.root.parents
        generate_and_sign(edit.root, training_repo)
        edit.save = True
    assert edit.sha256 == sha256(path)
    assert not any((cache / "work").iterdir())
    after = entries(path)
    assert {name: after[name] for name in before} == before
    assert sorted(after) == sorted([*before, *SIGNED])
    resolved = resolve(path)
    assert resolved.zip_sha256 == edit.sha256
    assert verify(resolved.root, require_signoff=True).loadable


@pytest.mark.usefixtures("metta_runtime")
def test_unsigned_zip_fails_gate(bundles: Path) -> None:
    """Before signing, the same bundle does not pass the gate."""
    with pytest.raises(VerificationError, match="signoff"):
        verify(resolve(bundles / "demo-run:v3.zip").root, require_signoff=True)


@pytest.mark.usefixtures("metta_runtime")
def test_signed_zip_with_swapped_weights_fails_gate(signed_template: Path, tmp_path: Path) -> None:
    """Re-zipping a signed bundle with other weights is caught by the signoff hashes."""
    files = {p.name: p.read_bytes() for p in signed_template.iterdir()}
    files["weights.safetensors"] = metta_files(seed=7)["weights.safetensors"]
    tampered = write_zip(tmp_path / "demo-run:v3.zip", files.items())
    with pytest.raises(VerificationError):
        verify(resolve(tampered).root, require_signoff=True)


# ---------------------------------------------------------------------------- rewrite_zip


@pytest.fixture
def plain_zip(tmp_path: Path) -> Path:
    entries_ = [*metta_files().items(), ("extra/", b""), ("extra/notes.txt", b"kept")]
    return write_zip(tmp_path / "zips" / "demo-run:v3.zip", entries_)


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    return write_dir(tmp_path / "docs", {"MODEL_PASSPORT.json": b'{"new": "passport"}', "SIGNOFF.json": b'{"new": "signoff"}'})


def test_rewrite_adds_documents_at_root(plain_zip: Path, documents: Path) -> None:
    """Both documents are added at the root; every other entry is copied unchanged."""
    before = entries(plain_zip)
    rewrite_zip(plain_zip, documents)
    after = entries(plain_zip)
    assert {name: after[name] for name in before} == before
    assert after["MODEL_PASSPORT.json"][0] == b'{"new": "passport"}'
    assert after["SIGNOFF.json"][0] == b'{"new": "signoff"}'
    assert zip_names(plain_zip)[-2:] == SIGNED


def test_rewrite_replaces_old_documents(tmp_path: Path, documents: Path) -> None:
    """Existing root documents are replaced, never duplicated."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [*metta_files().items(), ("MODEL_PASSPORT.json", b"old"), ("SIGNOFF.json", b"old")])
    rewrite_zip(path, documents)
    names = zip_names(path)
    assert names.count("MODEL_PASSPORT.json") == names.count("SIGNOFF.json") == 1
    assert entries(path)["SIGNOFF.json"][0] == b'{"new": "signoff"}'


def test_rewrite_removes_documents_absent_from_root(tmp_path: Path) -> None:
    """A name missing from the extracted root is removed from the zip (a refused signoff leaves none)."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [*metta_files().items(), ("SIGNOFF.json", b"stale")])
    docs = write_dir(tmp_path / "docs", {"MODEL_PASSPORT.json": b"{}"})
    rewrite_zip(path, docs)
    assert "SIGNOFF.json" not in zip_names(path) and "MODEL_PASSPORT.json" in zip_names(path)


def test_rewrite_only_named_documents(plain_zip: Path, documents: Path) -> None:
    """``names`` limits what is synchronised (e.g. the passport alone after generate-passport)."""
    rewrite_zip(plain_zip, documents, names=("MODEL_PASSPORT.json",))
    assert "MODEL_PASSPORT.json" in zip_names(plain_zip) and "SIGNOFF.json" not in zip_names(plain_zip)


def test_rewrite_is_atomic_and_keeps_mode(plain_zip: Path, documents: Path) -> None:
    """The new zip replaces the old by rename, keeps its permissions, and leaves no temp file."""
    plain_zip.chmod(0o640)
    inode = plain_zip.stat().st_ino
    rewrite_zip(plain_zip, documents)
    assert plain_zip.stat().st_ino != inode
    assert plain_zip.stat().st_mode & 0o777 == 0o640
    assert os.listdir(plain_zip.parent) == [plain_zip.name]


def test_rewrite_failure_leaves_zip_untouched(plain_zip: Path, documents: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing leaves the original bytes and no temp file."""
    original = plain_zip.read_bytes()

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rewrite, "_add_file", broken)
    with pytest.raises(OSError, match="No space left"):
        rewrite_zip(plain_zip, documents)
    assert plain_zip.read_bytes() == original
    assert os.listdir(plain_zip.parent) == [plain_zip.name]


def test_rewrite_is_deterministic(plain_zip: Path, documents: Path, tmp_path: Path) -> None:
    """The same inputs give byte-identical zips."""
    twin = tmp_path / "twin" / plain_zip.name
    twin.parent.mkdir()
    twin.write_bytes(plain_zip.read_bytes())
    assert rewrite_zip(plain_zip, documents) == rewrite_zip(twin, documents)


def test_rewrite_refuses_hostile_zip(tmp_path: Path, documents: Path) -> None:
    """A hostile archive is not rewritten (nor laundered into a clean-looking one)."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [*metta_files().items(), ("../evil", b"x")])
    original = path.read_bytes()
    with pytest.raises(BundleError, match="climbs out"):
        rewrite_zip(path, documents)
    assert path.read_bytes() == original


@pytest.mark.parametrize("name", ["sub/SIGNOFF.json", "../SIGNOFF.json", "/SIGNOFF.json", ""])
def test_rewrite_only_root_names(plain_zip: Path, documents: Path, name: str) -> None:
    """Only plain root-level names can be rewritten."""
    with pytest.raises(ValueError, match="archive root"):
        rewrite_zip(plain_zip, documents, names=(name,))


# ---------------------------------------------------------------------------- edit_zip


def test_edit_without_save_leaves_zip(plain_zip: Path, cache: Path) -> None:
    """Leaving the block without ``save`` changes nothing and removes the work directory."""
    original = plain_zip.read_bytes()
    with edit_zip(plain_zip) as edit:
        (edit.root / "SIGNOFF.json").write_text("{}")
    assert plain_zip.read_bytes() == original and edit.sha256 is None
    assert not edit.root.exists()


def test_edit_error_leaves_zip(plain_zip: Path) -> None:
    """An exception inside the block never rewrites the zip, even with ``save`` set."""
    original = plain_zip.read_bytes()
    with pytest.raises(RuntimeError), edit_zip(plain_zip) as edit:
        (edit.root / "MODEL_PASSPORT.json").write_text("{}")
        edit.save = True
        raise RuntimeError("signing failed")
    assert plain_zip.read_bytes() == original and not edit.root.exists()


def test_edit_saves_named_documents_only(plain_zip: Path) -> None:
    """Only ``names`` go back into the zip; other files written in the work directory do not."""
    with edit_zip(plain_zip, names=("MODEL_PASSPORT.json",)) as edit:
        (edit.root / "MODEL_PASSPORT.json").write_text("{}")
        (edit.root / "scratch.txt").write_text("not for the zip")
        edit.save = True
    assert "MODEL_PASSPORT.json" in zip_names(plain_zip) and "scratch.txt" not in zip_names(plain_zip)


def test_edit_refuses_hostile_zip(tmp_path: Path, cache: Path) -> None:
    """Opening a hostile zip for editing fails before anything is extracted."""
    path = write_zip(tmp_path / "demo-run:v3.zip", [*metta_files().items(), ("../evil", b"x")])
    with pytest.raises(BundleError, match="climbs out"), edit_zip(path):
        pass
    assert not any((cache / "work").iterdir()) and not (tmp_path / "evil").exists()


# ---------------------------------------------------------------------------- compare-and-swap


def other_writer_replaces(path: Path) -> bytes:
    """Another tool writes a different valid bundle to ``path`` (a new file renamed over it)."""
    other = write_zip(path.parent / "other.zip", metta_files(9).items())
    os.replace(other, path)
    return path.read_bytes()


def other_writer_touches(path: Path) -> bytes:
    """Another tool rewrites the same bytes in place: only the mtime moves."""
    data = path.read_bytes()
    st = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    return data


def other_writer_appends(path: Path) -> bytes:
    """Another tool appends in place (same inode, new size)."""
    with open(path, "ab") as fh:
        fh.write(b"\0" * 8)
    return path.read_bytes()


@pytest.mark.parametrize("writer", [other_writer_replaces, other_writer_touches, other_writer_appends])
def test_edit_refuses_a_zip_changed_since_it_was_read(plain_zip: Path, cache: Path, writer: object) -> None:
    """A save is refused when the zip's bytes, size, mtime or inode changed after edit_zip read it; theirs is kept."""
    with pytest.raises(BundleError, match="changed since it was read"):
        with edit_zip(plain_zip) as edit:
            (edit.root / "SIGNOFF.json").write_text("{}")
            edit.save = True
            theirs = writer(plain_zip)  # type: ignore[operator]
    assert plain_zip.read_bytes() == theirs
    assert sorted(os.listdir(plain_zip.parent)) == [plain_zip.name]
    assert not any((cache / "work").iterdir())


def test_edit_refuses_metta_bundle_swapped_mid_edit(bundles: Path) -> None:
    """The built bundle and the real Metta fixture: a zip swapped mid-edit is left as the other writer left it."""
    path = bundles / "demo-run:v3.zip"
    with pytest.raises(BundleError, match="changed since it was read"), edit_zip(path) as edit:
        edit.save = True
        theirs = other_writer_replaces(path)
    assert path.read_bytes() == theirs


def test_rewrite_zip_refuses_an_unexpected_state(plain_zip: Path, documents: Path) -> None:
    """``rewrite_zip(expected=...)`` compares the zip with the state it was read in before writing anything."""
    with edit_zip(plain_zip) as edit:
        state = edit.read
    assert state is not None and state.sha256 == sha256(plain_zip)
    theirs = other_writer_replaces(plain_zip)
    with pytest.raises(BundleError, match="changed since it was read"):
        rewrite_zip(plain_zip, documents, expected=state)
    assert plain_zip.read_bytes() == theirs


def test_rewrite_refuses_prepended_data(plain_zip: Path, documents: Path) -> None:
    """A zip with bytes before its first entry is neither rewritten nor laundered into a plain one."""
    plain_zip.write_bytes(b"#!/bin/sh\n" + plain_zip.read_bytes())
    original = plain_zip.read_bytes()
    with pytest.raises(BundleError, match="data before the first zip entry"):
        rewrite_zip(plain_zip, documents)
    with pytest.raises(BundleError, match="data before the first zip entry"), edit_zip(plain_zip):
        pass
    assert plain_zip.read_bytes() == original


@pytest.mark.usefixtures("metta_runtime")
def test_sign_cli_refuses_a_zip_changed_mid_sign(bundles: Path, training_repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """sign-checkpoint on a zip another writer replaced while signing: exit 1 with a message, theirs kept."""
    from pytest_passport import cli
    from pytest_passport.generate import main as generate_main

    path = bundles / "demo-run:v3.zip"
    assert generate_main([str(path), "--training-repo", str(training_repo)]) == 0
    real_sign = cli._sign
    theirs: list[bytes] = []

    def sign_then_other_writer(parser, checkpoint, ns):  # type: ignore[no-untyped-def]
        status = real_sign(parser, checkpoint, ns)
        theirs.append(other_writer_replaces(path))
        return status

    monkeypatch.setattr(cli, "_sign", sign_then_other_writer)
    assert cli.sign_main([str(path), "--reason", "mid-sign change"]) == 1
    err = capsys.readouterr().err
    assert "refusing to sign" in err and "changed since it was read" in err
    assert "Traceback" not in err
    assert path.read_bytes() == theirs[0]
