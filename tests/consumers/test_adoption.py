"""A consumer repository adopts the templates: its tests and the gate run together."""

from __future__ import annotations

import pytest

from .conftest import OWN_TEST_COUNT, sign

#: The gate test and the contract snapshot, one each per configured checkpoint.
GATE_TESTS = 2


@pytest.fixture
def signed(consumer: pytest.Pytester, unbound_checkpoint, monkeypatch: pytest.MonkeyPatch):
    """The unbound checkpoint, signed, named by POLICY_CHECKPOINT, its contract snapshot recorded."""
    sign(consumer, unbound_checkpoint.root)
    monkeypatch.setenv("POLICY_CHECKPOINT", str(unbound_checkpoint.root))
    consumer.runpytest_subprocess("--snapshot-update").assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS)
    assert list((consumer.path / "tests" / "passport" / "__snapshots__").rglob("*.json"))
    return unbound_checkpoint


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_own_tests_and_gate_pass_together(consumer: pytest.Pytester, signed, extra: list[str]) -> None:
    """On a signed checkpoint the consumer's own tests, the gate and the snapshot all pass in one run."""
    result = consumer.runpytest_subprocess(*extra)
    result.assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS)
    if not extra:  # under xdist the controller never imports the gate's conftest.py
        result.stdout.fnmatch_lines(["pytest-passport gate: POLICY_CHECKPOINT"])


def test_drifted_contract_fails_until_snapshot_update(consumer: pytest.Pytester, signed) -> None:
    """A re-signed checkpoint whose input contract drifted fails the snapshot with a diff; --snapshot-update accepts it."""
    signed.passport.input_contract.images[0].color_order = "BGR"
    signed.write_passport()
    sign(consumer, signed.root)
    result = consumer.runpytest_subprocess()
    result.assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS - 1, failed=1)
    result.stdout.fnmatch_lines(["*test_feeding_contract_unchanged*", "*-*\"color_order\": \"RGB\"*", "*+*\"color_order\": \"BGR\"*"])
    consumer.runpytest_subprocess("--snapshot-update").assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS)
    consumer.runpytest_subprocess().assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS)


def test_resigning_alone_changes_no_snapshot(consumer: pytest.Pytester, signed) -> None:
    """Re-hashing and re-signing without a contract change leaves the snapshot green (volatile fields excluded)."""
    (signed.root / "TRAINING_LOG.md").write_text("# run 7\nloss went down further\n")
    signed.rehash()
    sign(consumer, signed.root)
    consumer.runpytest_subprocess().assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS)


def test_unsigned_checkpoint_fails_the_gate(consumer: pytest.Pytester, unbound_checkpoint, monkeypatch) -> None:
    """An unsigned checkpoint fails the gate with DO NOT LOAD naming the check, and no traceback of the tool."""
    monkeypatch.setenv("POLICY_CHECKPOINT", str(unbound_checkpoint.root))
    consumer.runpytest_subprocess("--snapshot-update")
    result = consumer.runpytest_subprocess()
    result.assert_outcomes(passed=OWN_TEST_COUNT + GATE_TESTS - 1, failed=1)
    result.stdout.fnmatch_lines(["*DO NOT LOAD POLICY_CHECKPOINT*", "*signoff_present*"])
    assert "api.py" not in result.stdout.str()


def test_configured_but_unset_checkpoint_is_an_error(consumer: pytest.Pytester, monkeypatch) -> None:
    """pyproject names ${POLICY_CHECKPOINT}; with it unset the gate fails instead of skipping."""
    monkeypatch.delenv("POLICY_CHECKPOINT", raising=False)
    monkeypatch.delenv("POLICY_CHECKPOINTS", raising=False)
    result = consumer.runpytest_subprocess()
    result.assert_outcomes(passed=OWN_TEST_COUNT, errors=GATE_TESTS)
    result.stdout.fnmatch_lines(["*${POLICY_CHECKPOINT}, which is not set*"])


def test_inactive_plugin_still_collects(consumer: pytest.Pytester, signed) -> None:
    """With -p no:passport the suite collects (no unknown-hook error) and the gate reports itself inactive."""
    result = consumer.runpytest_subprocess("-p", "no:passport")
    result.assert_outcomes(passed=OWN_TEST_COUNT, skipped=GATE_TESTS)
    result.stdout.fnmatch_lines(["pytest-passport gate INACTIVE: the pytest-passport plugin is disabled (-p no:passport)"])
    result.stdout.fnmatch_lines(["SKIPPED*pytest-passport gate INACTIVE*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
