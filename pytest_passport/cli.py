"""``validate-checkpoint`` and ``sign-checkpoint``: thin CLIs that run pytest in-process.

Each runs the checkpoint's suite only, whatever the current directory holds: no
conftest.py, no ini file, no cache directory is read or written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ._cliutil import add_version, one_line
from .guard import utf8_safe
from .nodes import SESSION_KEY
from .schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, dumps_signoff
from .session import PassportSession
from . import signoff as signing

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class _Capture:
    """Receives the run's session state once the plugin has configured it."""

    def __init__(self, dry_run: bool = False) -> None:
        self.state: PassportSession | None = None
        self.dry_run = dry_run

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.state = config.stash.get(SESSION_KEY, None)
        if self.state is not None:
            self.state.dry_run = self.dry_run


def run_suite(checkpoint: str, options: Sequence[str], *, numprocesses: int | None = None, show_not_checked: bool = False, dry_run: bool = False) -> tuple[int, PassportSession | None]:
    """Run pytest on ``checkpoint`` only; returns pytest's exit code and the session state."""
    args = [
        "-c", os.devnull,
        "--rootdir", str(Path.cwd()),
        "--noconftest",
        "-p", "no:cacheprovider",
        "-o", "addopts=",
        "-q", "--no-header", "--tb=short",
        "-rfx" + ("s" if show_not_checked else ""),
        f"--checkpoint={checkpoint}",
        *options,
    ]
    if numprocesses and not utf8_safe(str(checkpoint)):
        # execnet sends the command line to xdist workers as UTF-8 text only.
        _err(f"{checkpoint}: the path is not valid UTF-8, which -n cannot pass to workers; validating in one process")
        numprocesses = None
    hermetic = _hermetic_plugins()
    if hermetic or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # Only this plugin (and xdist for -n): other plugins installed in the environment
        # neither run inside the gate nor cost their import time (most of a small run's).
        args[:0] = ["-p", "pytest_passport.plugin"] + (["-p", "xdist.plugin"] if numprocesses else [])
        if hermetic:
            args[:0] = ["--disable-plugin-autoload"]
    if numprocesses:
        args += ["-n", str(numprocesses)]
    capture = _Capture(dry_run=dry_run)
    # A dry run prints the signoff on stdout; the validation transcript then goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if dry_run else contextlib.nullcontext():
        code = pytest.main(args, plugins=[capture])
    return int(code), capture.state


def _hermetic_plugins() -> bool:
    """Whether to run without auto-loaded third-party plugins (``--disable-plugin-autoload``).

    Needs pytest >= 8.4 for the flag; skipped when ``PYTEST_ADDOPTS`` is set, whose options
    may belong to a plugin (``--cov``, ``-n auto``…) and must keep parsing.
    """
    return pytest.version_tuple[:2] >= (8, 4) and not os.environ.get("PYTEST_ADDOPTS", "").strip()


def _exit_status(code: int) -> int:
    if code == pytest.ExitCode.OK:
        return EXIT_OK
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    return EXIT_REFUSED


def _common(parser: argparse.ArgumentParser) -> None:
    add_version(parser)
    parser.add_argument(
        "checkpoint",
        metavar="CKPT",
        help="checkpoint: a directory, a .zip bundle, file://…, DIR/:latest, s3://bucket/key.zip or "
        "hf://org/repo[@rev][/subdir] (s3 and hf are read-only: validate only)",
    )
    parser.add_argument("--target-repo", metavar="DIR", help="deployment repo bound by provenance.deployment_repo_commit")
    parser.add_argument("--dataset-path", metavar="DIR", help="local LeRobot-format dataset")
    parser.add_argument("-n", "--numprocesses", type=int, metavar="N", help="spread per-file hashing over N pytest-xdist workers")


def _forwarded(ns: argparse.Namespace) -> list[str]:
    out: list[str] = []
    if ns.target_repo:
        out += ["--target-repo", ns.target_repo]
    if ns.dataset_path:
        out += ["--dataset-path", ns.dataset_path]
    return out


def validate_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="validate-checkpoint",
        description="Validate a checkpoint against its MODEL_PASSPORT.json. Exit 0: loadable; 1: do not load; 2: usage.",
    )
    _common(parser)
    parser.add_argument("--require-signoff", action="store_true", help="fail unless SIGNOFF.json exists and matches (the load gate)")
    parser.add_argument(
        "--trusted-key",
        action="append",
        default=[],
        metavar="FILE",
        help="pinned Ed25519 public key (repeatable; replaces [tool.pytest_passport] trusted_keys of ./pyproject.toml)",
    )
    parser.add_argument("--model-signing-signature", metavar="FILE", help="OpenSSF model-signing bundle (key mode) to verify")
    parser.add_argument("--model-signing-key", metavar="FILE", help="EC public key (PEM) for --model-signing-signature")
    parser.add_argument("--skip-section", action="append", default=[], metavar="NAME", help="drop a section's checks (repeatable)")
    parser.add_argument("--show-not-checked", action="store_true", help="list not_checked rows too")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report (layout pytest-passport/report/1) to FILE; '-' for stdout")
    parser.add_argument("--html", metavar="FILE", help="write the passport card, one self-contained HTML page, to FILE; '-' for stdout")
    parser.add_argument("--markdown", metavar="FILE", help="write the passport card as Markdown (for a PR comment) to FILE; '-' for stdout")
    ns = parser.parse_args(argv)
    if ns.require_signoff and ns.skip_section:
        parser.error(one_line(f"--require-signoff cannot be combined with --skip-section {ns.skip_section[0]}: "
                              "the load gate runs every check"))
    missing = missing_local(ns.checkpoint)
    if missing:
        parser.error(one_line(missing))
    options = _forwarded(ns)
    if ns.require_signoff:
        options.append("--require-signoff")
    for name in ns.skip_section:
        options += ["--skip-section", name]
    for key in ns.trusted_key:
        options += ["--trusted-key", key]
    if bool(ns.model_signing_signature) != bool(ns.model_signing_key):
        parser.error("--model-signing-signature and --model-signing-key go together")
    if ns.model_signing_signature:
        options += ["--model-signing-signature", ns.model_signing_signature, "--model-signing-key", ns.model_signing_key]
    reports = [(ns.json, "json"), (ns.html, "html"), (ns.markdown, "markdown")]
    to_stdout = any(path == "-" for path, _ in reports)
    if sum(path == "-" for path, _ in reports) > 1:
        parser.error("only one of --json/--html/--markdown can write to '-' (stdout)")
    # A report on stdout keeps stdout for itself: the transcript goes to stderr.
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr) if to_stdout else contextlib.nullcontext():
        code, state = run_suite(ns.checkpoint, options, numprocesses=ns.numprocesses, show_not_checked=ns.show_not_checked)
        status = _exit_status(code)
        if state is not None:
            status = max(status, write_reports(state, reports, stdout))
        verdict = "LOADABLE" if status == EXIT_OK else ("DO NOT LOAD" if status == EXIT_REFUSED else "USAGE ERROR")
        _out(f"{verdict} {ns.checkpoint}")
    return status


def sign_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sign-checkpoint",
        description="Validate a checkpoint and write SIGNOFF.json. Exit 0: signed; 1: refused; 2: usage or --reason missing.",
    )
    _common(parser)
    parser.add_argument("--reason", metavar="TEXT", help="verdict_reason (required when there are soft signals)")
    parser.add_argument("--dry-run", action="store_true", help="print the signoff instead of writing it")
    parser.add_argument("--signing-key", metavar="FILE", help="Ed25519 private key (PEM or OpenSSH, mode 0600) that signs SIGNOFF.json")
    ns = parser.parse_args(argv)
    from . import bundle
    from .errors import PassportError

    if bundle.uri_scheme(str(ns.checkpoint)) in ("s3", "hf"):
        parser.error(one_line(f"{ns.checkpoint}: remote checkpoints are read-only; sign the local bundle, then upload it"))
    from .guard import local_root, readable_root

    try:
        if (local := local_root(str(ns.checkpoint))) is not None:
            readable_root(local)
        resolved = bundle.resolve(ns.checkpoint)
    except PassportError as exc:
        parser.error(one_line(str(exc)))
    except OSError as exc:
        parser.error(one_line(f"{ns.checkpoint}: cannot read {exc.filename or ns.checkpoint}: {exc.strerror or exc}"))
    if resolved.zip_path is None:
        return _sign(parser, str(resolved.root), ns)
    # A zip bundle is signed in a private copy, then rewritten atomically with the new files.
    try:
        with bundle.edit_zip(resolved.zip_path) as edit:
            status = _sign(parser, str(edit.root), ns)
            edit.save = status == EXIT_OK and not ns.dry_run
    except PassportError as exc:  # e.g. the zip changed while it was being signed (compare-and-swap)
        _err(f"refusing to sign: {exc}")
        return EXIT_REFUSED
    if edit.save:
        _out(f"rewrote {resolved.zip_path} with {PASSPORT_FILENAME} and {SIGNOFF_FILENAME} at its root")
    return status


def _sign(parser: argparse.ArgumentParser, checkpoint: str, ns: argparse.Namespace) -> int:
    """Validate, sign, and confirm with the gate; a failed confirmation removes the new signoff."""
    root = Path(checkpoint)
    if not (root / PASSPORT_FILENAME).is_file():
        parser.error(one_line(f"{ns.checkpoint}: no {PASSPORT_FILENAME} here; run generate-passport first"))
    options = _forwarded(ns) + ["--sign"]
    if ns.reason:
        options += ["--reason", ns.reason]
    if ns.signing_key:
        options += ["--signing-key", ns.signing_key]
    code, state = run_suite(checkpoint, options, numprocesses=ns.numprocesses, dry_run=ns.dry_run)
    decision = state.decision if state is not None else None
    if decision is None:
        _err(f"refusing to sign {ns.checkpoint}: validation did not complete (pytest exit {code})")
        return _exit_status(code) if code == pytest.ExitCode.USAGE_ERROR else EXIT_REFUSED
    if decision.hard_failures:
        _err(f"refusing to sign: DO NOT LOAD ({len(decision.hard_failures)} hard failure(s); reference verdict dont_ship)")
        for line in decision.hard_failures:
            _err(f"  {line}")
        return EXIT_REFUSED
    if decision.reason_required:
        _err("refusing to sign: soft signals need a documented --reason; to accept them as they are, paste:")
        _err(f'  --reason "{decision.auto_summary}"')
        return EXIT_USAGE
    if decision.signoff is None:
        _err(f"refusing to sign: {'; '.join(decision.refused)}")
        return EXIT_REFUSED
    if ns.dry_run:
        sys.stdout.write(dumps_signoff(decision.signoff))
        _err(f"dry run: would write {decision.path}")
        return EXIT_OK
    _out(f"wrote {decision.path}  verdict={decision.verdict}  artifacts={len(decision.signoff.artifacts or [])}")
    from .authenticity import summary_line

    _out(summary_line(state.authenticity))
    # The confirmation pins the signing key, so it also proves the new signature verifies.
    block = decision.signoff.extra.get("signature")
    pinned = ["--trusted-key", block["public_key"]] if isinstance(block, dict) else []
    confirm, transcript = _quiet_gate(checkpoint, _forwarded(ns) + pinned, ns.numprocesses)
    if confirm != pytest.ExitCode.OK:
        sys.stderr.write(transcript)
        signing.remove(root / SIGNOFF_FILENAME)
        _err(f"refusing to sign: the gate (--require-signoff) failed on the new {SIGNOFF_FILENAME}; removed it")
        return EXIT_REFUSED
    return EXIT_OK


def write_reports(state: PassportSession, reports: Sequence[tuple[str | None, str]], stdout: Any) -> int:
    """Write each requested report (``-``: stdout); an unwritable path is a usage error."""
    from . import report

    render = {"json": report.to_json, "html": report.to_html, "markdown": report.to_markdown}
    status = EXIT_OK
    for path, kind in reports:
        if not path:
            continue
        text = render[kind](state)
        try:
            if path == "-":
                stdout.write(text)
                stdout.flush()
            else:
                report.write(path, text)
        except OSError as exc:
            _err(f"validate-checkpoint: cannot write report {path}: {exc.strerror or exc}")
            status = EXIT_USAGE
    return status


def missing_local(given: str) -> str | None:
    """``no such checkpoint: X`` for a plain local path naming nothing (URIs and ``:latest`` resolve later)."""
    from .bundle import latest_base, uri_scheme

    if uri_scheme(given) or latest_base(given) is not None:
        return None
    path = Path(given)
    if path.exists() or (path.name and path.with_name(path.name + ".zip").exists()):
        return None
    return f"no such checkpoint: {given}"


def _quiet_gate(checkpoint: str, options: list[str], numprocesses: int | None) -> tuple[int, str]:
    """The post-signing gate run, its transcript kept back (the suite was already printed once)."""
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code, _ = run_suite(checkpoint, options + ["--require-signoff"], numprocesses=numprocesses)
    return code, buffer.getvalue()


def _err(text: str) -> None:
    print(one_line(text), file=sys.stderr)


def _out(text: str) -> None:
    """A line on stdout; odd file names (undecodable bytes, lone surrogates, control characters) are escaped."""
    print(one_line(text))


def main(argv: Sequence[str] | None = None) -> Any:  # pragma: no cover - convenience for python -m
    return validate_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(validate_main())
