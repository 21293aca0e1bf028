"""Deciding whether a run may sign, building SIGNOFF.json, and writing it atomically.

Only the controlling process writes (never an xdist worker), once, at session finish, and
only when ``--sign`` was given, nothing failed hard, every planned test reported, and soft
signals (if any) come with a ``--reason``.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .hashing import sha256_file
from .schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, Artifact, SignedBy, Signoff, write_signoff
from .session import FAILED, SOFT, PassportSession

DEFAULT_REASON = "all hard checks pass"


@dataclass
class SignDecision:
    """The outcome of a signing attempt; ``refused`` lists why nothing was written."""

    signoff: Signoff | None = None
    path: Path | None = None
    written: bool = False
    refused: list[str] = field(default_factory=list)
    reason_required: bool = False
    auto_summary: str | None = None
    hard_failures: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str | None:
        return self.signoff.verdict if self.signoff else None


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def auto_summary(soft_checks: list[str]) -> str:
    """The paste-able reason offered when soft signals need accepting."""
    return f"auto: {len(soft_checks)} soft signal(s) accepted -- {', '.join(soft_checks)}"


def decide(session: PassportSession, *, collect_only: bool = False, stopped: bool = False) -> SignDecision:
    """Whether this run may sign, and the signoff it would write."""
    decision = SignDecision(path=session.checkpoint.root / SIGNOFF_FILENAME)
    failed = session.by_status(FAILED)
    decision.hard_failures = [f"{o.name}: {o.message}" for o in failed]
    if collect_only:
        decision.refused.append("--collect-only: nothing was validated")
    if stopped:
        decision.refused.append("the run was stopped early (-x / --maxfail)")
    if session.skip_sections:
        decision.refused.append(f"--skip-section {', '.join(sorted(session.skip_sections))}: a partial run cannot sign")
    missing = session.missing()
    if missing and not session.skip_sections:
        decision.refused.append(f"partial selection: {len(missing)} planned test(s) did not run (e.g. {missing[0]})")
    if failed:
        decision.refused.append(f"{len(failed)} hard failure(s)")
    load = session.checkpoint.passport
    if not load.ok:
        decision.refused.append(f"{PASSPORT_FILENAME} is missing or unusable")
    if decision.refused:
        return decision

    soft = [o.name for o in session.by_status(SOFT)]
    if soft and not session.reason:
        decision.reason_required = True
        decision.auto_summary = auto_summary(soft)
        decision.refused.append(f"{len(soft)} soft signal(s) need --reason")
        return decision

    root = session.checkpoint.root
    try:
        passport_sha, _ = sha256_file(root / PASSPORT_FILENAME)
    except OSError as exc:
        decision.refused.append(f"cannot re-read {PASSPORT_FILENAME}: {exc}")
        return decision
    if passport_sha != session.passport_sha256_at_start:
        decision.refused.append(f"{PASSPORT_FILENAME} changed while it was being validated")
        return decision

    artifacts = [Artifact(PASSPORT_FILENAME, passport_sha)]
    seen: set[str] = set()
    for entry in load.document.declared_files:
        if entry.path in seen:
            continue
        seen.add(entry.path)
        digest = session.file_digests.get(entry.path)
        if digest is None:
            decision.refused.append(f"no digest was reported for {entry.path}")
            return decision
        artifacts.append(Artifact(entry.path, digest[0]))

    decision.signoff = Signoff(
        schema_version="0.2",
        signed_at=utc_now(),
        signed_by=SignedBy("pytest-passport", __version__),
        artifacts=artifacts,
        verdict="soft_signal" if soft else "pass",
        verdict_reason=session.reason or DEFAULT_REASON,
    )
    return decision


def write(decision: SignDecision) -> None:
    """Write the decided signoff atomically (temp file in the same directory + ``os.replace``)."""
    assert decision.signoff is not None and decision.path is not None
    write_signoff(decision.signoff, decision.path)
    decision.written = True


def remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
