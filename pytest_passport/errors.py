"""Every exception pytest-passport raises on purpose, in one place.

::

    PassportError                 base class; catch this to handle any of the below
    ├── DocumentError             MODEL_PASSPORT.json / SIGNOFF.json cannot be read or mapped
    ├── UnsafePathError           a declared path resolves outside the checkpoint root
    ├── CheckpointNotFoundError   the checkpoint argument names nothing usable
    │   └── UnreadableCheckpointError  it names a directory this process cannot list or read
    ├── BundleError               a zip bundle or remote checkpoint is unsafe, corrupt or malformed
    └── VerificationError         verify() found hard failures (carries the findings)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .findings import Finding


class PassportError(Exception):
    """Base class of all pytest-passport errors."""


class DocumentError(PassportError):
    """A JSON document is unreadable, not JSON, or does not fit its schema.

    ``problems`` holds one ``json.path: what is wrong`` line per defect.
    """

    def __init__(self, file: Path | str, problems: Sequence[str]) -> None:
        self.file = Path(file)
        self.problems = list(problems)
        shown = "; ".join(self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{self.file.name}: {shown}{more}")


class UnsafePathError(PassportError):
    """A path taken from a document escapes the checkpoint root (``..``, absolute, symlink)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path!r}: {reason}")


class CheckpointNotFoundError(PassportError):
    """The checkpoint path or URI does not name an existing checkpoint."""


class UnreadableCheckpointError(CheckpointNotFoundError):
    """The checkpoint directory exists but cannot be listed or read (permissions, not a directory).

    ``path`` is the path at fault, ``reason`` the operating system's explanation.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{ascii_path(path)}: cannot read the checkpoint: {reason}")


def ascii_path(path: Path | str | bytes) -> str:
    """A path as text that any terminal can print: undecodable bytes and lone surrogates escaped."""
    import os

    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    try:  # undecodable bytes of a file name come back as themselves: b"\xff" -> "\\xff"
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # lone surrogates that are not escaped bytes (e.g. "\\ud800" in JSON)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class BundleError(PassportError):
    """A checkpoint bundle (zip, remote object, Metta layout) cannot be used as given.

    ``bundle`` is the path or URI as given, ``entry`` the archive entry or file at fault
    (``None`` when the whole bundle is), ``reason`` a one-line explanation.
    """

    def __init__(self, bundle: str, reason: str, entry: str | None = None) -> None:
        self.bundle = bundle
        self.entry = entry
        self.reason = reason
        where = f"{bundle}: entry {entry!r}" if entry is not None else bundle
        super().__init__(f"{where}: {reason}")


class VerificationError(PassportError):
    """Raised by :func:`pytest_passport.verify` when the checkpoint must not be loaded.

    ``except pytest_passport.PassportError`` catches it; ``failures`` holds every hard
    failure, and the message names each on its own line.
    """

    def __init__(self, checkpoint: Path | str, failures: Sequence[Finding]) -> None:
        self.checkpoint = checkpoint
        self.failures = list(failures)
        lines = "\n".join(f"  {f.check}: {f.message}" for f in self.failures)
        super().__init__(f"DO NOT LOAD {checkpoint}: {len(self.failures)} hard failure(s)\n{lines}")
