"""Checks on the passport document itself (section ``schema_version``)."""

from __future__ import annotations

from collections import Counter

from ..findings import Finding
from ..schema import PASSPORT_FILENAME, SUPPORTED_PASSPORT_VERSIONS, Passport
from ._base import CheckContext, check


@check("passport_loadable", section="schema_version", category="passport")
def passport_loadable(ctx: CheckContext) -> Finding:
    """MODEL_PASSPORT.json exists, parses, maps onto schema 0.2 and is internally whole.

    Whole means: each file declared once, and per-dimension action masks as long as
    ``actions.total_dim`` — reference writers drop ``false`` array elements, so a shorter
    mask is corrupt, never "all true" (spec §8.1).

    The reference treats a corrupt or unsupported-version passport silently (spec §8.14):
    its passport checks just become not_checked. Here it is a failure of its own.

    Fix (the reference reports a checkpoint without any passport as loadable): a missing
    MODEL_PASSPORT.json always fails, with or without ``--require-signoff`` — there is
    nothing to check the checkpoint against.
    """
    name = "passport_loadable"
    load = ctx.checkpoint.passport
    if load.state == "absent":
        return Finding.failed(name, f"no {PASSPORT_FILENAME} in the checkpoint root: nothing to validate it against; "
                              "run generate-passport (then sign-checkpoint)")
    if load.state == "invalid":
        shown = "; ".join(load.problems[:3])
        more = f" (+{len(load.problems) - 3} more)" if len(load.problems) > 3 else ""
        return Finding.failed(name, f"{PASSPORT_FILENAME}: {shown}{more}", problems=load.problems)
    passport = load.document
    version = passport.schema_version
    if version not in SUPPORTED_PASSPORT_VERSIONS:
        shown = "missing" if version is None else f'"{version}"'
        return Finding.failed(
            name,
            f"{PASSPORT_FILENAME}: schema_version {shown} is not supported (supported: {', '.join(sorted(SUPPORTED_PASSPORT_VERSIONS))})",
            schema_version=version,
        )
    truncated = _truncated_masks(passport)
    if truncated:
        return Finding.failed(name, f"{PASSPORT_FILENAME}: {truncated[0]}", masks=truncated)
    duplicates = sorted(p for p, n in Counter(f.path for f in passport.declared_files).items() if n > 1)
    if duplicates:
        return Finding.failed(
            name, f"{PASSPORT_FILENAME}: weight_integrity.weight_files declares {duplicates[0]!r} more than once", duplicates=duplicates
        )
    return Finding.passed(name, f"schema_version {version}, {len(passport.declared_files)} declared file(s)", sha256=load.sha256)


#: What to tell the user about a mask shorter than its dimension.
FALSE_DROPPING = ("the reference passport writer has a known defect that drops `false` elements from boolean "
                  "arrays, so this mask lost entries and is not 'all true'; regenerate the passport with "
                  "generate-passport (then sign-checkpoint)")


def _truncated_masks(passport: Passport) -> list[str]:
    """Action masks whose length differs from ``input_contract.actions.total_dim``."""
    actions = passport.input_contract.actions if passport.input_contract else None
    if actions is None or actions.total_dim is None:
        return []
    masks = {"input_contract.actions.norm_mask": actions.norm_mask}
    if actions.delta_dims is not None:
        masks["input_contract.actions.delta_dims.delta_mask"] = actions.delta_dims.delta_mask
    return [
        f"{field} has {len(mask)} entries but actions.total_dim is {actions.total_dim}"
        + (f": {FALSE_DROPPING}" if len(mask) < actions.total_dim else "; it must have one entry per action dimension")
        for field, mask in masks.items()
        if mask is not None and len(mask) != actions.total_dim
    ]
