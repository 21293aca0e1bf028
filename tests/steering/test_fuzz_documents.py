"""Fuzzing MODEL_PASSPORT.json and SIGNOFF.json: load + full validation never crashes, hangs, or hides the JSON path.

Documents are the real passport and signoff of a signed checkpoint, mutated at random places
(wrong types, missing and extra keys, nulls, huge integers, lone surrogates, nested junk) and
run through ``verify()`` in-process. Seeded (``derandomize=True``): every run tries the same
examples, so CI is reproducible.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest_passport
from pytest_passport.cli import sign_main
from pytest_passport.errors import VerificationError
from pytest_passport.findings import Finding

from ..conftest import build_clean_checkpoint

FUZZ = settings(
    derandomize=True,
    database=None,
    max_examples=1200,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Problems about the document as a whole name no path inside it.
WHOLE_DOCUMENT = ("invalid JSON", "not UTF-8 text", "top level must be a JSON object")
PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z0-9_]+)*$")

KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, -(2**63), 10**40, 0, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["\ud800", "x\udcffy", "../../etc/passwd", "/abs", "", "a" * 300, "MODEL_PASSPORT.json"]),
)
JUNK = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=3), max_leaves=8)
OPS = ("replace", "delete", "extra_key", "null", "wrap_in_list", "append")


def _paths(node: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*here, index))


def _apply(doc: Any, path: tuple[Any, ...], op: str, junk: Any, key: str) -> Any:
    if not path:
        return junk if op == "replace" else doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    target = parent[last]
    if op == "replace":
        parent[last] = junk
    elif op == "delete":
        del parent[last]
    elif op == "null":
        parent[last] = None
    elif op == "wrap_in_list":
        parent[last] = [target]
    elif op == "extra_key" and isinstance(target, dict):
        target[key] = junk
    elif op == "append" and isinstance(target, list):
        target.append(junk)
    else:
        parent[last] = junk
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    doc: Any = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        doc = _apply(doc, draw(st.sampled_from(paths)), draw(st.sampled_from(OPS)), draw(JUNK), draw(KEY))
    return doc


def _resolves(doc: Any, path: str, *, missing_leaf: bool) -> bool:
    """Whether a problem's ``a.b[0].c`` path names a place in ``doc`` (its parent, for a missing key)."""
    steps: list[Any] = []
    for name, index in re.findall(r"([A-Za-z0-9_]+)|\[(\d+)\]", path):
        steps.append(int(index) if index else name)
    if missing_leaf:
        steps = steps[:-1]
    node = doc
    for step in steps:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        elif isinstance(step, str) and isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return False
    return True


def _validate(root: Path, require_signoff: bool) -> list[Finding]:
    try:
        report = pytest_passport.verify(root, require_signoff=require_signoff)
    except VerificationError as exc:
        return exc.failures
    return report.failures


def _assert_paths_named(failures: list[Finding], check: str, doc: Any) -> None:
    for finding in failures:
        if finding.check != check:
            continue
        assert "check crashed" not in finding.message, finding.message
        problems = finding.details.get("problems")
        for problem in problems or [finding.message.split(": ", 1)[1]]:
            text = problem if isinstance(problem, str) else json.dumps(problem)
            if text.startswith(WHOLE_DOCUMENT):
                continue
            # "path: what is wrong" in problem lists; "path what is wrong" in one-line verdicts
            where, _, what = text.partition(": ") if problems else text.partition(" ")
            assert where == "<top level>" or PATH.match(where), f"no JSON path in {text!r}"
            if PATH.match(where) and finding.details.get("problems"):
                assert _resolves(doc, where, missing_leaf=what == "required key is missing"), f"{where!r} not in document"


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A checkpoint signed by sign-checkpoint, with its passport and signoff as parsed JSON."""
    root = build_clean_checkpoint(tmp_path_factory.mktemp("fuzz") / "ckpt").root
    assert sign_main([str(root)]) == 0
    passport = json.loads((root / "MODEL_PASSPORT.json").read_text())
    signoff = json.loads((root / "SIGNOFF.json").read_text())
    return root, passport, signoff


def _validate_with(root, name: str, doc, *, require_signoff: bool):
    """Validate with ``name`` replaced by ``doc``; the original bytes are put back afterwards."""
    target = root / name
    original = target.read_bytes()
    target.write_text(json.dumps(doc))
    try:
        return _validate(root, require_signoff=require_signoff)
    finally:
        target.write_bytes(original)


def test_unmutated_documents_pass(signed) -> None:
    """The base of the fuzzing is sound: the untouched signed checkpoint passes the gate."""
    root, _, _ = signed
    assert _validate(root, require_signoff=True) == []


@FUZZ
@given(data=st.data())
def test_fuzzed_passport_never_crashes_and_names_paths(signed, data) -> None:
    """Mutated passports: verify() only ever raises VerificationError; passport_loadable names each JSON path."""
    root, passport, _ = signed
    doc = data.draw(mutated(passport))
    failures = _validate_with(root, "MODEL_PASSPORT.json", doc, require_signoff=False)
    assert all("check crashed" not in f.message for f in failures), [f.message for f in failures]
    _assert_paths_named(failures, "passport_loadable", doc)


@FUZZ
@given(data=st.data())
def test_fuzzed_signoff_never_crashes_and_names_paths(signed, data) -> None:
    """Mutated signoffs: the gate fails or passes cleanly, and a malformed signoff's problems name their JSON path."""
    root, _, signoff = signed
    doc = data.draw(mutated(signoff))
    failures = _validate_with(root, "SIGNOFF.json", doc, require_signoff=True)
    assert all("check crashed" not in f.message for f in failures), [f.message for f in failures]
    _assert_paths_named(failures, "signoff_present", doc)
