"""Write small LeRobot checkpoints with cameras, with the installed lerobot (its classes, processors, save_pretrained).

Used by the LeRobot CI lane (scripts/lerobot_lane.sh). The lerobot-policies fixtures' act and
diffusion are image-free (a camera act/diffusion needs a resnet18, ~45 MB, too big to ship), so the
lane writes camera variants of the ``synthetic_arm`` features (two cameras, state, environment
state, 7-D action) at test time: random init (resnet18 without downloaded weights), stats from
the dataset.

    python scripts/lerobot_checkpoints.py DATASET OUT_DIR [TYPE ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch


def dataset_stats(dataset: Path, keys: list[str]) -> dict[str, dict[str, torch.Tensor]]:
    stats = json.loads((dataset / "meta" / "stats.json").read_text())
    return {k: {s: torch.tensor(v, dtype=torch.float32) for s, v in stats[k].items() if s != "count"} for k in keys}


def build(kind: str, dataset: Path, out: Path) -> Path:
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.factory import get_policy_class, make_policy_config, make_pre_post_processors

    inputs = {"observation.images.gripper": PolicyFeature(FeatureType.VISUAL, (3, 64, 80)),
              "observation.images.top": PolicyFeature(FeatureType.VISUAL, (3, 64, 80)),
              "observation.state": PolicyFeature(FeatureType.STATE, (8,)),
              "observation.environment_state": PolicyFeature(FeatureType.ENV, (4,))}
    outputs = {"action": PolicyFeature(FeatureType.ACTION, (7,))}
    small = {
        "act": dict(chunk_size=10, n_action_steps=10, dim_model=32, n_heads=2, dim_feedforward=64,
                    n_encoder_layers=1, n_decoder_layers=1, latent_dim=8, use_vae=False,
                    pretrained_backbone_weights=None),
        "diffusion": dict(n_obs_steps=2, horizon=16, n_action_steps=8, down_dims=(32, 64), kernel_size=3,
                          n_groups=4, diffusion_step_embed_dim=32, num_inference_steps=4,
                          pretrained_backbone_weights=None, crop_shape=(56, 72), use_group_norm=True),
    }[kind]
    config = make_policy_config(kind, input_features=inputs, output_features=outputs, device="cpu", **small)
    torch.manual_seed(0)
    policy = get_policy_class(kind)(config)
    stats = dataset_stats(dataset, [*inputs, *outputs])  # cameras too: MEAN_STD per channel
    pre, post = make_pre_post_processors(config, dataset_stats=stats)
    target = out / kind
    policy.save_pretrained(target)
    pre.save_pretrained(target)
    post.save_pretrained(target)
    return target


if __name__ == "__main__":
    dataset, out = Path(sys.argv[1]), Path(sys.argv[2])
    for kind in sys.argv[3:] or ["act", "diffusion"]:
        print(build(kind, dataset, out))
