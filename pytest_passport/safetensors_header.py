"""Parsing a safetensors header: the 8-byte little-endian length prefix and the JSON header.

No tensor data is read; a header larger than :data:`MAX_HEADER_BYTES` is treated as corrupt.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

#: A safetensors header larger than this is treated as corrupt rather than read.
MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's dtype and shape, as its header states them."""

    dtype: str
    shape: tuple[int, ...]


@dataclass
class TensorHeader:
    """Tensors of one safetensors file, or why its header could not be read."""

    path: str
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def read_safetensors_header(fh: Any, size: int) -> tuple[dict[str, TensorInfo], dict[str, Any]]:
    """Parse a safetensors header from an open binary file of ``size`` bytes.

    Raises ``ValueError`` with a one-line reason on any malformation.
    """
    prefix = fh.read(8)
    if len(prefix) < 8:
        raise ValueError("file shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES or length + 8 > size:
        raise ValueError(f"header length {length} exceeds the file size {size}")
    raw = fh.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    tensors: dict[str, TensorInfo] = {}
    metadata = header.pop("__metadata__", None)
    for name, entry in header.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
            raise ValueError(f"tensor {name!r} has no dtype")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"tensor {name!r} has an invalid shape")
        tensors[name] = TensorInfo(entry["dtype"], tuple(shape))
    return tensors, metadata if isinstance(metadata, dict) else {}
