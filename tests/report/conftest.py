"""Fixtures for report tests: checkpoints with reference frames, and the validate CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent
#: Pure colours that mark each camera's reference frame in a screenshot.
FRAME_COLOURS = {"front": (255, 0, 0), "wrist": (0, 0, 255)}


def frame_png(colour: tuple[int, int, int], size: tuple[int, int] = (128, 96)) -> bytes:
    """A camera frame: a pure colour with a white square, as PNG bytes."""
    from PIL import Image

    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[:, :] = colour
    pixels[size[1] // 4 : size[1] // 2, size[0] // 4 : size[0] // 2] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def validate() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real validate-checkpoint console script."""

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "validate-checkpoint"), *map(str, args)], capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def lerobot_two_cameras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """The small LeRobot ACT fixture (front and wrist cameras) with reference frames and a generated passport."""
    from pytest_passport.generate import main

    from ..generate.builders import EPOCH, build_act_small

    root = build_act_small(tmp_path / "act_random")
    frames = root / "assets" / "reference_frames"
    frames.mkdir(parents=True)
    for cam, colour in FRAME_COLOURS.items():
        (frames / f"{cam}_000.png").write_bytes(frame_png(colour))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    assert main([str(root)]) == 0
    capsys.readouterr()
    return root
