"""Check of ``reference_test_vector``: real frames stored with the checkpoint, and their hashes."""

from __future__ import annotations

from ..errors import UnsafePathError
from ..findings import Finding
from ..sections import ReferenceTestVector
from ._base import CheckContext, check, no_passport
from ._config import is_blank

SECTION = "reference_test_vector"
CATEGORY = "model_internals"
#: Required when the input contract has a state / cameras (or the vector carries them anyway).
STATE_FIELDS = ("input_state_path", "input_state_hash")
IMAGE_FIELDS = ("input_images_path", "input_images_hash")


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


def _camera_files(rtv: ReferenceTestVector) -> list[tuple[str, str, str]]:
    """``(field, path, sha256)`` of every stored camera frame (``<camera>_<NNN>.png`` per frame)."""
    base = (rtv.input_images_path or "").rstrip("/")
    return [(f"reference_test_vector.input_images_hash.{camera}[{i}]", f"{base}/{camera}_{i:03d}.png", digest)
            for camera, hashes in sorted((rtv.input_images_hash or {}).items()) for i, digest in enumerate(hashes or [])]


def _extra_files(rtv: ReferenceTestVector) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The extension files (other input features, expected output) with their hashes, and the unpaired names."""
    files: list[tuple[str, str, str]] = []
    unpaired: list[str] = []
    paths = rtv.extra.get("input_feature_paths") or {}
    hashes = rtv.extra.get("input_feature_hashes") or {}
    for key in sorted(set(paths) | set(hashes)) if isinstance(paths, dict) and isinstance(hashes, dict) else []:
        if isinstance(paths.get(key), str) and isinstance(hashes.get(key), str):
            files.append((f"reference_test_vector.input_feature_hashes.{key}", paths[key], hashes[key]))
        else:
            unpaired.append(f"input_feature_paths/input_feature_hashes.{key}")
    output, digest = rtv.extra.get("expected_output_path"), rtv.extra.get("expected_output_hash")
    if isinstance(output, str) and isinstance(digest, str):
        files.append(("reference_test_vector.expected_output_hash", output, digest))
    elif output is not None or digest is not None:
        unpaired.append("expected_output_path/expected_output_hash")
    return files, unpaired


@check("reference_test_vector", section=SECTION, category=CATEGORY)
def reference_test_vector(ctx: CheckContext) -> Finding:
    """The 0.2 reference test vector is complete and every file it names matches its hash.

    Fix (spec §8.3): an absent or empty section is a soft signal (a Phase-2 field that
    static generators cannot fill) instead of a failure; an incomplete one still fails.
    Fix: camera frames are required only when the input contract has cameras (states only when
    it has a state) — a state-only policy's vector has no frames, and the reference's
    "input_images_hash empty" failure blocked it.
    Fix: the declared files (state, frames ``images/<camera>_<NNN>.png``, the extension files
    ``input_feature_paths``/``expected_output_path``) must lie inside the checkpoint root, exist,
    and hash to the recorded sha256 — the reference opens nothing.
    """
    name = "reference_test_vector"
    if (nc := no_passport(name, ctx)):
        return nc
    rtv = ctx.passport.reference_test_vector if ctx.passport else None
    if is_blank(rtv):
        return Finding.soft(name, "no reference test vector; Phase-2 field")
    contract = ctx.passport.input_contract
    cameras = [image.key or "?" for image in (contract.images or []) if image is not None] if contract else []
    has_state = bool(contract and contract.state) or bool(rtv.input_state_path or rtv.input_state_hash)
    required = (STATE_FIELDS if has_state else ()) + (IMAGE_FIELDS if cameras or rtv.input_images_hash else ())
    missing = [key for key in required if not getattr(rtv, key)]
    extra_files, unpaired = _extra_files(rtv)
    if not required and not extra_files:
        missing = list(STATE_FIELDS + IMAGE_FIELDS)  # a vector that names no input at all
    if missing or unpaired:
        why = ", ".join(missing + unpaired)
        if cameras and set(missing) & set(IMAGE_FIELDS):
            why += f" (the input contract has camera(s) {', '.join(cameras)})"
        return Finding.failed(name, f"reference_test_vector incomplete: {why} empty", missing=missing + unpaired)
    problems: list[str] = []
    files = [("reference_test_vector.input_state_path", rtv.input_state_path, rtv.input_state_hash)] if has_state else []
    if rtv.input_images_hash:
        try:
            ctx.checkpoint.resolve(rtv.input_images_path)
        except UnsafePathError as exc:
            problems.append(f"reference_test_vector.input_images_path {rtv.input_images_path!r}: {exc.reason}")
        else:
            files += _camera_files(rtv)
    for field_name, rel, digest in files + extra_files:
        if (problem := _verify(ctx, field_name, rel, digest)):
            problems.append(problem)
    frames = sum(len(h or []) for h in (rtv.input_images_hash or {}).values())
    details = {"n_frames": rtv.n_frames, "cameras": sorted(rtv.input_images_hash or {}), "image_files": frames,
               "other_files": [rel for _, rel, _ in extra_files], "problems": problems}
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return Finding.failed(name, problems[0] + more, **details)
    return Finding.passed(name, f"reference_test_vector: {len(files) - frames} state file(s) + {frames} frame(s) of {len(rtv.input_images_hash or {})} "
                          f"camera(s) + {len(extra_files)} other file(s) match their hashes", **details)
