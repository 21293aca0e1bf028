"""Print the runtime requirements the installed lerobot declares for the given extras, less torch's family.

The LeRobot lane installs lerobot ``--no-deps`` (it pins ``torch<2.12``; the lane runs the torch
build this machine can install) and then exactly what lerobot's own metadata asks for, so the lane
follows lerobot's pins instead of a hand-kept copy of them.

    python scripts/lerobot_requirements.py EXTRA ... > requirements.txt
"""

from __future__ import annotations

import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

#: Installed by the lane itself (pinned in scripts/lerobot-constraints.txt) or not needed on CPU.
SKIP = frozenset({"torch", "torchvision", "torchcodec", "cmake", "lerobot"})


def requirements(extras: set[str]) -> list[str]:
    """lerobot's requirements for ``extras``, following ``lerobot[other]`` self-references."""
    wanted, done, out = set(extras), set(), []
    while wanted - done:
        extra = sorted(wanted - done)[0]
        done.add(extra)
        for line in requires("lerobot") or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue
            if req.marker is None and extra != "":
                continue
            if req.name == "lerobot":
                wanted |= set(req.extras)
            elif req.name.lower() not in SKIP and (text := f"{req.name}{req.specifier}") not in out:
                out.append(text)
    return out


if __name__ == "__main__":
    print("\n".join(requirements({"", *sys.argv[1:]})))
