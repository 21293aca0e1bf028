"""Signing end to end: sign-checkpoint and pytest --sign, serial and under -n 2."""

from __future__ import annotations

import json

import pytest

from pytest_passport import schema


def signoff_of(root) -> dict:
    return json.loads((root / schema.SIGNOFF_FILENAME).read_text())


def test_clean_checkpoint_signs_with_verdict_pass(cli, clean_checkpoint, mode) -> None:
    """A complete passport signs with verdict pass and no --reason; the gate then passes."""
    root = clean_checkpoint.root
    result = cli("sign-checkpoint", root, *mode)
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(["wrote *SIGNOFF.json  verdict=pass  artifacts=10"])
    signoff = signoff_of(root)
    assert signoff["verdict"] == "pass"
    assert signoff["verdict_reason"] == "all hard checks pass"
    assert [a["path"] for a in signoff["artifacts"]][0] == "MODEL_PASSPORT.json"
    assert cli("validate-checkpoint", root, "--require-signoff", *mode).ret == 0


def test_serial_and_xdist_signoffs_are_identical(cli, clean_checkpoint) -> None:
    """The SIGNOFF.json content (ignoring signed_at) does not depend on -n."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root).ret == 0
    serial = signoff_of(root)
    (root / schema.SIGNOFF_FILENAME).unlink()
    assert cli("sign-checkpoint", root, "-n", "2").ret == 0
    parallel = signoff_of(root)
    serial.pop("signed_at"), parallel.pop("signed_at")
    assert serial == parallel
    assert len(serial["artifacts"]) == 1 + len(clean_checkpoint.passport.declared_files)


def test_sign_refuses_hard_failure_and_writes_nothing(cli, clean_checkpoint, mode) -> None:
    """A changed weight byte makes sign-checkpoint exit 1 with no SIGNOFF.json on disk."""
    root = clean_checkpoint.root
    data = bytearray((root / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (root / "model.safetensors").write_bytes(bytes(data))
    result = cli("sign-checkpoint", root, *mode)
    assert result.ret == 1
    result.stderr.fnmatch_lines(["refusing to sign: DO NOT LOAD (*hard failure(s); reference verdict dont_ship)", "*model.safetensors: sha256 on disk differs*"])
    assert not (root / schema.SIGNOFF_FILENAME).exists()
    assert not list(root.glob(".SIGNOFF.json*"))


def test_soft_signals_demand_a_reason(cli, clean_checkpoint) -> None:
    """Without --reason, soft signals exit 2 and print the paste-able auto summary."""
    root = clean_checkpoint.root
    clean_checkpoint.passport.provenance.run_log_path = None
    clean_checkpoint.write_passport()
    result = cli("sign-checkpoint", root)
    assert result.ret == 2
    result.stderr.fnmatch_lines(['*--reason "auto: 1 soft signal(s) accepted -- run_log_path_format"'])
    assert not (root / schema.SIGNOFF_FILENAME).exists()
    result = cli("sign-checkpoint", root, "--reason", "auto: 1 soft signal(s) accepted -- run_log_path_format")
    assert result.ret == 0
    signoff = signoff_of(root)
    assert signoff["verdict"] == "soft_signal"
    assert signoff["verdict_reason"] == "auto: 1 soft signal(s) accepted -- run_log_path_format"


def test_resign_after_passport_edit(cli, clean_checkpoint) -> None:
    """Editing the passport invalidates the signoff; signing again works without deleting it."""
    root = clean_checkpoint.root
    assert cli("sign-checkpoint", root).ret == 0
    clean_checkpoint.passport.provenance.parent_description = "fine-tuned from run 6"
    clean_checkpoint.write_passport()
    gate = cli("validate-checkpoint", root, "--require-signoff")
    assert gate.ret == 1
    gate.stdout.fnmatch_lines(["*passport_checksum_valid: MODEL_PASSPORT.json changed since it was signed*"])
    assert cli("sign-checkpoint", root).ret == 0
    assert cli("validate-checkpoint", root, "--require-signoff").ret == 0


def test_dry_run_prints_and_writes_nothing(cli, clean_checkpoint) -> None:
    """--dry-run prints the signoff JSON and leaves the directory untouched."""
    root = clean_checkpoint.root
    result = cli("sign-checkpoint", root, "--dry-run")
    assert result.ret == 0
    printed = json.loads(result.stdout.str())
    assert printed["verdict"] == "pass"
    assert list(printed) == ["schema_version", "signed_at", "signed_by", "artifacts", "verdict", "verdict_reason"]
    result.stderr.fnmatch_lines(["dry run: would write *SIGNOFF.json"])
    assert not (root / schema.SIGNOFF_FILENAME).exists()


def test_sign_without_passport_is_usage_error(cli, tmp_path) -> None:
    """sign-checkpoint on a directory with no passport exits 2 naming the file."""
    result = cli("sign-checkpoint", tmp_path)
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*no MODEL_PASSPORT.json here*"])


@pytest.mark.parametrize(
    "selection",
    [["-k", "signoff"], ["-m", "static"], ["--deselect", "checkpoint::signoff[signoff_present]"], ["--skip-section", "provenance"]],
    ids=["k", "m", "deselect", "skip-section"],
)
def test_partial_runs_never_sign(pytester: pytest.Pytester, clean_checkpoint, selection) -> None:
    """-k, -m, --deselect and --skip-section make --sign refuse; nothing is written."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--sign", *selection)
    result.stdout.fnmatch_lines(["signoff: not written:*"])
    assert result.ret != 0
    assert not (clean_checkpoint.root / schema.SIGNOFF_FILENAME).exists()


def test_collect_only_never_signs(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--collect-only with --sign writes nothing."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--sign", "--collect-only")
    assert not (clean_checkpoint.root / schema.SIGNOFF_FILENAME).exists()
    assert result.ret != 0


def test_pytest_sign_under_xdist_writes_once_on_controller(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """pytest --sign -n 2 writes one complete signoff with every declared file's digest."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--sign", "-n", "2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["signoff: wrote *SIGNOFF.json (verdict pass)"])
    signed = {a["path"]: a["sha256"] for a in signoff_of(clean_checkpoint.root)["artifacts"]}
    for entry in clean_checkpoint.passport.declared_files:
        assert signed[entry.path] == entry.sha256


def test_sign_and_require_signoff_exclude_each_other(pytester: pytest.Pytester, clean_checkpoint) -> None:
    """--sign with --require-signoff is a usage error."""
    result = pytester.runpytest("--checkpoint", clean_checkpoint.root, "--sign", "--require-signoff")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
