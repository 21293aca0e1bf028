"""Weight files: the static tensor-header check and the per-declared-file hash check."""

from __future__ import annotations

from ..errors import UnsafePathError
from ..findings import Finding
from ..schema import PASSPORT_FILENAME, SIGNOFF_FILENAME
from ._base import CheckContext, check


@check("weight_file_integrity", section="weight_integrity", category="model_internals", static=True)
def weight_file_integrity(ctx: CheckContext) -> Finding:
    """At least one ``*.safetensors``/``*.bin`` file exists and safetensors headers parse."""
    name = "weight_file_integrity"
    cp = ctx.checkpoint
    if not cp.weight_files:
        return Finding.failed(name, "no *.safetensors or *.bin weight file under the checkpoint root")
    broken = {rel: h.error for rel, h in cp.tensor_headers.items() if h.error}
    if broken:
        rel, error = next(iter(sorted(broken.items())))
        return Finding.failed(name, f"{rel}: unreadable safetensors header: {error}", broken=broken)
    if cp.tensor_count == 0:
        return Finding.failed(name, "weight files found but no tensor in any safetensors header", files=list(cp.weight_files))
    return Finding.passed(
        name, f"{cp.tensor_count} tensor(s) in {len(cp.tensor_headers)} safetensors file(s)", files=list(cp.weight_files)
    )


def check_declared_file(ctx: CheckContext, rel: str) -> Finding:
    """One ``weight_integrity.weight_files[]`` entry against the bytes on disk and the signoff.

    The reference never compares the passport's recorded sha256/size with disk (spec §8.8);
    this does, and also compares with the SIGNOFF.json artifact for the same path, so every
    declared file is read exactly once per run for all the checks that need its digest.
    """
    entry = ctx.declared.get(rel)
    if entry is None:
        return Finding.not_checked(rel, f"{rel} is not declared in {PASSPORT_FILENAME}")
    try:
        path = ctx.checkpoint.resolve(rel)
    except UnsafePathError as exc:
        return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} weight_integrity but rejected: {exc.reason}")
    if not path.is_file():
        return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} weight_integrity but missing on disk")
    try:
        digest, size = ctx.sha256_of(rel)
    except OSError as exc:
        return Finding.failed(rel, f"cannot read: {exc.strerror or exc}")
    details = {"sha256": digest, "size_bytes": size}
    if entry.size_bytes is not None and entry.size_bytes != size:
        return Finding.failed(
            rel, f"size {size} bytes on disk, {entry.size_bytes} in {PASSPORT_FILENAME} weight_integrity", expected_size_bytes=entry.size_bytes, **details
        )
    if entry.sha256 != digest:
        return Finding.failed(
            rel, f"sha256 on disk differs from {PASSPORT_FILENAME} weight_integrity", expected_sha256=entry.sha256, **details
        )
    if ctx.signoff is not None and not ctx.options.signing:
        signed = ctx.signed.get(rel)
        if signed is None:
            return Finding.failed(rel, f"declared in {PASSPORT_FILENAME} but not covered by {SIGNOFF_FILENAME}", **details)
        if signed != digest:
            return Finding.failed(rel, f"sha256 on disk differs from {SIGNOFF_FILENAME}", signed_sha256=signed, **details)
    return Finding.passed(rel, f"sha256 {digest[:12]}…, {size} bytes", **details)
