"""pytest-passport contract snapshot: fail when a checkpoint's feeding contract drifts.

WHEN TO USE: your runner feeds observations and reads actions in a fixed way, and a new
checkpoint (even a properly signed one) must not silently change what it expects: camera keys
and shapes, state/action layout, normalization, horizon, temporal stacking, the transform
pipeline. Copy this file next to the gate's ``conftest.py`` (it takes the same checkpoints)
and ``pip install syrupy``.

First run, and after reviewing an intended change::

    pytest tests/passport --snapshot-update      # writes __snapshots__/; commit it

From then on a drifted contract fails with a diff of the JSON. Volatile fields (hashes,
fingerprints, timestamps) are left out, so re-signing or re-hashing alone changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

#: Keys whose values change with every re-export without changing how the model is fed.
VOLATILE = re.compile(r"(_hash|_sha256|sha256|stats_fingerprint|_at)$")


def pinned(value: Any) -> Any:
    """``value`` without volatile keys, at any depth."""
    if isinstance(value, dict):
        return {k: pinned(v) for k, v in value.items() if not VOLATILE.search(str(k))}
    if isinstance(value, list):
        return [pinned(v) for v in value]
    return value


def feeding_contract(where: str) -> dict[str, Any]:
    """The parts of the passport a runner depends on, as plain JSON."""
    import pytest_passport
    from pytest_passport.schema import passport_to_dict

    document = passport_to_dict(pytest_passport.load_passport(where))
    return pinned(
        {
            "input_contract": document.get("input_contract"),
            "output_spec.actions": (document.get("output_spec") or {}).get("actions"),
            "transform_pipeline": document.get("transform_pipeline"),
        }
    )


def test_feeding_contract_unchanged(gate_checkpoint: Any, snapshot: Any) -> None:
    """input_contract, output_spec.actions and transform_pipeline equal the reviewed snapshot."""
    from syrupy.extensions.json import JSONSnapshotExtension

    import pytest_passport

    try:
        contract = feeding_contract(gate_checkpoint.value)
    except pytest_passport.PassportError as exc:
        pytest.fail(f"cannot read the passport of {gate_checkpoint.label}: {exc}", pytrace=False)
    assert contract == snapshot(extension_class=JSONSnapshotExtension)
