"""Benchmark helper plugin: swap the xdist scheduler of a ``validate-checkpoint -n N`` run.

Loaded through ``PYTEST_PLUGINS=xdist_schedulers`` (with this directory on ``PYTHONPATH``) by
``bench_hashing.py --schedulers``; ``PASSPORT_BENCH_SCHEDULER=load|worksteal`` picks xdist's
stock ``LoadScheduling`` or ``WorkStealingScheduling`` instead of the plugin's size-aware one.
Not part of the package.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScheduling, WorkStealingScheduling

    kind = os.environ.get("PASSPORT_BENCH_SCHEDULER", "")
    if kind == "load":
        return LoadScheduling(config, log)
    if kind == "worksteal":
        return WorkStealingScheduling(config, log)
    return None
