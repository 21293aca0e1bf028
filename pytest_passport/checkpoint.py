"""A read-only view of one checkpoint directory: files, config, tensor headers, stats, documents.

Everything is computed lazily and at most once, and nothing here reads tensor data:
safetensors headers are parsed from their 8-byte length prefix and JSON header.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from . import schema
from .errors import DocumentError, UnsafePathError
from .hashing import NotRegularFileError, kind_of, open_regular, read_regular, sha256_bytes

CONFIG_NAMES = ("config.json", "config.yaml", "generation_config.json", "preprocessor_config.json", "tokenizer_config.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin")
#: Files that must be declared (and signed) whenever they sit anywhere under the root.
LOADABLE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
#: A safetensors header larger than this is treated as corrupt rather than read.
MAX_HEADER_BYTES = 100 * 1024 * 1024
#: Processor pipelines written by LeRobot's ``save_pretrained``.
PROCESSOR_FILES = ("policy_preprocessor.json", "policy_postprocessor.json")


def _skip_cache(rel: str) -> bool:
    return ".cache" in PurePosixPath(rel).parts


def shown(rel: str) -> str:
    """A path for messages: a non-UTF-8 name (surrogate escapes) is shown with ``\\x`` escapes."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        pass
    try:  # bytes of a non-UTF-8 file name, as os.fsdecode escaped them
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate from a JSON document
        return rel.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class TreeEntry:
    """Something under the root that is neither a regular file nor a directory (or a directory
    that could not be listed): ``kind`` names it (``symbolic link``, ``FIFO``, ``socket``…)."""

    rel: str
    kind: str
    detail: str = ""

    def describe(self) -> str:
        return f"{shown(self.rel)} ({self.kind}{': ' + self.detail if self.detail else ''})"


@dataclass
class Tree:
    """One listing of the checkpoint, links never followed: regular files with their ``lstat``,
    and every other entry (links, special files, unlistable directories)."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    others: list[TreeEntry] = field(default_factory=list)


def walk(root: Path) -> Tree:
    """List ``root`` with ``os.scandir``, never following a link (so no cycle is possible) and
    never opening anything but directories; files are only ``lstat``-ed."""
    tree = Tree()
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as exc:
            tree.others.append(TreeEntry(prefix.rstrip("/") or ".", "unreadable directory", exc.strerror or str(exc)))
            continue
        for entry in entries:
            rel = prefix + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                tree.others.append(TreeEntry(rel, "unreadable entry", exc.strerror or str(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append((entry.path, rel + "/"))
            elif stat.S_ISREG(st.st_mode):
                tree.files[rel] = st
            elif stat.S_ISLNK(st.st_mode):
                tree.others.append(TreeEntry(rel, "symbolic link", _link_detail(root, entry.path)))
            else:
                tree.others.append(TreeEntry(rel, kind_of(st.st_mode)))
    tree.files = dict(sorted(tree.files.items()))
    tree.others.sort(key=lambda e: e.rel)
    return tree


def _link_detail(root: Path, path: str) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    real = os.path.realpath(path)
    if not os.path.lexists(real) or not os.path.exists(path):
        where = "dangling"
    elif real != str(root) and not real.startswith(str(root).rstrip(os.sep) + os.sep):
        where = "points outside the checkpoint"
    elif os.path.isdir(path):
        where = "to a directory"
    else:
        where = "inside the checkpoint"
    return f"-> {shown(target)}, {where}"


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]


@dataclass
class TensorHeader:
    """Tensors of one safetensors file, or why its header could not be read."""

    path: str
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class NormStats:
    """One discovered normalization-statistics file and the dimensions it states or implies."""

    key: str
    path: str
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


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


def _dims_from_stats(data: dict[str, Any]) -> dict[str, Any]:
    """``action_dim``/``state_dim`` implied by LeRobot-style ``{feature: {mean: [...]}}`` stats."""
    dims: dict[str, Any] = {}
    for feature, key in (("action", "action_dim"), ("observation.state", "state_dim"), ("state", "state_dim")):
        block = data.get(feature)
        if key in dims or not isinstance(block, dict):
            continue
        for stat in ("mean", "std", "min", "max", "q01", "q02", "q99", "q98"):
            values = block.get(stat)
            if isinstance(values, list) and values:
                last = values[-1] if isinstance(values[-1], list) else values
                dims[key] = len(last)
                break
    return dims


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
            rel for rel in self.files if PurePosixPath(rel).name in CONFIG_NAMES and not _skip_cache(rel)
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

        The reference sees only ``*_stats*.json``; ``stats.json`` and LeRobot's normalizer
        state files are real stats too and are discovered here.
        """
        out: list[NormStats] = []
        for rel in self.files:
            name = PurePosixPath(rel).name
            if _skip_cache(rel):
                continue
            if name.endswith(".json") and ("_stats" in name or name == "stats.json"):
                out.append(self._json_stats(f"stats:{rel}", rel))
        normalizers = set(self.processor_state_files)
        normalizers.update(rel for rel in self.files if rel.endswith("normalizer_processor.safetensors"))
        for rel in sorted(normalizers):
            out.append(self._tensor_stats(f"stats:{rel}", rel))
        for extra in self.extra_norm_stats:
            stats = NormStats(f"extra:{extra.name}", str(extra))
            try:
                data = json.loads(read_regular(extra, follow=True))
            except (OSError, ValueError):
                continue  # unreadable extras are skipped, as in the reference
            stats.metadata = self._stats_metadata(data)
            out.append(stats)
        return out

    @staticmethod
    def _stats_metadata(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            return {}
        meta = data.get("metadata")
        metadata = dict(meta) if isinstance(meta, dict) else dict(data)
        for key, value in _dims_from_stats(data).items():
            metadata.setdefault(key, value)
        return metadata

    def _json_stats(self, key: str, rel: str) -> NormStats:
        stats = NormStats(key, rel)
        try:
            data = self.read_json(rel)
        except DocumentError as exc:
            stats.error = "; ".join(exc.problems)
            return stats
        if not isinstance(data, dict):
            stats.error = "top level is not an object"
            return stats
        stats.metadata = self._stats_metadata(data)
        return stats

    def _tensor_stats(self, key: str, rel: str) -> NormStats:
        stats = NormStats(key, rel)
        header = self.tensor_headers.get(rel)
        if header is None:
            stats.error = "file is missing" if not self.exists(rel) else "not a safetensors file"
            return stats
        if header.error:
            stats.error = header.error
            return stats
        for feature, dim_key in (("action", "action_dim"), ("observation.state", "state_dim")):
            for stat in ("mean", "std", "min", "max", "q01", "q99"):
                info = header.tensors.get(f"{feature}.{stat}")
                if info is not None and info.shape:
                    stats.metadata.setdefault(dim_key, info.shape[-1])
                    break
        stats.metadata["features"] = sorted({name.rsplit(".", 1)[0] for name in header.tensors})
        return stats

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
