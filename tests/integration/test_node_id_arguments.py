"""Printed node ids passed back as arguments select those checks (serial and ``-n 2``)."""

from __future__ import annotations

import re

import pytest

from pytest_passport.checkpoint import Checkpoint
from pytest_passport.suite import plan


def _ran(result: pytest.RunResult) -> set[str]:
    """Node ids of the suite's items in a ``-v`` run's per-item lines (serial or xdist form)."""
    return {m.group(1) for line in result.outlines
            if re.search(r"\b(PASSED|SKIPPED|XFAIL|FAILED)\b", line) and (m := re.search(r"(checkpoint::\S+\])", line))}


def test_node_ids_select_their_checks(pytester: pytest.Pytester, clean_checkpoint, mode: list[str]) -> None:
    """One exact node id plus one section: exactly those items run, the rest are not collected as files."""
    planned = plan(Checkpoint(clean_checkpoint.root))
    exact = next(p.node_id for p in planned if p.is_file)
    section = "checkpoint::signoff"
    wanted = {exact} | {p.node_id for p in planned if p.node_id.startswith(section + "[")}
    result = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", exact, section, "-v", *mode)
    assert result.ret == 0, result.stdout.str()
    assert _ran(result) == wanted
    assert sum(result.parseoutcomes().get(k, 0) for k in ("passed", "skipped", "xfailed")) == len(wanted)


def test_the_suite_root_selects_everything(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """``checkpoint`` alone runs the whole suite, as no argument does."""
    everything = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}").parseoutcomes()
    rooted = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "checkpoint").parseoutcomes()
    assert rooted == everything


def test_unknown_node_id_is_a_usage_error(pytester: pytest.Pytester, clean_checkpoint, mode: list[str]) -> None:
    """A node id naming no check: a usage error that names it, not "file not found"."""
    result = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "checkpoint::nope[x]", *mode)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "checkpoint::nope[x]: no such check in the checkpoint's suite" in result.stdout.str() + result.stderr.str()


def test_signing_refuses_a_node_id_selection(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--sign with node ids runs part of the suite, so no SIGNOFF.json is written."""
    result = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "checkpoint::signoff", "--sign",
                                "--reason", "partial")
    assert result.ret != 0
    assert not (clean_checkpoint.root / "SIGNOFF.json").exists()
    result.stdout.fnmatch_lines(["signoff: not written*"])


def test_a_real_path_named_checkpoint_keeps_pytests_meaning(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """When ./checkpoint exists, ``checkpoint`` is a path again: pytest collects the test file in it."""
    pytester.mkpydir("checkpoint").joinpath("test_local.py").write_text("def test_local():\n    pass\n")
    result = pytester.runpytest(f"--checkpoint={clean_checkpoint.root}", "checkpoint", "-rA")
    assert "PASSED checkpoint/test_local.py::test_local" in result.stdout.str()
