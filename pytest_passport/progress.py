"""A progress line on stderr while declared files are hashed, for runs that take a while.

Shown only when stderr is a terminal and hashing has run longer than a second
(``PYTEST_PASSPORT_PROGRESS_AFTER`` seconds, for tests and slow terminals): bytes done out
of the total, and the rate. The line is rewritten in place and cleared when hashing ends.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from . import hashing

__all__ = ["HashProgress", "human_bytes"]


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"  # pragma: no cover


class HashProgress:
    """Polls :data:`pytest_passport.hashing.bytes_hashed` on a daemon thread until stopped."""

    def __init__(self, total: int, stream: TextIO | None = None, after: float | None = None, interval: float = 0.25) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        env = os.environ.get("PYTEST_PASSPORT_PROGRESS_AFTER")
        self.after = after if after is not None else (float(env) if env else 1.0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_bytes = hashing.bytes_hashed()
        self._shown = False

    @classmethod
    def for_terminal(cls, total: int) -> HashProgress | None:
        """A started reporter when stderr is a terminal and there is something to hash."""
        try:
            tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            tty = False
        if not tty or total <= 0:
            return None
        progress = cls(total)
        progress.start()
        return progress

    def start(self) -> None:
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="passport-progress", daemon=True)
        self._thread.start()

    def line(self) -> str:
        done = min(self.total, hashing.bytes_hashed() - self._start_bytes)
        elapsed = max(time.monotonic() - self._began, 1e-6)
        return f"hashing {human_bytes(done)} / {human_bytes(self.total)}, {human_bytes(done / elapsed)}/s"

    def _run(self) -> None:
        if self._stop.wait(self.after):
            return
        while True:
            self._write("\r" + self.line() + "\x1b[K")
            self._shown = True
            if hashing.bytes_hashed() - self._start_bytes >= self.total or self._stop.wait(self.interval):
                return

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._stop.set()

    def stop(self) -> None:
        """Stop polling; a shown line is finished with the final figures and a newline."""
        if self._stop.is_set() and self._thread is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._shown:
            self._write("\r" + self.line() + "\x1b[K\n")
