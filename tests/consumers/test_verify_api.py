"""pytest_passport.verify(): one PassportError naming every hard failure; the opt-in digest fast path."""

from __future__ import annotations

import os

import pytest

import pytest_passport
from pytest_passport import fastpath, hashing

from .conftest import sign


@pytest.fixture
def signed(pytester: pytest.Pytester, unbound_checkpoint):
    """A signed checkpoint (unbound), no digests remembered from other tests."""
    sign(pytester, unbound_checkpoint.root)
    fastpath.forget()
    yield unbound_checkpoint
    fastpath.forget()


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files hashed from now on."""
    seen: list[str] = []
    real = hashing.sha256_file_stat  # what DigestCache reads through

    def counting(path, *args, **kwargs):
        seen.append(os.path.basename(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "sha256_file_stat", counting)
    return seen


def test_error_names_every_hard_failure(signed) -> None:
    """Two changed files give one PassportError (a VerificationError) listing both, one per line."""
    (signed.root / "config.json").write_text("{}")
    (signed.root / "TRAINING_LOG.md").write_text("rewritten\n")
    (signed.root / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(pytest_passport.PassportError) as err:
        pytest_passport.verify(signed.root)
    assert isinstance(err.value, pytest_passport.VerificationError)
    names = {f.check for f in err.value.failures}
    assert {"config.json", "model.safetensors"} <= names
    lines = str(err.value).splitlines()
    assert lines[0].startswith("DO NOT LOAD") and len(lines) == 1 + len(err.value.failures)


def test_uncaught_error_shows_no_tool_frames(pytester: pytest.Pytester, signed) -> None:
    """A consumer test that calls verify() on an unsigned checkpoint fails without frames of api.py."""
    (signed.root / "SIGNOFF.json").unlink()
    pytester.makepyfile(
        f"""
        import pytest_passport

        def test_gate():
            pytest_passport.verify({str(signed.root)!r})
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*VerificationError: DO NOT LOAD*", "*signoff_present*"])
    assert "api.py" not in result.stdout.str()


def test_fast_path_skips_unchanged_files(signed, hashed: list[str]) -> None:
    """With reuse_digests, a second verify hashes nothing; touching a file rehashes only that file."""
    declared = len(signed.passport.declared_files)
    pytest_passport.verify(signed.root, reuse_digests=True)
    assert len(hashed) == declared
    hashed.clear()
    pytest_passport.verify(signed.root, reuse_digests=True)
    assert hashed == []
    os.utime(signed.root / "config.json", ns=(1, 1))
    pytest_passport.verify(signed.root, reuse_digests=True)
    assert hashed == ["config.json"]


def test_default_path_always_hashes(signed, hashed: list[str]) -> None:
    """Without the opt-in, every verify hashes every declared file."""
    declared = len(signed.passport.declared_files)
    pytest_passport.verify(signed.root)
    pytest_passport.verify(signed.root)
    assert len(hashed) == 2 * declared


def test_gate_never_uses_remembered_digests(pytester: pytest.Pytester, signed) -> None:
    """An in-place same-size rewrite that restores mtime is caught by --require-signoff, even after a fast-path verify in the same process."""
    pytest_passport.verify(signed.root, reuse_digests=True)
    target = signed.root / "assets" / "front_reference.png"
    info = target.stat()
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    with open(target, "r+b") as fh:  # same inode, same size
        fh.write(bytes(data))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    result = pytester.runpytest_inprocess("--checkpoint", str(signed.root), "--require-signoff", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*front_reference.png: sha256 on disk differs*"])
    with pytest.raises(pytest_passport.PassportError):
        pytest_passport.verify(signed.root)
