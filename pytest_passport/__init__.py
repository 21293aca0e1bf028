"""pytest-passport: validate, sign and gate robot-policy checkpoints as a pytest suite."""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Report, load_passport, verify  # noqa: E402
from .bundle import checkpoint_uri_for_epoch  # noqa: E402
from .errors import (  # noqa: E402
    BundleError,
    CheckpointNotFoundError,
    DocumentError,
    PassportError,
    UnreadableCheckpointError,
    UnsafePathError,
    VerificationError,
)
from .findings import Finding, Status  # noqa: E402

__all__ = [
    "BundleError",
    "CheckpointNotFoundError",
    "DocumentError",
    "Finding",
    "PassportError",
    "Report",
    "Status",
    "UnreadableCheckpointError",
    "UnsafePathError",
    "VerificationError",
    "__version__",
    "checkpoint_uri_for_epoch",
    "load_passport",
    "verify",
]
