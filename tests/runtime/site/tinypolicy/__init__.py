"""A tiny torch policy for the runtime tests: two cameras, a 2-frame stack, state, action chunks.

Installable by path (the tests put ``tests/runtime/site`` on ``sys.path``); never shipped
inside a checkpoint. Its output depends on every input the feeding faults corrupt: pixel
statistics per channel (normalization, colour order), both frames of the temporal stack, and
the state. ``config["noise"]`` chooses its sampling: ``"global"`` draws from torch's global
RNG (repeatable under ``torch.manual_seed``, like Diffusion); ``"os"`` seeds a private
generator from the OS, so the same seed gives different actions (a non-deterministic forward).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

__version__ = "0.1.0"
POOL = (4, 5)


class TinyPolicy(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.image_keys = sorted(k for k, f in config["input_features"].items() if f["type"] == "VISUAL")
        self.state_dim = config["input_features"]["observation.state"]["shape"][0]
        self.action_dim = config["output_features"]["action"]["shape"][0]
        self.horizon = config["chunk_size"]
        self.n_obs_steps = config["n_obs_steps"]
        features = 3 * POOL[0] * POOL[1] * len(self.image_keys) + self.state_dim
        self.pool = nn.AdaptiveAvgPool2d(POOL)
        self.encoder = nn.Sequential(nn.Linear(self.n_obs_steps * features, 64), nn.Tanh(), nn.Dropout(0.1))
        self.step_embedding = nn.Parameter(torch.randn(self.horizon, 64) * 0.1)
        self.action_head = nn.Linear(64, self.action_dim)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str]) -> "TinyPolicy":
        from safetensors.torch import load_file

        root = Path(path)
        model = cls(json.loads((root / "config.json").read_text()))
        model.load_state_dict(load_file(str(root / "model.safetensors")), strict=False)  # as lerobot: non-strict
        return model

    def _frames(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.dim() == 5 else x.unsqueeze(1)  # (B, T, C, H, W)

    def select_action(self, batch: dict[str, Any]) -> torch.Tensor:
        parts = []
        for key in self.image_keys:
            frames = self._frames(batch[key])
            b, t = frames.shape[:2]
            parts.append(self.pool(frames.flatten(0, 1)).reshape(b, t, -1))
        state = batch["observation.state"]
        parts.append(state if state.dim() == 3 else state.unsqueeze(1))
        x = torch.cat(parts, dim=-1).flatten(1)
        hidden = self.encoder(x)[:, None, :] + self.step_embedding[None]
        out = torch.tanh(self.action_head(torch.tanh(hidden)))
        noise = self.config.get("noise", "global")
        if noise == "global":
            out = out + 0.01 * torch.randn(out.shape)
        elif noise == "os":
            generator = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
            out = out + 0.01 * torch.randn(out.shape, generator=generator)
        return out.clamp(-1.0, 1.0)
