"""Open a checkpoint from any form it travels in and hand back a local directory to validate.

Forms (:func:`resolve`): a directory; a ``.zip`` bundle; ``file://`` URIs (percent-encoded
or not); ``s3://bucket/key.zip`` (fsspec + s3fs, ``AWS_ENDPOINT_URL[_S3]`` honoured);
``hf://org/repo[@revision][/subdir]`` (``huggingface_hub.snapshot_download``, which honours
``HF_HUB_OFFLINE`` and the hub cache); a trailing ``:latest``; Metta ``<run>:v<epoch>`` names.

One module per job:

* :mod:`.names` — URI schemes, ``file://`` paths, ``<run>:v<N>`` and ``:latest`` parsing;
* :mod:`.limits` — :class:`ZipLimits` (bytes, entries, ratio, download and cache caps) and the cache's place;
* :mod:`.archive` — opening a zip once (regular files only, no prepended data, identity kept);
* :mod:`.scan` — hostile-entry checks from the headers, before anything is written;
* :mod:`.extract` — streamed, capped, hashed extraction;
* :mod:`.cache` — the verified, atomically installed, size-bounded extraction cache;
* :mod:`.latest` — ``:latest`` resolution;
* :mod:`.local`, :mod:`.s3`, :mod:`.hf` — each form (s3fs and huggingface_hub imported only when used);
* :mod:`.rewrite` — :func:`rewrite_zip` / :func:`edit_zip`, compare-and-swap;
* :mod:`.dispatch` — :func:`resolve` and :func:`checkpoint_uri_for_epoch`.

Zip bundles are checked entry by entry *before* anything is written, then extracted
atomically into a private cache keyed by the sha256 of the zip's bytes (never by its path)
and verified against a per-file sha256 manifest each time they are used. Limits, cache layout,
verification cost and eviction are described in :mod:`.limits` and :mod:`.cache`.
"""

from __future__ import annotations

from .archive import ZipState
from .cache import extract_cached
from .dispatch import checkpoint_uri_for_epoch, resolve
from .extract import extract_zip
from .latest import pick_latest
from .limits import CACHE_ENV, ZipLimits, cache_root
from .local import ResolvedCheckpoint
from .names import BUNDLE_MARKERS, LATEST, POLICY_SPEC, file_uri_to_path, latest_base, parse_bundle_name, uri_scheme
from .rewrite import ZIP_EPOCH, ZipEdit, edit_zip, rewrite_zip
from .scan import ZipEntry, scan_zip

__all__ = [
    "BUNDLE_MARKERS",
    "CACHE_ENV",
    "LATEST",
    "POLICY_SPEC",
    "ZIP_EPOCH",
    "ResolvedCheckpoint",
    "ZipEdit",
    "ZipEntry",
    "ZipLimits",
    "ZipState",
    "cache_root",
    "checkpoint_uri_for_epoch",
    "edit_zip",
    "extract_cached",
    "extract_zip",
    "file_uri_to_path",
    "latest_base",
    "parse_bundle_name",
    "pick_latest",
    "resolve",
    "rewrite_zip",
    "scan_zip",
    "uri_scheme",
]
