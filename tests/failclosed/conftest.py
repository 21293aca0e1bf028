"""A signed checkpoint, built once per process by the shared builder, copied per test."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_passport import cli, verify
from pytest_passport.errors import VerificationError
from pytest_passport.findings import Finding

from ..conftest import build_clean_checkpoint

#: Generous: a check that blocks (a FIFO opened for reading) never returns at all.
HANG_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def signed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared clean checkpoint, signed by ``sign-checkpoint`` (in-process)."""
    root = build_clean_checkpoint(tmp_path_factory.mktemp("signed") / "ckpt").root
    assert cli.sign_main([str(root)]) == 0
    return root


@pytest.fixture
def signed(signed_template: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the signed checkpoint."""
    return Path(shutil.copytree(signed_template, tmp_path / "ckpt", symlinks=True))


def gate_failures(root: Path, **kwargs: Any) -> list[Finding]:
    """Hard failures of the load gate (``verify(require_signoff=True)``); empty when loadable."""
    try:
        verify(root, **kwargs)
    except VerificationError as exc:
        return exc.failures
    return []


def messages(failures: list[Finding]) -> str:
    return "\n".join(f"{f.check}: {f.message}" for f in failures)


def within(seconds: float, function: Callable[[], Any]) -> Any:
    """Run ``function`` in a thread; fail (instead of hanging the suite) if it does not return."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"did not return within {seconds} s (blocked)")
    if "error" in box:
        raise box["error"]
    return box.get("value")
