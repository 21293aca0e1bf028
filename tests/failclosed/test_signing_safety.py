"""Signing is safe (issue 9): atomic, refuses when files changed under it, survives SIGKILL and races."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_passport import cli, schema
from pytest_passport import signoff as signing
from pytest_passport.generate import main as generate_main

from .conftest import gate_failures, messages

BIN = Path(sys.executable).parent
SIGNOFF = schema.SIGNOFF_FILENAME


def temps(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp"))


def sign_process(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "sign-checkpoint"), str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_at_random_points_never_leaves_a_partial_signoff(signed: Path) -> None:
    """SIGKILL during sign-checkpoint (bounded loop, random delays): the signoff is absent or whole,
    leftovers are only the writer's temp files, which the gate tolerates and the next sign removes."""
    rng = random.Random(9)
    started = time.monotonic()
    assert sign_process(signed).wait(timeout=120) == 0
    duration = time.monotonic() - started
    iterations = 12
    for i in range(iterations):
        if i % 2 == 0:
            (signed / SIGNOFF).unlink(missing_ok=True)
        process = sign_process(signed)
        time.sleep(rng.uniform(0.0, duration))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if (signed / SIGNOFF).exists():
            schema.read_signoff(signed / SIGNOFF)  # whole: parses and maps
            assert gate_failures(signed) == [], f"iteration {i}"
        leftovers = temps(signed)
        assert all(schema.TEMP_NAME.match(name) for name in leftovers), leftovers
    # One deterministic leftover of a killed writer (a pid that cannot be alive).
    (signed / ".SIGNOFF.json.999999999.tmp").write_text('{"schema_version": "0.')
    assert sign_process(signed).wait(timeout=120) == 0
    assert temps(signed) == []
    assert gate_failures(signed) == []


def test_two_concurrent_signs_end_valid(signed: Path) -> None:
    """Two sign-checkpoint processes at once both succeed and leave one valid signoff, no temp file."""
    (signed / SIGNOFF).unlink()
    first, second = sign_process(signed), sign_process(signed)
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    assert temps(signed) == []
    assert gate_failures(signed) == []


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda root: flip(root / "config.json"), "config.json was modified or replaced"),
        (lambda root: (root / "late.safetensors").write_bytes(b"x"), "late.safetensors appeared"),
        (lambda root: (root / "TRAINING_LOG.md").unlink(), "TRAINING_LOG.md disappeared"),
    ],
    ids=["modified", "added", "removed"],
)
def test_files_changed_during_the_run_are_refused(
    signed: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], change, expected: str
) -> None:
    """A file changed after it was hashed and before the signoff is written: nothing is written."""
    (signed / SIGNOFF).unlink()
    real = signing.decide

    def decide_then_change(*args, **kwargs):
        decision = real(*args, **kwargs)
        change(signed)
        return decision

    monkeypatch.setattr(signing, "decide", decide_then_change)
    assert cli.sign_main([str(signed)]) == 1
    captured = capsys.readouterr()
    assert "the checkpoint changed while it was being validated" in captured.out + captured.err
    assert expected in captured.out + captured.err
    assert not (signed / SIGNOFF).exists() and temps(signed) == []


def test_unwritable_signoff_is_a_refusal_not_a_traceback(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory named SIGNOFF.json: signing refuses with a message naming it and leaves no temp file."""
    (signed / SIGNOFF).unlink()
    (signed / SIGNOFF).mkdir()
    assert cli.sign_main([str(signed)]) == 1
    captured = capsys.readouterr()
    assert f"cannot write {signed / SIGNOFF}" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err
    assert temps(signed) == []


def test_the_tool_writes_nothing_else_into_the_checkpoint(signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """generate (to an outside file), sign and validate (in-process serial, -n 2 in a subprocess) add only SIGNOFF.json."""
    (signed / SIGNOFF).unlink()
    before = {p.relative_to(signed).as_posix() for p in signed.rglob("*")}
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert generate_main([str(signed), "--output", str(tmp_path / "generated.json")]) == 0
    assert cli.sign_main([str(signed)]) == 0
    assert cli.validate_main([str(signed), "--require-signoff"]) == 0
    assert subprocess.run([str(BIN / "sign-checkpoint"), str(signed), "-n", "2"], capture_output=True, timeout=120).returncode == 0
    assert subprocess.run([str(BIN / "validate-checkpoint"), str(signed), "--require-signoff", "-n", "2"], capture_output=True, timeout=120).returncode == 0
    after = {p.relative_to(signed).as_posix() for p in signed.rglob("*")}
    assert after - before == {SIGNOFF} and before - after == set()
