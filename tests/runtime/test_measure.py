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
