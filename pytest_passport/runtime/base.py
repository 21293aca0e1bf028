"""The small interface every model runtime offers, and the data that crosses it.

A runtime loads one checkpoint's model once, turns a raw :class:`Observation` (what a robot
delivers: camera frames, proprioceptive state, a task) into the model's batch, runs the public
inference path and returns the actions, and exposes the normalization steps it applies. The
checks and ``generate-passport --dynamic`` only talk to this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

__all__ = ["Inference", "NormStep", "Observation", "Runtime", "RuntimeUnavailable"]


class RuntimeUnavailable(Exception):
    """No runtime can load this checkpoint here (library absent, no class named, refused import).

    The message is the skip reason of every ``gpu`` item.
    """


@dataclass
class Observation:
    """One observation window as the robot delivers it, oldest first.

    ``images``: model image key → uint8 array ``(T, H, W, 3)`` in RGB order; ``state``: float32
    ``(T, D)``; ``index``: the dataset frame index of the last element ("now").
    """

    images: dict[str, np.ndarray] = field(default_factory=dict)
    state: np.ndarray | None = None
    task: str | None = None
    index: int = 0
    #: Other non-image inputs (e.g. ``observation.environment_state``): key → float32 ``(T, D)``.
    features: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Inference:
    """What one call of the public path produced, as float64 arrays with a leading batch axis.

    ``raw`` is the model's own output (normalized space), ``unnormalized`` the same after
    unnormalization (the dataset's action space), ``actions`` the robot command after every
    post-processing step (e.g. delta → absolute). A runtime that cannot tell the stages apart
    returns the same array for all three.
    """

    raw: np.ndarray
    unnormalized: np.ndarray
    actions: np.ndarray
    #: False when only the final actions are known (a consumer's infer hook): no stage-wise buckets.
    staged: bool = True


@dataclass
class NormStep:
    """One normalize step of the runtime's pipeline, with its inverse and clip bound."""

    name: str
    feature: str
    mode: str
    normalize: Callable[[np.ndarray], np.ndarray]
    unnormalize: Callable[[np.ndarray], np.ndarray]
    #: Largest |normalized value| that survives unclipped (None: unbounded).
    clip: float | None = None
    #: Sample values of the feature in raw units (for the round trip), when known.
    sample: np.ndarray | None = None


class Runtime(Protocol):
    """A loaded model behind the common interface."""

    #: ``hooks``, ``lerobot`` or ``class_path``.
    name: str
    #: Recorded as ``model_identity.resolved_via``.
    resolved_via: str
    #: The loaded policy object (a ``torch.nn.Module`` for the built-in runtimes).
    model: Any
    #: ``module.Class`` of the model actually loaded.
    class_path: str
    #: File the model's class was imported from (``None`` when unknown).
    module_file: str | None
    #: Device the model runs on (``cpu``, ``cuda``, ``cuda:0``…).
    device: str

    def reset(self) -> None:
        """Forget any history/queue the policy keeps between calls (before a new episode)."""

    def make_batch(self, observation: Observation) -> Any:
        """The model input for ``observation`` (preprocessing, normalization, stacking)."""

    def infer(self, batch: Any) -> Inference:
        """Run the public inference path on ``batch``."""

    def norm_steps(self, states: np.ndarray | None = None,
                   images: dict[str, np.ndarray] | None = None) -> list[NormStep]:
        """The normalize steps the runtime applies, with the checkpoint's own stats (samples: real data)."""

    def action_bounds(self) -> tuple[dict[str, np.ndarray] | None, float | None]:
        """Training action ``{"min", "max"}`` and the clip bound of normalized outputs, when known."""
