"""pytest-passport load gate: each configured checkpoint is LOADABLE, or the run fails.

WHEN TO USE: together with ``conftest.py`` from this folder (it says which checkpoints are
gated). LOADABLE means: signed (SIGNOFF.json present and matching, unless ``require_signoff =
false``), every declared file unchanged since signing, and, when the passport records
``provenance.deployment_repo_commit``, bound to this repository's current commit.
"""

from __future__ import annotations

from typing import Any

import pytest


def test_checkpoint_is_loadable(gate_checkpoint: Any, gate_settings: dict[str, Any]) -> None:
    """The checkpoint passes every hard check (DO NOT LOAD lists each failure, without a traceback)."""
    import pytest_passport

    where = gate_checkpoint.value
    try:
        passport = pytest_passport.load_passport(where)
        bound = passport.provenance is not None and passport.provenance.deployment_repo_commit
        pytest_passport.verify(
            where,
            require_signoff=gate_settings["require_signoff"],
            target_repo=gate_settings["target_repo"] if bound else None,
        )
    except pytest_passport.PassportError as exc:
        pytest.fail(f"DO NOT LOAD {gate_checkpoint.label} ({where}): {exc}", pytrace=False)
