"""Deciding whether a run may sign, building SIGNOFF.json, and writing it atomically.

Only the controlling process writes (never an xdist worker), once, at session finish, and
only when ``--sign`` was given, nothing failed hard, every planned test reported, and soft
signals (if any) come with a ``--reason``.

Just before writing, the checkpoint is listed again and compared with the listing taken when
the run started (device, inode, size, mtime and ctime of every file; every other entry): if
anything was added, removed, replaced or written to meanwhile, the digests the run computed
may not be the bytes on disk, and nothing is written. The write itself is atomic: a temp file
``.SIGNOFF.json.<pid>.tmp`` created with ``O_EXCL`` in the same directory, fsynced, then
``os.replace``; it is removed on failure, and a leftover of a killed signer is removed by the
next write (and tolerated by ``checkpoint_tree_declared`` until then).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .hashing import identity, sha256_file
from .schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, TEMP_NAME, Artifact, SignedBy, Signoff, write_signoff
from .session import FAILED, SOFT, PassportSession
from .tree import Tree, walk

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
    #: The checkpoint as listed when the run started, and the sizes the run hashed.
    tree: Tree | None = None
    hashed_sizes: dict[str, int] = field(default_factory=dict)

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
        passport_sha, _ = sha256_file(root / PASSPORT_FILENAME, follow=False)
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

    decision.tree = session.tree_at_start
    decision.hashed_sizes = {path: digest[1] for path, digest in session.file_digests.items()}
    decision.signoff = Signoff(
        schema_version="0.2",
        signed_at=utc_now(),
        signed_by=SignedBy("pytest-passport", __version__),
        artifacts=artifacts,
        verdict="soft_signal" if soft else "pass",
        verdict_reason=session.reason or DEFAULT_REASON,
    )
    return decision


def changes_since(before: Tree, root: Path, hashed_sizes: dict[str, int] | None = None) -> list[str]:
    """What differs between ``before`` and the tree on disk now (the signoff and temp files aside)."""
    now = walk(root)

    def skip(rel: str) -> bool:
        return rel == SIGNOFF_FILENAME or ("/" not in rel and TEMP_NAME.match(rel) is not None)

    changed: list[str] = []
    for rel in sorted(set(before.files) | set(now.files)):
        if skip(rel):
            continue
        old, new = before.files.get(rel), now.files.get(rel)
        if old is None:
            changed.append(f"{rel} appeared")
        elif new is None:
            changed.append(f"{rel} disappeared or is no longer a regular file")
        elif identity(old) != identity(new):
            changed.append(f"{rel} was modified or replaced")
    old_others = {(e.rel, e.kind) for e in before.others if not skip(e.rel)}
    new_others = {(e.rel, e.kind) for e in now.others if not skip(e.rel)}
    changed.extend(f"{rel} ({kind}) appeared or changed" for rel, kind in sorted(old_others ^ new_others))
    for rel, size in (hashed_sizes or {}).items():
        st = now.files.get(rel)
        if st is not None and st.st_size != size:
            changed.append(f"{rel}: {size} bytes were hashed, {st.st_size} are on disk")
    return changed


def write(decision: SignDecision) -> None:
    """Write the decided signoff atomically, unless the checkpoint changed during the run.

    A refusal (changed files, or an ``OSError`` such as a read-only mount) clears
    ``decision.signoff`` and records why in ``decision.refused``; nothing is written then.
    """
    assert decision.signoff is not None and decision.path is not None
    if decision.tree is not None:
        changed = changes_since(decision.tree, decision.path.parent, decision.hashed_sizes)
        if changed:
            more = f" (+{len(changed) - 1} more)" if len(changed) > 1 else ""
            decision.refused.append(f"the checkpoint changed while it was being validated: {changed[0]}{more}; run again")
            decision.signoff = None
            return
    try:
        write_signoff(decision.signoff, decision.path)
    except OSError as exc:
        decision.refused.append(f"cannot write {decision.path}: {exc.strerror or exc}")
        decision.signoff = None
        return
    decision.written = True


def remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
