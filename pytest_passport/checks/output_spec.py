"""Checks of ``output_spec``: output contract vs input actions, and upstream smoke results."""

from __future__ import annotations

from typing import Any

from ..contract import SmokeResults
from ..findings import Finding
from ._base import CheckContext, check, no_passport
from ._config import is_blank

SECTION = "output_spec"
CATEGORY = "output_spec"
BUCKETS = ("determinism", "nan_inf", "liveness", "distribution", "range_check")


def _pairs(sub_keys: list[Any]) -> list[tuple[Any, Any]]:
    return [(item.get("key"), item.get("dim")) if isinstance(item, dict) else (item, None) for item in sub_keys]


@check("output_actions_vs_input_actions", section=SECTION, category=CATEGORY)
def output_actions_vs_input_actions(ctx: CheckContext) -> Finding:
    """Reference semantics: ``output_spec.actions`` mirrors ``input_contract.actions`` (horizon, sub-keys)."""
    name = "output_actions_vs_input_actions"
    if (nc := no_passport(name, ctx)):
        return nc
    passport = ctx.passport
    out = passport.output_spec.actions if passport.output_spec else None
    inp = passport.input_contract.actions if passport.input_contract else None
    out, inp = (None if is_blank(out) else out), (None if is_blank(inp) else inp)
    if out is None and inp is None:
        return Finding.not_checked(name, "neither output_spec.actions nor input_contract.actions declared")
    if out is None or inp is None:
        present, absent = ("output_spec.actions", "input_contract.actions") if inp is None else (
            "input_contract.actions", "output_spec.actions")
        return Finding.soft(name, f"{present} declared but {absent} is not")
    if out.horizon is not None and inp.horizon is not None and out.horizon != inp.horizon:
        return Finding.failed(name, f"output_spec.actions.horizon {out.horizon} != input_contract.actions.horizon {inp.horizon}",
                              output_horizon=out.horizon, input_horizon=inp.horizon)
    if isinstance(out.sub_keys, list) and inp.sub_keys:
        ours, theirs = _pairs(out.sub_keys), _pairs(inp.sub_keys)
        if ours != theirs:
            return Finding.failed(name, "output_spec.actions.sub_keys (key, dim) differ from input_contract.actions.sub_keys",
                                  output_sub_keys=ours, input_sub_keys=theirs)
    return Finding.passed(name, "output_spec.actions mirrors input_contract.actions",
                          horizon=inp.horizon if inp.horizon is not None else out.horizon)


def _status(value: Any) -> str | None:
    text = str(value).lower() if value else ""
    return text if text in ("pass", "fail") else None


def _bool_verdict(value: bool | None) -> str | None:
    return None if value is None else ("pass" if value else "fail")


def bucket_verdicts(smoke: SmokeResults) -> dict[str, str | None]:
    """``pass``/``fail``/``None`` (unknown or not run) per bucket, by the rules of spec §2.4.

    Fix (spec §8.13): ``nan_inf`` without ``status`` fails on positive ``n_nan``/``n_inf`` and
    passes only when ``samples_checked`` > 0 and both counts are 0 or absent.
    """
    verdicts: dict[str, str | None] = {}
    for bucket in BUCKETS:
        block = getattr(smoke, bucket)
        verdict = _status(block.status) if block else None
        if block and verdict is None and block.status in (None, ""):
            if bucket == "nan_inf":
                counts = [c for c in (block.n_nan, block.n_inf) if c]
                if counts:
                    verdict = "fail"
                elif block.samples_checked and block.samples_checked > 0:
                    verdict = "pass"
            elif bucket == "distribution":
                verdict = _bool_verdict(block.ratio_in_acceptable_range)
            elif bucket == "range_check":
                verdict = _bool_verdict(block.in_expected_range)
        verdicts[bucket] = verdict
    return verdicts


@check("smoke_results_pass", section=SECTION, category=CATEGORY)
def smoke_results_pass(ctx: CheckContext) -> Finding:
    """Upstream smoke buckets: any fail fails, none passed is a soft signal.

    Fix (spec §8.13): see :func:`bucket_verdicts` — recorded NaN/Inf counts are no longer ignored.
    """
    name = "smoke_results_pass"
    if (nc := no_passport(name, ctx)):
        return nc
    spec = ctx.passport.output_spec
    smoke = spec.smoke_results if spec else None
    if is_blank(smoke):
        return Finding.not_checked(name, "output_spec.smoke_results not recorded")
    verdicts = bucket_verdicts(smoke)
    failed = [b for b, v in verdicts.items() if v == "fail"]
    passed = [b for b, v in verdicts.items() if v == "pass"]
    not_run = [b for b, v in verdicts.items() if v is None]
    details = {"buckets": verdicts, "not_run": not_run}
    if failed:
        return Finding.failed(name, f"output_spec.smoke_results failed: {', '.join(failed)}", **details)
    if not passed:
        return Finding.soft(name, "output_spec.smoke_results: no bucket passed (all absent or unknown)", **details)
    suffix = f"; not run: {', '.join(not_run)}" if not_run else ""
    return Finding.passed(name, f"output_spec.smoke_results passed: {', '.join(passed)}{suffix}", **details)
