"""The controller's reporter: folds item reports into the session state, signs, and summarises.

Registered per run by the plugin (like pytest's ``LogXML`` in ``junitxml``); under xdist the
workers' reports reach it on the controller, whose instance alone writes SIGNOFF.json
(``hasattr(config, "workerinput")`` tells a worker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import signoff as signing
from ._cliutil import one_line
from .checks import SECTION_ORDER
from .errors import ascii_path
from .nodes import NODE_ROOT
from .session import FAILED, NOT_CHECKED, PASSED, SOFT, PassportSession

__all__ = ["PROGRESS_KEY", "PassportReporter"]

#: The hashing progress line of this run (a TTY only), stopped at session finish.
PROGRESS_KEY = pytest.StashKey[Any]()


class PassportReporter:
    """Folds reports into the session state and, on the controller, signs and summarises.

    Registered per run like pytest's ``LogXML``; under xdist it receives the workers'
    reports (``user_properties`` carry findings and digests) on the controller.
    """

    def __init__(self, config: pytest.Config, state: PassportSession) -> None:
        self.config = config
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.nodeid.startswith(NODE_ROOT + "::"):
            return
        item_name = report.nodeid.split("::", 1)[1]
        if report.failed:
            self.state.record(item_name, FAILED, _first_line(report.longreprtext), report.user_properties)
        elif report.skipped:
            status = SOFT if hasattr(report, "wasxfail") else NOT_CHECKED
            self.state.record(item_name, status, _skip_reason(report), report.user_properties)
        elif report.when == "call":
            self.state.record(item_name, PASSED, "", report.user_properties)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = self.state
        progress = self.config.stash.get(PROGRESS_KEY, None)
        if progress is not None:
            progress.stop()
        state.digests.close()
        if hasattr(self.config, "workerinput") or not state.sign:
            return
        decision = signing.decide(
            state,
            collect_only=bool(self.config.option.collectonly),
            stopped=bool(session.shouldstop or session.shouldfail),
        )
        state.decision = decision
        if decision.signoff is not None and state.signing_key is not None:
            from .authenticity import attach_signature

            attach_signature(decision.signoff, state.signing_key)
        if decision.signoff is not None and not state.dry_run:
            try:
                signing.write(decision)
            except OSError as exc:  # read-only media, no permission, a directory in the way
                decision.refused.append(f"cannot write {ascii_path(decision.path or exc.filename or '')}: "
                                        f"{exc.strerror or exc}")
                decision.signoff = None
        if decision.signoff is None and session.exitstatus == pytest.ExitCode.OK:
            # A signing run that could not sign did not do what it was asked.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return
        state = self.state

        def write(line: str, **markup: bool) -> None:  # one line each, whatever a file name holds
            terminalreporter.write_line(one_line(line), **markup)

        if self.config.get_verbosity() <= -2:  # -qq: no table, only what signing did
            if state.sign:
                self._summarise_signing(write)
            return
        terminalreporter.section("checkpoint passport")
        where = f" (from {state.source})" if state.source and Path(state.source) != state.checkpoint.root else ""
        write(f"checkpoint: {state.checkpoint.root}{where}")
        write(f"{'section':<24}{'pass':>6}{'soft_signal':>13}{'not_checked':>13}{'fail':>6}")
        counts: dict[str, dict[str, int]] = {}
        for outcome in state.outcomes.values():
            row = counts.setdefault(outcome.section, {PASSED: 0, SOFT: 0, NOT_CHECKED: 0, FAILED: 0})
            row[outcome.status] += 1
        for section in SECTION_ORDER:
            if section in counts:
                row = counts[section]
                write(f"{section:<24}{row[PASSED]:>6}{row[SOFT]:>13}{row[NOT_CHECKED]:>13}{row[FAILED]:>6}")
        if state.skip_sections:
            write(f"skipped sections: {', '.join(sorted(state.skip_sections))}")
        if state.sign:
            self._summarise_signing(write)
        else:
            from .authenticity import summary_line

            auth = state.authenticity
            write(summary_line(auth), red=auth.status == "failed", yellow=auth.status == "integrity_only")

    def _summarise_signing(self, write: Any) -> None:
        decision = self.state.decision
        if decision is None:
            write("signoff: not written (the run ended before it could be decided)", red=True)
        elif decision.written:
            from .authenticity import summary_line

            write(f"signoff: wrote {decision.path} (verdict {decision.verdict})", green=True)
            write(summary_line(self.state.authenticity))
        elif decision.signoff is not None:
            write(f"signoff: dry run, would write {decision.path} (verdict {decision.verdict})")
        else:
            write(f"signoff: not written: {'; '.join(decision.refused)}", red=True)
            if decision.auto_summary:
                write(f'  to accept them: --reason "{decision.auto_summary}"')


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
