"""The true values of the shipped LeRobot policy fixtures, parsed once from their README.

``tests/fixtures/lerobot-policies/README.md`` was written by the script that built the
checkpoints with lerobot 0.6.1 (values read back from lerobot, not from this tool). Its policy
table gives the inputs, key config and the normalization mapping; the per-type sections give
the class, the delta indices and the processor steps. The few facts the README does not list
(the resize key of the three image-resizing types, the output layer tensor) are stated here
beside the parse, with where they come from.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent / "fixtures" / "lerobot-policies"
README = ROOT / "README.md"
POLICIES = ROOT / "policies"

#: Config key holding the image resize of the types that resize (values read from each
#: fixture's own config.json, which lerobot wrote; the README does not list them).
RESIZE_KEYS = {"multi_task_dit": "image_resize_shape", "smolvla": "resize_imgs_with_padding",
               "xvla": "resize_imgs_with_padding"}
#: The tensor that produces the actions in each fixture's model.safetensors (read from the
#: files), and the axis that carries the action dim.
OUTPUT_LAYERS = {
    "act": ("model.action_head.weight", 0),
    "diffusion": ("diffusion.unet.final_conv.1.weight", 0),
    "tdmpc": ("model._pi.6.weight", 0),
    "gaussian_actor": ("actor.mean_layer.weight", 0),
    "multi_task_dit": ("noise_predictor.output_proj.weight", 0),
    "smolvla": ("model.action_out_proj.weight", 0),
    "xvla": ("model.transformer.action_decoder.bias.weight", -1),
}
FEATURE_TYPES = {"VISUAL": "images", "STATE": "observation.state", "ENV": "observation.environment_state",
                 "ACTION": "action"}
CHUNK_KEYS = ("chunk_size", "horizon", "action_chunk_size")


@dataclass(frozen=True)
class Expected:
    """What lerobot says about one shipped policy checkpoint."""

    type: str
    class_name: str
    inputs: dict[str, list[int]]
    config: dict[str, Any]
    normalization: dict[str, str]
    observation_deltas: list[int] | None
    action_deltas: list[int] | None
    preprocessor_steps: list[str]

    @property
    def path(self) -> Path:
        return POLICIES / self.type

    @property
    def horizon(self) -> int | None:
        """The chunk (planning horizon for tdmpc); ``None`` when the README lists none (single-step)."""
        return next((self.config[k] for k in CHUNK_KEYS if k in self.config), None)

    @property
    def executed_steps(self) -> int:
        """``n_action_steps``; a policy without a chunk executes the one action it returns."""
        return self.config.get("n_action_steps", 1) if self.horizon is not None else 1

    @property
    def cameras(self) -> list[str]:
        return sorted(k for k in self.inputs if k.startswith("observation.images."))

    def feature_normalization(self) -> dict[str, str]:
        """Mode per passport feature; images normalized by ``xvla_imagenet_normalize`` are ImageNet MEAN_STD."""
        modes = {FEATURE_TYPES[kind]: mode for kind, mode in self.normalization.items()}
        if "xvla_imagenet_normalize" in self.preprocessor_steps:
            modes["images"] = "MEAN_STD"
        if not self.cameras:
            modes.pop("images", None)
        if "observation.environment_state" not in self.inputs:
            modes.pop("observation.environment_state", None)
        return modes

    @property
    def padding(self) -> tuple[int | None, int | None]:
        return self.config.get("max_state_dim"), self.config.get("max_action_dim")

    @property
    def resize(self) -> list[int] | None:
        key = RESIZE_KEYS.get(self.type)
        return json.loads((self.path / "config.json").read_text())[key] if key else None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _section(text: str, policy: str) -> str:
    start = text.index(f"#### {policy} (")
    end = text.find("\n#### ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _deltas(value: str) -> list[int] | None:
    return None if value == "None" else ast.literal_eval(value)


@cache
def shipped() -> dict[str, Expected]:
    """Every policy the README marks as shipped, by type."""
    text = README.read_text()
    found: dict[str, Expected] = {}
    for line in text.splitlines():
        cells = _cells(line)
        if len(cells) < 9 or cells[2] != "yes":
            continue
        policy = cells[0]
        inputs = {m[0]: json.loads(m[1]) for m in re.findall(r"`([^`]+)` (\[[^\]]*\])", cells[3])}
        config = {k: _value(v) for k, v in (item.split("=", 1) for item in cells[4].split(", "))}
        normalization = dict(item.split(":", 1) for item in cells[5].split(", "))
        section = _section(text, policy)
        class_name = re.search(r"\(`(\w+)`\)", section)[1]
        deltas = re.search(r"- delta indices: observation (None|\[[^\]]*\]), action (None|\[[^\]]*\])", section)
        steps = re.search(r"- preprocessor steps: (.*)", section)[1]
        found[policy] = Expected(policy, class_name, inputs, config, normalization, _deltas(deltas[1]),
                                 _deltas(deltas[2]), re.findall(r"`(\w+)`", steps))
    return found


SHIPPED = sorted(shipped())
