"""Check of ``reference_test_vector``: real frames stored with the checkpoint, and their hashes."""

from __future__ import annotations

from ..errors import UnsafePathError
from ..findings import Finding
from ._base import CheckContext, check, no_passport
from ._config import is_blank

SECTION = "reference_test_vector"
CATEGORY = "model_internals"
REQUIRED = ("input_state_path", "input_state_hash", "input_images_path", "input_images_hash")


def _verify(ctx: CheckContext, field: str, rel: str, expected: str) -> str | None:
    """Why the file at ``rel`` does not have sha256 ``expected`` (None when it does)."""
    try:
        path = ctx.checkpoint.resolve(rel)
    except UnsafePathError as exc:
        return f"{field} {rel!r}: {exc.reason}"
    if not path.is_file():
        return f"{field}: {rel} is missing"
    try:
        actual, _ = ctx.sha256_of(rel)
    except OSError as exc:
        return f"{field}: {rel} is unreadable ({exc.strerror or exc})"
    if actual != str(expected).lower():
        return f"{field}: sha256 of {rel} is {actual}, passport says {expected}"
    return None


@check("reference_test_vector", section=SECTION, category=CATEGORY)
def reference_test_vector(ctx: CheckContext) -> Finding:
    """The 0.2 reference test vector is complete and its files match their hashes.

    Fix (spec §8.3): an absent or empty section is a soft signal (a Phase-2 field that
    static generators cannot fill) instead of a failure; an incomplete one still fails.
    Fix: the declared files must lie inside the checkpoint root, exist, and hash to the
    recorded sha256 (``images/<camera>_<NNN>.png`` per frame) — the reference opens nothing.
    """
    name = "reference_test_vector"
    if (nc := no_passport(name, ctx)):
        return nc
    rtv = ctx.passport.reference_test_vector if ctx.passport else None
    if is_blank(rtv):
        return Finding.soft(name, "no reference test vector; Phase-2 field")
    missing = [key for key in REQUIRED if not getattr(rtv, key)]
    if missing:
        return Finding.failed(name, f"reference_test_vector incomplete: {', '.join(missing)} empty", missing=missing)
    problems: list[str] = []
    if (problem := _verify(ctx, "reference_test_vector.input_state_path", rtv.input_state_path, rtv.input_state_hash)):
        problems.append(problem)
    try:
        ctx.checkpoint.resolve(rtv.input_images_path)
    except UnsafePathError as exc:
        problems.append(f"reference_test_vector.input_images_path {rtv.input_images_path!r}: {exc.reason}")
    else:
        base = rtv.input_images_path.rstrip("/")
        for camera, hashes in sorted(rtv.input_images_hash.items()):
            for i, digest in enumerate(hashes or []):
                field = f"reference_test_vector.input_images_hash.{camera}[{i}]"
                if (problem := _verify(ctx, field, f"{base}/{camera}_{i:03d}.png", digest)):
                    problems.append(problem)
    frames = sum(len(h or []) for h in rtv.input_images_hash.values())
    details = {"n_frames": rtv.n_frames, "cameras": sorted(rtv.input_images_hash), "image_files": frames, "problems": problems}
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return Finding.failed(name, problems[0] + more, **details)
    return Finding.passed(name, f"reference_test_vector: state + {frames} frame(s) of {len(rtv.input_images_hash)} "
                          "camera(s) match their hashes", **details)
