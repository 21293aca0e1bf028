"""Text that always encodes: lone surrogates and undecodable names become visible escapes."""

from __future__ import annotations

from typing import Any

__all__ = ["clean", "safe"]


def safe(text: Any) -> str:
    """``str(text)`` with lone surrogates (``os.fsdecode`` of non-UTF-8 names) as ``\\udcXX``."""
    value = text if isinstance(text, str) else str(text)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def clean(value: Any) -> Any:
    """A JSON-like value with every string (keys included) made safe to encode as UTF-8."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dict):
        return {safe(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return safe(value)
