"""validate-checkpoint flags: reports, --show-not-checked, --skip-section, exit codes."""

from __future__ import annotations

import json


def test_json_report(cli, clean_checkpoint, tmp_path) -> None:
    """--json writes the reference-shaped report with one observation per test."""
    out = tmp_path / "report.json"
    assert cli("validate-checkpoint", clean_checkpoint.root, "--json", out).ret == 0
    report = json.loads(out.read_text())
    assert report["verdict"] == "human_look_here"
    assert report["passport_load_status"] == "passport_no_signoff"
    first = report["observations"][0]
    assert first["check"] == "passport_loadable" and first["status"] == "pass"
    assert first["nodeid"] == "checkpoint::schema_version[passport_loadable]"
    assert {o["category"] for o in report["observations"]} >= {"signoff", "input_expectation", "model_internals", "provenance", "output_spec"}


def test_markdown_and_html_reports(cli, clean_checkpoint, tmp_path) -> None:
    """--markdown and --html write the card with every check, status in words."""
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    assert cli("validate-checkpoint", clean_checkpoint.root, "--markdown", md, "--html", page).ret == 0
    assert "| **SOFT SIGNAL** | `signoff_present` | signoff |" in md.read_text()
    assert "<code>camera_identity</code>" in page.read_text()


def test_show_not_checked(cli, clean_checkpoint) -> None:
    """--show-not-checked lists the skipped rows with their reasons."""
    result = cli("validate-checkpoint", clean_checkpoint.root, "--show-not-checked")
    result.stdout.fnmatch_lines(["SKIPPED*input_contract_vs_dataset: *"])


def test_require_signoff_with_skip_signoff_is_usage_error(cli, clean_checkpoint) -> None:
    """--require-signoff with --skip-section signoff exits 2."""
    result = cli("validate-checkpoint", clean_checkpoint.root, "--require-signoff", "--skip-section", "signoff")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*--require-signoff cannot be combined with --skip-section signoff*"])


def test_missing_checkpoint_exit_2(cli, tmp_path) -> None:
    """A checkpoint path that does not exist is a usage error (exit 2)."""
    result = cli("validate-checkpoint", tmp_path / "nope")
    assert result.ret == 2


def test_caller_directory_is_ignored(cli, clean_checkpoint, pytester) -> None:
    """The caller's conftest.py, ini file and tests are neither run nor read."""
    pytester.makeconftest("raise RuntimeError('conftest must not be imported')")
    pytester.makeini("[pytest]\naddopts = -x --this-flag-does-not-exist\n")
    pytester.makepyfile(test_caller="def test_caller():\n    assert False\n")
    result = cli("validate-checkpoint", clean_checkpoint.root)
    assert result.ret == 0
    assert "test_caller.py" not in result.stdout.str()
    assert not (pytester.path / ".pytest_cache").exists()


def test_checkpoint_conftest_is_not_executed(cli, clean_checkpoint, tmp_path) -> None:
    """A conftest.py shipped inside a checkpoint is never imported by the CLI."""
    marker = tmp_path / "pwned"
    (clean_checkpoint.root / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    cli("validate-checkpoint", clean_checkpoint.root)
    assert not marker.exists()


def test_unwritable_report_is_a_usage_error(cli, clean_checkpoint, tmp_path) -> None:
    """A --json path in a missing directory exits 2 with a message naming it, no traceback."""
    result = cli("validate-checkpoint", clean_checkpoint.root, "--json", tmp_path / "missing" / "r.json")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*cannot write report*r.json*"])
    assert "Traceback" not in result.stderr.str()
