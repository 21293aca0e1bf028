"""Checks of SIGNOFF.json against the passport and the files on disk (section ``signoff``).

While signing (``--sign``) the existing signoff is the one being replaced, so the checks
that compare against it report not_checked instead of failing: a first signing can reach
verdict ``pass`` and re-signing after a passport edit needs no manual deletion (spec §8.2).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..checkpoint import LOADABLE_SUFFIXES
from ..errors import UnsafePathError
from ..findings import Finding
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, SUPPORTED_SIGNOFF_VERSIONS
from ._base import CheckContext, check

SECTION = "signoff"


def _replaced(name: str, ctx: CheckContext) -> Finding | None:
    if ctx.options.signing:
        return Finding.not_checked(name, f"signing: {SIGNOFF_FILENAME} is (re)written by this run")
    if not ctx.checkpoint.signoff.ok:
        return Finding.not_checked(name, f"no usable {SIGNOFF_FILENAME}")
    return None


@check("signoff_present", section=SECTION, category="signoff")
def signoff_present(ctx: CheckContext) -> Finding:
    """SIGNOFF.json exists and maps; absent is a soft signal, or a failure under --require-signoff."""
    name = "signoff_present"
    load = ctx.checkpoint.signoff
    if ctx.options.signing:
        return Finding.not_checked(name, f"signing: {SIGNOFF_FILENAME} is (re)written by this run")
    if load.state == "invalid":
        return Finding.failed(name, f"{SIGNOFF_FILENAME}: {'; '.join(load.problems[:3])}", problems=load.problems)
    if load.state == "absent":
        if ctx.options.require_signoff:
            return Finding.failed(name, f"no {SIGNOFF_FILENAME}: this checkpoint was never signed (--require-signoff)")
        return Finding.soft(name, f"no {SIGNOFF_FILENAME}: this checkpoint is not signed")
    return Finding.passed(name, f"{SIGNOFF_FILENAME} present, signed_at {load.document.signed_at}")


@check("signoff_schema_version_supported", section=SECTION, category="signoff")
def signoff_schema_version_supported(ctx: CheckContext) -> Finding:
    name = "signoff_schema_version_supported"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    version = ctx.signoff.schema_version
    if version in SUPPORTED_SIGNOFF_VERSIONS:
        return Finding.passed(name, f"schema_version {version}")
    return Finding.soft(name, f"{SIGNOFF_FILENAME}: schema_version {version!r} is not a supported version", schema_version=version)


@check("passport_checksum_valid", section=SECTION, category="signoff")
def passport_checksum_valid(ctx: CheckContext) -> Finding:
    """The signed sha256 of MODEL_PASSPORT.json equals the sha256 of its bytes now."""
    name = "passport_checksum_valid"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    load = ctx.checkpoint.passport
    if load.state == "absent" or load.sha256 is None:
        return Finding.failed(name, f"{SIGNOFF_FILENAME} exists but {PASSPORT_FILENAME} is missing or unreadable")
    signed = ctx.signoff.artifact_sha256(PASSPORT_FILENAME)
    if signed is None:
        return Finding.soft(name, f"{SIGNOFF_FILENAME} has no {PASSPORT_FILENAME} artifact")
    if signed != load.sha256:
        return Finding.failed(
            name,
            f"{PASSPORT_FILENAME} changed since it was signed (sha256 differs from {SIGNOFF_FILENAME})",
            signed_sha256=signed,
            actual_sha256=load.sha256,
        )
    return Finding.passed(name, f"{PASSPORT_FILENAME} sha256 matches {SIGNOFF_FILENAME}")


@check("weight_files_match_signoff", section=SECTION, category="signoff")
def weight_files_match_signoff(ctx: CheckContext) -> Finding:
    """Signed artifacts exist inside the root and match; no loadable file on disk is unsigned.

    Digests of files declared in the passport are compared by the per-file
    ``weight_integrity[<path>]`` checks (each file is read once per run); this check
    hashes only signed artifacts the passport does not declare.
    """
    name = "weight_files_match_signoff"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    cp = ctx.checkpoint
    artifacts = [a for a in ctx.signoff.artifacts or [] if a is not None and a.path != PASSPORT_FILENAME]
    if not artifacts:
        return Finding.soft(name, f"{SIGNOFF_FILENAME} lists nothing besides {PASSPORT_FILENAME}")
    declared = {f.path for f in ctx.passport.declared_files} if ctx.passport else set()
    outside: list[str] = []
    missing: list[str] = []
    mismatched: list[str] = []
    signed_real: set[Path] = set()
    for artifact in artifacts:
        try:
            path = cp.resolve(artifact.path)
        except UnsafePathError as exc:
            outside.append(f"{artifact.path} ({exc.reason})")
            continue
        signed_real.add(Path(os.path.realpath(path)))
        if not path.is_file():
            missing.append(artifact.path)
        elif artifact.path not in declared and ctx.sha256_of(artifact.path)[0] != artifact.sha256:
            mismatched.append(artifact.path)
    unsigned = [
        rel
        for rel in cp.files
        if rel.lower().endswith(LOADABLE_SUFFIXES) and Path(os.path.realpath(cp.root / rel)) not in signed_real
    ]
    uncovered = sorted(declared - {a.path for a in artifacts})
    problems = {
        "outside_root": outside,
        "missing": missing,
        "sha256_mismatch": mismatched,
        "unsigned_weight_files": unsigned,
        "declared_not_signed": uncovered,
    }
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        first_kind, first = next(iter(problems.items()))
        text = {
            "outside_root": "signed path outside the checkpoint root",
            "missing": "signed file missing on disk",
            "sha256_mismatch": "signed file changed",
            "unsigned_weight_files": "loadable file on disk not covered by the signoff",
            "declared_not_signed": "declared file not covered by the signoff",
        }[first_kind]
        return Finding.failed(name, f"{SIGNOFF_FILENAME}: {text}: {first[0]}", **problems)
    return Finding.passed(name, f"{len(artifacts)} signed file(s) present inside the root; no unsigned weight file")


@check("signoff_verdict", section=SECTION, category="signoff")
def signoff_verdict(ctx: CheckContext) -> Finding:
    """A signoff recording verdict ``fail`` blocks loading (the reference never reads the verdict)."""
    name = "signoff_verdict"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    signoff = ctx.signoff
    verdict, reason = signoff.verdict, signoff.verdict_reason
    if verdict == "fail":
        return Finding.failed(name, f"{SIGNOFF_FILENAME} records verdict 'fail': {reason}", verdict_reason=reason)
    if verdict not in ("pass", "soft_signal"):
        return Finding.soft(name, f"{SIGNOFF_FILENAME} records an unknown verdict {verdict!r}", verdict=verdict)
    return Finding.passed(name, f"signed with verdict {verdict!r}: {reason}")
