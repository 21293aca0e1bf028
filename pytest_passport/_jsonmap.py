"""Strict, explanatory mapping between JSON values and typed dataclasses.

Every typed block is a dataclass whose fields carry the exact JSON key names.
Unknown keys are kept in the block's ``extra`` mapping so a rewrite is lossless.
Errors are collected (not raised on the first one) and each names its JSON path.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from typing import Any, Union

#: Field name under which every block keeps keys it does not know.
EXTRA = "extra"

#: The type of a block's ``extra`` mapping (unknown keys, re-emitted on dump).
Extra = dict[str, Any]
#: A JSON object the typed model keeps as it is, without mapping its keys.
FreeForm = dict[str, Any]


def empty_extra() -> Extra:
    """Default factory of every block's ``extra`` field."""
    return {}

#: Keys written bare in a JSON path (``a.b``); any other key is quoted (``a["x.y"]``).
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

#: Integers outside this range are almost certainly corrupt (and do not fit int64 readers).
INT_LIMIT = 2**63


class Problems:
    """Accumulates ``path: message`` strings while mapping one document."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path or '<top level>'}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)


class NonFinite:
    """Stands in for a ``NaN`` / ``Infinity`` / ``-Infinity`` literal (or a number such as ``1e999``
    that overflows a float) while parsing, so the error names its path."""

    __slots__ = ("literal", "reason")

    def __init__(self, literal: str, reason: str = "is not valid JSON") -> None:
        self.literal = literal
        self.reason = reason


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN/Infinity float replaced by ``None`` (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def non_finite_problems(data: Any) -> list[str]:
    """``path: NaN is not valid JSON`` for every :class:`NonFinite` left in parsed ``data``, in document order.

    Walks with an explicit stack: a document json could parse must not overflow Python's stack here.
    """
    problems = Problems()
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, NonFinite):
            problems.add(path, f"{value.literal} {value.reason}")
        elif isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            pending.extend(reversed([(_join(path, key), item) for key, item in items]))
    return problems.items


def describe(value: Any) -> str:
    """Short JSON-flavoured rendering of a bad value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f'"{text}"'
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 40 else text[:20] + "...(" + str(len(text)) + " digits)"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _join(path: str, key: str | int) -> str:
    """``a.b``, ``a[0]``; a key that is not a plain name is quoted, ``a["x.y"]``, so every path is unambiguous."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not _PLAIN_KEY.fullmatch(key):
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "string"
    if tp is int:
        return "integer"
    if tp is float:
        return "number"
    if tp is bool:
        return "boolean"
    if tp is Any:
        return "any value"
    if origin is list:
        return "array"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "object"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    return getattr(tp, "__name__", str(tp))


def _hints(cls: type) -> dict[str, Any]:
    cached = cls.__dict__.get("__jsonmap_hints__")
    if cached is None:
        cached = typing.get_type_hints(cls)
        cls.__jsonmap_hints__ = cached  # type: ignore[attr-defined]
    return cached


def required_keys(cls: type) -> tuple[str, ...]:
    """Keys the block cannot be mapped without (spec code S)."""
    return tuple(getattr(cls, "__required__", ()))


def load_value(tp: Any, value: Any, path: str, problems: Problems) -> Any:
    """Map ``value`` to type ``tp``; on a mismatch record a problem and return None."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        for arg in args:
            if _matches(arg, value):
                return load_value(arg, value, path, problems)
        problems.add(path, f"expected {_type_name(tp)}, got {describe(value)}")
        return None
    if value is None:
        return None
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.add(path, f"expected object, got {describe(value)}")
            return None
        return load_block(tp, value, path, problems)
    if origin is list:
        if not isinstance(value, list):
            problems.add(path, f"expected array, got {describe(value)}")
            return None
        (item_tp,) = typing.get_args(tp)
        return [load_value(item_tp, item, _join(path, i), problems) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.add(path, f"expected object, got {describe(value)}")
            return None
        _, item_tp = typing.get_args(tp)
        return {k: load_value(item_tp, v, _join(path, k), problems) for k, v in value.items()}
    if not _matches(tp, value):
        problems.add(path, f"expected {_type_name(tp)}, got {describe(value)}")
        return None
    if tp is int and not -INT_LIMIT < value < INT_LIMIT:
        problems.add(path, f"integer out of range: {describe(value)}")
        return None
    if tp is float:
        if not math.isfinite(value):
            problems.add(path, f"expected a finite number, got {describe(value)}")
            return None
        return value
    return value


def _matches(tp: Any, value: Any) -> bool:
    """Shallow JSON-type test used to pick a union member."""
    if tp is Any:
        return True
    if tp is str:
        return isinstance(value, str)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    origin = typing.get_origin(tp)
    if origin is list:
        return isinstance(value, list)
    if origin is dict or dataclasses.is_dataclass(tp):
        return isinstance(value, dict)
    return False


def load_block(cls: type, data: dict[str, Any], path: str, problems: Problems) -> Any:
    """Map one JSON object to dataclass ``cls``, keeping unknown keys in ``extra``."""
    upgrade = getattr(cls, "__upgrade__", None)
    if upgrade is not None:
        data = upgrade(dict(data))
    hints = _hints(cls)
    extra_name = extra_field(cls)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key == extra_name or key not in hints:
            extra[key] = value
            continue
        kwargs[key] = load_value(hints[key], value, _join(path, key), problems)
    for key in required_keys(cls):
        if data.get(key) is None:
            problems.add(_join(path, key), "required key is missing")
    if extra_name in hints:
        kwargs[extra_name] = extra
    return cls(**kwargs)


def extra_field(cls: type) -> str:
    """Name of the field holding unknown keys (``extra`` unless the JSON itself uses that key)."""
    return getattr(cls, "__extra_field__", EXTRA)


def dump_value(value: Any) -> Any:
    """Inverse of :func:`load_value`: dataclasses become ordered JSON objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dump_block(value)
    if isinstance(value, list):
        return [dump_value(v) for v in value]
    if isinstance(value, dict):
        return {k: dump_value(v) for k, v in value.items()}
    return value


def dump_block(block: Any) -> dict[str, Any]:
    """Fields in declaration order, ``None`` omitted, ``false`` and empty arrays kept, extras last."""
    out: dict[str, Any] = {}
    extra_name = extra_field(type(block))
    for f in dataclasses.fields(block):
        if f.name == extra_name:
            continue
        value = getattr(block, f.name)
        if value is None:
            continue
        out[f.name] = dump_value(value)
    for key, value in (getattr(block, extra_name, None) or {}).items():
        out.setdefault(key, value)
    return out
