"""Reading and writing ``MODEL_PASSPORT.json`` and ``SIGNOFF.json`` (schema 0.2).

Loading is strict: a wrong type, a missing structurally-required key, invalid JSON or a
non-object top level raises :class:`~pytest_passport.errors.DocumentError` naming the file and
the JSON path of every defect. Dumping is deterministic and lossless: ``false`` values and full
boolean arrays are kept, unknown keys inside blocks and unknown top-level sections are
re-emitted, legacy forms are read and written back in the 0.2 form.

The typed model is :mod:`.documents` (the two documents) with the blocks of :mod:`.contract`
and :mod:`.sections`; field names are the JSON keys of the format specification. Every name
of those modules is re-exported here, so ``pytest_passport.schema`` stays the one import for
the typed model and its reading and writing.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from ._jsonmap import Extra, FreeForm, NonFinite, Problems, dump_block, load_block, non_finite_problems
from .errors import DocumentError

# The typed model, re-exported: see the module docstring.
from .contract import (
    ActionSpec, AuxiliaryOutputs, DeltaSpec, DeterminismBucket, DistributionBucket, ImageSpec,
    InferenceParameters, InputContract, LanguageSpec, LivenessBucket, NanInfBucket, OutputActions,
    OutputSpec, PostProcessing, RangeCheckBucket, SmokeResults, StateSpec, TemporalSpec,
    TrainingDatasetSpec,
)
from .documents import (
    PASSPORT_SECTIONS, SCHEMA_VERSION, SUPPORTED_PASSPORT_VERSIONS, SUPPORTED_SIGNOFF_VERSIONS,
    Artifact, Passport, SignedBy, Signoff,
)
from .sections import (
    BufferEntry, ForwardGraph, KnownIssue, ModelIdentity, ModelInternals, NormRoundTripResult,
    NumericalHealth, Parameters, ParametersSummary, PretrainedAsset, Provenance, Quantization,
    ReferenceTestVector, RuntimeConstraints, StateDictBlock, TransformStep, WeightFile, WeightIntegrity,
)

__all__ = [
    "PASSPORT_FILENAME", "PASSPORT_SECTIONS", "SCHEMA_VERSION", "SIGNOFF_FILENAME",
    "SUPPORTED_PASSPORT_VERSIONS", "SUPPORTED_SIGNOFF_VERSIONS", "TEMP_NAME", "ActionSpec", "Artifact",
    "AuxiliaryOutputs", "BufferEntry", "DeltaSpec", "DeterminismBucket", "DistributionBucket", "Extra",
    "ForwardGraph", "FreeForm", "ImageSpec", "InferenceParameters", "InputContract", "KnownIssue",
    "LanguageSpec", "LivenessBucket", "ModelIdentity", "ModelInternals", "NanInfBucket",
    "NormRoundTripResult", "NumericalHealth", "OutputActions", "OutputSpec", "Parameters",
    "ParametersSummary", "Passport", "PostProcessing", "PretrainedAsset", "Provenance", "Quantization",
    "RangeCheckBucket", "ReferenceTestVector", "RuntimeConstraints", "SignedBy", "Signoff",
    "SmokeResults", "StateDictBlock", "StateSpec", "TemporalSpec", "TrainingDatasetSpec",
    "TransformStep", "WeightFile", "WeightIntegrity", "dumps_document", "dumps_passport",
    "dumps_signoff", "load_passport_bytes", "load_signoff_bytes", "parse_json", "passport_from_dict",
    "passport_to_dict", "read_passport", "read_signoff", "remove_stale_temps", "signoff_from_dict",
    "signoff_to_dict", "temp_path", "write_atomic", "write_passport", "write_signoff",
]

PASSPORT_FILENAME = "MODEL_PASSPORT.json"
SIGNOFF_FILENAME = "SIGNOFF.json"


# --------------------------------------------------------------------------- load / dump


def parse_json(text: str | bytes, file: Path | str) -> dict[str, Any]:
    """Parse a JSON object, turning every way it can be wrong into a DocumentError.

    ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's json accepts), and numbers that
    overflow a float (``1e999``), are refused, each named by its JSON path.
    """
    literals: list[str] = []
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = json.loads(text, parse_constant=lambda literal: _non_finite(literal, literals),
                          parse_float=lambda literal: _float(literal, literals))
    except UnicodeDecodeError as exc:
        raise DocumentError(file, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        raise DocumentError(file, [f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]) from None
    except ValueError as exc:  # e.g. integers longer than Python's digit limit
        raise DocumentError(file, [f"invalid JSON: {exc}"]) from None
    except RecursionError:
        raise DocumentError(file, ["invalid JSON: nested too deeply"]) from None
    if literals:  # a literal under a duplicate key that a later one replaced has no path left
        raise DocumentError(file, non_finite_problems(data) or [f"invalid JSON: {literals[0]} is not valid JSON"])
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else f"a {type(data).__name__}"
        raise DocumentError(file, [f"top level must be a JSON object, got {kind}"])
    return data


def _non_finite(literal: str, seen: list[str]) -> NonFinite:
    """Keep a ``NaN``/``Infinity`` literal as a placeholder, so parsing goes on and the error can name its path."""
    seen.append(literal)
    return NonFinite(literal)


def _float(literal: str, seen: list[str]) -> float | NonFinite:
    """A JSON number as a float; one too large for a float (``1e999``) is kept as a placeholder like NaN."""
    value = float(literal)
    if math.isfinite(value):
        return value
    seen.append(literal)
    return NonFinite(literal, "is out of range for a 64-bit float")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(path, [f"cannot read file: {exc.strerror or exc}"]) from None


def passport_from_dict(data: dict[str, Any], file: Path | str = PASSPORT_FILENAME) -> Passport:
    problems = Problems()
    passport = load_block(Passport, data, "", problems)
    if problems:
        raise DocumentError(file, problems.items)
    return passport


def signoff_from_dict(data: dict[str, Any], file: Path | str = SIGNOFF_FILENAME) -> Signoff:
    problems = Problems()
    data = dict(data)
    data.setdefault("schema_version", SCHEMA_VERSION)
    signoff = load_block(Signoff, data, "", problems)
    if problems:
        raise DocumentError(file, problems.items)
    return signoff


def load_passport_bytes(raw: bytes, file: Path | str = PASSPORT_FILENAME) -> Passport:
    return passport_from_dict(parse_json(raw, file), file)


def load_signoff_bytes(raw: bytes, file: Path | str = SIGNOFF_FILENAME) -> Signoff:
    return signoff_from_dict(parse_json(raw, file), file)


def read_passport(path: Path) -> Passport:
    return load_passport_bytes(_read(path), path)


def read_signoff(path: Path) -> Signoff:
    return load_signoff_bytes(_read(path), path)


def passport_to_dict(passport: Passport) -> dict[str, Any]:
    return dump_block(passport)


def signoff_to_dict(signoff: Signoff) -> dict[str, Any]:
    out = dump_block(signoff)
    full = {key: out.get(key) for key in ("schema_version", "signed_at", "signed_by", "artifacts", "verdict", "verdict_reason")}
    full.update({k: v for k, v in out.items() if k not in full})
    return full


def dumps_document(data: dict[str, Any]) -> str:
    """The canonical byte form: 2-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def dumps_passport(passport: Passport) -> str:
    return dumps_document(passport_to_dict(passport))


def dumps_signoff(signoff: Signoff) -> str:
    return dumps_document(signoff_to_dict(signoff))


#: Temp files of :func:`write_atomic`: ``.<name>.<pid>.tmp`` next to the target. A leftover of a
#: killed writer is tolerated by ``checkpoint_tree_declared`` and removed by the next write.
TEMP_NAME = re.compile(r"^\.(?:MODEL_PASSPORT|SIGNOFF)\.json\.(\d+)\.tmp$")


def temp_path(path: Path, pid: int | None = None) -> Path:
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}.tmp")


def remove_stale_temps(directory: Path, name: str) -> list[Path]:
    """Delete ``.<name>.<pid>.tmp`` files left by writers that no longer run; returns them."""
    removed: list[Path] = []
    prefix = f".{name}."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and TEMP_NAME.match(n)]
    except OSError:
        return removed
    for entry in names:
        pid = int(entry[len(prefix):-len(".tmp")])
        if pid != os.getpid() and _alive(pid):
            continue  # a concurrent writer's file: it replaces or removes it itself
        try:
            os.unlink(directory / entry)
            removed.append(directory / entry)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a new temp file ``.<name>.<pid>.tmp`` in the same
    directory (``O_EXCL``, never through a link), fsync, ``os.replace``; the temp file is
    removed on any failure, and stale ones of killed writers are cleared first.
    """
    path = Path(path)
    remove_stale_temps(path.parent, path.name)
    tmp = temp_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:
        os.unlink(tmp)  # our own pid: a leftover of an earlier process that had it
        fd = os.open(tmp, flags, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_passport(passport: Passport, path: Path) -> None:
    write_atomic(path, dumps_passport(passport))


def write_signoff(signoff: Signoff, path: Path) -> None:
    write_atomic(path, dumps_signoff(signoff))
