"""Caps on what a bundle may cost: archive size and entries, download bytes, cache size; the cache's place."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import BundleError

__all__ = ["CACHE_ENV", "ENV_LIMITS", "ZipLimits", "cache_root"]

CACHE_ENV = "PYTEST_PASSPORT_CACHE"
MAX_BYTES_ENV = "PYTEST_PASSPORT_ZIP_MAX_BYTES"
MAX_RATIO_ENV = "PYTEST_PASSPORT_ZIP_MAX_RATIO"
MAX_ENTRIES_ENV = "PYTEST_PASSPORT_ZIP_MAX_ENTRIES"
DOWNLOAD_MAX_ENV = "PYTEST_PASSPORT_DOWNLOAD_MAX_BYTES"
CACHE_MAX_ENV = "PYTEST_PASSPORT_CACHE_MAX_BYTES"

GiB = 1024**3
MiB = 1024**2

#: ``{environment variable: ZipLimits field}``; each overrides that field's default.
ENV_LIMITS: dict[str, str] = {
    MAX_BYTES_ENV: "max_total_bytes",
    MAX_RATIO_ENV: "max_ratio",
    MAX_ENTRIES_ENV: "max_entries",
    DOWNLOAD_MAX_ENV: "max_download_bytes",
    CACHE_MAX_ENV: "max_cache_bytes",
}


@dataclass(frozen=True)
class ZipLimits:
    """What a bundle may cost before it is refused, and how large the cache may grow.

    * ``max_total_bytes``: uncompressed bytes of all entries together (declared in the
      headers, and counted again while extracting).
    * ``max_entries``: entries in one archive, directories included.
    * ``max_ratio``: uncompressed/compressed size of an entry larger than
      ``ratio_floor_bytes``. Smaller entries (JSON compresses well) are exempt one by one,
      but not together: once their sum passes ``small_entries_budget_bytes`` the ratio
      applies to the sum, so a thousand 1 MiB entries of zeros are a bomb like one 1 GiB entry.
    * ``max_download_bytes``: bytes fetched from S3 (counted while streaming) or taken from
      a Hugging Face snapshot.
    * ``max_cache_bytes``: the cache's size bound; least recently used entries are evicted
      past it, except any used in the last ``cache_grace_s`` seconds (another run may be
      validating them) and the one being opened.
    """

    max_total_bytes: int = 64 * GiB
    max_ratio: float = 200.0
    ratio_floor_bytes: int = MiB
    small_entries_budget_bytes: int = 16 * MiB
    max_entries: int = 10_000
    max_spec_bytes: int = MiB
    max_download_bytes: int = 64 * GiB
    max_cache_bytes: int = 32 * GiB
    cache_grace_s: float = 3600.0

    @classmethod
    def from_env(cls) -> ZipLimits:
        """The defaults, each overridden by its variable in :data:`ENV_LIMITS` when set."""
        types = {f.name: f.type for f in fields(cls)}
        changes: dict[str, Any] = {}
        for env, attr in ENV_LIMITS.items():
            raw = os.environ.get(env, "").strip()
            if not raw:
                continue
            cast = float if types[attr] in (float, "float") else int
            try:
                value = cast(raw)
            except ValueError:
                raise BundleError(f"${env}", f"not a number: {raw!r}") from None
            if value <= 0:
                raise BundleError(f"${env}", f"must be positive, not {raw!r}")
            changes[attr] = value
        return cls(**changes)


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """The private cache: ``cache_dir``, else ``$PYTEST_PASSPORT_CACHE``, else ``~/.cache/pytest-passport``."""
    chosen = cache_dir or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pytest-passport"
    return Path(chosen).expanduser().absolute()
