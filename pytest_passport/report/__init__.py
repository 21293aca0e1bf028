"""Reports of a validation run: ``--json`` (versioned layout), ``--markdown`` and the ``--html`` card.

All three carry the same content: the gate decision (LOADABLE / DO NOT LOAD), who signed
and why, the observations with failures first, and the coverage map. Check outcomes use one
vocabulary everywhere: ``pass``, ``soft_signal``, ``not_checked``, ``fail``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._jsonmap import finite_or_none
from ..findings import Finding, Status, verdict_of
from .layout import LAYOUT
from .text import clean, safe

if TYPE_CHECKING:
    from ..checkpoint import Checkpoint
    from ..session import PassportSession

__all__ = ["GATE_LOADABLE", "GATE_REFUSED", "as_dict", "build", "load_status", "to_html", "to_json", "to_markdown"]

GATE_LOADABLE, GATE_REFUSED = "LOADABLE", "DO NOT LOAD"
STATUS_ORDER = {"fail": 0, "soft_signal": 1, "not_checked": 2, "pass": 3}
MAX_MARKDOWN_COVERAGE_ROWS = 300
STATUS_LABEL = {"fail": "FAIL", "soft_signal": "SOFT SIGNAL", "not_checked": "NOT CHECKED", "pass": "PASS"}


def load_status(state: PassportSession) -> str:
    """The reference's ``passport_load_status`` vocabulary."""
    passport = state.checkpoint.passport
    if passport.state == "absent":
        return "no_passport"
    if not passport.ok or passport.document.schema_version != "0.2":
        return "passport_degraded"
    return "passport_and_signoff" if state.checkpoint.signoff.ok else "passport_no_signoff"


def passport_document(checkpoint: Checkpoint) -> dict[str, Any]:
    """The passport as a JSON object: typed and re-dumped when it loads, else raw when it parses."""
    from ..schema import PASSPORT_FILENAME, parse_json, passport_to_dict

    load = checkpoint.passport
    if load.ok:
        return passport_to_dict(load.document)
    if load.state == "absent":
        return {}
    try:  # the same JSON rules as loading (no NaN/Infinity: the report must stay valid JSON)
        return parse_json(checkpoint.read_bytes(PASSPORT_FILENAME), PASSPORT_FILENAME)
    except Exception:  # noqa: BLE001 - an unusable passport has no coverage to show
        return {}


def _signoff(checkpoint: Checkpoint) -> dict[str, Any]:
    load = checkpoint.signoff
    if not load.ok:
        return {"present": False, "verdict": None, "verdict_reason": None, "signed_at": None, "signed_by": None}
    doc = load.document
    by = doc.signed_by
    who = " ".join(str(p) for p in (by.tool, by.version) if p) if by is not None else None
    return {"present": True, "verdict": doc.verdict, "verdict_reason": doc.verdict_reason, "signed_at": doc.signed_at, "signed_by": who or None}


def build(
    checkpoint: Checkpoint,
    findings: Iterable[Mapping[str, Any]],
    *,
    source: str = "",
    require_signoff: bool = False,
    skipped_sections: Iterable[str] = (),
    load_status_text: str = "",
) -> dict[str, Any]:
    """The ``--json`` document (layout :data:`~pytest_passport.report.layout.LAYOUT`)."""
    from .. import __version__
    from ..coverage import coverage_map, summary

    observations = [dict(f) for f in findings]
    verdict = verdict_of([Finding(str(f["check"]), Status(f["status"]), str(f.get("message", ""))) for f in observations])
    counts = {status: 0 for status in STATUS_ORDER}
    for f in observations:
        counts[f["status"]] += 1
    coverage = coverage_map(passport_document(checkpoint), observations)
    notes = list(checkpoint.passport.problems)
    data = {
        "report_layout": LAYOUT,
        "tool_version": __version__,
        "checkpoint": source or str(checkpoint.given),
        "checkpoint_root": str(checkpoint.root),
        "gate": GATE_REFUSED if counts["fail"] else GATE_LOADABLE,
        "verdict": verdict,
        "require_signoff": require_signoff,
        "counts": counts,
        "signoff": _signoff(checkpoint),
        "observations": observations,
        "coverage": [e.to_dict() for e in coverage],
        "coverage_summary": summary(coverage),
        "passport_load_status": load_status_text,
        "passport_load_notes": notes,
        "skipped_sections": sorted(skipped_sections),
        "checkpoint_dir": source or str(checkpoint.given),
        "authenticity": _authenticity(observations),
        "notes": [],
    }
    return clean(data)


def _authenticity(observations: list[dict[str, Any]]) -> dict[str, Any]:
    """Who signed, from the ``signoff_signature`` observation (integrity only when absent)."""
    from ..authenticity import summarise

    for f in observations:
        if f.get("check") == "signoff_signature":
            return summarise(str(f["status"]), f.get("details"), str(f.get("message", ""))).as_dict()
    return summarise(None, None, "signature not checked").as_dict()


def as_dict(state: PassportSession) -> dict[str, Any]:
    """The ``--json`` document of a finished run."""
    data = build(
        state.checkpoint,
        state.findings(),
        source=state.source,
        require_signoff=state.options.require_signoff,
        skipped_sections=state.skip_sections,
        load_status_text=load_status(state),
    )
    data["authenticity"] = clean(state.authenticity.as_dict())
    missing = state.missing()
    if missing:
        data["notes"].append(f"{len(missing)} check(s) did not run (deselected or stopped early)")
    return data


def to_json(state: PassportSession) -> str:
    # a finding measured on a NaN model carries NaN figures: null, so the report stays valid JSON
    return json.dumps(finite_or_none(as_dict(state)), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _context(state: PassportSession) -> dict[str, Any]:
    from .card import card_context

    data = as_dict(state)
    ordered = sorted(data["observations"], key=lambda f: STATUS_ORDER.get(f["status"], 9))
    reason = data["signoff"]["verdict_reason"]
    soft = [
        {**f, "accepted": safe(reason) if data["signoff"]["present"] and reason else ""}
        for f in ordered
        if f["status"] == "soft_signal"
    ]
    groups: dict[str, list[dict[str, Any]]] = {"requires_human": [], "not_checked": [], "covered": []}
    for row in data["coverage"]:
        groups.setdefault(row["state"], []).append(row)
    return {
        "data": data,
        "ordered": ordered,
        "soft": soft,
        "coverage_groups": groups,
        "labels": STATUS_LABEL,
        #: A pull-request comment holds at most 65536 characters: the Markdown card lists this many paths.
        "max_md_rows": MAX_MARKDOWN_COVERAGE_ROWS,
        "card": card_context(passport_document(state.checkpoint), state.checkpoint.root),
    }


def _environment(autoescape: bool) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_passport", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    return env


def _md_cell(value: Any) -> str:
    """A value safe inside one Markdown table cell."""
    text = safe(value if value is not None else "")
    for old, new in (("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("\r", " "), ("\n", " ")):
        text = text.replace(old, new)
    return text


def to_html(state: PassportSession) -> str:
    """The passport card: one self-contained page (inline CSS, images as data URIs)."""
    return _environment(True).get_template("card.html.j2").render(**_context(state))


def to_markdown(state: PassportSession) -> str:
    """The same card as Markdown, for a pull-request comment."""
    return _environment(False).get_template("card.md.j2").render(**_context(state))


def write(path: str, text: str) -> None:
    """Write a report to ``path`` (``-``: stdout) atomically, as UTF-8."""
    import sys

    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from ..schema import write_atomic

    write_atomic(Path(path), text)
