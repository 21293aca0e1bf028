"""The check registry and the context every check function receives.

A check is a pure function ``(CheckContext) -> Finding`` registered with :func:`check`.
It never imports pytest, so the plugin, the CLIs and :func:`pytest_passport.verify`
all run the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..checkpoint import Checkpoint
from ..findings import Finding
from ..hashing import DigestCache
from ..schema import Passport, Signoff, WeightFile

COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
NULL_COMMIT = re.compile(r"^0{7,40}$")
REPO = re.compile(r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")
RUNLOG_PATH = re.compile(r"^[A-Za-z0-9._/\-]+\.md$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class CheckOptions:
    """What the user asked for on the command line."""

    require_signoff: bool = False
    #: This run writes SIGNOFF.json: an absent or stale signoff is about to be replaced.
    signing: bool = False
    target_repo: Path | None = None
    dataset_path: Path | None = None
    #: ``--passport-device`` for the ``gpu`` checks (``auto``, ``cpu``, ``cuda``).
    device: str = "auto"
    #: The pytest config whose consumer hooks may load/feed/run the model (``None``: no hooks).
    hook_config: Any = None
    #: Declared files whose own ``weight_integrity[<path>]`` check runs in this session (and
    #: compares the file with the signoff); ``None`` when unknown. The signoff checks hash
    #: every other signed artifact themselves, so dropping per-file checks never lets a file
    #: through, and no file is read twice across xdist workers.
    per_file_checks: frozenset[str] | None = None
    #: Pinned Ed25519 public keys (``keys.PublicKey``): with any, the signoff must be signed by one.
    trusted_keys: tuple[Any, ...] = ()
    #: ``(signature bundle, EC public key)`` of an OpenSSF model-signing signature to verify.
    model_signing: tuple[Path, Path] | None = None


@dataclass
class CheckContext:
    checkpoint: Checkpoint
    options: CheckOptions = field(default_factory=CheckOptions)
    digests: DigestCache = field(default_factory=DigestCache)

    @property
    def passport(self) -> Passport | None:
        """The passport when it loaded cleanly, else ``None`` (passport checks → not_checked)."""
        load = self.checkpoint.passport
        return load.document if load.ok else None

    @property
    def signoff(self) -> Signoff | None:
        load = self.checkpoint.signoff
        return load.document if load.ok else None

    @property
    def config(self) -> dict[str, Any]:
        return self.checkpoint.config.data

    @cached_property
    def declared(self) -> dict[str, WeightFile]:
        """``weight_integrity.weight_files`` by path (first entry wins), for O(1) per-file lookups."""
        passport = self.passport
        index: dict[str, WeightFile] = {}
        for entry in passport.declared_files if passport else []:
            index.setdefault(entry.path, entry)
        return index

    @cached_property
    def signed(self) -> dict[str, str]:
        """SIGNOFF.json artifact sha256 by path (first entry wins); empty without a usable signoff."""
        signoff = self.signoff
        index: dict[str, str] = {}
        for artifact in (signoff.artifacts or []) if signoff else []:
            if artifact is not None:
                index.setdefault(artifact.path, artifact.sha256)
        return index

    def sha256_of(self, rel: str) -> tuple[str, int]:
        """Digest and size of a checkpoint file; each file is read once per context."""
        return self.digests.get(self.checkpoint.resolve(rel))


CheckFunction = Callable[[CheckContext], Finding]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check.

    ``section`` is the passport section in node ids; ``category`` is the reference's
    category name, accepted by ``--skip-section`` as an alias; ``static`` checks read
    files only and run without a passport.
    """

    name: str
    section: str
    category: str
    static: bool
    function: CheckFunction

    def run(self, ctx: CheckContext) -> Finding:
        """Run the check; an unexpected exception becomes a failing finding, not a traceback."""
        try:
            finding = self.function(ctx)
        except Exception as exc:  # noqa: BLE001 - the report must never crash
            return Finding.failed(
                self.name, f"check crashed: {type(exc).__name__}: {exc}", exception=type(exc).__name__
            )
        return finding


REGISTRY: dict[str, CheckSpec] = {}


def check(name: str, *, section: str, category: str, static: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``function`` under ``name`` (the catalogue name)."""

    def register(function: CheckFunction) -> CheckFunction:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        REGISTRY[name] = CheckSpec(name, section, category, static, function)
        return function

    return register


def no_passport(name: str, ctx: CheckContext) -> Finding | None:
    """The standard ``not_checked`` finding for passport checks when no usable passport exists."""
    load = ctx.checkpoint.passport
    if load.ok:
        return None
    if load.state == "absent":
        return Finding.not_checked(name, "no MODEL_PASSPORT.json")
    return Finding.not_checked(name, "MODEL_PASSPORT.json is unusable (see passport_loadable)")
