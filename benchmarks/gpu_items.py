"""Wall time of ``pytest --checkpoint CKPT -m gpu``, and how much of it is import, load and inference.

    python benchmarks/gpu_items.py CKPT [--device cpu] [--repeat 3]

Runs the gpu items in a subprocess (the user's command) ``--repeat`` times for the wall time,
then, in this process, times each phase the items go through once: importing torch and the
model's library, loading the model and its pipelines (``load_runtime``), and one pass of the
reference frames through the public path (what replay does; the other items repeat it a few
times). Prints medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    walls = []
    for _ in range(ns.repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--checkpoint={ns.checkpoint}",
                        "-m", "gpu", "--passport-device", ns.device], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    start = time.perf_counter()
    import torch  # noqa: F401

    from pytest_passport.checkpoint import Checkpoint
    from pytest_passport.runtime import load_runtime
    from pytest_passport.runtime.frames import load_vector, windows
    from pytest_passport.runtime.lerobot import is_lerobot_checkpoint

    checkpoint = Checkpoint(ns.checkpoint)
    if is_lerobot_checkpoint(checkpoint):
        import lerobot.policies.factory  # noqa: F401
    imported = time.perf_counter()
    passport = checkpoint.passport.document
    runtime = load_runtime(checkpoint, passport, ns.device)
    loaded = time.perf_counter()
    from pytest_passport.runtime.measure import run_windows

    observations = windows(load_vector(checkpoint, passport), list(getattr(getattr(runtime, "feeder", None), "offsets", None) or [0]))
    ready = time.perf_counter()
    run_windows(runtime, observations)
    done = time.perf_counter()
    print(f"checkpoint {ns.checkpoint} ({runtime.name} runtime, {runtime.class_path}, device {runtime.device})")
    print(f"pytest -m gpu wall time: median {statistics.median(walls):.2f} s over {len(walls)} runs "
          f"({', '.join(f'{w:.2f}' for w in walls)})")
    print(f"  import torch + model library: {imported - start:.2f} s")
    print(f"  load model + pipelines:       {loaded - imported:.2f} s")
    print(f"  one replay ({len(observations)} frames):      {done - ready:.2f} s")


if __name__ == "__main__":
    main()
