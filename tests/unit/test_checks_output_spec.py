"""Unit tests for the output_spec checks."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_passport.checks.output_spec import output_actions_vs_input_actions, smoke_results_pass
from pytest_passport.findings import Status

SUB_KEYS = [{"key": "arm", "dim": 6}, {"key": "gripper", "dim": 1}]


def actions(out: dict[str, Any] | None, inp: dict[str, Any] | None) -> dict[str, Any]:
    passport: dict[str, Any] = {}
    if out is not None:
        passport["output_spec"] = {"actions": out}
    if inp is not None:
        passport["input_contract"] = {"actions": inp}
    return passport


def test_actions_both_absent_is_not_checked(make_checkpoint, run_check):
    """Neither side declared → not_checked."""
    finding = run_check(output_actions_vs_input_actions, make_checkpoint(actions(None, None)))
    assert finding.status is Status.NOT_CHECKED
    assert "neither" in finding.message


def test_actions_one_side_is_soft(make_checkpoint, run_check):
    """Only input_contract.actions declared → soft_signal naming the missing side."""
    finding = run_check(output_actions_vs_input_actions, make_checkpoint(actions(None, {"total_dim": 7, "horizon": 16})))
    assert finding.status is Status.SOFT_SIGNAL
    assert "output_spec.actions is not" in finding.message


def test_actions_horizon_mismatch_fails(make_checkpoint, run_check):
    """Different horizons fail with both values."""
    finding = run_check(output_actions_vs_input_actions, make_checkpoint(actions({"horizon": 8}, {"horizon": 16})))
    assert finding.status is Status.FAIL
    assert "output_spec.actions.horizon 8 != input_contract.actions.horizon 16" == finding.message


def test_actions_sub_keys_order_mismatch_fails(make_checkpoint, run_check):
    """sub_keys arrays with different (key, dim) order fail."""
    root = make_checkpoint(actions({"sub_keys": list(reversed(SUB_KEYS))}, {"sub_keys": SUB_KEYS}))
    finding = run_check(output_actions_vs_input_actions, root)
    assert finding.status is Status.FAIL
    assert finding.details["input_sub_keys"] == [("arm", 6), ("gripper", 1)]


def test_actions_string_sub_keys_pass(make_checkpoint, run_check):
    """A reference string in output sub_keys is accepted; equal horizons pass."""
    root = make_checkpoint(actions({"sub_keys": "see input_contract.actions.sub_keys", "horizon": 16},
                                   {"sub_keys": SUB_KEYS, "horizon": 16}))
    finding = run_check(output_actions_vs_input_actions, root)
    assert finding.status is Status.PASS
    assert finding.details["horizon"] == 16


def smoke(**buckets: Any) -> dict[str, Any]:
    return {"output_spec": {"smoke_results": buckets}}


def test_smoke_absent_is_not_checked(make_checkpoint, run_check):
    """No smoke_results → not_checked."""
    finding = run_check(smoke_results_pass, make_checkpoint({"output_spec": {}}))
    assert finding.status is Status.NOT_CHECKED
    assert "smoke_results" in finding.message


@pytest.mark.parametrize(
    ("buckets", "status", "text"),
    [
        ({"determinism": {"status": "pass"}, "liveness": {"status": "fail"}}, Status.FAIL, "failed: liveness"),
        ({"nan_inf": {"samples_checked": 8, "n_nan": 0, "n_inf": 0}}, Status.PASS, "passed: nan_inf"),
        ({"nan_inf": {"samples_checked": 8}}, Status.PASS, "passed: nan_inf"),
        ({"nan_inf": {"samples_checked": 8, "n_nan": 3}}, Status.FAIL, "failed: nan_inf"),
        ({"nan_inf": {"n_inf": 1}}, Status.FAIL, "failed: nan_inf"),
        ({"nan_inf": {"samples_checked": 0}}, Status.SOFT_SIGNAL, "no bucket passed"),
        ({"distribution": {"ratio_in_acceptable_range": False}}, Status.FAIL, "failed: distribution"),
        ({"range_check": {"in_expected_range": True}}, Status.PASS, "passed: range_check"),
        ({"determinism": {"max_abs_diff": 0.0}, "calibration_batch_size": 8}, Status.SOFT_SIGNAL, "no bucket passed"),
    ],
)
def test_smoke_bucket_rules(make_checkpoint, run_check, buckets, status, text):
    """Bucket verdicts by spec §2.4, with recorded NaN/Inf counts honoured (spec §8.13 fix)."""
    finding = run_check(smoke_results_pass, make_checkpoint(smoke(**buckets)))
    assert finding.status is status
    assert text in finding.message


def test_smoke_pass_lists_not_run(make_checkpoint, run_check):
    """A pass names the buckets that were not run."""
    finding = run_check(smoke_results_pass, make_checkpoint(smoke(determinism={"status": "pass"})))
    assert finding.status is Status.PASS
    assert "not run: nan_inf" in finding.message
    assert finding.details["buckets"]["determinism"] == "pass"
