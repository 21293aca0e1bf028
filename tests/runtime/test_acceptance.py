"""Acceptance: generate --dynamic → sign → ``pytest --checkpoint -m gpu`` on the tiny policy, and each fault caught."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from pytest_passport.checks.dynamic import GPU_ORDER, GPU_REGISTRY

pytest.importorskip("torch", reason="needs the torch extra (pip install -e '.[torch]')")

HERE = Path(__file__).parent
FAULTS = ("no_image_norm", "bgr", "drop_previous", "no_delta_to_absolute", "other_stats")


def node(name: str) -> str:
    spec = GPU_REGISTRY[name]
    return f"checkpoint::{spec.section}[{name}]"


def line(status: str, name: str, rest: str = "") -> str:
    """A regex for the summary line of gpu item ``name`` (``rest``: what follows the node id, as a regex)."""
    return rf"{status} .*{re.escape(node(name))}{rest}"


def assert_failed(result: pytest.RunResult, name: str, message: str) -> None:
    """Item ``name`` failed, and its report's first line is ``<name>: <message>`` (a regex)."""
    result.stdout.re_match_lines([line("FAILED", name)])
    result.stdout.re_match_lines([f"{name}: {message}"])


def run_gpu(pytester: pytest.Pytester, checkpoint: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--checkpoint", str(checkpoint), "-m", "gpu",
                                         "-rA", *args)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_gpu_items_pass_on_cpu(pytester: pytest.Pytester, signed_tiny: Path, site_env: None,
                               workers: list[str]) -> None:
    """Every gpu item of the signed tiny checkpoint passes on CPU, serial and under -n 2."""
    result = run_gpu(pytester, signed_tiny, "--passport-device", "cpu", *workers)
    result.assert_outcomes(passed=len(GPU_ORDER))
    for name in GPU_ORDER:
        result.stdout.re_match_lines([line("PASSED", name)])


def test_gpu_items_share_one_worker(pytester: pytest.Pytester, signed_tiny: Path, site_env: None) -> None:
    """Under -n 2 (--dist load) all gpu items of the checkpoint run on one worker, so the model loads once."""
    result = run_gpu(pytester, signed_tiny, "-n", "2", "-v")
    workers = {m.group(1) for line in result.outlines
               if (m := re.search(r"\[(gw\d)\].*PASSED .*checkpoint::\w+\[runtime_", line))}
    assert len(workers) == 1, result.outlines


def _consumer(pytester: pytest.Pytester, fault: str, other_stats: Path) -> None:
    text = (HERE / "consumer_conftest.py.txt").read_text()
    pytester.makeconftest(text.format(fault=fault, other_stats=other_stats))


@pytest.fixture
def other_stats(tmp_path: Path, signed_tiny: Path) -> Path:
    """Another checkpoint's stats file: same features, stats from the 1st/99th percentiles."""
    from .builders import arm_dataset

    stats = json.loads((arm_dataset() / "meta" / "stats.json").read_text())
    out = {"metadata": {"state_dim": 8, "action_dim": 7}}
    for key in ("observation.state", "action"):
        out[key] = {"min": stats[key]["q01"], "max": stats[key]["q99"], "mean": stats[key]["mean"], "std": stats[key]["std"]}
    path = tmp_path / "other_policy_stats.json"
    path.write_text(json.dumps(out))
    return path


def test_consumer_feeding_unmodified_passes(pytester: pytest.Pytester, signed_tiny: Path, site_env: None,
                                            other_stats: Path) -> None:
    """The consumer's own hooks are called and their correct feeding path replays within tolerance."""
    _consumer(pytester, "none", other_stats)
    result = run_gpu(pytester, signed_tiny)
    result.stdout.re_match_lines([line("PASSED", "runtime_replay")])
    assert result.ret == 0, result.stdout.str()
    report = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--checkpoint", str(signed_tiny), "-m", "gpu",
                                           "-k", "runtime_identity", "--passport-device", "cpu", "-rA", "-vv")
    assert report.ret == 0


@pytest.mark.parametrize("fault", FAULTS)
def test_feeding_fault_fails_replay(pytester: pytest.Pytester, signed_tiny: Path, site_env: None,
                                    other_stats: Path, fault: str) -> None:
    """Each feeding fault in the consumer's hooks fails replay, naming the output file and the error size."""
    _consumer(pytester, fault, other_stats)
    result = run_gpu(pytester, signed_tiny)
    assert_failed(result, "runtime_replay", r"replayed actions differ from assets/reference_test_vector/"
                  r"expected_output\.npy: max abs error \S+ > tolerance \S+ \(frame \d+, action dim \d+\)")
    assert result.ret == 1


def _edit_weights(checkpoint: Path, edit: object) -> None:
    from safetensors.torch import load_file, save_file

    path = checkpoint / "model.safetensors"
    tensors = load_file(str(path))
    edit(tensors)  # type: ignore[operator]
    save_file(tensors, str(path))


def _nan(tensors: dict) -> None:
    tensors["action_head.weight"][0, 0] = float("nan")


def _drop_key(tensors: dict) -> None:
    del tensors["action_head.bias"]


def _freeze(tensors: dict) -> None:
    tensors["action_head.weight"].zero_()


@pytest.mark.parametrize(("edit", "check", "message"), [
    (_nan, "runtime_numerical_health", r"NaN/Inf in 1 tensor\(s\) of the live model: action_head\.weight"),
    (_drop_key, "runtime_state_dict", r"1 key\(s\) of the live model are not in the weight files .*action_head\.bias"),
    (_freeze, "runtime_smoke", r"smoke liveness failed: outputs do not change with the input"),
], ids=["nan_weight", "missing_key", "frozen_output"])
def test_weight_fault_reported_by_its_check(pytester: pytest.Pytester, tiny: Path, site_env: None,
                                            edit: object, check: str, message: str) -> None:
    """A NaN weight, a missing state-dict key and a frozen output each fail the matching gpu check."""
    _edit_weights(tiny, edit)
    result = run_gpu(pytester, tiny)
    assert_failed(result, check, message)


def test_non_deterministic_forward_fails(pytester: pytest.Pytester, tiny: Path, site_env: None) -> None:
    """A forward whose noise ignores torch.manual_seed fails numerical health with the difference size."""
    config = json.loads((tiny / "config.json").read_text())
    (tiny / "config.json").write_text(json.dumps({**config, "noise": "os"}))
    result = run_gpu(pytester, tiny)
    assert_failed(result, "runtime_numerical_health",
                  "non-deterministic: two calls with the same input and torch seed differ by ")


def test_unmodified_expected_output_matches_a_fresh_replay(signed_tiny: Path) -> None:
    """expected_output.npy holds one action chunk per reference frame, in the passport's action layout."""
    data = json.loads((signed_tiny / "MODEL_PASSPORT.json").read_text())
    rtv = data["reference_test_vector"]
    expected = np.load(signed_tiny / rtv["expected_output_path"])
    actions = data["input_contract"]["actions"]
    assert expected.shape == (rtv["n_frames"], actions["horizon"], actions["total_dim"])
    assert rtv["tolerance"] > 0


@pytest.mark.parametrize("edit", ["", "\n# changed after training\nSTALE = True\n"], ids=["same_bytes", "other_code"])
def test_identity_flags_a_shadowing_copy_only_when_its_code_differs(
        pytester: pytest.Pytester, signed_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    """Another copy of the model package first on sys.path: the same bytes pass, other code fails runtime_identity."""
    from .builders import SITE

    shadow = Path(shutil.copytree(SITE / "tinypolicy", tmp_path / "shadow" / "tinypolicy"))
    with (shadow / "__init__.py").open("a") as fh:
        fh.write(edit)
    monkeypatch.setenv("PYTHONPATH", f"{shadow.parent}{os.pathsep}{SITE}")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    result = run_gpu(pytester, signed_tiny, "-k", "runtime_identity")
    if edit:
        assert_failed(result, "runtime_identity", r"TinyPolicy was imported from .*shadow.*exists here with other code")
    else:
        result.assert_outcomes(passed=1)  # the recorded module_file exists here: only equal bytes pass
