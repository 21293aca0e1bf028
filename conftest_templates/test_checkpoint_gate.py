"""Load gate for the checkpoint this repository deploys (set POLICY_CHECKPOINT to enable)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pytest_passport

CHECKPOINT = os.environ.get("POLICY_CHECKPOINT")
#: The deployment repository whose HEAD the passport may pin; this file's repository by default.
TARGET_REPO = os.environ.get("POLICY_TARGET_REPO", str(Path(__file__).resolve().parent))


@pytest.mark.skipif(not CHECKPOINT, reason="POLICY_CHECKPOINT is not set")
def test_checkpoint_is_signed_and_unchanged() -> None:
    """The checkpoint is signed, every declared file matches its signed sha256, nothing unsigned is loadable."""
    passport = pytest_passport.load_passport(CHECKPOINT)
    bound = passport.provenance is not None and passport.provenance.deployment_repo_commit
    pytest_passport.verify(CHECKPOINT, require_signoff=True, target_repo=TARGET_REPO if bound else None)
