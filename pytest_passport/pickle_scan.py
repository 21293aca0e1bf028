"""Static scanning of pickle-based files: which globals would loading them import and call?

Nothing is ever unpickled. The opcode stream is walked with :func:`pickletools.genops` while a
small stack model tracks string constants and the memo, so ``STACK_GLOBAL`` (protocol 4-5) is
resolved to its ``module``/``name`` even when both come from memo lookups; ``GLOBAL`` and
``INST`` carry theirs inline. Containers are opened the way their loaders open them:

* raw pickles (``.pkl .pickle .joblib``, protocols 0-5), and consecutive pickles as in
  torch's legacy format (magic, protocol, sys-info, object, storage keys, raw storage bytes);
* zip archives (torch >= 1.6 ``torch.save``, ``.npz``): every ``*.pkl`` member and every
  ``.npy`` member with an object dtype;
* ``.npy`` with an object dtype: the header is parsed as a literal (``ast.literal_eval``),
  never with ``np.load(allow_pickle=True)``; the payload after it is a pickle.

Every imported global is classified: ``dangerous`` (runs commands or code, opens files or
sockets, imports modules: ``os.system``, ``subprocess.Popen``, ``builtins.eval``, ``runpy``,
``webbrowser``..., or any dotted/dunder attribute path), ``safe`` (what plain tensors,
state dicts and numpy arrays need), or ``unknown``.
"""

from __future__ import annotations

import ast
import io
import os
import pickletools
import re
import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

#: File suffixes loaded through pickle by the common loaders (torch, joblib, numpy, pickle).
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz")
#: A pickle stream larger than this is not held in memory for scanning.
MAX_PICKLE_BYTES = 512 * 1024 * 1024
#: At most this many zip members are looked at (a zip bomb of tiny members is refused).
MAX_ZIP_MEMBERS = 100_000

#: Modules whose every global is dangerous (process, code, files, network, import machinery).
DANGEROUS_MODULES = frozenset(
    """
    os posix nt posixpath ntpath subprocess sys runpy webbrowser pty socket shutil importlib imp
    code codeop commands pdb bdb timeit ctypes marshal pickle _pickle cPickle dill shelve
    multiprocessing asyncio http urllib urllib2 urllib3 requests httplib ftplib smtplib telnetlib
    ssl pip setuptools distutils venv ensurepip zipimport signal _thread threading types inspect
    cProfile profile trace doctest pydoc _osx_support _aix_support uuid site _sitebuiltins
    tempfile glob pathlib io _io fileinput linecache sqlite3 xmlrpc socketserver selectors select
    mmap resource gc idlelib tkinter turtle antigravity this ctypes.util
    torch.hub torch.jit torch._dynamo torch._inductor torch.utils.cpp_extension torch.serialization
    torch.distributed torch.package torch.fx torch.compiler torch.testing
    numpy.testing numpy.f2py numpy.distutils numpy.lib.utils numpy.load numpy.ctypeslib
    """.split()
)
#: Builtins that evaluate, import, open or reach attributes.
DANGEROUS_BUILTINS = frozenset(
    """
    eval exec execfile compile open __import__ getattr setattr delattr globals locals vars
    breakpoint input exit quit help apply reload file memoryview copyright credits license
    """.split()
)
BUILTIN_MODULES = frozenset({"builtins", "__builtin__", "__builtins__"})
#: Globals that compose calls out of other objects (gadget chains).
DANGEROUS_GLOBALS = frozenset(
    {
        ("operator", "attrgetter"),
        ("operator", "methodcaller"),
        ("operator", "itemgetter"),
        ("_operator", "attrgetter"),
        ("_operator", "methodcaller"),
        ("functools", "partial"),
        ("functools", "reduce"),
        ("_functools", "reduce"),
        ("functools", "partialmethod"),
        ("collections", "_sys"),
        ("numpy", "load"),
        ("numpy.lib.npyio", "load"),
        ("torch", "load"),
        ("torch", "save"),
        ("torch", "compile"),
    }
)
#: What plain tensors, parameters, state dicts and numpy arrays need (torch.load weights_only set).
SAFE_GLOBALS = frozenset(
    {
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor_v3"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch._utils", "_rebuild_qtensor"),
        ("torch._utils", "_rebuild_sparse_tensor"),
        ("torch._utils", "_rebuild_nested_tensor"),
        ("torch._utils", "_rebuild_device_tensor_from_numpy"),
        ("torch._utils", "_rebuild_meta_tensor_no_storage"),
        ("torch._utils", "_rebuild_wrapper_subclass"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch", "Tensor"),
        ("torch", "Size"),
        ("torch", "device"),
        ("torch.nn.parameter", "Parameter"),
        ("torch", "per_tensor_affine"),
        ("torch.storage", "UntypedStorage"),
        ("torch.storage", "TypedStorage"),
        ("torch", "UntypedStorage"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.dtypes", "Float32DType"),
        ("numpy.dtypes", "Float64DType"),
        ("numpy.dtypes", "Int64DType"),
        ("_codecs", "encode"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("builtins", "range"),
        ("__builtin__", "set"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
        ("__builtin__", "object"),
        ("builtins", "object"),
    }
)
_TORCH_DTYPES = frozenset(
    "float32 float64 float16 bfloat16 int8 int16 int32 int64 uint8 bool complex64 complex128 "
    "float8_e4m3fn float8_e5m2 uint16 uint32 uint64 half float double long int short".split()
)
_STORAGES = frozenset(
    f"{t}Storage" for t in "Float Double Half BFloat16 Long Int Short Char Byte Bool ComplexFloat ComplexDouble QInt8 QUInt8 QInt32".split()
)


def classify(module: str, name: str) -> str:
    """``dangerous``, ``safe`` or ``unknown`` for an imported ``module.name``."""
    if not module or not name or any(c in module + name for c in " \t\r\n\x00") or name.startswith("__") or ".__" in name:
        return "dangerous"
    top = module.split(".")[0]
    if module in BUILTIN_MODULES:
        if name.split(".")[0] in DANGEROUS_BUILTINS or "." in name:
            return "dangerous"
        return "safe" if (module, name) in SAFE_GLOBALS or ("builtins", name) in SAFE_GLOBALS else "unknown"
    if any(module == m or module.startswith(m + ".") for m in DANGEROUS_MODULES) or top in DANGEROUS_MODULES:
        return "dangerous"
    if (module, name) in DANGEROUS_GLOBALS or (module.lstrip("_"), name) in DANGEROUS_GLOBALS:
        return "dangerous"
    if (module, name) in SAFE_GLOBALS:
        return "safe"
    if module == "torch" and (name in _TORCH_DTYPES or name in _STORAGES):
        return "safe"
    if "." in name:
        return "dangerous"  # attribute traversal (protocol 4 dotted names) can reach anything
    return "unknown"


@dataclass
class ScanResult:
    """What one file would import when unpickled, and how far the scan got."""

    path: str
    #: ``module.name`` → ``dangerous`` / ``safe`` / ``unknown`` (first occurrence order).
    globals: dict[str, str] = field(default_factory=dict)
    #: Where each global was seen (a zip member, an object array), for messages.
    where: dict[str, str] = field(default_factory=dict)
    #: Pickle streams found (0: the file is not pickle-based after all).
    streams: int = 0
    #: Why part of the file could not be scanned (truncated stream, too large...).
    errors: list[str] = field(default_factory=list)

    @property
    def dangerous(self) -> list[str]:
        return [g for g, kind in self.globals.items() if kind == "dangerous"]

    @property
    def unknown(self) -> list[str]:
        return [g for g, kind in self.globals.items() if kind == "unknown"]

    def add(self, module: str, name: str, where: str) -> None:
        key = f"{module}.{name}"
        if key not in self.globals:
            self.globals[key] = classify(module, name)
            self.where[key] = where


class _Unknown:
    """A stack value that is not a string constant."""


_UNKNOWN = _Unknown()
_MARK = object()
_STRING_OPS = frozenset(
    {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING", "SHORT_BINBYTES", "BINBYTES", "BINBYTES8"}
)


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


_OPCODE_STARTS = frozenset(b"\x80(c]})INSVX\x8c")


def scan_stream(fh: BinaryIO, result: ScanResult, where: str) -> None:
    """Scan every pickle in ``fh`` back to back (torch's legacy format concatenates several).

    Stops quietly at bytes that are not a pickle after at least one complete stream (raw
    storage data follows the pickles); an error inside the first stream is recorded.
    """
    while True:
        start = fh.tell()
        first = fh.read(1)
        if not first:
            return
        if result.streams and first[0] not in _OPCODE_STARTS:
            return  # trailing raw data
        fh.seek(start)
        try:
            complete = _scan_one(fh, result, where)
        except Exception as exc:  # noqa: BLE001 - any malformation ends the scan
            if not result.streams:
                result.errors.append(f"{where}: not a complete pickle stream after byte {start}: {exc}")
                # joblib writes raw array bytes inside the stream: look past them for imports.
                fh.seek(start)
                _search_raw(fh.read(MAX_PICKLE_BYTES), result, where)
            return
        if not complete:
            if not result.streams:
                result.errors.append(f"{where}: pickle stream ends without STOP")
            return
        result.streams += 1


#: ``GLOBAL``/``INST`` (``c``/``i`` module NL name NL) and memoized ``STACK_GLOBAL`` byte patterns.
_RAW_GLOBAL = re.compile(rb"[ci]([A-Za-z_][\w.]{0,200})\n([A-Za-z_][\w.]{0,200})\n")
_RAW_STACK_GLOBAL = re.compile(rb"\x8c([\x01-\xff])([A-Za-z_][\w.]{0,254})\x94?\x8c([\x01-\xff])([A-Za-z_][\w.]{0,254})\x94?\x93")


def _search_raw(data: bytes, result: ScanResult, where: str) -> None:
    """Find import opcodes in bytes the opcode walk could not parse (data inlined mid-stream)."""
    for match in _RAW_GLOBAL.finditer(data):
        result.add(match.group(1).decode("ascii"), match.group(2).decode("ascii"), f"{where} (unparsed bytes)")
    for match in _RAW_STACK_GLOBAL.finditer(data):
        if match.group(1)[0] == len(match.group(2)) and match.group(3)[0] == len(match.group(4)):
            result.add(match.group(2).decode("ascii"), match.group(4).decode("ascii"), f"{where} (unparsed bytes)")


def _scan_one(stream: BinaryIO, result: ScanResult, where: str) -> bool:
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    for opcode, arg, _pos in pickletools.genops(stream):
        name = opcode.name
        if name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            result.add(module, attr, where)
        elif name == "STACK_GLOBAL":
            attr = stack.pop() if stack else _UNKNOWN
            module = stack.pop() if stack else _UNKNOWN
            if isinstance(module, str) and isinstance(attr, str):
                result.add(module, attr, where)
            else:
                result.globals.setdefault("<unresolved STACK_GLOBAL>", "dangerous")
                result.where.setdefault("<unresolved STACK_GLOBAL>", where)
            stack.append(_UNKNOWN)
            continue
        if name == "STOP":
            return True
        if name in _STRING_OPS:
            stack.append(_as_text(arg))
            continue
        if name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = stack[-1] if stack else _UNKNOWN
            continue
        if name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else _UNKNOWN
            continue
        if name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(int(arg), _UNKNOWN))
            continue
        if name == "DUP":
            stack.append(stack[-1] if stack else _UNKNOWN)
            continue
        if name == "MARK":
            stack.append(_MARK)
            continue
        _apply(opcode, stack)
    return False


def _apply(opcode: pickletools.OpcodeInfo, stack: list[Any]) -> None:
    """Generic stack effect: pop what the opcode consumes, push unknowns for what it makes."""
    before = opcode.stack_before
    if pickletools.markobject in before:
        while stack and stack.pop() is not _MARK:
            pass
        count = before.index(pickletools.markobject)
    else:
        count = len(before)
    for _ in range(count):
        if stack:
            stack.pop()
    stack.extend(_UNKNOWN for _ in opcode.stack_after)


# --------------------------------------------------------------------------- containers


def _npy_header(fh: BinaryIO) -> tuple[dict[str, Any], int] | None:
    """The header dict of a .npy stream and the payload offset, or None when not .npy."""
    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        return None
    major = magic[6]
    if major == 1:
        (length,) = struct.unpack("<H", fh.read(2))
        offset = 10 + length
    elif major in (2, 3):
        (length,) = struct.unpack("<I", fh.read(4))
        offset = 12 + length
    else:
        raise ValueError(f"unknown .npy format version {major}")
    if length > 1024 * 1024:
        raise ValueError(".npy header larger than 1 MiB")
    text = fh.read(length).decode("utf-8" if major == 3 else "latin-1")
    header = ast.literal_eval(text)
    if not isinstance(header, dict) or "descr" not in header:
        raise ValueError(".npy header has no descr")
    return header, offset


def _has_object(descr: Any) -> bool:
    if isinstance(descr, str):
        return "O" in descr.lstrip("<>|=")[:1]
    if isinstance(descr, (list, tuple)):
        return any(_has_object(part) for part in descr)
    return False


def _scan_npy(fh: BinaryIO, result: ScanResult, where: str) -> bool:
    """Scan a .npy stream; True when it was one (object arrays carry a pickle payload)."""
    parsed = _npy_header(fh)
    if parsed is None:
        return False
    header, _offset = parsed
    if _has_object(header["descr"]):
        scan_stream(io.BytesIO(fh.read(MAX_PICKLE_BYTES)), result, f"{where} (object array)")
    return True


def _scan_zip(fh: BinaryIO, result: ScanResult, where: str) -> None:
    with zipfile.ZipFile(fh) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            result.errors.append(f"{where}: {len(members)} zip members, more than {MAX_ZIP_MEMBERS}")
            return
        for info in members:
            lower = info.filename.lower()
            if info.is_dir() or not lower.endswith((".pkl", ".pickle", ".npy")):
                continue
            if info.file_size > MAX_PICKLE_BYTES:
                result.errors.append(f"{where}:{info.filename}: {info.file_size} bytes, too large to scan")
                continue
            label = f"{where}:{info.filename}"
            with archive.open(info) as member:
                if lower.endswith(".npy"):
                    _scan_npy(member, result, label)  # type: ignore[arg-type]
                else:
                    scan_stream(io.BytesIO(member.read(MAX_PICKLE_BYTES + 1)), result, label)


def looks_like_pickle(head: bytes) -> bool:
    """Whether leading bytes start a pickle (protocol 2-5), a zip or a .npy file."""
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head.startswith((b"PK\x03\x04", b"\x93NUMPY"))


def scan_file(path: Path | str, label: str | None = None) -> ScanResult:
    """Scan one file by its content (zip, .npy, or raw pickle), never unpickling it."""
    path = Path(path)
    result = ScanResult(label or str(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            result.errors.append(f"{result.path}: not a regular file")
            return result
        with os.fdopen(os.dup(fd), "rb") as fh:
            head = fh.read(8)
            fh.seek(0)
            try:
                if head.startswith(b"PK"):
                    _scan_zip(fh, result, result.path)
                elif head.startswith(b"\x93NUMPY"):
                    _scan_npy(fh, result, result.path)
                else:
                    scan_stream(fh, result, result.path)
            except (zipfile.BadZipFile, ValueError, SyntaxError, OSError, struct.error, EOFError) as exc:
                result.errors.append(f"{result.path}: cannot be parsed: {exc}")
    finally:
        os.close(fd)
    return result


def iter_globals(result: ScanResult, kind: str) -> Iterator[tuple[str, str]]:
    for name, seen in result.globals.items():
        if seen == kind:
            yield name, result.where.get(name, result.path)


__all__ = ["PICKLE_SUFFIXES", "ScanResult", "classify", "looks_like_pickle", "scan_file", "scan_stream"]
