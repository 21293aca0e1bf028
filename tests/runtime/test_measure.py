"""Live-model measurements on small real torch models written by safetensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_passport.checkpoint import Checkpoint
from pytest_passport.runtime.feeding import Normalizer

torch = pytest.importorskip("torch", reason="needs the torch extra (pip install -e '.[torch]')")


class Tied(torch.nn.Module):
    """Encoder and decoder share one weight tensor (as gaussian_actor and xvla do)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(4, 4)
        self.decoder = torch.nn.Linear(4, 4)
        self.decoder.weight = self.encoder.weight
        self.register_buffer("scale", torch.ones(4))


def test_aliased_tensors_stored_once_are_not_missing(tmp_path: Path) -> None:
    """safetensors' save_model stores a shared tensor once; the other name is aliased, not missing."""
    from safetensors.torch import save_model

    from pytest_passport.runtime.measure import state_dict_report

    model = Tied()
    save_model(model, str(tmp_path / "model.safetensors"))
    report = state_dict_report(model, Checkpoint(tmp_path))
    assert report["missing_keys"] == [] and report["unexpected_keys"] == []
    assert report["expected_keys_count"] == len(model.state_dict()) == 5
    assert report["found_keys_count"] == 4
    assert len(report["aliased_keys"]) == 1


def test_missing_and_unexpected_keys(tmp_path: Path) -> None:
    """A key the file lacks is missing; a key the model lacks is unexpected."""
    from safetensors.torch import save_file

    from pytest_passport.runtime.measure import state_dict_report

    model = torch.nn.Linear(3, 2)
    save_file({"weight": model.weight.detach().clone(), "extra": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    report = state_dict_report(model, Checkpoint(tmp_path))
    assert report["missing_keys"] == ["bias"] and report["unexpected_keys"] == ["extra"]


def test_parameter_summary_counts_shared_parameters_once() -> None:
    """Tied weights count once in total_params, total_bytes and the dtype breakdown."""
    from pytest_passport.runtime.measure import parameter_summary

    model = Tied().to(torch.float16)
    summary = parameter_summary(model)
    expected = 16 + 4 + 4
    assert summary == {"total_params": expected, "trainable_params": expected, "frozen_params": 0,
                       "total_bytes": 2 * expected, "dtype_breakdown": {"float16": expected}}


@pytest.mark.parametrize("mode", ["min_max", "mean_std", "quantiles"])
def test_normalizer_round_trip(mode: str) -> None:
    """normalize then unnormalize returns the input; min_max maps the stats range onto [-1, 1]."""
    low, high = np.array([-2.0, 0.0, 5.0]), np.array([2.0, 1.0, 9.0])
    norm = Normalizer("x", mode, low=low, high=high, mean=(low + high) / 2, std=(high - low) / 4)
    x = np.stack([low, high, (low + high) / 2])
    np.testing.assert_allclose(norm.unnormalize(norm.normalize(x)), x, atol=1e-12)
    if mode != "mean_std":
        np.testing.assert_allclose(norm.normalize(x)[:2], [[-1, -1, -1], [1, 1, 1]], atol=1e-6)


class Scaled:
    """A runtime whose raw output is its state times ``gain`` (a real torch op per call)."""

    name = "scaled"

    def __init__(self, gain: float) -> None:
        self.gain = gain

    def reset(self) -> None:
        pass

    def make_batch(self, observation):
        return torch.as_tensor(observation.state, dtype=torch.float32)

    def infer(self, batch):
        from pytest_passport.runtime.base import Inference

        raw = (batch * self.gain).numpy()[None]
        return Inference(raw, raw, raw)


def observations(n: int = 4):
    from pytest_passport.runtime.base import Observation

    return [Observation(state=np.linspace(-1.0, 1.0, 3) * (i + 1) / n, index=i) for i in range(n)]


@pytest.mark.parametrize(("gain", "verdict"), [(0.5, "pass"), (3.0, "fail")])
def test_range_check_is_judged_against_the_sampler_clip(gain: float, verdict: str) -> None:
    """With a clip the model applies itself, outputs past it fail range_check."""
    from pytest_passport.runtime.measure import smoke_results

    out = smoke_results(Scaled(gain), observations(), "test", None, clip=1.0)
    check = out["range_check"]
    assert check["status"] == verdict and check["in_expected_range"] is (verdict == "pass")
    assert check["actual_max"] == pytest.approx(gain)


def test_normalization_bound_is_recorded_not_judged() -> None:
    """The action normalization's bound alone (nothing clips to it) is recorded without a verdict."""
    from pytest_passport.checks.output_spec import bucket_verdicts
    from pytest_passport.runtime.measure import smoke_results
    from pytest_passport._jsonmap import load_block
    from pytest_passport.schema import SmokeResults

    out = smoke_results(Scaled(3.0), observations(), "test", None, clip=None, norm_bound=1.0)
    check = out["range_check"]
    assert "status" not in check and "in_expected_range" not in check
    assert check["expected_range"] == [-1.0, 1.0] and check["details"] == {**check["details"], "judged": False, "inside": False}
    problems: list = []
    assert bucket_verdicts(load_block(SmokeResults, out, "smoke_results", problems))["range_check"] is None
    assert problems == []
