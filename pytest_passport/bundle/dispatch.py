"""The entry points: :func:`resolve` picks the form by scheme; :func:`checkpoint_uri_for_epoch` names siblings."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import BundleError
from .latest import latest_location, local_lister
from .limits import ZipLimits, cache_root
from .local import ResolvedCheckpoint, open_local
from .names import file_uri_to_path, latest_base, uri_scheme

__all__ = ["checkpoint_uri_for_epoch", "resolve"]

_EPOCH_TAIL = re.compile(r"(?P<sep>:|%3[Aa])v(?P<epoch>[0-9]+)(?P<zip>\.zip)?$")


def resolve(
    uri_or_path: str | os.PathLike[str], *, cache_dir: Path | str | None = None, limits: ZipLimits | None = None
) -> ResolvedCheckpoint:
    """Make the checkpoint named by ``uri_or_path`` local; its ``root`` is the directory to validate.

    ``<dir>/:latest`` and ``<dir>:latest`` pick, among the direct entries of ``<dir>``, the
    bundle directory (holding a policy_spec.json or MODEL_PASSPORT.json) or ``*.zip`` with
    the highest epoch; ``<dir>/<run>:latest`` only looks at that run. On a tie the
    directory beats the zip (``x:v3/`` over ``x:v3.zip``), then the smallest name wins.
    A bare ``<dir>/<run>:v<N>`` that does not exist opens ``<run>:v<N>.zip`` beside it.

    Raises :class:`CheckpointNotFoundError` when nothing is there and :class:`BundleError`
    when what is there is unsafe, corrupt or not a bundle (the message names the entry).
    """
    source = os.fspath(uri_or_path)
    cache = cache_root(cache_dir)
    limits = limits or ZipLimits.from_env()
    scheme = uri_scheme(source)
    if scheme == "hf":
        from .hf import resolve_hf

        return resolve_hf(source, cache, limits)
    if scheme == "s3":
        from .s3 import resolve_s3

        return resolve_s3(source, cache, limits)
    if scheme not in (None, "file"):
        raise BundleError(source, f"unsupported scheme {scheme}://; use a directory, a .zip, file://, s3:// or hf://")
    location = source
    head = latest_base(source)
    if head is not None:
        location = latest_location(source, head, local_lister(scheme))
    path = Path(file_uri_to_path(location) if scheme == "file" else location)
    return open_local(source, location, path, "file" if scheme == "file" else None, cache, limits)


def _resolves_to_zip(location: str, scheme: str | None) -> bool:
    """Whether a local bundle name without ``.zip`` exists only as a zip beside it."""
    if scheme not in (None, "file"):
        return False
    path = Path(file_uri_to_path(location) if scheme == "file" else location)
    return not path.is_dir() and path.with_name(path.name + ".zip").is_file()


def checkpoint_uri_for_epoch(uri: str | os.PathLike[str], epoch: int, *, cache_dir: Path | str | None = None) -> str:
    """The sibling bundle of another epoch of the same run, in the same notation.

    Same directory, same run, same percent-encoding; ``.zip`` is kept when the base
    (after resolving ``:latest``) is a zip, and always used on S3. ``?``/``#`` suffixes
    are dropped.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative integer, not {epoch!r}")
    text = os.fspath(uri)
    scheme = uri_scheme(text)
    if latest_base(text) is not None or (scheme == "hf" and _hf_latest(text)):
        text = resolve(text, cache_dir=cache_dir).location
    base = re.split(r"[?#]", text, maxsplit=1)[0].rstrip("/") if scheme else text.rstrip("/")
    head, slash, last = base.rpartition("/")
    match = _EPOCH_TAIL.search(last)
    if match is None or match.start() == 0:
        raise ValueError(f"{text}: the last path component is not a <run>:v<epoch> bundle name")
    zip_suffix = match.group("zip") or ""
    if scheme == "s3" or (not zip_suffix and _resolves_to_zip(base, scheme)):
        zip_suffix = ".zip"
    return f"{head}{slash}{last[: match.start()]}{match.group('sep')}v{epoch}{zip_suffix}"


def _hf_latest(text: str) -> bool:
    from .hf import parse_hf

    return latest_base(parse_hf(text).subpath) is not None
