"""What a checkpoint's suite consists of: the catalogue checks plus one hash check per file.

The same plan drives pytest collection (identical on every xdist worker), the controller's
completeness test before signing, and the pytest-free :func:`pytest_passport.verify`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ascii_path
from .checkpoint import Checkpoint
from .checks import SECTION_ORDER, CheckContext, CheckSpec, catalogue, skip_matches
from .checks.weight_integrity import check_declared_file
from .findings import Finding

FILE_SECTION = "weight_integrity"
#: The collector every check item hangs under: node ids are ``checkpoint::<section>[<check>]``.
NODE_ROOT = "checkpoint"


def node_id(item_name: str) -> str:
    """The pytest node id of a check item named ``<section>[<check>]`` (the one place it is formatted)."""
    return f"{NODE_ROOT}::{item_name}"


@dataclass(frozen=True)
class PlannedCheck:
    """One test of the suite: a catalogue check, or the hash check of one declared file."""

    section: str
    name: str
    category: str
    static: bool
    spec: CheckSpec | None = None

    @property
    def is_file(self) -> bool:
        return self.spec is None

    @property
    def item_name(self) -> str:
        """``<section>[<check>]``, the node id below the ``checkpoint`` collector (odd bytes escaped: ids cross xdist as UTF-8)."""
        return ascii_path(f"{self.section}[{self.name}]")

    @property
    def node_id(self) -> str:
        """``checkpoint::<section>[<check>]``."""
        return node_id(self.item_name)

    def run(self, ctx: CheckContext) -> Finding:
        if self.spec is not None:
            return self.spec.run(ctx)
        try:
            return check_declared_file(ctx, self.name)
        except Exception as exc:  # noqa: BLE001 - the report must never crash
            return Finding.failed(self.name, f"check crashed: {type(exc).__name__}: {exc}")


def declared_paths(checkpoint: Checkpoint) -> list[str]:
    """Unique declared file paths, sorted (empty when the passport is unusable)."""
    load = checkpoint.passport
    if not load.ok:
        return []
    return sorted({f.path for f in load.document.declared_files if isinstance(f.path, str)})


def plan(checkpoint: Checkpoint) -> list[PlannedCheck]:
    """Every test of the suite, sections in schema order, declared files sorted after their section's checks."""
    specs = catalogue()
    planned: list[PlannedCheck] = []
    for section in SECTION_ORDER:
        planned.extend(PlannedCheck(s.section, s.name, s.category, s.static, s) for s in specs if s.section == section)
        if section == FILE_SECTION:
            planned.extend(PlannedCheck(FILE_SECTION, rel, FILE_SECTION, True) for rel in declared_paths(checkpoint))
    return planned


def selected(planned: Iterable[PlannedCheck], skip_sections: set[str]) -> list[PlannedCheck]:
    """Drop checks whose section (or reference category) was named by ``--skip-section``."""
    return [p for p in planned if not (p.spec and skip_matches(p.spec, skip_sections)) and p.section not in skip_sections]


def prefetch_digests(ctx: CheckContext, planned: Iterable[PlannedCheck]) -> None:
    """Start hashing every declared file on the thread pool, largest first."""
    paths = []
    for p in planned:
        if p.is_file:
            try:
                paths.append(ctx.checkpoint.resolve(p.name))
            except Exception:  # noqa: BLE001 - the file's own check reports the problem
                continue
    ctx.digests.prefetch(paths)
