"""A read-only view of one checkpoint directory: files, config, tensor headers, stats, documents.

Everything is computed lazily and at most once, and nothing here reads tensor data:
safetensors headers are parsed from their 8-byte length prefix and JSON header.

The parts with a job of their own live beside it and are re-exported here: the listing in
:mod:`.tree`, header parsing in :mod:`.safetensors_header`, stats discovery in :mod:`.norm_stats`.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from . import schema
from .errors import DocumentError, UnsafePathError
from .hashing import NotRegularFileError, open_regular, read_regular, sha256_bytes
from .norm_stats import NormStats, discover
from .safetensors_header import MAX_HEADER_BYTES, TensorHeader, TensorInfo, read_safetensors_header
from .tree import Tree, TreeEntry, shown, under_cache, walk

__all__ = [
    "CONFIG_NAMES", "LOADABLE_SUFFIXES", "MAX_HEADER_BYTES", "PROCESSOR_FILES", "WEIGHT_SUFFIXES", "Checkpoint",
    "ConfigInfo", "DocumentLoad", "NormStats", "TensorHeader", "TensorInfo", "Tree", "TreeEntry",
    "read_safetensors_header", "shown", "walk",
]

CONFIG_NAMES = ("config.json", "config.yaml", "generation_config.json", "preprocessor_config.json", "tokenizer_config.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin")
#: Files that must be declared (and signed) whenever they sit anywhere under the root.
LOADABLE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
#: Processor pipelines written by LeRobot's ``save_pretrained``.
PROCESSOR_FILES = ("policy_preprocessor.json", "policy_postprocessor.json")


@dataclass
class ConfigInfo:
    path: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class DocumentLoad:
    """A passport or signoff as found on disk.

    ``state`` is ``absent``, ``invalid`` (unreadable or not mappable; ``problems`` say why)
    or ``ok``. ``sha256`` is the digest of the file bytes whenever the file could be read.
    """

    state: str
    document: Any = None
    problems: list[str] = field(default_factory=list)
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == "ok"


class Checkpoint:
    """The checkpoint rooted at ``root`` (a directory)."""

    def __init__(self, root: Path | str, *, extra_norm_stats: tuple[Path, ...] = ()) -> None:
        self.given = Path(root)
        self.root = Path(os.path.realpath(root))
        self.extra_norm_stats = tuple(extra_norm_stats)
        self._resolved: dict[str, Path] = {}

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.root)!r})"

    # ------------------------------------------------------------------ paths

    def resolve(self, rel: str) -> Path:
        """The on-disk path of a declared relative path, refusing anything outside the root.

        Accepted paths are remembered: several checks ask for the same file in one run.
        """
        cached = self._resolved.get(rel) if isinstance(rel, str) else None
        if cached is not None:
            return cached
        path = self._resolve(rel)
        self._resolved[rel] = path
        return path

    def _resolve(self, rel: str) -> Path:
        if not isinstance(rel, str) or not rel:
            raise UnsafePathError(str(rel), "empty path")
        if "\x00" in rel:
            raise UnsafePathError(rel, "path contains a NUL byte")
        try:
            os.fsencode(rel)
        except UnicodeEncodeError:  # a lone surrogate that no file name can hold
            raise UnsafePathError(rel, "path is not a valid file name (lone surrogate)") from None
        # ``C:/x`` and ``C:\\x`` are absolute on Windows; ``x::y.json`` or ``c:x`` are plain names.
        if rel.startswith(("/", "\\")) or PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute():
            raise UnsafePathError(rel, "absolute path; declared paths must be relative to the checkpoint root")
        parts = PurePosixPath(rel.replace("\\", "/")).parts
        if ".." in parts:
            raise UnsafePathError(rel, "path climbs out with '..'")
        candidate = self.root.joinpath(*parts)
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            raise UnsafePathError(rel, f"resolves outside the checkpoint root (to {real})")
        return candidate

    def relpath(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @cached_property
    def tree(self) -> Tree:
        """The checkpoint listed once (links not followed); see :func:`walk`."""
        return walk(self.root)

    @cached_property
    def files(self) -> tuple[str, ...]:
        """Every regular file under the root (symlinks and special files excluded), relative and sorted."""
        return tuple(self.tree.files)

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a regular file inside the root (a symlink or FIFO is not)."""
        try:
            return stat.S_ISREG(os.lstat(self.resolve(rel)).st_mode)
        except (UnsafePathError, OSError):
            return False

    def read_bytes(self, rel: str) -> bytes:
        """The bytes of a regular file of the checkpoint; ``OSError`` for anything else."""
        return read_regular(self.resolve(rel))

    def read_json(self, rel: str) -> Any:
        """Parse a JSON file of the checkpoint; raises DocumentError naming it."""
        try:
            raw = self.read_bytes(rel)
        except OSError as exc:
            raise DocumentError(rel, [f"cannot read file: {exc.strerror or exc}"]) from None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise DocumentError(rel, [f"invalid JSON: {exc}"]) from None

    # ------------------------------------------------------------------ config and weights

    @cached_property
    def config(self) -> ConfigInfo:
        """The policy config: root ``config.json``/``config.yaml`` first, else the first candidate.

        The reference takes the lexicographically first file *ending* in ``config.json``,
        which can pick ``generation_config.json`` over the policy's own config; a root
        ``config.json`` is preferred here.
        """
        candidates = [
            rel for rel in self.files if PurePosixPath(rel).name in CONFIG_NAMES and not under_cache(rel)
        ]
        chosen = None
        for preferred in ("config.json", "config.yaml"):
            if preferred in candidates:
                chosen = preferred
                break
        if chosen is None:
            chosen = next((rel for rel in candidates if rel.endswith(("config.json", "config.yaml"))), None)
        if chosen is None:
            return ConfigInfo()
        try:
            if chosen.endswith(".yaml"):
                import yaml

                data = yaml.safe_load(self.read_bytes(chosen))
            else:
                data = self.read_json(chosen)
        except DocumentError as exc:
            return ConfigInfo(chosen, {}, "; ".join(exc.problems))
        except Exception as exc:  # YAML errors come in many classes
            return ConfigInfo(chosen, {}, f"cannot parse: {exc}")
        if not isinstance(data, dict):
            return ConfigInfo(chosen, {}, "top level is not an object")
        return ConfigInfo(chosen, data)

    @cached_property
    def weight_files(self) -> tuple[str, ...]:
        return tuple(rel for rel in self.files if rel.lower().endswith(WEIGHT_SUFFIXES))

    @cached_property
    def tensor_headers(self) -> dict[str, TensorHeader]:
        """Headers of every ``*.safetensors`` file (``.bin`` files contribute no tensors)."""
        headers: dict[str, TensorHeader] = {}
        for rel in self.weight_files:
            if not rel.lower().endswith(".safetensors"):
                continue
            header = TensorHeader(rel)
            try:
                fd, st = open_regular(self.resolve(rel))
                with open(fd, "rb", closefd=True) as fh:
                    header.tensors, header.metadata = read_safetensors_header(fh, st.st_size)
            except (OSError, ValueError, UnsafePathError) as exc:
                header.error = str(exc)
            headers[rel] = header
        return headers

    @cached_property
    def tensors(self) -> dict[str, TensorInfo]:
        """All tensors across safetensors files (later files do not override earlier names)."""
        merged: dict[str, TensorInfo] = {}
        for header in self.tensor_headers.values():
            for name, info in header.tensors.items():
                merged.setdefault(name, info)
        return merged

    @cached_property
    def tensor_count(self) -> int:
        return sum(len(h.tensors) for h in self.tensor_headers.values())

    # ------------------------------------------------------------------ norm stats

    @cached_property
    def processor_state_files(self) -> tuple[str, ...]:
        """Normalizer state files named by LeRobot processor pipelines."""
        found: list[str] = []
        for name in PROCESSOR_FILES:
            if name not in self.files:
                continue
            try:
                pipeline = self.read_json(name)
            except DocumentError:
                continue
            steps = pipeline.get("steps") if isinstance(pipeline, dict) else None
            for step in steps if isinstance(steps, list) else []:
                state_file = step.get("state_file") if isinstance(step, dict) else None
                if isinstance(state_file, str) and state_file:
                    found.append(state_file)
        return tuple(dict.fromkeys(found))

    @cached_property
    def norm_stats(self) -> list[NormStats]:
        """Stats files: ``*_stats*.json``, ``stats.json``, LeRobot normalizer safetensors, extras.

        Found once by :func:`.norm_stats.discover`.
        """
        return discover(self)

    # ------------------------------------------------------------------ documents

    @cached_property
    def passport(self) -> DocumentLoad:
        return self._load(schema.PASSPORT_FILENAME, schema.load_passport_bytes)

    @cached_property
    def signoff(self) -> DocumentLoad:
        return self._load(schema.SIGNOFF_FILENAME, schema.load_signoff_bytes)

    def _load(self, name: str, loader: Any) -> DocumentLoad:
        path = self.root / name
        if not os.path.lexists(path):
            return DocumentLoad("absent")
        try:
            raw = read_regular(path)
        except NotRegularFileError as exc:
            return DocumentLoad("invalid", problems=[f"{name}: {exc.strerror}; only a regular file is read"])
        except OSError as exc:
            return DocumentLoad("invalid", problems=[f"{name}: cannot read file: {exc.strerror or exc}"])
        digest = sha256_bytes(raw)
        try:
            document = loader(raw, name)
        except DocumentError as exc:
            return DocumentLoad("invalid", problems=exc.problems, sha256=digest)
        return DocumentLoad("ok", document, sha256=digest)
