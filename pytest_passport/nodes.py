"""The pytest collector and items a checkpoint turns into."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .errors import ascii_path
from .findings import Finding, Status
from .session import PassportSession, jsonable
from .suite import NODE_ROOT, PlannedCheck, node_id

SESSION_KEY = pytest.StashKey[PassportSession]()


class SoftSignal(Exception):
    """Raised for a soft signal; the item carries ``xfail(raises=SoftSignal)`` so ``--runxfail`` is strict."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class CheckFailed(Exception):
    """Raised for a hard failure; rendered as one line plus details, never a traceback."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def wire(value: Any) -> Any:
    """``value`` with every string UTF-8 safe: reports cross xdist (execnet) and reach terminals as UTF-8.

    Lone surrogates (a file name's undecodable bytes, or ``\\udXXX`` escapes in a passport) are
    written as backslash escapes, e.g. ``b"\\xff"`` as ``\\xff``.
    """
    if isinstance(value, str):
        return ascii_path(value)
    if isinstance(value, dict):
        return {wire(k): wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(wire(v) for v in value)
    return value


def render(finding: Finding) -> str:
    lines = [f"{finding.check}: {finding.message}"]
    for key, value in finding.details.items():
        if value in (None, [], {}, ""):
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if len(text) > 300:
            text = text[:297] + "..."
        lines.append(f"    {key}: {text}")
    return ascii_path("\n".join(lines))


class CheckpointSuite(pytest.Collector):
    """A checkpoint collected as a test suite.

    Deliberately not a ``pytest.Directory``: pytest imports the ``conftest.py`` of every
    directory it collects, and a checkpoint is untrusted input.
    """

    def collect(self) -> list[pytest.Item]:
        session = self.config.stash[SESSION_KEY]
        return [CheckItem.from_parent(self, name=p.item_name, planned=p) for p in session.planned]


class CheckItem(pytest.Item):
    """One check (``<section>[<check>]``) or one declared file (``weight_integrity[<path>]``)."""

    def __init__(self, *, planned: PlannedCheck, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self._early: Finding | None = None
        if planned.static:
            self.add_marker(pytest.mark.static)
        if planned.gpu:
            self.add_marker(pytest.mark.gpu)

    def evaluate_early(self, ctx: Any) -> None:
        """Run the check at collection (for ``-m soft_signal``) and carry the marker it earns."""
        self._early = self.planned.run(ctx)
        if self._early.status is Status.SOFT_SIGNAL:
            self.add_marker(pytest.mark.soft_signal)

    def runtest(self) -> None:
        session = self.config.stash[SESSION_KEY]
        finding = self._early if self._early is not None else self.planned.run(session.context)
        self.user_properties.append(("passport_finding", wire(jsonable(finding.to_dict()))))
        if self.planned.is_file and "sha256" in finding.details:
            self.user_properties.append(
                ("passport_sha256", (wire(self.planned.name), finding.details["sha256"], finding.details["size_bytes"]))
            )
        if finding.status is Status.PASS:
            return
        if finding.status is Status.NOT_CHECKED:
            pytest.skip(wire(f"{finding.check}: {finding.message}"))
        if finding.status is Status.SOFT_SIGNAL:
            self.add_marker(pytest.mark.soft_signal)
            self.add_marker(pytest.mark.xfail(raises=SoftSignal, reason=wire(f"{finding.check}: {finding.message}"), strict=False))
            raise SoftSignal(finding)
        raise CheckFailed(finding)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, (CheckFailed, SoftSignal)):
            return render(excinfo.value.finding)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, node_id(self.name)
