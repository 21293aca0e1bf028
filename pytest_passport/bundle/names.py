"""Names: URI schemes, ``file://`` paths, Metta ``<run>:v<epoch>`` names, ``:latest``, safe entry names."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

from ..schema import PASSPORT_FILENAME

__all__ = [
    "BUNDLE_MARKERS",
    "LATEST",
    "POLICY_SPEC",
    "entry_run_epoch",
    "file_uri_to_path",
    "is_bundle_named",
    "latest_base",
    "name_problem",
    "parse_bundle_name",
    "run_epoch",
    "safe_parts",
    "split_parts",
    "uri_scheme",
]

POLICY_SPEC = "policy_spec.json"
LATEST = ":latest"
#: Names that mark a directory as a checkpoint bundle when ``:latest`` scans its siblings.
BUNDLE_MARKERS = (POLICY_SPEC, PASSPORT_FILENAME)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")


def uri_scheme(text: str) -> str | None:
    """The lower-case scheme of a URI (``s3``, ``hf``, ``file``), or ``None`` for a plain path."""
    if text[:5].lower() == "file:":
        return "file"
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else None


def file_uri_to_path(uri: str) -> str:
    """The local path of a ``file:`` URI, percent-decoded.

    ``file:///abs`` and ``file://localhost/abs`` name absolute paths; ``file://rel/path``
    (as Metta writes ``file://./train_dir``) names a path relative to the current directory.
    """
    parts = urlsplit(uri)
    netloc = parts.netloc
    path = parts.path if netloc in ("", "localhost") else netloc + parts.path
    return unquote(path)


def run_epoch(stem: str) -> tuple[str, int | None]:
    """``(run, epoch)`` of ``<run>:v<epoch>``; ``(stem, None)`` when it is not such a name."""
    if ":v" in stem:
        run, suffix = stem.rsplit(":v", 1)
        if run and suffix.isascii() and suffix.isdigit():
            return run, int(suffix)
    return stem, None


def entry_run_epoch(name: str) -> tuple[str, int | None]:
    """``(run, epoch)`` of a directory entry's own name (no URI decoding, ``.zip`` dropped)."""
    return run_epoch(name.removesuffix(".zip"))


def parse_bundle_name(name: str) -> tuple[str, int | None]:
    """``(run, epoch)`` from the last path component of a path or URI, as Metta parses it.

    Drops any ``?query``/``#fragment`` and trailing ``/``, percent-decodes the last
    component, drops ``.zip``, then splits on the last ``:v``. ``epoch`` is ``None`` (and
    ``run`` the whole component) when what follows ``:v`` is not a run of digits.
    """
    base = re.split(r"[?#]", os.fspath(name), maxsplit=1)[0].rstrip("/")
    return entry_run_epoch(unquote(base.rsplit("/", 1)[-1]))


def is_bundle_named(name: str) -> bool:
    return parse_bundle_name(name)[1] is not None


def latest_base(text: str) -> str | None:
    """``text`` without its ``:latest`` suffix (``%3Alatest`` too), or ``None``."""
    if text.endswith(LATEST):
        return text[: -len(LATEST)]
    if text.lower().endswith("%3alatest"):
        return text[: -len("%3alatest")]
    return None


def split_parts(name: str) -> tuple[str, ...]:
    """The non-empty, non-``.`` components of a ``/``-separated name."""
    return tuple(p for p in name.split("/") if p not in ("", "."))


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe relative path (absolute, backslashes, ``..``), or ``None``."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path; entries must be relative to the archive root"
    if "\\" in name:
        return "backslash in the name; entries must use '/' between relative components"
    if ".." in split_parts(name):
        return "path climbs out of the archive with '..'"
    return None


def safe_parts(name: str) -> tuple[str, ...] | None:
    """The normalised components of a safe, non-empty relative name, else ``None``."""
    return None if name_problem(name) else split_parts(name) or None
