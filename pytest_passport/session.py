"""Everything one validation run knows, in one place (kept in ``config.stash``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .checkpoint import Checkpoint
from .checks import CheckContext, CheckOptions
from .hashing import DigestCache
from .suite import PlannedCheck, plan, selected

if TYPE_CHECKING:
    from .authenticity import Authenticity

PASSED, SOFT, NOT_CHECKED, FAILED = "passed", "soft_signal", "not_checked", "failed"


@dataclass
class Outcome:
    section: str
    name: str
    status: str
    message: str = ""
    finding: dict[str, Any] | None = None


@dataclass
class PassportSession:
    """The run's checkpoint, options, plan and, on the controller, the outcomes reported so far."""

    checkpoint: Checkpoint
    options: CheckOptions
    #: The checkpoint as the user named it (a path, a zip, a URI).
    source: str = ""
    sign: bool = False
    reason: str | None = None
    skip_sections: set[str] = field(default_factory=set)
    digests: DigestCache = field(default_factory=DigestCache)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    file_digests: dict[str, tuple[str, int]] = field(default_factory=dict)
    partial: list[str] = field(default_factory=list)
    decision: Any = None
    #: Decide and report the signoff but do not write it (``sign-checkpoint --dry-run``).
    dry_run: bool = False
    #: Collect the ``gpu`` items (the run's ``-m`` expression names ``gpu``).
    gpu: bool = False
    #: Ed25519 private key of ``--signing-key`` (controller only; never printed).
    signing_key: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.context = CheckContext(self.checkpoint, self.options, self.digests)
        self.planned: list[PlannedCheck] = plan(self.checkpoint, gpu=self.gpu)
        self.selected: list[PlannedCheck] = selected(self.planned, self.skip_sections)
        #: Passport bytes digest and the tree listing when the run started; signing refuses if
        #: either changes meanwhile (see :func:`pytest_passport.signoff.changes_since`).
        self.passport_sha256_at_start = self.checkpoint.passport.sha256
        self.tree_at_start = self.checkpoint.tree

    def note_selected(self, item_names: list[str]) -> None:
        """The items that will run (after ``-k``/``-m``/``--deselect``/``--skip-section``):
        declared files among them are compared with the signoff by their own check."""
        files = {p.item_name: p.name for p in self.planned if p.is_file}
        self.options.per_file_checks = frozenset(files[name] for name in item_names if name in files)

    def record(self, item_name: str, status: str, message: str, properties: list[tuple[str, Any]]) -> None:
        """Fold one test report into the outcome table (a failure in any phase wins)."""
        section, _, rest = item_name.partition("[")
        name = rest[:-1] if rest.endswith("]") else rest
        previous = self.outcomes.get(item_name)
        if previous is not None and previous.status == FAILED:
            return
        finding = None
        for key, value in properties:
            if key == "passport_finding":
                finding = value
                message = value.get("message", message)
            elif key == "passport_sha256":
                path, digest, size = value
                self.file_digests[path] = (digest, size)
        self.outcomes[item_name] = Outcome(section, name, status, message, finding)

    @property
    def authenticity(self) -> Authenticity:
        """Who signed: the ``signoff_signature`` outcome, or the key this run signed with.

        ``.status`` is ``verified`` / ``integrity_only`` / ``failed``; ``.signer_fingerprint``
        is the signing key's ``SHA256:...`` fingerprint (None when unsigned).
        """
        from .authenticity import summarise, written_by

        decision = self.decision
        if decision is not None and getattr(decision, "signoff", None) is not None:
            return written_by(decision.signoff, self.options.trusted_keys)
        outcome = self.outcomes.get("signoff[signoff_signature]")
        if outcome is None:
            return summarise(None, {"trusted_fingerprints": [k.fingerprint for k in self.options.trusted_keys]}, "signature not checked")
        finding = outcome.finding or {}
        return summarise(_FINDING_STATUS[outcome.status], finding.get("details"), outcome.message)

    def missing(self) -> list[str]:
        """Selected tests that produced no outcome (deselected, -x cut, crashed worker…)."""
        return [p.item_name for p in self.planned if p.item_name not in self.outcomes]

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status == status]

    def findings(self) -> list[dict[str, Any]]:
        """Reported findings in plan order, for machine-readable reports."""
        out = []
        for p in self.planned:
            outcome = self.outcomes.get(p.item_name)
            if outcome is None:
                continue
            finding = dict(outcome.finding or {"check": p.name, "status": _FINDING_STATUS[outcome.status], "message": outcome.message, "details": {}})
            finding["section"] = p.section
            finding["category"] = p.category
            finding["nodeid"] = p.node_id
            if outcome.status == FAILED and finding.get("status") != "fail":
                finding["status"] = "fail"  # e.g. a soft signal under --runxfail
            out.append(finding)
        return out


_FINDING_STATUS = {PASSED: "pass", SOFT: "soft_signal", NOT_CHECKED: "not_checked", FAILED: "fail"}


def jsonable(value: Any) -> Any:
    """Details travel between xdist processes and into reports: keep them plain JSON."""
    return json.loads(json.dumps(value, default=str))
