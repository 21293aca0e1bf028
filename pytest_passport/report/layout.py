"""The versioned layout of ``validate-checkpoint --json``, defined once as dataclasses.

The JSON schema document (``report.schema.json`` next to this module) is derived from these
classes by :func:`json_schema`; a test keeps the committed file equal to the derivation, and
:func:`validate` checks a report against it without third-party packages.

Layout versions: ``pytest-passport/report/1`` — first published layout. Keys are only added
within a version; a removed or retyped key starts a new version.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["LAYOUT", "SCHEMA_PATH", "ReportLayout", "json_schema", "validate"]

LAYOUT = "pytest-passport/report/1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")

CheckStatus = Literal["pass", "soft_signal", "not_checked", "fail"]
Gate = Literal["LOADABLE", "DO NOT LOAD"]


@dataclass
class Observation:
    """One check's outcome (the reference's observation, plus where it sits in the suite)."""

    check: str
    status: CheckStatus
    message: str
    details: dict[str, Any]
    section: str
    category: str
    #: ``checkpoint::<section>[<check>]``: pass it to pytest as a node id.
    nodeid: str


@dataclass
class Evidence:
    """A check's result as evidence for one passport path."""

    check: str
    #: The check's status, or ``not run`` when it was deselected or skipped by section.
    status: str
    message: str


@dataclass
class CoverageRow:
    """One leaf path of the passport and what vouches for it (see ``pytest_passport.coverage``)."""

    path: str
    state: Literal["covered", "not_checked", "requires_human"]
    #: ``absent`` | ``no_check`` | ``check_not_run`` for not_checked; why a person is needed for requires_human.
    reason: str
    checks: list[Evidence]


@dataclass
class SignoffSummary:
    """Who signed, with which verdict and reason (``present`` false: no usable SIGNOFF.json)."""

    present: bool
    verdict: str | None
    verdict_reason: str | None
    signed_at: str | None
    signed_by: str | None


@dataclass
class AuthenticitySummary:
    """Who signed SIGNOFF.json, as far as the pinned keys tell (see ``pytest_passport.authenticity``)."""

    #: ``verified`` (signed by a pinned key), ``integrity_only`` (no key pinned, or not signed
    #: and none required), ``failed`` (signature check failed), ``signed`` (this run signed).
    status: Literal["verified", "integrity_only", "failed", "signed"]
    message: str
    #: ``SHA256:...`` of the key that signed the signoff (None: unsigned).
    signer_fingerprint: str | None
    trusted_fingerprints: list[str]


@dataclass
class ReportLayout:
    """The whole ``--json`` document."""

    report_layout: Literal["pytest-passport/report/1"]
    tool_version: str
    #: The checkpoint as named on the command line (path, zip, URI).
    checkpoint: str
    #: The local directory validated.
    checkpoint_root: str
    #: The load decision: LOADABLE (no check failed) or DO NOT LOAD.
    gate: Gate
    #: The reference format's aggregate verdict: ship_it | human_look_here | dont_ship.
    verdict: Literal["ship_it", "human_look_here", "dont_ship"]
    require_signoff: bool
    counts: dict[str, int]
    signoff: SignoffSummary
    #: Observations in suite order (the reference's report shape).
    observations: list[Observation]
    coverage: list[CoverageRow]
    coverage_summary: dict[str, int]
    passport_load_status: str
    passport_load_notes: list[str]
    skipped_sections: list[str]
    #: Same as ``checkpoint``; kept for readers of the reference layout.
    checkpoint_dir: str
    authenticity: AuthenticitySummary
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- schema derivation


def _schema_of(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return {}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(a, defs) for a in args]}
    if hint is type(None):
        return {"type": "null"}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if origin is list:
        return {"type": "array", "items": _schema_of(args[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(args[1], defs)}
    if dataclasses.is_dataclass(hint):
        name = hint.__name__
        if name not in defs:
            defs[name] = {}
            hints = typing.get_type_hints(hint, include_extras=False)
            fields = dataclasses.fields(hint)
            defs[name] = {
                "type": "object",
                "description": (hint.__doc__ or "").strip().splitlines()[0],
                "properties": {f.name: _schema_of(hints[f.name], defs) for f in fields},
                "required": [f.name for f in fields],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON schema for {hint!r}")


def json_schema() -> dict[str, Any]:
    """The JSON schema (2020-12 subset) of :class:`ReportLayout`."""
    defs: dict[str, Any] = {}
    root = _schema_of(ReportLayout, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": LAYOUT,
        "title": "validate-checkpoint --json report",
        **root,
        "$defs": defs,
    }


def dumps_schema() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


# --------------------------------------------------------------------------- validation

_TYPES: dict[str, Any] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "array": list,
    "object": dict,
    "null": type(None),
}


def validate(document: Any, schema: dict[str, Any] | None = None) -> list[str]:
    """Problems of ``document`` against the report schema (empty list: valid).

    Supports the keywords :func:`json_schema` emits: ``type``, ``enum``, ``properties``,
    ``required``, ``additionalProperties``, ``items``, ``anyOf`` and local ``$ref``.
    """
    root = schema if schema is not None else json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    problems: list[str] = []
    _check(document, root, root, "$", problems)
    return problems


def _check(value: Any, node: dict[str, Any], root: dict[str, Any], where: str, problems: list[str]) -> None:
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in node:
        for option in node["anyOf"]:
            trial: list[str] = []
            _check(value, option, root, where, trial)
            if not trial:
                return
        problems.append(f"{where}: matches none of the allowed forms")
        return
    if "enum" in node and value not in node["enum"]:
        problems.append(f"{where}: {value!r} is not one of {node['enum']}")
        return
    kind = node.get("type")
    if kind is not None:
        expected = _TYPES[kind]
        bad_bool = isinstance(value, bool) and kind in ("integer", "number")
        if not isinstance(value, expected) or bad_bool:
            problems.append(f"{where}: expected {kind}, got {type(value).__name__}")
            return
    if isinstance(value, dict):
        props = node.get("properties", {})
        for key in node.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing key {key!r}")
        extra = node.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                _check(item, props[key], root, f"{where}.{key}", problems)
            elif extra is False:
                problems.append(f"{where}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                _check(item, extra, root, f"{where}.{key}", problems)
    if isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            _check(item, node["items"], root, f"{where}[{index}]", problems)
