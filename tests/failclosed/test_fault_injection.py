"""Fault injection over a signed checkpoint: every mutation must be caught by the load gate.

Each mutation is applied to a fresh copy of the shared builder's checkpoint, signed by
``sign-checkpoint``, then judged by ``verify(require_signoff=True)`` (the same checks as
``validate-checkpoint --require-signoff``, in-process for speed; a few also go through pytest,
serial and ``-n 2``). The lists are derived, not written out: declared files come from the
passport, sections from :data:`pytest_passport.schema.PASSPORT_SECTIONS`, signoff fields from
:class:`pytest_passport.schema.Signoff`.

Not counted as mutations, because they leave the signoff's meaning intact and only an
authenticated signature (issue 12) could tell them apart: replacing ``signed_at``,
``signed_by`` or ``verdict_reason`` by another well-formed value, ``verdict`` ``pass`` ↔
``soft_signal``, removing ``schema_version`` (defaults to ``"0.2"`` by the spec), reordering
artifacts, and adding unknown keys.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_passport import schema

from .conftest import gate_failures

PASSPORT = schema.PASSPORT_FILENAME
SIGNOFF = schema.SIGNOFF_FILENAME
Mutation = Callable[[Path], None]


# --------------------------------------------------------------------------- file mutations


def flip_at(where: str) -> Mutation:
    def mutate(path: Path) -> None:
        data = bytearray(path.read_bytes())
        index = {"start": 0, "middle": len(data) // 2, "end": len(data) - 1}[where]
        data[index] ^= 0x01
        path.write_bytes(bytes(data))

    return mutate


def truncate(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)


def append(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\x00")


def delete(path: Path) -> None:
    path.unlink()


def symlink_swap(path: Path, outside: Path) -> None:
    """The file becomes a link to identical bytes outside the checkpoint."""
    shutil.copyfile(path, outside)
    path.unlink()
    path.symlink_to(outside)

FILE_MUTATIONS: dict[str, Callable[[Path], None]] = {
    "flip-start": flip_at("start"),
    "flip-middle": flip_at("middle"),
    "flip-end": flip_at("end"),
    "truncate": truncate,
    "append": append,
    "delete": delete,
}


# --------------------------------------------------------------------------- document mutations


def edit_json(name: str, change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(root: Path) -> None:
        data = json.loads((root / name).read_text())
        change(data)
        (root / name).write_text(json.dumps(data, indent=2))

    return mutate


def changed(value: Any) -> Any:
    """A different value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value[:-1] if value else [None]
    if isinstance(value, dict):
        if not value:
            return {"mutated": True}
        key = next(iter(value))
        return {**value, key: changed(value[key])}
    return "mutated"


def passport_mutations(document: dict[str, Any]) -> dict[str, Mutation]:
    out: dict[str, Mutation] = {}
    for section in schema.PASSPORT_SECTIONS:
        if section in document:
            out[f"passport:{section}:removed"] = edit_json(PASSPORT, lambda d, s=section: d.pop(s))
            out[f"passport:{section}:changed"] = edit_json(PASSPORT, lambda d, s=section: d.__setitem__(s, changed(d[s])))
        else:
            out[f"passport:{section}:added"] = edit_json(PASSPORT, lambda d, s=section: d.__setitem__(s, {}))
    out["passport:reformatted"] = lambda root: (root / PASSPORT).write_text(json.dumps(json.loads((root / PASSPORT).read_text())))
    return out


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__(key, value)


def artifact_edit(index: int, key: str, value: Callable[[str], str]) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["artifacts"][index][key] = value(d["artifacts"][index][key])

    return change


#: Invalid forms of each signoff field (beyond removal, null and a wrong type, added below).
SIGNOFF_FORMS: dict[str, dict[str, Callable[[dict[str, Any]], None]]] = {
    "schema_version": {"unknown": set_key("schema_version", "9.9")},
    "signed_at": {"not-a-time": set_key("signed_at", "last tuesday")},
    "signed_by": {"empty": set_key("signed_by", {}), "empty-tool": set_key("signed_by", {"tool": "", "version": "1"})},
    "artifacts": {"empty": set_key("artifacts", [])},
    "verdict": {v or "empty": set_key("verdict", v) for v in ("fail", "dont_ship", "FAIL", "")},
    "verdict_reason": {"empty": set_key("verdict_reason", "")},
}
#: Removing these leaves an equivalent document (see the module docstring).
REMOVAL_IS_EQUIVALENT = {"schema_version"}


def signoff_mutations(document: dict[str, Any]) -> dict[str, Mutation]:
    fields = [f.name for f in dataclasses.fields(schema.Signoff) if f.name != "extra"]
    assert set(SIGNOFF_FORMS) == set(fields), "a new signoff field needs its invalid forms here"
    out: dict[str, Mutation] = {}
    for name in fields:
        forms = dict(SIGNOFF_FORMS[name])
        forms["null"] = set_key(name, None)
        forms["wrong-type"] = set_key(name, 7)
        if name not in REMOVAL_IS_EQUIVALENT:
            forms["removed"] = lambda d, n=name: d.pop(n)
        for label, change in forms.items():
            out[f"signoff:{name}:{label}"] = edit_json(SIGNOFF, change)
    for i, artifact in enumerate(document["artifacts"]):
        path = artifact["path"]
        out[f"signoff:artifacts[{path}]:dropped"] = edit_json(SIGNOFF, lambda d, i=i: d["artifacts"].pop(i))
        out[f"signoff:artifacts[{path}]:sha256-changed"] = edit_json(SIGNOFF, artifact_edit(i, "sha256", lambda s: ("0" if s[0] != "0" else "1") + s[1:]))
        out[f"signoff:artifacts[{path}]:path-changed"] = edit_json(SIGNOFF, artifact_edit(i, "path", lambda p: p + ".renamed"))
        out[f"signoff:artifacts[{path}]:duplicated-wrong"] = edit_json(SIGNOFF, lambda d, p=path: d["artifacts"].append({"path": p, "sha256": "f" * 64}))
    out["signoff:artifacts:extra-missing-file"] = edit_json(SIGNOFF, lambda d: d["artifacts"].append({"path": "ghost.safetensors", "sha256": "a" * 64}))
    return out


# --------------------------------------------------------------------------- the plan


def all_mutations(template: Path) -> dict[str, Mutation]:
    passport = json.loads((template / PASSPORT).read_text())
    signoff = json.loads((template / SIGNOFF).read_text())
    declared = [f["path"] for f in passport["weight_integrity"]["weight_files"]]
    plan: dict[str, Mutation] = {}
    for rel in declared:
        for label, mutate in FILE_MUTATIONS.items():
            plan[f"file:{rel}:{label}"] = lambda root, r=rel, m=mutate: m(root / r)
        plan[f"file:{rel}:symlink-swap"] = lambda root, r=rel: symlink_swap(root / r, root.parent / "outside")
    digests = {f["path"]: f["sha256"] for f in passport["weight_integrity"]["weight_files"]}
    for a, b in zip(declared, declared[1:]):
        if digests[a] != digests[b]:
            plan[f"file:{a}<->{b}:swapped"] = lambda root, a=a, b=b: _swap(root / a, root / b)
    plan.update(passport_mutations(passport))
    plan.update(signoff_mutations(signoff))
    return plan


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_name(a.name + ".swap")
    os.rename(a, tmp)
    os.rename(b, a)
    os.rename(tmp, b)


def test_every_mutation_is_caught(signed_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Mutating any declared file, passport section or signoff field fails verify(require_signoff=True)."""
    assert gate_failures(signed_template) == []
    plan = all_mutations(signed_template)
    missed: list[str] = []
    for i, (label, mutate) in enumerate(plan.items()):
        base = tmp_path / f"m{i}"
        root = Path(shutil.copytree(signed_template, base / "ckpt", symlinks=True))
        mutate(root)
        if not gate_failures(root):
            missed.append(label)
    caught = len(plan) - len(missed)
    with capsys.disabled():
        print(f"\nfault injection: {len(plan)} mutations tried, {caught} caught")
    assert missed == []
    files = len(json.loads((signed_template / PASSPORT).read_text())["weight_integrity"]["weight_files"])
    assert len([k for k in plan if k.startswith("file:") and "<->" not in k]) == files * (len(FILE_MUTATIONS) + 1)


#: A sample, one per kind, with the failing test each must produce under pytest.
SAMPLE = {
    "file:model.safetensors:flip-end": "*FAILED*weight_integrity[[]model.safetensors[]]*",
    "file:config.json:symlink-swap": "*FAILED*weight_integrity[[]checkpoint_tree_declared[]]*",
    "signoff:verdict:dont_ship": "*FAILED*signoff[[]signoff_verdict[]]*",
}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_mutations_are_caught_through_pytest(pytester: pytest.Pytester, signed: Path, xdist: list[str]) -> None:
    """A sample of the mutations, applied together, each fails its test under pytest --require-signoff."""
    plan = all_mutations(signed)
    for label in SAMPLE:
        plan[label](signed)
    result = pytester.runpytest("--checkpoint", signed, "--require-signoff", *xdist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for line in SAMPLE.values():
        result.stdout.fnmatch_lines([line])


def test_passport_mutation_is_caught_through_pytest(pytester: pytest.Pytester, signed: Path) -> None:
    """A changed passport section fails passport_checksum_valid under pytest (serial)."""
    all_mutations(signed)["passport:input_contract:changed"](signed)
    result = pytester.runpytest("--checkpoint", signed, "--require-signoff")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAILED*signoff[[]passport_checksum_valid[]]*"])
