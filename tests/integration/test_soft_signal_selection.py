"""``-m soft_signal`` selects exactly the checks that report a soft signal (serial and ``-n 2``)."""

from __future__ import annotations

import pytest


def _xfailed(result: pytest.RunResult) -> set[str]:
    return {line.split()[1] for line in result.outlines if line.startswith("XFAIL checkpoint::")}


def test_soft_signal_marker_selects_the_soft_checks(pytester: pytest.Pytester, clean_checkpoint, mode: list[str]) -> None:
    """The items -m soft_signal runs are the ones a full run reports as soft signals, and nothing else."""
    full = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "-rx")
    soft = _xfailed(full)
    assert soft, "the clean checkpoint is expected to carry soft signals (it is unsigned)"
    selected = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "-m", "soft_signal", "-rx", *mode)
    selected.assert_outcomes(xfailed=len(soft))
    assert _xfailed(selected) == soft


def test_not_soft_signal_runs_the_rest(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """-m "not soft_signal" runs every other item, none of them a soft signal."""
    full = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}")
    outcomes = full.parseoutcomes()
    rest = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "-m", "not soft_signal")
    rest.assert_outcomes(passed=outcomes.get("passed", 0), skipped=outcomes.get("skipped", 0),
                         deselected=outcomes.get("xfailed", 0))
