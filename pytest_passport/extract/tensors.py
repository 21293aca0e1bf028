"""Facts read from safetensors headers: parameter totals by dtype, key counts, storage scheme.

Only headers are read (never tensor data). Counts cover every tensor stored in the model's
weight files — parameters and persistent buffers alike, which a file cannot tell apart; the
normalizer state files of a LeRobot pipeline are statistics, not model tensors, and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..checkpoint import Checkpoint
from ..safetensors_header import TensorInfo
from ..sections import ParametersSummary, Quantization, StateDictBlock
from ._common import ExtractionError

#: safetensors dtype code -> (torch-style name, bytes per element).
DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("float64", 8),
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "F8_E4M3": ("float8_e4m3fn", 1),
    "F8_E5M2": ("float8_e5m2", 1),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U64": ("uint64", 8),
    "U32": ("uint32", 4),
    "U16": ("uint16", 2),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
}

#: Storage dtype of the bulk of the weights -> ``quantization.scheme`` (spec §2.3 vocabulary).
SCHEME_BY_DTYPE = {
    "float64": "none",
    "float32": "none",
    "float16": "fp16",
    "bfloat16": "bf16",
    "int8": "int8",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
}


def dtype_name(code: str) -> str:
    return DTYPES.get(code, (code.lower(), 0))[0]


@dataclass
class TensorFacts:
    """Totals over the model's safetensors files."""

    files: list[str] = field(default_factory=list)
    tensor_count: int = 0
    elements_by_dtype: dict[str, int] = field(default_factory=dict)
    total_bytes: int | None = 0
    #: Per file: tensor name -> {"dtype", "shape"}, names sorted.
    headers: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def total_params(self) -> int:
        return sum(self.elements_by_dtype.values())


def _add_tensor(facts: TensorFacts, info: TensorInfo) -> None:
    name, itemsize = DTYPES.get(info.dtype, (info.dtype.lower(), 0))
    count = math.prod(info.shape)
    facts.elements_by_dtype[name] = facts.elements_by_dtype.get(name, 0) + count
    if facts.total_bytes is not None:
        # An unknown dtype has no known element size: leave the byte total unknown rather than wrong.
        facts.total_bytes = facts.total_bytes + count * itemsize if itemsize else None


def read_tensor_facts(checkpoint: Checkpoint, weight_files: list[str]) -> TensorFacts:
    """Totals over the safetensors among ``weight_files``; a corrupt header refuses extraction."""
    facts = TensorFacts()
    for rel in sorted(weight_files):
        if not rel.lower().endswith(".safetensors"):
            continue
        header = checkpoint.tensor_headers.get(rel)
        if header is None:
            continue
        if header.error:
            raise ExtractionError(f"{rel}: safetensors header unreadable: {header.error}")
        facts.files.append(rel)
        facts.tensor_count += len(header.tensors)
        for info in header.tensors.values():
            _add_tensor(facts, info)
        facts.headers[rel] = {
            name: {"dtype": dtype_name(info.dtype), "shape": list(info.shape)}
            for name, info in sorted(header.tensors.items())
        }
    facts.elements_by_dtype = dict(sorted(facts.elements_by_dtype.items()))
    return facts


def parameters_summary(facts: TensorFacts) -> ParametersSummary | None:
    if not facts.files:
        return None
    return ParametersSummary(
        total_params=facts.total_params,
        total_bytes=facts.total_bytes,
        dtype_breakdown=dict(facts.elements_by_dtype),
        extra={"counted_from": "safetensors headers (parameters and persistent buffers)", "files": list(facts.files)},
    )


def state_dict_block(facts: TensorFacts) -> StateDictBlock | None:
    # expected_keys_count needs the instantiated model (Phase 2); only what the files hold is known here.
    return StateDictBlock(found_keys_count=facts.tensor_count) if facts.files else None


def quantization(facts: TensorFacts) -> Quantization:
    """The storage scheme of the dtype holding most elements; ``none`` for full-precision floats."""
    if not facts.elements_by_dtype:
        return Quantization(scheme="none")
    dominant = max(facts.elements_by_dtype.items(), key=lambda item: (item[1], item[0]))[0]
    scheme = SCHEME_BY_DTYPE.get(dominant, "none")
    return Quantization(scheme=scheme, extra={"derived_from": f"dominant weight dtype {dominant}"})
