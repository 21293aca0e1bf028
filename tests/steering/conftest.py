"""Fixtures for the untrusted-checkpoint tests: the console-script runner and the -n 2 switch."""

from __future__ import annotations

from ..integration.conftest import cli, mode  # noqa: F401  (shared fixtures, re-exported)
