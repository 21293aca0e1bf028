"""The schema: strict loading with JSON paths, lossless deterministic dumping, legacy forms."""

from __future__ import annotations

import json

import pytest

from pytest_passport import schema
from pytest_passport.errors import DocumentError


def load(data: dict) -> schema.Passport:
    return schema.passport_from_dict(data)


def test_wrong_type_names_file_and_path() -> None:
    """A string where an integer belongs is reported with its JSON path."""
    with pytest.raises(DocumentError) as err:
        load({"schema_version": "0.2", "input_contract": {"actions": {"horizon": "16"}}})
    assert err.value.problems == ['input_contract.actions.horizon: expected integer, got "16"']
    assert str(err.value).startswith("MODEL_PASSPORT.json: ")


def test_all_problems_are_collected() -> None:
    """Every defect is listed, not just the first one."""
    with pytest.raises(DocumentError) as err:
        load({"input_contract": {"images": [{"raw_shape": [3, True]}]}, "provenance": "x"})
    assert err.value.problems == [
        "input_contract.images[0].raw_shape[1]: expected integer, got true",
        "input_contract.images[0].key: required key is missing",
        'provenance: expected object, got "x"',
    ]


def test_booleans_are_not_integers_and_floats_are_not_integers() -> None:
    """JSON true and 16.0 are rejected where an integer is required."""
    with pytest.raises(DocumentError, match="expected integer, got 16.0"):
        load({"input_contract": {"state": {"total_dim": 16.0}}})
    with pytest.raises(DocumentError, match="expected integer, got true"):
        load({"input_contract": {"state": {"total_dim": True}}})


def test_integers_are_accepted_as_numbers() -> None:
    """An integer where a number is declared loads as-is."""
    assert load({"input_contract": {"temporal": {"control_rate_hz": 10}}}).input_contract.temporal.control_rate_hz == 10


def test_false_and_full_boolean_arrays_are_kept() -> None:
    """Unlike reference writers, false values and false array elements survive a dump."""
    data = {
        "schema_version": "0.2",
        "input_contract": {"actions": {"norm_mask": [True, False, True], "delta_dims": {"delta_mask": [False, False]}}},
        "output_spec": {"inference_parameters": {"clip_sample": False}},
        "norm_round_trip_results": [{"within_clip_bound": False}],
    }
    assert json.loads(schema.dumps_passport(load(data))) == data


def test_unknown_keys_and_sections_are_preserved() -> None:
    """Unknown top-level sections and unknown keys inside blocks are re-emitted where they were."""
    data = {
        "schema_version": "0.2",
        "input_contract": {"actions": {"total_dim": 7, "use_delta_actions": True, "delta_mask": [True]}},
        "model_internals": {"parameter_summary": {"total_params": 5}},
        "output_spec": {"inference_parameters": {"extra": {"beta": 1}, "vendor_knob": 3}},
        "lab_notes": {"who": "ana"},
    }
    passport = load(data)
    assert passport.extra == {"lab_notes": {"who": "ana"}}
    assert passport.output_spec.inference_parameters.extra == {"beta": 1}
    assert json.loads(schema.dumps_passport(passport)) == data


def test_dump_is_deterministic_and_ordered() -> None:
    """Keys come out in schema order regardless of input order; same input, same bytes."""
    a = load({"provenance": {"training_repo_commit": "a" * 40}, "schema_version": "0.2", "stack": "act"})
    text = schema.dumps_passport(a)
    assert list(json.loads(text)) == ["schema_version", "stack", "provenance"]
    assert text == schema.dumps_passport(load(json.loads(text)))
    assert text.endswith("}\n")


def test_legacy_forms_are_read() -> None:
    """Legacy generated_by objects, string delta_dims, timm_string, single-hash cameras load."""
    passport = load(
        {
            "schema_version": "0.2",
            "generated_by": {"tool": "generate-passport", "version": "0.1"},
            "input_contract": {"actions": {"delta_dims": "gripper absolute"}},
            "model_internals": {
                "pretrained_provenance": [{"submodule": "vision", "timm_string": "resnet18", "hf_revision": "abc1234"}],
                "parameters": {"by_name": [{"name": "w"}]},
            },
            "reference_test_vector": {"input_images_hash": {"front": "f" * 64}, "expected_output": [[0.0]]},
        }
    )
    assert passport.generated_by == {"tool": "generate-passport", "version": "0.1"}
    assert passport.input_contract.actions.delta_dims.absolute_dims_reason == "gripper absolute"
    asset = passport.model_internals.pretrained_provenance[0]
    assert (asset.source_identifier, asset.source_revision) == ("resnet18", "abc1234")
    assert passport.reference_test_vector.input_images_hash == {"front": ["f" * 64]}
    assert passport.reference_test_vector.extra == {"expected_output": [[0.0]]}
    assert passport.model_internals.parameters.extra == {"by_name": [{"name": "w"}]}


def test_new_pretrained_keys_win_over_legacy() -> None:
    """When both timm_string and source_identifier exist, the 0.2 key wins."""
    passport = load({"model_internals": {"pretrained_provenance": [{"submodule": "v", "timm_string": "old", "source_identifier": "new"}]}})
    assert passport.model_internals.pretrained_provenance[0].source_identifier == "new"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[]", "top level must be a JSON object, got an array"),
        (b"{", "invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        (b'{"a": Infinity}', "a: Infinity is not valid JSON"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b'{"a": ' + b"1" * 5000 + b"}", "invalid JSON: Exceeds the limit"),
        (b"[" * 100000 + b"]" * 100000, "invalid JSON"),
    ],
    ids=["array", "truncated", "infinity", "not-utf8", "huge-int", "deep"],
)
def test_unparseable_documents(raw: bytes, message: str) -> None:
    """Every way the bytes can be wrong becomes one DocumentError line."""
    with pytest.raises(DocumentError) as err:
        schema.load_passport_bytes(raw)
    assert err.value.problems[0].startswith(message)


def test_signoff_always_writes_six_keys() -> None:
    """SIGNOFF.json is never pruned: absent values are written as null."""
    text = schema.dumps_signoff(schema.Signoff(artifacts=[schema.Artifact("MODEL_PASSPORT.json", "a" * 64)]))
    data = json.loads(text)
    assert list(data) == ["schema_version", "signed_at", "signed_by", "artifacts", "verdict", "verdict_reason"]
    assert data["verdict"] is None


def test_signoff_without_version_defaults_to_0_2() -> None:
    """A signoff lacking schema_version maps as 0.2 (reference default)."""
    assert schema.signoff_from_dict({"artifacts": []}).schema_version == "0.2"


def test_signoff_artifact_requires_path_and_sha() -> None:
    """An artifact without sha256 makes the signoff unmappable."""
    with pytest.raises(DocumentError, match=r"artifacts\[0\].sha256: required key is missing"):
        schema.signoff_from_dict({"artifacts": [{"path": "x"}]})


def test_write_atomic_leaves_no_temp_file(tmp_path) -> None:
    """Atomic writes replace the target and leave nothing else behind."""
    target = tmp_path / "SIGNOFF.json"
    schema.write_signoff(schema.Signoff(), target)
    assert [p.name for p in tmp_path.iterdir()] == ["SIGNOFF.json"]
    assert json.loads(target.read_text())["schema_version"] == "0.2"
