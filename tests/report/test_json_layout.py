"""``--json`` follows its documented, versioned layout; the coverage map accounts for every passport path."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_passport import coverage
from pytest_passport.checks import CHECK_ORDER
from pytest_passport.report import layout

from ..conftest import DATA

STATES = {"covered", "not_checked", "requires_human"}


def test_committed_schema_is_the_derived_one() -> None:
    """report.schema.json in the repository is exactly what the layout dataclasses derive."""
    assert layout.SCHEMA_PATH.read_text(encoding="utf-8") == layout.dumps_schema()
    assert layout.json_schema()["$id"] == layout.LAYOUT


@pytest.fixture(params=[[], ["-n", "2"]], ids=["serial", "xdist"])
def report(clean_checkpoint, validate, request: pytest.FixtureRequest) -> dict[str, Any]:
    """``validate-checkpoint --json -`` of the clean checkpoint (serial and -n 2), parsed from stdout."""
    result = validate(clean_checkpoint.root, "--json", "-", *request.param)
    assert result.returncode == 0, result.stderr
    assert "LOADABLE" in result.stderr and "passed" in result.stderr
    return json.loads(result.stdout)


def test_json_to_stdout_validates(report: dict[str, Any]) -> None:
    """stdout holds only the report, and it validates against the committed schema."""
    assert layout.validate(report) == []
    assert report["report_layout"] == layout.LAYOUT and report["gate"] == "LOADABLE"
    assert sum(report["counts"].values()) == len(report["observations"])
    files = [o for o in report["observations"] if o["section"] == "weight_integrity" and "[" in o["nodeid"] and o["check"] not in CHECK_ORDER]
    assert len(files) == 9  # one per declared file of the clean checkpoint, also under xdist


def test_validator_rejects_off_layout_documents(report: dict[str, Any]) -> None:
    """A wrong status, a missing key or an unknown key are each reported with their JSON path."""
    bad = copy.deepcopy(report)
    bad["observations"][0]["status"] = "ok"
    del bad["signoff"]["verdict"]
    bad["surprise"] = 1
    problems = layout.validate(bad)
    assert any(p.startswith("$.observations[0].status") for p in problems)
    assert "$.signoff: missing key 'verdict'" in problems
    assert "$: unexpected key 'surprise'" in problems


def _leaves(value: Any, prefix: str = "") -> Iterator[str]:
    """Leaf paths, written independently of the code under test."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{prefix}[{index}]")
    else:
        yield prefix


@pytest.fixture
def spec_report(tmp_path: Path, validate) -> tuple[dict[str, Any], dict[str, Any]]:
    """The spec §7 example passport alone in a directory, validated with --json -."""
    root = tmp_path / "spec_example"
    root.mkdir()
    shutil.copyfile(DATA / "spec_example_passport.json", root / "MODEL_PASSPORT.json")
    result = validate(root, "--json", "-")
    assert result.returncode == 1, result.stderr
    return json.loads((DATA / "spec_example_passport.json").read_text()), json.loads(result.stdout)


def test_coverage_lists_every_leaf_of_the_spec_example(spec_report) -> None:
    """Every leaf path of the §7 passport appears exactly once with one of the three states."""
    passport, report = spec_report
    assert layout.validate(report) == []
    rows = {row["path"]: row for row in report["coverage"]}
    assert len(rows) == len(report["coverage"])
    leaves = list(_leaves(passport))
    assert len(leaves) > 200
    for path in leaves:
        assert path in rows, path
        assert rows[path]["state"] in STATES
    extra = [p for p in rows if p not in leaves]
    assert extra and all(rows[p]["state"] == "not_checked" and rows[p]["reason"] == "absent" for p in extra)


def test_unrecorded_camera_mounting_still_needs_a_person(tmp_path: Path, validate) -> None:
    """A camera without physical_mounting is listed as requires_human ("not recorded"), not as a quiet absent field."""
    passport = json.loads((DATA / "spec_example_passport.json").read_text())
    for image in passport["input_contract"]["images"]:
        del image["physical_mounting"]
    root = tmp_path / "no_mounting"
    root.mkdir()
    (root / "MODEL_PASSPORT.json").write_text(json.dumps(passport))
    rows = {row["path"]: row for row in json.loads(validate(root, "--json", "-").stdout)["coverage"]}
    row = rows["input_contract.images[].physical_mounting"]
    assert row["state"] == "requires_human" and row["reason"].startswith("not recorded; camera mounting")


def test_coverage_tells_the_reasons_apart(spec_report) -> None:
    """Absent fields, fields no check reads, checked fields and physical setup each get their own state or reason."""
    _, report = spec_report
    rows = {row["path"]: row for row in report["coverage"]}
    assert (rows["generated_by"]["state"], rows["generated_by"]["reason"]) == ("not_checked", "no_check")
    assert (rows["input_contract.language.tokenizer_class"]["state"], rows["input_contract.language.tokenizer_class"]["reason"]) == ("not_checked", "absent")
    assert rows["input_contract.images[0].physical_mounting"]["state"] == "requires_human"
    assert rows["transform_pipeline[6].operation"]["state"] == "requires_human"  # check_type: dynamic
    assert rows["transform_pipeline[0].operation"]["reason"] == "no_check"
    commit = rows["provenance.training_repo_commit"]
    assert commit["state"] == "covered" and commit["checks"] == [
        {"check": "training_repo_commit_format", "status": "pass", "message": commit["checks"][0]["message"]}
    ]
    deploy = rows["provenance.deployment_repo_commit"]  # no --target-repo: the check could not run
    assert (deploy["state"], deploy["reason"]) == ("not_checked", "check_not_run")
    # the declared weight files are missing on disk: each entry is covered by its own file check, failing
    sha = rows["weight_integrity.weight_files[10].sha256"]
    assert sha["state"] == "covered" and sha["checks"][0]["check"] == "model.safetensors" and sha["checks"][0]["status"] == "fail"


def test_every_check_declares_what_it_reads() -> None:
    """Each registered check has a READS entry (coverage.py), so no check is silently missing from the map."""
    assert coverage.undeclared_checks() == []
