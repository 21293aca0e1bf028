"""Machine- and human-readable reports of a validation run (JSON, Markdown, HTML)."""

from __future__ import annotations

import html
import json
from typing import Any

from .findings import Finding, Status, verdict_of
from .session import PassportSession

_ICON = {"pass": "✅", "fail": "❌", "soft_signal": "⚠️", "not_checked": "⬜"}


def load_status(state: PassportSession) -> str:
    """The reference's ``passport_load_status`` vocabulary."""
    passport = state.checkpoint.passport
    if passport.state == "absent":
        return "no_passport"
    if not passport.ok or passport.document.schema_version != "0.2":
        return "passport_degraded"
    return "passport_and_signoff" if state.checkpoint.signoff.ok else "passport_no_signoff"


def as_dict(state: PassportSession) -> dict[str, Any]:
    findings = state.findings()
    verdict = verdict_of([Finding(f["check"], Status(f["status"]), f["message"]) for f in findings])
    return {
        "checkpoint_dir": state.source or str(state.checkpoint.given),
        "verdict": verdict,
        "observations": findings,
        "passport_load_status": load_status(state),
        "passport_load_notes": list(state.checkpoint.passport.problems),
        "skipped_sections": sorted(state.skip_sections),
        "authenticity": state.authenticity.as_dict(),
    }


def to_json(state: PassportSession) -> str:
    return json.dumps(as_dict(state), indent=2, ensure_ascii=False) + "\n"


def to_markdown(state: PassportSession) -> str:
    data = as_dict(state)
    lines = [
        f"# Checkpoint passport report: `{data['checkpoint_dir']}`",
        "",
        f"**Verdict:** {data['verdict']}  ",
        f"**Load status:** {data['passport_load_status']}",
        "",
        "| | section | check | message |",
        "|---|---|---|---|",
    ]
    for f in data["observations"]:
        message = str(f["message"]).replace("|", "\\|")
        lines.append(f"| {_ICON[f['status']]} | {f['section']} | `{f['check']}` | {message} |")
    return "\n".join(lines) + "\n"


def to_html(state: PassportSession) -> str:
    data = as_dict(state)
    rows = "\n".join(
        f"<tr class=\"{f['status']}\"><td>{_ICON[f['status']]}</td><td>{html.escape(f['section'])}</td>"
        f"<td><code>{html.escape(f['check'])}</code></td><td>{html.escape(str(f['message']))}</td></tr>"
        for f in data["observations"]
    )
    title = html.escape(f"Checkpoint passport report: {data['checkpoint_dir']}")
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>"
        f"{title}</title></head><body>\n<h1>{title}</h1>\n"
        f"<p>Verdict: <strong>{html.escape(data['verdict'])}</strong>; load status: {html.escape(data['passport_load_status'])}</p>\n"
        "<table>\n<tr><th></th><th>section</th><th>check</th><th>message</th></tr>\n"
        f"{rows}\n</table>\n</body></html>\n"
    )
