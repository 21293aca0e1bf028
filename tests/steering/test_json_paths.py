"""Problems in a passport name an unambiguous JSON path, also for keys that are not plain names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_passport.errors import DocumentError
from pytest_passport.schema import PASSPORT_FILENAME, SIGNOFF_FILENAME, load_passport_bytes, load_signoff_bytes

from ..conftest import Built

DATA = Path(__file__).parent.parent / "data"
#: The ``cli`` fixture: runs a console script in a subprocess.
Runner = Callable[..., pytest.RunResult]


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


def _plant(doc: dict[str, Any], keys: tuple[str, ...], value: float) -> str:
    """Set ``doc[k0][k1]...`` to ``value`` (creating objects on the way); returns the dotted JSON path."""
    node = doc
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return ".".join(keys)


def _non_finite_text(value: float) -> str:
    """The literal Python's json writes for ``value`` (NaN, Infinity, -Infinity), which JSON does not allow."""
    return json.dumps(value)


def test_nan_in_the_passport_names_file_and_path(cli: Runner, clean_checkpoint: Built) -> None:
    """validate-checkpoint fails passport_loadable naming the file and each NaN/Infinity by its JSON path."""
    file = clean_checkpoint.root / PASSPORT_FILENAME
    doc = json.loads(file.read_text())
    planted = {
        _plant(doc, ("output_spec", "smoke_results", "determinism", "max_abs_diff"), float("nan")): float("nan"),
        _plant(doc, ("output_spec", "actions", "overshoot"), float("-inf")): float("-inf"),
    }
    file.write_text(json.dumps(doc))
    result = cli("validate-checkpoint", clean_checkpoint.root)
    assert result.ret == 1
    prefix = f"passport_loadable: {PASSPORT_FILENAME}: "
    line = next(line for line in result.outlines if line.startswith(prefix))
    expected = [f"{path}: {_non_finite_text(value)} is not valid JSON" for path, value in planted.items()]
    assert sorted(line[len(prefix):].split("; ")) == sorted(expected)
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_infinity_in_the_signoff_names_file_and_path(cli: Runner, clean_checkpoint: Built) -> None:
    """A SIGNOFF.json holding Infinity fails signoff_present naming the file and the value's JSON path."""
    doc = json.loads((DATA / "spec_example_signoff.json").read_text())
    path = _plant(doc, ("signed_by", "elapsed_s"), float("inf"))
    (clean_checkpoint.root / SIGNOFF_FILENAME).write_text(json.dumps(doc))
    result = cli("validate-checkpoint", clean_checkpoint.root)
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*signoff_present: {SIGNOFF_FILENAME}: {path}: Infinity is not valid JSON*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("raw", "problems"),
    [
        (b'{"a": [1, -Infinity], "b.c": {"d": NaN}}', ["a[1]: -Infinity is not valid JSON", '["b.c"].d: NaN is not valid JSON']),
        (b"NaN", ["<top level>: NaN is not valid JSON"]),
        (b'{"a": NaN, "a": 1}', ["invalid JSON: NaN is not valid JSON"]),
        (b'{"known_issues": [{"x": {"y": 1e999}}], "z": -2.5e400, "ok": 1e308}',
         ["known_issues[0].x.y: 1e999 is out of range for a 64-bit float",
          "z: -2.5e400 is out of range for a 64-bit float"]),
    ],
    ids=["nested", "top-level", "replaced-by-duplicate-key", "float-overflow"],
)
def test_non_finite_literals_are_refused_with_their_paths(raw: bytes, problems: list[str]) -> None:
    """Both documents refuse every NaN/Infinity literal by path; one a duplicate key overwrote is still refused."""
    for load in (load_passport_bytes, load_signoff_bytes):
        with pytest.raises(DocumentError) as info:
            load(raw)
        assert info.value.problems == problems


def test_json_report_of_a_nan_passport_is_strict_json(cli: Runner, clean_checkpoint: Built) -> None:
    """validate-checkpoint --json on a passport holding NaN writes a report that strict JSON parsers accept."""
    file = clean_checkpoint.root / PASSPORT_FILENAME
    doc = json.loads(file.read_text())
    _plant(doc, ("output_spec", "smoke_results", "determinism", "max_abs_diff"), float("nan"))
    file.write_text(json.dumps(doc))
    result = cli("validate-checkpoint", clean_checkpoint.root, "--json", "-")
    assert result.ret == 1

    def refuse(literal: str) -> None:
        raise AssertionError(f"{literal} in the JSON report")

    start = next(i for i, line in enumerate(result.outlines) if line.startswith("{"))
    report = json.loads("\n".join(result.outlines[start:]), parse_constant=refuse)
    assert report["verdict"] != "pass"


def test_finite_or_none_nulls_every_non_finite_float() -> None:
    """NaN and ±Infinity anywhere in nested dicts, lists and tuples become None; other values are kept."""
    from pytest_passport._jsonmap import finite_or_none

    value = {"a": float("nan"), "b": [1.5, float("inf"), (float("-inf"), "x")], "c": {"d": 0.0, "e": True}}
    assert finite_or_none(value) == {"a": None, "b": [1.5, None, [None, "x"]], "c": {"d": 0.0, "e": True}}
