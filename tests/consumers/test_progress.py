"""The hashing progress line: on a terminal only, with bytes and rate."""

from __future__ import annotations

import os
import pty
import subprocess

from pytest_passport.progress import HashProgress, human_bytes

from .conftest import BIN


def test_progress_line_on_a_terminal(clean_checkpoint) -> None:
    """With stderr on a pseudo-terminal, validate-checkpoint writes 'hashing X / Y, Z/s' on stderr."""
    big = clean_checkpoint.root / "model.safetensors"
    total = sum((clean_checkpoint.root / f.path).stat().st_size for f in clean_checkpoint.passport.declared_files)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [str(BIN / "validate-checkpoint"), str(clean_checkpoint.root)],
            stdout=subprocess.PIPE, stderr=follower, timeout=120,
            env={**os.environ, "PYTEST_PASSPORT_PROGRESS_AFTER": "0"},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
    assert proc.returncode == 0 and big.is_file()
    err = b"".join(chunks).decode()
    assert f"/ {human_bytes(total)}," in err and "/s" in err
    assert "hashing" not in proc.stdout.decode()


def test_no_progress_off_a_terminal(clean_checkpoint) -> None:
    """Piped stderr (CI logs) gets no progress line."""
    proc = subprocess.run([str(BIN / "validate-checkpoint"), str(clean_checkpoint.root)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTEST_PASSPORT_PROGRESS_AFTER": "0"})
    assert proc.returncode == 0 and "hashing " not in proc.stderr


def test_progress_reporter_stops_once(tmp_path) -> None:
    """A reporter stopped twice finishes its line once."""
    import io

    stream = io.StringIO()
    progress = HashProgress(10, stream=stream, after=0.0, interval=0.01)
    progress.start()
    progress.stop()
    progress.stop()
    assert stream.getvalue().count("\n") <= 1
