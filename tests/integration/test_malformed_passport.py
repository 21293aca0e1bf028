"""Malformed passports become failed checks with clear messages, never a crash."""

from __future__ import annotations

import json

import pytest

from pytest_passport.schema import PASSPORT_FILENAME

CASES = {
    "bad-json": ('{"schema_version": "0.2",', "*passport_loadable: MODEL_PASSPORT.json: invalid JSON: * (line 1, column *"),
    "top-level-array": ("[1, 2, 3]", "*passport_loadable: MODEL_PASSPORT.json: top level must be a JSON object, got an array*"),
    "top-level-string": ('"passport"', "*passport_loadable: MODEL_PASSPORT.json: top level must be a JSON object, got a str*"),
    "wrong-type": (
        json.dumps({"schema_version": "0.2", "input_contract": {"actions": {"horizon": "16"}}}),
        '*passport_loadable: MODEL_PASSPORT.json: input_contract.actions.horizon: expected integer, got "16"*',
    ),
    "wrong-block-type": (
        json.dumps({"schema_version": "0.2", "model_identity": [1]}),
        "*model_identity: expected object, got an array*",
    ),
    "missing-required": (
        json.dumps({"schema_version": "0.2", "weight_integrity": {"weight_files": [{"path": "a.bin", "sha256": "0" * 64}]}}),
        "*weight_integrity.weight_files[[]0[]].size_bytes: required key is missing*",
    ),
    "huge-integer": (
        '{"schema_version": "0.2", "input_contract": {"state": {"total_dim": ' + "9" * 5000 + "}}}",
        "*passport_loadable: MODEL_PASSPORT.json: invalid JSON:*",
    ),
    "big-integer": (
        json.dumps({"schema_version": "0.2", "weight_integrity": {"weight_files": [{"path": "a", "sha256": "0" * 64, "size_bytes": 10**30}]}}),
        "*size_bytes: integer out of range*",
    ),
    "infinity": (
        '{"schema_version": "0.2", "output_spec": {"actions": {"control_rate_hz": 1e999}}}',
        "*output_spec.actions.control_rate_hz: 1e999 is out of range for a 64-bit float*",
    ),
    "nan-literal": ('{"schema_version": "0.2", "stack": NaN}', "*passport_loadable: MODEL_PASSPORT.json: stack: NaN is not valid JSON*"),
    "unsupported-version": (json.dumps({"schema_version": "0.1"}), '*schema_version "0.1" is not supported*'),
    "missing-version": (json.dumps({"stack": "act"}), "*schema_version missing is not supported*"),
    "not-utf8": (b'{"stack": "\xff"}', "*not UTF-8 text*"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_malformed_passport_fails_cleanly(pytester: pytest.Pytester, clean_checkpoint, case, xdist) -> None:
    """The passport_loadable check fails with the JSON path; passport checks become not_checked."""
    content, pattern = CASES[case]
    path = clean_checkpoint.root / PASSPORT_FILENAME
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    args = ["--checkpoint", clean_checkpoint.root, "-rs"] + (["-n", "2"] if xdist else [])
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    result.stdout.fnmatch_lines([pattern])
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert "Traceback" not in result.stderr.str()


def test_degraded_passport_makes_passport_checks_not_checked(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """With an unusable passport only passport_loadable fails; static checks still run."""
    (clean_checkpoint.root / PASSPORT_FILENAME).write_text("{")
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "-rs")
    result.assert_outcomes(failed=1, passed=7, skipped=28, xfailed=1)
    result.stdout.fnmatch_lines(["*camera_identity: MODEL_PASSPORT.json is unusable (see passport_loadable)*"])


def test_malformed_passport_cannot_be_signed(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--sign refuses when the passport does not load, and writes nothing."""
    (clean_checkpoint.root / PASSPORT_FILENAME).write_text(json.dumps({"schema_version": "0.2", "stack": 7}))
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--sign")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*stack: expected string, got 7*", "signoff: not written:*hard failure*"])
    assert not (clean_checkpoint.root / "SIGNOFF.json").exists()
