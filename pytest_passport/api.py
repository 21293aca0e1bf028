"""The Python API for load-time gates: ``verify()`` and ``load_passport()``.

Runs the same checks as the pytest plugin, in-process and without pytest, so a
loader can refuse a checkpoint before touching its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import Checkpoint
from .checks import CheckContext, CheckOptions
from .errors import PassportError, UnreadableCheckpointError, VerificationError
from .findings import Finding, Status, verdict_of
from .schema import PASSPORT_FILENAME, Passport, read_passport
from .suite import plan, prefetch_digests, selected

if TYPE_CHECKING:
    from .authenticity import Authenticity


@dataclass
class Report:
    """Findings of one verification, in suite order, and the aggregate verdict."""

    checkpoint: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return verdict_of(self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL]

    @property
    def soft_signals(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.SOFT_SIGNAL]

    @property
    def loadable(self) -> bool:
        return not self.failures

    @property
    def authenticity(self) -> Authenticity:
        """Who signed: ``.status`` (verified / integrity_only / failed), ``.message``, ``.signer_fingerprint``."""
        from .authenticity import summarise

        for finding in self.findings:
            if finding.check == "signoff_signature":
                return summarise(finding.status.value, finding.details, finding.message)
        return summarise(None, None, "signature not checked")

    @property
    def signer_fingerprint(self) -> str | None:
        return self.authenticity.signer_fingerprint


def _root(path: Path | str) -> Path:
    """A local checkpoint directory for a path, a zip, a URI or ``…:latest``.

    Raises :class:`UnreadableCheckpointError` (a :class:`PassportError`) when the directory
    cannot be listed, never a bare ``OSError``.
    """
    from .guard import readable_root

    try:
        target = Path(path) if not isinstance(path, str) or "://" not in path else None
        if target is not None and target.is_file() and target.name == PASSPORT_FILENAME:
            return readable_root(target.parent)
        if target is not None and target.is_dir():
            readable_root(target)
        from .bundle import resolve

        return readable_root(resolve(path).root)
    except OSError as exc:
        raise UnreadableCheckpointError(exc.filename or path, exc.strerror or str(exc)) from None


def verify(
    path: Path | str,
    require_signoff: bool = True,
    target_repo: Path | str | None = None,
    dataset_path: Path | str | None = None,
    skip_sections: tuple[str, ...] = (),
    trusted_keys: Sequence[Path | str] | None = None,
    model_signing: tuple[Path | str, Path | str] | None = None,
    *,
    reuse_digests: bool = False,
) -> Report:
    """Validate the checkpoint at ``path``; raise :class:`~pytest_passport.PassportError` if it must not load.

    The error (a :class:`VerificationError`) names every hard failure, one per line. With
    ``reuse_digests=True``, files whose (path, size, mtime_ns, inode) did not change since an
    earlier call in this process are not hashed again (see :mod:`pytest_passport.fastpath`);
    every check still runs.

    ``trusted_keys``: Ed25519 public key files (or ``ssh-ed25519 AAAA...`` lines) one of which
    must have signed SIGNOFF.json; ``None`` reads ``[tool.pytest_passport] trusted_keys`` from
    ``./pyproject.toml`` (never from inside the checkpoint); ``()`` pins none (the report's
    ``authenticity`` then says "integrity only, no authenticity"). ``model_signing``:
    ``(bundle, EC public key)`` of an OpenSSF model-signing signature to verify as well.
    """
    __tracebackhide__ = True
    from .authenticity import load_trusted, pyproject_trusted_keys

    try:
        root = _root(path)
    except PassportError as exc:
        raise exc from None
    checkpoint = Checkpoint(root)
    if trusted_keys is None:
        trusted = pyproject_trusted_keys(Path.cwd(), checkpoint.root)
    else:
        trusted = load_trusted(trusted_keys)
    options = CheckOptions(
        require_signoff=require_signoff,
        target_repo=Path(target_repo) if target_repo else None,
        dataset_path=Path(dataset_path) if dataset_path else None,
        trusted_keys=trusted,
        model_signing=(Path(model_signing[0]), Path(model_signing[1])) if model_signing else None,
    )
    if reuse_digests:
        from .fastpath import RememberedDigests

        ctx = CheckContext(checkpoint, options, RememberedDigests())
    else:
        ctx = CheckContext(checkpoint, options)
    planned = selected(plan(checkpoint), set(skip_sections))
    options.per_file_checks = frozenset(p.name for p in planned if p.is_file)
    prefetch_digests(ctx, planned)
    try:
        report = Report(checkpoint.root, [p.run(ctx) for p in planned])
    finally:
        ctx.digests.close()
    if report.failures:
        raise VerificationError(path, report.failures) from None
    return report


def load_passport(path: Path | str) -> Passport:
    """The typed passport of a checkpoint (directory, zip, URI) or of a MODEL_PASSPORT.json file."""
    __tracebackhide__ = True
    return read_passport(_root(path) / PASSPORT_FILENAME)
