"""Problems in a passport name an unambiguous JSON path, also for keys that are not plain names."""

from __future__ import annotations

import json

import pytest

from pytest_passport.errors import DocumentError
from pytest_passport.schema import load_passport_bytes


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("numpy", "model_identity.runtime_constraints.required_versions.numpy"),
        ("torch-cpu", "model_identity.runtime_constraints.required_versions.torch-cpu"),
        ("a.b", 'model_identity.runtime_constraints.required_versions["a.b"]'),
        ("x\ud800", 'model_identity.runtime_constraints.required_versions["x\\ud800"]'),
    ],
)
def test_problem_paths_quote_odd_keys(key: str, path: str) -> None:
    """A dotted or surrogate-bearing key is quoted in the path, so the path names one place only."""
    doc = {"schema_version": "0.2", "model_identity": {"runtime_constraints": {"required_versions": {key: 5}}}}
    with pytest.raises(DocumentError) as info:
        load_passport_bytes(json.dumps(doc).encode())
    assert info.value.problems == [f"{path}: expected string, got 5"]
