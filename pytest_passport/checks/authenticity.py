"""Who signed SIGNOFF.json (section ``signoff``): its Ed25519 signature against the pinned keys.

With trusted keys pinned (``--trusted-key``, ``[tool.pytest_passport] trusted_keys``,
``verify(trusted_keys=...)``) an unsigned signoff, a signature that does not verify, or a
valid signature by a key that is not pinned is a hard failure naming the key fingerprint.
With none pinned the check is not_checked: the run proves integrity only, no authenticity;
a signature that is present but broken still fails (the signoff was edited after signing).
"""

from __future__ import annotations

import os
import stat

from ..authenticity import INTEGRITY_ONLY_TEXT, INVALID, MALFORMED, UNSIGNED, VALID, examine, sha256_hex
from ..errors import DocumentError, UnsafePathError
from ..findings import Finding
from ..schema import SIGNOFF_FILENAME, parse_json
from ._base import CheckContext, check

SECTION = "signoff"
#: SIGNOFF.json is a few kilobytes per thousand files; anything past this is not a signoff.
MAX_SIGNOFF_BYTES = 64 * 1024 * 1024


def _read_signoff(ctx: CheckContext) -> bytes:
    """The signoff bytes, opened only if it is a regular file inside the root."""
    path = ctx.checkpoint.resolve(SIGNOFF_FILENAME)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{SIGNOFF_FILENAME} is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(MAX_SIGNOFF_BYTES + 1)
    finally:
        os.close(fd)


@check("signoff_signature", section=SECTION, category="signoff")
def signoff_signature(ctx: CheckContext) -> Finding:
    """SIGNOFF.json is signed by a pinned key; not_checked (integrity only) when no key is pinned.

    Fails: keys pinned and the signoff unsigned, its signature invalid or by an unpinned key;
    or (pinned or not) a signature block that is malformed or does not verify.
    """
    name = "signoff_signature"
    trusted = tuple(ctx.options.trusted_keys)
    pinned = [k.fingerprint for k in trusted]
    if ctx.options.signing:
        return Finding.not_checked(name, f"signing: {SIGNOFF_FILENAME} is (re)written by this run", trusted_fingerprints=pinned)
    load = ctx.checkpoint.signoff
    if not load.ok:
        if pinned and (ctx.options.require_signoff or load.state == "invalid"):
            return Finding.failed(name, f"no usable {SIGNOFF_FILENAME} to authenticate; trusted key(s): {', '.join(pinned)}", trusted_fingerprints=pinned)
        return Finding.not_checked(name, f"no usable {SIGNOFF_FILENAME}", trusted_fingerprints=pinned)
    try:
        raw = _read_signoff(ctx)
        if sha256_hex(raw) != load.sha256:
            return Finding.failed(name, f"{SIGNOFF_FILENAME} changed while it was being validated", trusted_fingerprints=pinned)
        document = parse_json(raw, SIGNOFF_FILENAME)
    except (OSError, UnsafePathError, DocumentError) as exc:
        return Finding.failed(name, f"{SIGNOFF_FILENAME}: cannot be read for its signature: {exc}", trusted_fingerprints=pinned)
    state = examine(document)
    signer = state.fingerprint
    details = {"signer_fingerprint": signer, "signature": state.status, "trusted_fingerprints": pinned}
    if state.status in (MALFORMED, INVALID):
        return Finding.failed(name, f"{SIGNOFF_FILENAME}: {state.reason}", **details)
    if not pinned:
        if state.status == UNSIGNED:
            return Finding.not_checked(name, f"{INTEGRITY_ONLY_TEXT}: {SIGNOFF_FILENAME} is unsigned and no trusted key is pinned", **details)
        return Finding.not_checked(
            name, f"{INTEGRITY_ONLY_TEXT}: signed by key {signer}, but no trusted key is pinned to compare it with", **details
        )
    if state.status == UNSIGNED:
        return Finding.failed(name, f"{SIGNOFF_FILENAME} is not signed; a signature by a trusted key is required ({', '.join(pinned)})", **details)
    assert state.status == VALID and state.key is not None
    if state.key not in trusted:
        return Finding.failed(
            name, f"{SIGNOFF_FILENAME} is signed by key {signer}, which is not a trusted key (trusted: {', '.join(pinned)})", **details
        )
    return Finding.passed(name, f"{SIGNOFF_FILENAME} signed by trusted key {signer}", **details)


@check("model_signing_signature", section=SECTION, category="signoff")
def model_signing_signature(ctx: CheckContext) -> Finding:
    """An OpenSSF model-signing bundle (key mode) verifies over the tree and covers every signed artifact.

    not_checked unless ``--model-signing-signature`` and ``--model-signing-key`` are given.
    Fails when the bundle does not verify with the pinned EC key, when the files differ from
    its manifest, or when a SIGNOFF.json artifact is missing from it or has another digest.
    """
    name = "model_signing_signature"
    spec = ctx.options.model_signing
    if not spec:
        return Finding.not_checked(name, "no --model-signing-signature given")
    if ctx.options.signing:
        return Finding.not_checked(name, f"signing: {SIGNOFF_FILENAME} is (re)written by this run")
    from ..interop.model_signing import ModelSigningError, verify

    signature, public_key = spec
    try:
        signed = verify(ctx.checkpoint.root, signature, public_key)
    except ModelSigningError as exc:
        return Finding.failed(name, f"{signature}: {exc}", signature=str(signature))
    artifacts = [a for a in (ctx.signoff.artifacts or []) if a is not None] if ctx.signoff else []
    differ = sorted({a.path for a in artifacts if signed.get(a.path) != a.sha256})
    if differ:
        return Finding.failed(
            name, f"{SIGNOFF_FILENAME} artifact {differ[0]} is missing from the model_signing manifest or has another digest", artifacts=differ
        )
    bound = f", covering all {len(artifacts)} {SIGNOFF_FILENAME} artifact(s)" if artifacts else f" (no usable {SIGNOFF_FILENAME} to bind it to)"
    return Finding.passed(name, f"model_signing signature verifies {len(signed)} file(s) with key {public_key}{bound}", files=len(signed))
