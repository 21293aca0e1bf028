"""A FIFO anywhere the gate reads never blocks it: a failed check names the file (issue 9, point 4)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_passport import cli, schema
from pytest_passport.checkpoint import Checkpoint
from pytest_passport.hashing import DigestCache, NotRegularFileError, read_regular

from .conftest import HANG_TIMEOUT_S, gate_failures, messages, within

BIN = Path(sys.executable).parent

#: Every place the gate opens: a weight file, the config, a processor JSON, the two documents.
LOCATIONS = ["model.safetensors", "config.json", "policy_preprocessor.json", schema.PASSPORT_FILENAME, schema.SIGNOFF_FILENAME]


def fifo_in(root: Path, rel: str) -> None:
    (root / rel).unlink()
    os.mkfifo(root / rel)


@pytest.mark.parametrize("rel", LOCATIONS)
def test_verify_names_the_fifo(signed: Path, rel: str) -> None:
    """verify() returns promptly with a failure naming the FIFO."""
    fifo_in(signed, rel)
    failures = within(HANG_TIMEOUT_S, lambda: gate_failures(signed))
    assert f"{rel} (FIFO)" in messages(failures)


@pytest.mark.parametrize("rel", LOCATIONS)
def test_validate_checkpoint_serial_names_the_fifo(signed: Path, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    """validate-checkpoint --require-signoff (in-process, serial) exits 1 naming the FIFO."""
    fifo_in(signed, rel)
    assert within(HANG_TIMEOUT_S, lambda: cli.validate_main([str(signed), "--require-signoff"])) == 1
    out = capsys.readouterr().out
    assert f"{rel} (FIFO)" in out and "DO NOT LOAD" in out


@pytest.mark.parametrize("group", [LOCATIONS[:3], LOCATIONS[3:]], ids=["files", "documents"])
def test_validate_checkpoint_n2_names_the_fifos(signed: Path, group: list[str]) -> None:
    """validate-checkpoint --require-signoff -n 2 (subprocess, timed) exits 1 naming every FIFO."""
    for rel in group:
        fifo_in(signed, rel)
    run = subprocess.run(
        [str(BIN / "validate-checkpoint"), str(signed), "--require-signoff", "-n", "2"],
        capture_output=True, text=True, timeout=HANG_TIMEOUT_S * 2,
    )
    assert run.returncode == 1
    for rel in group:
        assert f"{rel} (FIFO)" in run.stdout


@pytest.mark.parametrize("rel", [r for r in LOCATIONS if r != schema.PASSPORT_FILENAME])
def test_sign_checkpoint_refuses_the_fifo(signed: Path, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    """sign-checkpoint refuses (exit 1) naming the FIFO, and writes no signoff over it."""
    before = (signed / schema.SIGNOFF_FILENAME).read_bytes()
    fifo_in(signed, rel)
    assert within(HANG_TIMEOUT_S, lambda: cli.sign_main([str(signed)])) == 1
    captured = capsys.readouterr()
    assert f"{rel} (FIFO)" in captured.out + captured.err
    if rel == schema.SIGNOFF_FILENAME:
        assert stat.S_ISFIFO(os.lstat(signed / rel).st_mode)
    else:
        assert (signed / schema.SIGNOFF_FILENAME).read_bytes() == before


def test_sign_checkpoint_with_a_fifo_passport_does_not_hang(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO in place of the passport is refused at once (no passport to sign)."""
    fifo_in(signed, schema.PASSPORT_FILENAME)
    with pytest.raises(SystemExit) as info:
        within(HANG_TIMEOUT_S, lambda: cli.sign_main([str(signed)]))
    assert info.value.code == 2
    assert schema.PASSPORT_FILENAME in capsys.readouterr().err


def test_low_level_readers_refuse_non_regular_files(tmp_path: Path) -> None:
    """read_regular, DigestCache and the Checkpoint readers raise OSError naming the kind."""
    os.mkfifo(tmp_path / "pipe.json")
    os.mkdir(tmp_path / "dir.json")
    (tmp_path / "link.json").symlink_to(tmp_path / "pipe.json")
    for name, kind in (("pipe.json", "FIFO"), ("dir.json", "directory"), ("link.json", "symbolic link")):
        with pytest.raises(NotRegularFileError, match=kind):
            within(HANG_TIMEOUT_S, lambda: read_regular(tmp_path / name))
        with pytest.raises(OSError, match=kind):
            within(HANG_TIMEOUT_S, lambda: DigestCache(1).get(tmp_path / name))
    checkpoint = Checkpoint(tmp_path)
    assert not checkpoint.exists("pipe.json")
    with pytest.raises(Exception, match="FIFO"):
        within(HANG_TIMEOUT_S, lambda: checkpoint.read_json("pipe.json"))
