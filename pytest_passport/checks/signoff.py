"""Checks of SIGNOFF.json against the passport and the files on disk (section ``signoff``).

While signing (``--sign``) the existing signoff is the one being replaced, so the checks
that compare against it report not_checked instead of failing: a first signing can reach
verdict ``pass`` and re-signing after a passport edit needs no manual deletion (spec §8.2).

Fix (strict reading): the reference accepts any verdict but ``fail``, a signoff without the
passport artifact, duplicate artifacts (first one wins) and unsigned-but-present files. Here
the verdict must be exactly ``pass`` or ``soft_signal``, the ``MODEL_PASSPORT.json`` artifact
is required, a path may appear once, and every signed artifact is hashed and compared by the
signoff checks themselves (through the run's shared digest cache: one read per file), so
they never pass when the per-file ``weight_integrity`` checks were left out.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter

from ..checkpoint import LOADABLE_SUFFIXES
from ..errors import UnsafePathError
from ..findings import Finding
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, SUPPORTED_SIGNOFF_VERSIONS
from ..tree import shown
from ._base import SHA256, CheckContext, check

SECTION = "signoff"
VERDICTS = ("pass", "soft_signal")


def _replaced(name: str, ctx: CheckContext) -> Finding | None:
    if ctx.options.signing:
        return Finding.not_checked(name, f"signing: {SIGNOFF_FILENAME} is (re)written by this run")
    if not ctx.checkpoint.signoff.ok:
        return Finding.not_checked(name, f"no usable {SIGNOFF_FILENAME}")
    return None


def _timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


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
    signoff = load.document
    malformed: list[str] = []
    missing = "required key is missing"  # a null value reads the same: both leave nothing to check
    if signoff.signed_at is None:
        malformed.append(f"signed_at: {missing}")
    elif not _timestamp(signoff.signed_at):
        malformed.append(f"signed_at: {signoff.signed_at!r} is not a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)")
    if signoff.signed_by is None:
        malformed.append(f"signed_by: {missing}")
    elif signoff.signed_by.tool is None:
        malformed.append(f"signed_by.tool: {missing}")
    elif not signoff.signed_by.tool:
        malformed.append("signed_by.tool: empty; a signoff names the tool that wrote it")
    if signoff.verdict_reason is None:
        malformed.append(f"verdict_reason: {missing}")
    elif not signoff.verdict_reason.strip():
        malformed.append("verdict_reason: empty")
    if malformed:
        text = f"{SIGNOFF_FILENAME}: {malformed[0]}"
        if ctx.options.require_signoff:
            return Finding.failed(name, text + " (--require-signoff reads the signoff strictly)", problems=malformed)
        return Finding.soft(name, text, problems=malformed)
    return Finding.passed(name, f"{SIGNOFF_FILENAME} present, signed_at {signoff.signed_at}")


@check("signoff_schema_version_supported", section=SECTION, category="signoff")
def signoff_schema_version_supported(ctx: CheckContext) -> Finding:
    name = "signoff_schema_version_supported"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    version = ctx.signoff.schema_version
    if version in SUPPORTED_SIGNOFF_VERSIONS:
        return Finding.passed(name, f"schema_version {version}")
    text = f"{SIGNOFF_FILENAME}: schema_version {version!r} is not a supported version ({', '.join(sorted(SUPPORTED_SIGNOFF_VERSIONS))})"
    if ctx.options.require_signoff:
        return Finding.failed(name, text + "; the gate does not trust a signoff it cannot read", schema_version=version)
    return Finding.soft(name, text, schema_version=version)


@check("passport_checksum_valid", section=SECTION, category="signoff")
def passport_checksum_valid(ctx: CheckContext) -> Finding:
    """The signed sha256 of MODEL_PASSPORT.json equals the sha256 of its bytes now."""
    name = "passport_checksum_valid"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    load = ctx.checkpoint.passport
    if load.state == "absent" or load.sha256 is None:
        return Finding.failed(name, f"{SIGNOFF_FILENAME} exists but {PASSPORT_FILENAME} is missing or unreadable")
    signed = [a.sha256 for a in ctx.signoff.artifacts or [] if a is not None and a.path == PASSPORT_FILENAME]
    if not signed:
        return Finding.failed(
            name, f"{SIGNOFF_FILENAME} has no {PASSPORT_FILENAME} artifact: the passport is not covered; re-sign (sign-checkpoint)"
        )
    if any(sha != load.sha256 for sha in signed):
        return Finding.failed(
            name,
            f"{PASSPORT_FILENAME} changed since it was signed (sha256 differs from {SIGNOFF_FILENAME}); "
            "if the edit is intended, validate and re-sign (sign-checkpoint)",
            signed_sha256=signed[0],
            actual_sha256=load.sha256,
        )
    return Finding.passed(name, f"{PASSPORT_FILENAME} sha256 matches {SIGNOFF_FILENAME}")


@check("weight_files_match_signoff", section=SECTION, category="signoff")
def weight_files_match_signoff(ctx: CheckContext) -> Finding:
    """Every signed artifact is listed once, lies inside the root, is a regular file and its
    bytes match; every declared file and every loadable file on disk is signed.

    The check hashes every signed artifact itself through the run's digest cache (the
    per-file ``weight_integrity[<path>]`` checks take the same digests: one read per file),
    except files whose per-file check is known to run in this session
    (``CheckOptions.per_file_checks``), which compares them with the signoff already.
    When no artifact matches, the signoff belongs to another checkpoint: regenerate and re-sign.
    """
    name = "weight_files_match_signoff"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    cp = ctx.checkpoint
    entries = list(ctx.signoff.artifacts or [])
    nulls = [f"artifacts[{i}]" for i, a in enumerate(entries) if a is None or not isinstance(a.path, str)]
    artifacts = [a for a in entries if a is not None and isinstance(a.path, str) and a.path != PASSPORT_FILENAME]
    counts = Counter(a.path for a in entries if a is not None and isinstance(a.path, str))
    duplicates = sorted(shown(p) for p, n in counts.items() if n > 1)
    if not artifacts and not nulls and not duplicates:
        return Finding.failed(name, f"{SIGNOFF_FILENAME} signs nothing besides {PASSPORT_FILENAME}; re-sign (sign-checkpoint)")
    declared = set(ctx.declared)
    outside: list[str] = []
    missing: list[str] = []
    mismatched: list[str] = []
    malformed: list[str] = []
    matched = 0
    for artifact in artifacts:
        try:
            cp.resolve(artifact.path)
        except UnsafePathError as exc:
            outside.append(f"{shown(artifact.path)} ({exc.reason})")
            continue
        if not isinstance(artifact.sha256, str) or not SHA256.match(artifact.sha256):
            malformed.append(f"{shown(artifact.path)} (sha256 {artifact.sha256!r} is not 64 lower-case hex digits)")
            continue
        if not cp.exists(artifact.path):
            missing.append(shown(artifact.path))
            continue
        covered = ctx.options.per_file_checks
        if covered is not None and artifact.path in covered and counts[artifact.path] == 1 and artifact.path in declared:
            # Its weight_integrity[<path>] check compares the bytes with the passport and this
            # artifact; here the signed digest must at least equal the declared one.
            if artifact.sha256 == ctx.declared[artifact.path].sha256:
                matched += 1
            else:
                mismatched.append(shown(artifact.path))
            continue
        try:
            digest = ctx.sha256_of(artifact.path)[0]
        except OSError as exc:
            missing.append(f"{shown(artifact.path)} (cannot read: {exc.strerror or exc})")
            continue
        if digest != artifact.sha256:
            mismatched.append(shown(artifact.path))
        else:
            matched += 1
    signed_paths = {a.path for a in artifacts}
    unsigned = [shown(rel) for rel in cp.files if rel.lower().endswith(LOADABLE_SUFFIXES) and rel not in signed_paths]
    uncovered = sorted(shown(p) for p in declared - signed_paths - {PASSPORT_FILENAME} if isinstance(p, str))
    problems = {
        "null_artifacts": nulls,
        "duplicate_paths": duplicates,
        "outside_root": outside,
        "malformed_sha256": malformed,
        "missing": missing,
        "sha256_mismatch": mismatched,
        "unsigned_weight_files": unsigned,
        "declared_not_signed": uncovered,
    }
    problems = {k: v for k, v in problems.items() if v}
    if artifacts and matched == 0 and len(missing) + len(mismatched) + len(outside) == len(artifacts):
        return Finding.failed(
            name,
            f"none of the {len(artifacts)} file(s) signed in {SIGNOFF_FILENAME} matches this checkpoint: "
            "the signoff belongs to another checkpoint; regenerate the passport (generate-passport) and re-sign",
            **problems,
        )
    if problems:
        first_kind, first = next(iter(problems.items()))
        text = {
            "null_artifacts": "artifact without a path",
            "duplicate_paths": "artifact path listed more than once",
            "outside_root": "signed path outside the checkpoint root",
            "malformed_sha256": "signed sha256 malformed",
            "missing": "signed file missing on disk (or not a regular file)",
            "sha256_mismatch": "signed file changed",
            "unsigned_weight_files": "loadable file on disk not covered by the signoff",
            "declared_not_signed": "declared file not covered by the signoff",
        }[first_kind]
        return Finding.failed(name, f"{SIGNOFF_FILENAME}: {text}: {first[0]}", **problems)
    return Finding.passed(name, f"{len(artifacts)} signed file(s) inside the root match their sha256; no unsigned weight file")


@check("signoff_verdict", section=SECTION, category="signoff")
def signoff_verdict(ctx: CheckContext) -> Finding:
    """The recorded verdict is exactly ``pass`` or ``soft_signal``; anything else fails.

    Fix (reference): the reference never reads the verdict; ``fail``, ``dont_ship``, ``FAIL``,
    ``""``, ``null`` or a missing verdict are not a signer's approval and block loading.
    """
    name = "signoff_verdict"
    if (nc := _replaced(name, ctx)) is not None:
        return nc
    signoff = ctx.signoff
    verdict, reason = signoff.verdict, signoff.verdict_reason
    if verdict == "fail":
        return Finding.failed(name, f"{SIGNOFF_FILENAME} records verdict 'fail': {reason}", verdict_reason=reason)
    if verdict not in VERDICTS:
        shown_verdict = "null (or missing)" if verdict is None else repr(verdict)
        return Finding.failed(
            name, f"{SIGNOFF_FILENAME}: verdict {shown_verdict} is not 'pass' or 'soft_signal'; not an approval", verdict=verdict
        )
    return Finding.passed(name, f"signed with verdict {verdict!r}: {reason}")
