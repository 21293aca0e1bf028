"""SIGNOFF.json is read strictly (issue 9, point 5): each lax form the reference accepted fails the gate."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_passport import schema
from pytest_passport.generate import main as generate_main
from pytest_passport.hashing import sha256_file

from .conftest import gate_failures, messages

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SIGNOFF = schema.SIGNOFF_FILENAME
PASSPORT = schema.PASSPORT_FILENAME


def edit_signoff(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads((root / SIGNOFF).read_text())
    change(data)
    (root / SIGNOFF).write_text(json.dumps(data, indent=2))


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[key] = value

    return change


def drop_key(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


@pytest.mark.parametrize(
    "change",
    [set_key("verdict", v) for v in ("dont_ship", "FAIL", "", None, "Pass", "fail", 0)] + [drop_key("verdict")],
    ids=["dont_ship", "FAIL", "empty", "null", "Pass", "fail", "number", "missing"],
)
def test_verdict_other_than_pass_or_soft_signal_fails(signed: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Only 'pass' and 'soft_signal' are approvals; every other verdict blocks loading."""
    edit_signoff(signed, change)
    text = messages(gate_failures(signed))
    assert "signoff_verdict" in text or "signoff_present" in text, text
    assert "verdict" in text


def test_passport_artifact_is_required(signed: Path) -> None:
    """A signoff without the MODEL_PASSPORT.json artifact fails: the passport would be freely editable."""
    edit_signoff(signed, lambda d: d.__setitem__("artifacts", [a for a in d["artifacts"] if a["path"] != PASSPORT]))
    text = messages(gate_failures(signed))
    assert f"passport_checksum_valid: {SIGNOFF} has no {PASSPORT} artifact" in text and "re-sign" in text


@pytest.mark.parametrize("same_hash", [False, True], ids=["wrong-hash-after-right", "same-hash"])
def test_duplicate_artifact_paths_fail(signed: Path, same_hash: bool) -> None:
    """An artifact path listed twice fails, whether the second hash is wrong or the same."""

    def duplicate(data: dict[str, Any]) -> None:
        entry = next(a for a in data["artifacts"] if a["path"] == "model.safetensors")
        data["artifacts"].append({"path": "model.safetensors", "sha256": entry["sha256"] if same_hash else "0" * 64})

    edit_signoff(signed, duplicate)
    text = messages(gate_failures(signed))
    assert "artifact path listed more than once: model.safetensors" in text


def test_passport_edited_after_signing_says_re_sign(signed: Path) -> None:
    """An edited passport fails passport_checksum_valid with the way out: re-sign."""
    path = signed / PASSPORT
    path.write_text(path.read_text().replace('"horizon": 5', '"horizon": 6', 1))
    text = messages(gate_failures(signed))
    assert "MODEL_PASSPORT.json changed since it was signed" in text and "re-sign (sign-checkpoint)" in text


@pytest.fixture
def other_checkpoint(tmp_path: Path) -> Path:
    """A different checkpoint (act_state_only) with its own generated passport and a signoff of it."""
    root = Path(shutil.copytree(FIXTURES / "lerobot" / "act_state_only", tmp_path / "other"))
    assert generate_main([str(root)]) == 0
    edit = json.loads((root / PASSPORT).read_text())
    assert edit["weight_integrity"]["weight_files"]
    # Signed as the signer would list it (validating this bare passport is not the point here).
    artifacts = [{"path": PASSPORT, "sha256": sha256_file(root / PASSPORT)[0]}]
    artifacts += [{"path": f["path"], "sha256": f["sha256"]} for f in edit["weight_integrity"]["weight_files"]]
    signoff = {"schema_version": "0.2", "signed_at": "2026-11-01T00:00:00Z", "signed_by": {"tool": "t", "version": "1"},
               "artifacts": artifacts, "verdict": "pass", "verdict_reason": "ok"}
    (root / SIGNOFF).write_text(json.dumps(signoff))
    return root


def test_signoff_from_another_checkpoint_says_regenerate(signed: Path, other_checkpoint: Path) -> None:
    """A SIGNOFF.json copied from another checkpoint fails with 'regenerate'."""
    shutil.copyfile(other_checkpoint / SIGNOFF, signed / SIGNOFF)
    text = messages(gate_failures(signed))
    assert "weight_files_match_signoff" in text and "the signoff belongs to another checkpoint; regenerate" in text


def test_passport_and_signoff_from_another_checkpoint_say_regenerate(signed: Path, other_checkpoint: Path) -> None:
    """Both documents copied from another checkpoint: the tree check says the passport must be regenerated."""
    shutil.copyfile(other_checkpoint / SIGNOFF, signed / SIGNOFF)
    shutil.copyfile(other_checkpoint / PASSPORT, signed / PASSPORT)
    text = messages(gate_failures(signed))
    assert "the passport describes another checkpoint; regenerate it (generate-passport)" in text


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_signoff_checks_hash_signed_files_when_weight_integrity_is_skipped(signed: Path) -> None:
    """With the weight_integrity section dropped, the signoff checks still catch a tampered weight."""
    flip(signed / "model.safetensors")
    failures = gate_failures(signed, skip_sections=("weight_integrity",))
    assert not any(f.check == "model.safetensors" for f in failures)
    assert "weight_files_match_signoff: SIGNOFF.json: signed file changed: model.safetensors" in messages(failures)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d["artifacts"].append(None), "artifacts"),
        (lambda d: d["artifacts"].append({"path": "../outside.bin", "sha256": "0" * 64}), "outside the checkpoint root"),
        (lambda d: d["artifacts"][1].__setitem__("sha256", "XYZ"), "sha256"),
        (set_key("artifacts", []), "re-sign"),
        (set_key("artifacts", None), "re-sign"),
        (set_key("signed_at", None), "signed_at"),
        (set_key("signed_at", "last tuesday"), "signed_at"),
        (drop_key("signed_by"), "signed_by"),
        (set_key("schema_version", "9.9"), "schema_version"),
    ],
    ids=["null-artifact", "outside-path", "malformed-sha", "no-artifacts", "null-artifacts", "null-signed_at", "bad-signed_at", "no-signed_by", "unknown-version"],
)
def test_other_lax_forms_fail(signed: Path, change: Callable[[dict[str, Any]], None], expected: str) -> None:
    """Malformed artifacts and header fields fail under --require-signoff, naming the field."""
    edit_signoff(signed, change)
    text = messages(gate_failures(signed))
    assert text and expected in text, text


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_plugin_gate_refuses_a_dont_ship_verdict(pytester: pytest.Pytester, signed: Path, xdist: list[str]) -> None:
    """pytest --checkpoint --require-signoff fails on verdict 'dont_ship', serial and -n 2."""
    edit_signoff(signed, set_key("verdict", "dont_ship"))
    result = pytester.runpytest("--checkpoint", signed, "--require-signoff", *xdist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*signoff_verdict: SIGNOFF.json: verdict 'dont_ship' is not 'pass' or 'soft_signal'*"])


@pytest.mark.parametrize("skip", [(), ("weight_integrity",)], ids=["full", "skip-weight_integrity"])
def test_each_signed_file_is_read_once(signed: Path, monkeypatch: pytest.MonkeyPatch, skip: tuple[str, ...]) -> None:
    """verify() reads every signed file exactly once, whether the per-file checks run or not."""
    from pytest_passport import hashing

    calls: list[str] = []
    real = hashing.sha256_file_stat

    def counting(path, *args, **kwargs):
        calls.append(Path(path).relative_to(signed.resolve()).as_posix())
        return real(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "sha256_file_stat", counting)
    assert gate_failures(signed, skip_sections=skip) == []
    signed_files = [a["path"] for a in json.loads((signed / SIGNOFF).read_text())["artifacts"] if a["path"] != PASSPORT]
    assert sorted(calls) == sorted(signed_files)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_deselected_file_check_is_covered_by_the_signoff_check(pytester: pytest.Pytester, signed: Path, xdist: list[str]) -> None:
    """--deselect of a tampered file's own check: weight_files_match_signoff still fails on it."""
    flip(signed / "model.safetensors")
    result = pytester.runpytest(
        "--checkpoint", signed, "--require-signoff", "--deselect", "checkpoint::weight_integrity[model.safetensors]", *xdist
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*weight_files_match_signoff: SIGNOFF.json: signed file changed: model.safetensors*"])
