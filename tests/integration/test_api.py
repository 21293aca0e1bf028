"""The Python API: verify() as a load-time gate and load_passport()."""

from __future__ import annotations

import pytest

import pytest_passport
from pytest_passport import PassportError, VerificationError, load_passport, verify


def test_public_surface() -> None:
    """The package exports the documented names only."""
    assert {"verify", "load_passport", "PassportError", "VerificationError", "Report"} <= set(pytest_passport.__all__)
    assert issubclass(VerificationError, PassportError)


def test_verify_passes_a_signed_checkpoint(cli, clean_checkpoint) -> None:
    """verify() returns a report with verdict ship_it on a freshly signed checkpoint."""
    assert cli("sign-checkpoint", clean_checkpoint.root).ret == 0
    report = verify(clean_checkpoint.root)
    assert report.loadable and report.verdict == "ship_it"
    assert any(f.check == "model.safetensors" for f in report.findings)


def test_verify_raises_on_unsigned_checkpoint(clean_checkpoint) -> None:
    """With require_signoff (the default) an unsigned checkpoint raises, listing the failure."""
    with pytest.raises(VerificationError) as err:
        verify(clean_checkpoint.root)
    assert [f.check for f in err.value.failures] == ["signoff_present"]
    assert "DO NOT LOAD" in str(err.value)


def test_verify_without_signoff_requirement(clean_checkpoint) -> None:
    """require_signoff=False reports the missing signoff as a soft signal only."""
    report = verify(clean_checkpoint.root, require_signoff=False)
    assert [f.check for f in report.soft_signals] == ["signoff_present"]


def test_verify_names_a_changed_file(cli, clean_checkpoint) -> None:
    """A changed byte raises with the file's own finding."""
    assert cli("sign-checkpoint", clean_checkpoint.root).ret == 0
    (clean_checkpoint.root / "config.json").write_text("{}")
    with pytest.raises(VerificationError) as err:
        verify(clean_checkpoint.root)
    assert "config.json" in {f.check for f in err.value.failures}


def test_verify_missing_directory(tmp_path) -> None:
    """A path that is not a checkpoint raises CheckpointNotFoundError (a PassportError)."""
    with pytest.raises(PassportError, match="no such checkpoint directory"):
        verify(tmp_path / "missing")


def test_load_passport_typed(clean_checkpoint) -> None:
    """load_passport returns the typed passport from a directory or the file itself."""
    passport = load_passport(clean_checkpoint.root)
    assert passport.input_contract.actions.horizon == 5
    assert load_passport(clean_checkpoint.root / "MODEL_PASSPORT.json") == passport


def test_load_passport_error_names_file(tmp_path) -> None:
    """A broken passport raises DocumentError naming the file."""
    (tmp_path / "MODEL_PASSPORT.json").write_text('{"stack": 1}')
    with pytest.raises(pytest_passport.DocumentError, match=r"MODEL_PASSPORT.json: stack: expected string, got 1"):
        load_passport(tmp_path)
