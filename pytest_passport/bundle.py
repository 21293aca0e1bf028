"""Open a checkpoint from any form it travels in and hand back a local directory to validate.

Forms (:func:`resolve`): a directory; a ``.zip`` bundle; ``file://`` URIs (percent-encoded
or not); ``s3://bucket/key.zip`` (fsspec + s3fs, ``AWS_ENDPOINT_URL[_S3]`` honoured);
``hf://org/repo[@revision][/subdir]`` (``huggingface_hub.snapshot_download``, which honours
``HF_HUB_OFFLINE`` and the hub cache); a trailing ``:latest``; Metta ``<run>:v<epoch>`` names.

Zip bundles are checked entry by entry *before* anything is written (traversal, absolute
names, symlinks, duplicates, size and ratio limits, a wrapping ``<run>:v<N>/`` folder,
Metta's ``policy_spec.json``/``data_path``), then extracted atomically into a private cache
keyed by the sha256 of the zip's bytes, never by its path: an overwritten zip is never
served stale. Nothing is written outside the cache, laid out as::

    <cache>/zips/<sha256 of the zip>/     extracted bundles (reused while they match the zip)
    <cache>/downloads/<sha256>.zip        zips fetched from S3
    <cache>/hf/<key>/                     hub snapshots as real files (the hub keeps symlinks)
    <cache>/work/                         private copies opened by :func:`edit_zip`
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from .errors import BundleError, CheckpointNotFoundError, PassportError
from .hashing import sha256_file
from .schema import PASSPORT_FILENAME, SIGNOFF_FILENAME

POLICY_SPEC = "policy_spec.json"
CACHE_ENV = "PYTEST_PASSPORT_CACHE"
MAX_BYTES_ENV = "PYTEST_PASSPORT_ZIP_MAX_BYTES"
MAX_RATIO_ENV = "PYTEST_PASSPORT_ZIP_MAX_RATIO"
LATEST = ":latest"
BLOCK_SIZE = 1 << 20
#: Timestamp written on entries added by :func:`rewrite_zip` (deterministic output).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Names that mark a directory as a checkpoint bundle when ``:latest`` scans its siblings.
BUNDLE_MARKERS = (POLICY_SPEC, PASSPORT_FILENAME)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")
_EPOCH_TAIL = re.compile(r"(?P<sep>:|%3[Aa])v(?P<epoch>[0-9]+)(?P<zip>\.zip)?$")
_TRUE = ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------- names


def _run_epoch(stem: str) -> tuple[str, int | None]:
    if ":v" in stem:
        run, suffix = stem.rsplit(":v", 1)
        if run and suffix.isascii() and suffix.isdigit():
            return run, int(suffix)
    return stem, None


def _entry_run_epoch(name: str) -> tuple[str, int | None]:
    """``(run, epoch)`` of a directory entry's own name (no URI decoding)."""
    return _run_epoch(name.removesuffix(".zip"))


def parse_bundle_name(name: str) -> tuple[str, int | None]:
    """``(run, epoch)`` from the last path component of a path or URI, as Metta parses it.

    Drops any ``?query``/``#fragment`` and trailing ``/``, percent-decodes the last
    component, drops ``.zip``, then splits on the last ``:v``. ``epoch`` is ``None`` (and
    ``run`` the whole component) when what follows ``:v`` is not a run of digits.
    """
    base = re.split(r"[?#]", os.fspath(name), maxsplit=1)[0].rstrip("/")
    return _entry_run_epoch(unquote(base.rsplit("/", 1)[-1]))


def _is_bundle_named(name: str) -> bool:
    return parse_bundle_name(name)[1] is not None


# ---------------------------------------------------------------------------- results and limits


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint made local.

    ``kind`` is how it was addressed: ``dir`` or ``zip`` (a local path), ``file`` (a
    ``file://`` URI), ``s3`` or ``hf``. ``location`` is the concrete path or URI after
    ``:latest`` was resolved. ``zip_path``/``zip_sha256`` are set whenever the bundle came
    from a zip (for ``s3`` the downloaded copy in the cache); ``revision`` is the commit
    of an ``hf`` snapshot.
    """

    root: Path
    source: str
    kind: str
    location: str
    zip_path: Path | None = None
    zip_sha256: str | None = None
    revision: str | None = None
    run: str | None = None
    epoch: int | None = None

    @property
    def is_zip(self) -> bool:
        return self.zip_path is not None


@dataclass(frozen=True)
class ZipLimits:
    """What a zip bundle may declare before it is refused as a bomb."""

    max_total_bytes: int = 64 * 1024**3
    max_ratio: float = 200.0
    #: Entries up to this size are exempt from the ratio limit (small JSON compresses well).
    ratio_floor_bytes: int = 1024**2
    max_entries: int = 100_000
    max_spec_bytes: int = 1024**2

    @classmethod
    def from_env(cls) -> ZipLimits:
        """Defaults, overridden by ``$PYTEST_PASSPORT_ZIP_MAX_BYTES`` / ``$PYTEST_PASSPORT_ZIP_MAX_RATIO``."""
        changes: dict[str, Any] = {}
        for env, attr, cast in ((MAX_BYTES_ENV, "max_total_bytes", int), (MAX_RATIO_ENV, "max_ratio", float)):
            raw = os.environ.get(env)
            if raw:
                try:
                    changes[attr] = cast(raw)
                except ValueError:
                    raise BundleError(f"${env}", f"not a number: {raw!r}") from None
        return cls(**changes)


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """The private cache: ``cache_dir``, else ``$PYTEST_PASSPORT_CACHE``, else ``~/.cache/pytest-passport``."""
    chosen = cache_dir or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "pytest-passport"
    return Path(chosen).expanduser().absolute()


# ---------------------------------------------------------------------------- zip scanning


@dataclass(frozen=True)
class ZipEntry:
    """One checked archive entry: its header and its normalised relative components."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    is_dir: bool

    @property
    def rel(self) -> str:
        return "/".join(self.parts)


def _parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.split("/") if p not in ("", "."))


def _name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe relative path (absolute, backslashes, ``..``), or ``None``."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path; entries must be relative to the archive root"
    if "\\" in name:
        return "backslash in the name; entries must use '/' between relative components"
    if ".." in _parts(name):
        return "path climbs out of the archive with '..'"
    return None


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The normalised components of a safe, non-empty relative name, else ``None``."""
    return None if _name_problem(name) else _parts(name) or None


def _entry(info: zipfile.ZipInfo, label: str) -> ZipEntry | None:
    """The checked entry; ``None`` for a directory entry naming the root itself (``./``)."""
    name = info.filename
    problem = _name_problem(name)
    if problem:
        raise BundleError(label, problem, name)
    parts = _parts(name)
    if not parts:
        if info.is_dir():
            return None
        raise BundleError(label, "empty entry name", name)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise BundleError(label, "symlink entry; links in bundles are never extracted", name)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise BundleError(label, f"not a regular file or directory (mode {kind:#o})", name)
    if info.flag_bits & 0x1:
        raise BundleError(label, "encrypted entry", name)
    return ZipEntry(info, parts, info.is_dir() or kind == stat.S_IFDIR)


def _check_unique(entries: Sequence[ZipEntry], label: str) -> None:
    files: dict[str, str] = {}
    dirs: set[str] = set()
    for entry in entries:
        if entry.is_dir:
            dirs.add(entry.rel)
            continue
        if entry.rel in files:
            raise BundleError(label, f"duplicate name (also stored as {files[entry.rel]!r})", entry.info.filename)
        files[entry.rel] = entry.info.filename
        dirs.update("/".join(entry.parts[:i]) for i in range(1, len(entry.parts)))
    clash = sorted(set(files) & dirs)
    if clash:
        raise BundleError(label, "is both a file and a directory", files[clash[0]])


def _check_sizes(entries: Sequence[ZipEntry], label: str, limits: ZipLimits) -> None:
    total = 0
    for entry in entries:
        info = entry.info
        if entry.is_dir:
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise BundleError(
                label, f"declared uncompressed total exceeds the {limits.max_total_bytes}-byte limit (zip bomb?)", info.filename
            )
        if info.file_size > limits.ratio_floor_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise BundleError(
                    label, f"compression ratio {ratio:.0f}:1 exceeds the {limits.max_ratio:.0f}:1 limit (zip bomb?)", info.filename
                )


def _check_at_root(files: Sequence[ZipEntry], label: str) -> None:
    """Refuse a single folder wrapping the whole bundle (Metta's loader rejects it too)."""
    tops = {e.parts[0] for e in files}
    if len(tops) != 1 or any(len(e.parts) == 1 for e in files):
        return
    (top,) = tops
    inner = {e.parts[1] for e in files if len(e.parts) == 2}
    if _entry_run_epoch(top)[1] is not None or inner & set(BUNDLE_MARKERS):
        raise BundleError(
            label,
            "every file sits in this folder; a bundle's files must sit at the archive root "
            "(zip the bundle directory's contents, not the directory)",
            top + "/",
        )


def _check_spec(raw: bytes, exists: Callable[[tuple[str, ...]], bool], label: str) -> None:
    """Check a Metta ``policy_spec.json``: JSON object, ``class_path``, ``data_path`` present."""
    try:
        spec = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(label, f"invalid JSON ({exc})", POLICY_SPEC) from None
    if not isinstance(spec, dict):
        raise BundleError(label, "not a JSON object", POLICY_SPEC)
    if not isinstance(spec.get("class_path"), str) or not spec["class_path"]:
        raise BundleError(label, "class_path is missing or not a string", POLICY_SPEC)
    data_path = spec.get("data_path")
    if data_path is None:
        return
    parts = _safe_parts(data_path) if isinstance(data_path, str) else None
    if parts is None:
        raise BundleError(label, f"data_path {data_path!r} is not a relative path inside the bundle", POLICY_SPEC)
    if not exists(parts):
        raise BundleError(label, f"missing: {POLICY_SPEC} data_path names it, but the bundle does not hold it", data_path)


def _check_metta(
    names: Iterable[str],
    read_spec: Callable[[], bytes],
    exists: Callable[[tuple[str, ...]], bool],
    label: str,
    bundle_named: bool,
) -> None:
    """Metta's layout: ``policy_spec.json`` at the root of a ``<run>:v<epoch>`` bundle, its ``data_path`` present.

    A bundle that already carries a MODEL_PASSPORT.json (and no policy spec) is left to the passport checks.
    """
    present = set(names)
    if POLICY_SPEC not in present:
        if bundle_named and PASSPORT_FILENAME not in present:
            raise BundleError(label, f"missing: a <run>:v<epoch> bundle holds {POLICY_SPEC} at its root", POLICY_SPEC)
        return
    _check_spec(read_spec(), exists, label)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limit: int) -> bytes:
    if info.file_size > limit:
        raise BundleError(label, f"larger than {limit} bytes", info.filename)
    try:
        with zf.open(info) as fh:
            return fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise BundleError(label, f"cannot be read ({exc})", info.filename) from None


def scan_zip(zf: zipfile.ZipFile, label: str, limits: ZipLimits, *, bundle_named: bool = False) -> list[ZipEntry]:
    """Check every entry of an open archive without extracting anything; the entries in order."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise BundleError(label, f"{len(infos)} entries exceed the limit of {limits.max_entries}")
    entries = [e for e in (_entry(info, label) for info in infos) if e is not None]
    _check_unique(entries, label)
    _check_sizes(entries, label, limits)
    files = [e for e in entries if not e.is_dir]
    if not files:
        raise BundleError(label, "the archive holds no files")
    _check_at_root(files, label)
    by_rel = {e.rel: e.info for e in files}
    _check_metta(
        by_rel,
        lambda: _read_member(zf, by_rel[POLICY_SPEC], label, limits.max_spec_bytes),
        lambda parts: "/".join(parts) in by_rel,
        label,
        bundle_named,
    )
    return entries


@contextmanager
def _open_zip(path: Path, label: str) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleError(label, f"corrupt or not a zip archive ({exc})") from None
    except (OSError, EOFError, ValueError) as exc:
        raise BundleError(label, f"cannot open the zip archive ({exc})") from None
    with zf:
        yield zf


# ---------------------------------------------------------------------------- extraction


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, label: str) -> int:
    """Stream one entry to ``target`` (created exclusively), refusing more bytes than declared."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "xb") as dst:
            while chunk := src.read(BLOCK_SIZE):
                written += len(chunk)
                if written > info.file_size:
                    raise BundleError(label, f"holds more bytes than the {info.file_size} it declares", info.filename)
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BundleError(label, f"content does not match its header ({exc})", info.filename) from None
    except OSError as exc:
        raise BundleError(label, f"cannot be extracted ({exc.strerror or exc})", info.filename) from None
    if written != info.file_size:
        raise BundleError(label, f"holds {written} bytes, not the {info.file_size} it declares", info.filename)
    return written


def _extract_entries(zf: zipfile.ZipFile, entries: Sequence[ZipEntry], dest: Path, label: str, limits: ZipLimits) -> None:
    total = 0
    for entry in entries:
        target = dest.joinpath(*entry.parts)
        if entry.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        total += _copy_member(zf, entry.info, target, label)
        if total > limits.max_total_bytes:
            raise BundleError(label, f"extracted bytes exceed the {limits.max_total_bytes}-byte limit", entry.info.filename)


def extract_zip(
    zip_path: Path | str, dest: Path | str, *, limits: ZipLimits | None = None, label: str | None = None, bundle_named: bool | None = None
) -> Path:
    """Check ``zip_path`` and extract it into the directory ``dest``, which must not exist yet."""
    zip_path, dest = Path(zip_path), Path(dest)
    label = label or str(zip_path)
    named = _is_bundle_named(zip_path.name) if bundle_named is None else bundle_named
    limits = limits or ZipLimits.from_env()
    with _open_zip(zip_path, label) as zf:
        entries = scan_zip(zf, label, limits, bundle_named=named)
        dest.mkdir(parents=True)
        try:
            _extract_entries(zf, entries, dest, label, limits)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    return dest


def _listing(root: Path) -> dict[str, int] | None:
    """``{relative path: size}`` of the regular files under ``root``; ``None`` if it holds a link."""
    found: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        if any((base / d).is_symlink() for d in dirnames):
            return None
        for name in filenames:
            st = os.lstat(base / name)
            if not stat.S_ISREG(st.st_mode):
                return None
            found[(base / name).relative_to(root).as_posix()] = st.st_size
    return found


def _discard(path: Path) -> None:
    """Move ``path`` out of the way atomically, then delete it."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    trash = Path(tempfile.mkdtemp(prefix=".stale-", dir=path.parent))
    os.replace(path, trash / "old")
    shutil.rmtree(trash, ignore_errors=True)


def _install(tmp: Path, final: Path, expected: dict[str, int], label: str) -> None:
    """Rename the finished ``tmp`` to ``final``; a concurrent identical install wins quietly."""
    try:
        os.replace(tmp, final)
    except OSError as exc:
        if _listing(final) != expected:
            raise BundleError(label, f"cannot install into the cache at {final} ({exc.strerror or exc})") from None
        shutil.rmtree(tmp, ignore_errors=True)


def _cached_tree(
    final: Path, expected: dict[str, int], label: str, fill: Callable[[Path], None], prefix: str
) -> Path:
    """``final`` holding exactly ``expected``: reused when it does, else rebuilt by ``fill`` atomically."""
    if final.exists() or final.is_symlink():
        if not final.is_symlink() and _listing(final) == expected:
            return final
        _discard(final)  # tampered with (e.g. written into) since it was extracted
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
    try:
        fill(tmp)
        _install(tmp, final, expected, label)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def extract_cached(
    zip_path: Path, label: str, cache: Path, limits: ZipLimits, *, bundle_named: bool, digest: str | None = None
) -> tuple[Path, str]:
    """Extract ``zip_path`` into ``<cache>/zips/<sha256 of its bytes>/``; returns that root and the digest."""
    digest = digest or sha256_file(zip_path)[0]
    with _open_zip(zip_path, label) as zf:
        entries = scan_zip(zf, label, limits, bundle_named=bundle_named)
        expected = {e.rel: e.info.file_size for e in entries if not e.is_dir}
        fill = lambda tmp: _extract_entries(zf, entries, tmp, label, limits)
        root = _cached_tree(cache / "zips" / digest, expected, label, fill, ".extract-")
    return root, digest


# ---------------------------------------------------------------------------- local forms


def uri_scheme(text: str) -> str | None:
    """The lower-case scheme of a URI (``s3``, ``hf``, ``file``), or ``None`` for a plain path."""
    if text[:5].lower() == "file:":
        return "file"
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else None


def file_uri_to_path(uri: str) -> str:
    """The local path of a ``file:`` URI, percent-decoded.

    ``file:///abs`` and ``file://localhost/abs`` name absolute paths; ``file://rel/path``
    (as Metta writes ``file://./train_dir``) names a path relative to the current directory.
    """
    parts = urlsplit(uri)
    netloc = parts.netloc
    path = parts.path if netloc in ("", "localhost") else netloc + parts.path
    return unquote(path)


def _inside(root: Path, parts: tuple[str, ...]) -> bool:
    candidate = root.joinpath(*parts)
    real, base = Path(os.path.realpath(candidate)), Path(os.path.realpath(root))
    return base in real.parents and real.is_file()


def _check_metta_dir(root: Path, label: str, bundle_named: bool, limits: ZipLimits) -> None:
    """The Metta layout checks of :func:`scan_zip`, on a bundle directory."""
    spec = root / POLICY_SPEC
    names = [n for n in BUNDLE_MARKERS if (root / n).is_file()]

    def read() -> bytes:
        if not _inside(root, (POLICY_SPEC,)):
            raise BundleError(label, "resolves outside the bundle directory", POLICY_SPEC)
        if spec.stat().st_size > limits.max_spec_bytes:
            raise BundleError(label, f"larger than {limits.max_spec_bytes} bytes", POLICY_SPEC)
        return spec.read_bytes()

    _check_metta(names, read, lambda parts: _inside(root, parts), label, bundle_named)


def _open_local(
    source: str, location: str, path: Path, kind: str | None, cache: Path, limits: ZipLimits
) -> ResolvedCheckpoint:
    """A local directory as is, or a local zip extracted into the cache."""
    if path.is_file() and path.name == PASSPORT_FILENAME:
        path = path.parent
    if not path.exists():
        sibling = path.with_name(path.name + ".zip") if path.name else path
        if not (_is_bundle_named(path.name) and sibling.is_file()):
            raise CheckpointNotFoundError(f"{source}: no such checkpoint directory or zip bundle")
        path, location = sibling, location + ".zip"
    run, epoch = _entry_run_epoch(path.name)
    if path.is_dir():
        _check_metta_dir(path, source, epoch is not None, limits)
        return ResolvedCheckpoint(path, source, kind or "dir", location, run=run, epoch=epoch)
    if not path.is_file() or not (path.name.endswith(".zip") or zipfile.is_zipfile(path)):
        raise CheckpointNotFoundError(f"{source}: neither a checkpoint directory nor a .zip bundle")
    root, digest = extract_cached(path, source, cache, limits, bundle_named=epoch is not None)
    return ResolvedCheckpoint(root, source, kind or "zip", location, path, digest, run=run, epoch=epoch)


# ---------------------------------------------------------------------------- :latest


def latest_base(text: str) -> str | None:
    """``text`` without its ``:latest`` suffix (``%3Alatest`` too), or ``None``."""
    if text.endswith(LATEST):
        return text[: -len(LATEST)]
    if text.lower().endswith("%3alatest"):
        return text[: -len("%3alatest")]
    return None


def pick_latest(candidates: Iterable[tuple[str, bool]], run: str | None = None) -> str | None:
    """The name with the highest epoch among ``(name, is_directory)`` candidates.

    Only ``<run>:v<epoch>`` names count (dot-files never), filtered to ``run`` when given.
    Ties are broken deterministically: a directory beats a zip of the same epoch
    (``x:v3/`` over ``x:v3.zip``), then the lexicographically smallest name wins.
    """
    best: tuple[int, int, str] | None = None
    for name, is_dir in candidates:
        if name.startswith("."):
            continue
        found_run, epoch = _entry_run_epoch(name) if not is_dir else _run_epoch(name)
        if epoch is None or (run is not None and found_run != run):
            continue
        key = (-epoch, 0 if is_dir else 1, name)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def _local_candidates(directory: Path) -> Iterator[tuple[str, bool]]:
    """Bundle directories (holding a policy_spec.json or MODEL_PASSPORT.json) and ``*.zip`` files."""
    with os.scandir(directory) as it:
        for entry in it:
            if entry.is_dir():
                if any((Path(entry.path) / marker).is_file() for marker in BUNDLE_MARKERS):
                    yield entry.name, True
            elif entry.name.endswith(".zip") and entry.is_file():
                yield entry.name, False


@dataclass
class _Lister:
    """How ``:latest`` sees one namespace: path conversion, directory test, candidate listing."""

    to_path: Callable[[str], str]
    is_dir: Callable[[str], bool]
    candidates: Callable[[str], Iterable[tuple[str, bool]]]
    encode: Callable[[str], str] = field(default=lambda name: name)
    decode: Callable[[str], str] = field(default=lambda name: name)


def _local_lister(scheme: str | None) -> _Lister:
    if scheme == "file":
        return _Lister(
            to_path=lambda text: file_uri_to_path(text) or "/",
            is_dir=os.path.isdir,
            candidates=lambda p: _local_candidates(Path(p)),
            encode=lambda name: quote(name, safe=""),
            decode=unquote,
        )
    return _Lister(lambda text: text or ".", os.path.isdir, lambda p: _local_candidates(Path(p)))


def _latest_location(source: str, head: str, lister: _Lister) -> str:
    """The concrete path or URI that ``<head>:latest`` stands for, in the same notation."""
    if head.endswith("/") or head == "" or uri_scheme(head) and not urlsplit(head).path.strip("/"):
        directory, run = head, None
    elif lister.is_dir(lister.to_path(head)):
        directory, run = head + "/", None
    else:
        parent, slash, last = head.rpartition("/")
        directory, run = parent + slash, lister.decode(last)
    where = lister.to_path(directory)
    if not lister.is_dir(where):
        raise CheckpointNotFoundError(f"{source}: no such directory to scan for the latest bundle")
    name = pick_latest(lister.candidates(where), run)
    if name is None:
        wanted = f"of run {run!r} " if run else ""
        raise CheckpointNotFoundError(f"{source}: no bundle {wanted}(a <run>:v<epoch> directory or .zip) in {directory or '.'}")
    if directory and not directory.endswith("/"):
        directory += "/"
    return directory + lister.encode(name)


# ---------------------------------------------------------------------------- s3


def _s3_filesystem(source: str) -> Any:
    """A fresh s3fs filesystem (no stale listings), honouring ``AWS_ENDPOINT_URL[_S3]``."""
    try:
        import fsspec
        import s3fs  # noqa: F401  (fsspec needs it for s3://; fail clearly here when absent)
    except ImportError:
        raise BundleError(source, "s3:// checkpoints need s3fs (pip install s3fs)") from None
    kwargs: dict[str, Any] = {"skip_instance_cache": True}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["client_kwargs"] = {"endpoint_url": endpoint}
    return fsspec.filesystem("s3", **kwargs)


def _s3_path(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.netloc + parts.path


def _s3_candidates(fs: Any, path: str) -> Iterator[tuple[str, bool]]:
    for info in fs.ls(path, detail=True):
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        if info.get("type") == "file" and name.endswith(".zip"):
            yield name, False


def _s3_lister(fs: Any) -> _Lister:
    def is_dir(path: str) -> bool:
        return bool(path.strip("/")) and fs.isdir(path)

    return _Lister(_s3_path, is_dir, lambda p: _s3_candidates(fs, p))


def _s3_object(fs: Any, uri: str, source: str) -> tuple[str, dict[str, Any]]:
    """``(uri, info)`` of the object; ``uri + '.zip'`` is tried when ``uri`` names nothing."""
    tries = [uri] if uri.endswith(".zip") else [uri, uri + ".zip"]
    for candidate in tries:
        try:
            info = fs.info(_s3_path(candidate))
        except FileNotFoundError:
            continue
        if info.get("type") == "directory":
            continue
        return candidate, info
    if not uri.endswith(".zip") and fs.exists(_s3_path(uri)):
        raise BundleError(source, "names an S3 prefix; S3 checkpoints are zip bundles (s3://bucket/key.zip)")
    raise CheckpointNotFoundError(f"{source}: no such S3 object")


def _download(fs: Any, uri: str, source: str, cache: Path) -> tuple[Path, str]:
    """Download to a temp file in the cache, hashing as it streams; move it to ``<sha256>.zip``."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".fetch-", suffix=".part", dir=downloads)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, fs.open(_s3_path(uri), "rb") as src:
            while chunk := src.read(BLOCK_SIZE):
                digest.update(chunk)
                out.write(chunk)
        if not zipfile.is_zipfile(tmp):
            raise BundleError(source, "the S3 object is not a zip archive; S3 checkpoints are zip bundles")
        final = downloads / f"{digest.hexdigest()}.zip"
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final, digest.hexdigest()


def _resolve_s3(source: str, cache: Path, limits: ZipLimits) -> ResolvedCheckpoint:
    fs = _s3_filesystem(source)
    location = source
    parts = urlsplit(location)
    if not parts.netloc or not parts.path.strip("/"):
        raise BundleError(source, "S3 checkpoints are named s3://bucket/key.zip")
    try:
        head = latest_base(location)
        if head is not None:
            location = _latest_location(source, head, _s3_lister(fs))
        location, info = _s3_object(fs, location, source)
        if int(info.get("size") or 0) > limits.max_total_bytes:
            raise BundleError(source, f"the object is larger than the {limits.max_total_bytes}-byte limit")
        zip_path, digest = _download(fs, location, source, cache)
    except PassportError:
        raise
    except (FileNotFoundError, PermissionError) as exc:
        raise CheckpointNotFoundError(f"{source}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - botocore/aiohttp errors are not all OSError
        raise BundleError(source, f"cannot fetch from S3 ({type(exc).__name__}: {exc})") from None
    run, epoch = parse_bundle_name(location)
    root, digest = extract_cached(zip_path, source, cache, limits, bundle_named=epoch is not None, digest=digest)
    return ResolvedCheckpoint(root, source, "s3", location, zip_path, digest, run=run, epoch=epoch)


# ---------------------------------------------------------------------------- hf


@dataclass(frozen=True)
class _HfRef:
    repo_id: str
    repo_type: str
    revision: str | None
    subpath: str


def _parse_hf(source: str) -> _HfRef:
    """``hf://[datasets/|spaces/]org/repo[@revision][/subdir]`` (revision percent-encoded if it holds ``/``)."""
    parts = source[len("hf://"):].split("/")
    repo_type = "model"
    if parts[0] in ("models", "datasets", "spaces") and len(parts) >= 3:
        repo_type = parts.pop(0)[:-1]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BundleError(source, "hf:// URIs name a repository: hf://org/repo[@revision][/subdir]")
    name, _, revision = parts[1].partition("@")
    sub = "/".join(p for p in parts[2:] if p not in ("", "."))
    if ".." in sub.split("/"):
        raise BundleError(source, "the subdirectory climbs out of the repository with '..'")
    return _HfRef(f"{parts[0]}/{name}", repo_type, unquote(revision) or None, unquote(sub))


def _hf_cache_dir() -> str | None:
    """The hub cache as the environment names it now (huggingface_hub reads it only at import)."""
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(key):
            return os.environ[key]
    home = os.environ.get("HF_HOME")
    return os.path.join(home, "hub") if home else None


def _hf_patterns(sub: str, latest: bool) -> list[str] | None:
    if not sub:
        return None
    if not latest:
        return [sub, f"{sub}/*"]
    head = sub[: -len(LATEST)]
    directory = head.rstrip("/") if head.endswith("/") else head.rpartition("/")[0]
    return [f"{directory}/*"] if directory else None


def _hf_snapshot(ref: _HfRef, source: str, latest: bool) -> Path:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:
        raise BundleError(source, "hf:// checkpoints need huggingface_hub (pip install huggingface_hub)") from None
    try:
        folder = snapshot_download(
            ref.repo_id,
            repo_type=ref.repo_type,
            revision=ref.revision,
            cache_dir=_hf_cache_dir(),
            local_files_only=os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE,
            allow_patterns=_hf_patterns(ref.subpath, latest),
        )
    except (OSError, ValueError, EntryNotFoundError) as exc:
        raise CheckpointNotFoundError(f"{source}: {exc}") from None
    return Path(str(folder))


def _snapshot_files(src: Path, storage: Path, source: str) -> dict[str, Path]:
    """``{relative path: real file}`` under a snapshot folder; links must stay in the repo's cache."""
    base = Path(os.path.realpath(storage))
    found: dict[str, Path] = {}
    for dirpath, _dirnames, filenames in os.walk(src, followlinks=True):
        for name in filenames:
            path = Path(dirpath) / name
            real = Path(os.path.realpath(path))
            rel = path.relative_to(src).as_posix()
            if base not in real.parents or not real.is_file():
                raise BundleError(source, f"links outside the repository's cache (to {real})", rel)
            found[rel] = real
    return found


def _link_or_copy(files: Mapping[str, Path], dest: Path) -> None:
    for rel, real in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(real, target)
        except OSError:
            shutil.copyfile(real, target)


def _materialize(src: Path, snapshot: Path, ref: _HfRef, source: str, cache: Path) -> Path:
    """The snapshot directory as real files (the hub cache holds symlinks into ``blobs/``)."""
    files = _snapshot_files(src, snapshot.parent.parent, source)
    expected = {rel: real.stat().st_size for rel, real in files.items()}
    rel = src.relative_to(snapshot).as_posix()
    key = hashlib.sha256(f"{ref.repo_type}/{ref.repo_id}@{snapshot.name}/{rel}".encode()).hexdigest()
    return _cached_tree(cache / "hf" / key, expected, source, lambda tmp: _link_or_copy(files, tmp), ".link-")


def _resolve_hf(source: str, cache: Path, limits: ZipLimits) -> ResolvedCheckpoint:
    ref = _parse_hf(source)
    head = latest_base(ref.subpath)
    snapshot = _hf_snapshot(ref, source, head is not None)
    if head is not None:
        target = Path(_latest_location(source, f"{snapshot}/{head}", _local_lister(None)))
    else:
        target = snapshot / ref.subpath if ref.subpath else snapshot
    if target.name == PASSPORT_FILENAME and target.is_file():
        target = target.parent
    commit = snapshot.name
    rel = target.relative_to(snapshot).as_posix() if target != snapshot else ""
    prefix = "" if ref.repo_type == "model" else f"{ref.repo_type}s/"
    location = f"hf://{prefix}{ref.repo_id}@{commit}" + (f"/{rel}" if rel else "")
    if not target.is_dir():
        return replace(_open_local(source, location, target, "hf", cache, limits), revision=commit)
    root = _materialize(target, snapshot, ref, source, cache)
    run, epoch = _entry_run_epoch(target.name) if rel else (ref.repo_id.rsplit("/", 1)[-1], None)
    _check_metta_dir(root, source, epoch is not None, limits)
    return ResolvedCheckpoint(root, source, "hf", location, revision=commit, run=run, epoch=epoch)


# ---------------------------------------------------------------------------- entry points


def resolve(
    uri_or_path: str | os.PathLike[str], *, cache_dir: Path | str | None = None, limits: ZipLimits | None = None
) -> ResolvedCheckpoint:
    """Make the checkpoint named by ``uri_or_path`` local; its ``root`` is the directory to validate.

    ``<dir>/:latest`` and ``<dir>:latest`` pick, among the direct entries of ``<dir>``, the
    bundle directory (holding a policy_spec.json or MODEL_PASSPORT.json) or ``*.zip`` with
    the highest epoch; ``<dir>/<run>:latest`` only looks at that run. On a tie the
    directory beats the zip (``x:v3/`` over ``x:v3.zip``), then the smallest name wins.
    A bare ``<dir>/<run>:v<N>`` that does not exist opens ``<run>:v<N>.zip`` beside it.

    Raises :class:`CheckpointNotFoundError` when nothing is there and :class:`BundleError`
    when what is there is unsafe, corrupt or not a bundle (the message names the entry).
    """
    source = os.fspath(uri_or_path)
    cache = cache_root(cache_dir)
    limits = limits or ZipLimits.from_env()
    scheme = uri_scheme(source)
    if scheme == "hf":
        return _resolve_hf(source, cache, limits)
    if scheme == "s3":
        return _resolve_s3(source, cache, limits)
    if scheme not in (None, "file"):
        raise BundleError(source, f"unsupported scheme {scheme}://; use a directory, a .zip, file://, s3:// or hf://")
    location = source
    head = latest_base(source)
    if head is not None:
        location = _latest_location(source, head, _local_lister(scheme))
    path = Path(file_uri_to_path(location) if scheme == "file" else location)
    return _open_local(source, location, path, "file" if scheme == "file" else None, cache, limits)


def _resolves_to_zip(location: str, scheme: str | None) -> bool:
    """Whether a local bundle name without ``.zip`` exists only as a zip beside it."""
    if scheme not in (None, "file"):
        return False
    path = Path(file_uri_to_path(location) if scheme == "file" else location)
    return not path.is_dir() and path.with_name(path.name + ".zip").is_file()


def checkpoint_uri_for_epoch(uri: str | os.PathLike[str], epoch: int, *, cache_dir: Path | str | None = None) -> str:
    """The sibling bundle of another epoch of the same run, in the same notation.

    Same directory, same run, same percent-encoding; ``.zip`` is kept when the base
    (after resolving ``:latest``) is a zip, and always used on S3. ``?``/``#`` suffixes
    are dropped.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative integer, not {epoch!r}")
    text = os.fspath(uri)
    scheme = uri_scheme(text)
    if latest_base(text) is not None or (scheme == "hf" and latest_base(_parse_hf(text).subpath) is not None):
        text = resolve(text, cache_dir=cache_dir).location
    base = re.split(r"[?#]", text, maxsplit=1)[0].rstrip("/") if scheme else text.rstrip("/")
    head, slash, last = base.rpartition("/")
    match = _EPOCH_TAIL.search(last)
    if match is None or match.start() == 0:
        raise ValueError(f"{text}: the last path component is not a <run>:v<epoch> bundle name")
    zip_suffix = match.group("zip") or ""
    if scheme == "s3" or (not zip_suffix and _resolves_to_zip(base, scheme)):
        zip_suffix = ".zip"
    return f"{head}{slash}{last[: match.start()]}{match.group('sep')}v{epoch}{zip_suffix}"


# ---------------------------------------------------------------------------- rewriting a zip


def _copy_entry(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> None:
    clone = zipfile.ZipInfo(info.filename, info.date_time)
    clone.compress_type = info.compress_type
    clone.external_attr = info.external_attr
    clone.create_system = info.create_system
    clone.comment = info.comment
    clone.file_size = info.file_size
    if info.is_dir():
        zout.writestr(clone, b"")
        return
    try:
        with zin.open(info) as src, zout.open(clone, "w") as dst:
            shutil.copyfileobj(src, dst, BLOCK_SIZE)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BundleError(label, f"cannot be copied ({exc})", info.filename) from None


def _add_file(zout: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = path.stat().st_size
    with open(path, "rb") as src, zout.open(info, "w") as dst:
        shutil.copyfileobj(src, dst, BLOCK_SIZE)


def _write_zip(out: IO[bytes], zin: zipfile.ZipFile, keep: Sequence[ZipEntry], adds: Sequence[tuple[str, Path]], label: str) -> None:
    with zipfile.ZipFile(out, "w") as zout:
        for entry in keep:
            _copy_entry(zin, zout, entry.info, label)
        for name, path in adds:
            _add_file(zout, name, path)


def rewrite_zip(
    zip_path: Path | str,
    extracted_root: Path | str,
    names: Sequence[str] = (PASSPORT_FILENAME, SIGNOFF_FILENAME),
    *,
    limits: ZipLimits | None = None,
) -> str:
    """Rewrite ``zip_path`` atomically so its root entries ``names`` mirror ``extracted_root``.

    Each name present in ``extracted_root`` is added (or replaces the old entry) at the
    archive root; a name absent there is removed from the archive. Every other entry is
    copied unchanged. The new archive is written beside the old one and moved over it with
    ``os.replace`` (file mode kept). Returns the sha256 of the new zip.
    """
    zip_path, root = Path(zip_path), Path(extracted_root)
    label = str(zip_path)
    for name in names:
        if _safe_parts(name) != (name,):
            raise ValueError(f"{name!r}: only plain file names at the archive root can be rewritten")
    adds = [(name, root / name) for name in names if (root / name).is_file()]
    with _open_zip(zip_path, label) as zin:
        entries = scan_zip(zin, label, limits or ZipLimits.from_env())
        replaced = {(name,) for name in names}
        keep = [e for e in entries if e.is_dir or e.parts not in replaced]
        fd, tmp_name = tempfile.mkstemp(prefix=f".{zip_path.name}.", suffix=".tmp", dir=zip_path.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                _write_zip(out, zin, keep, adds, label)
            os.chmod(tmp, stat.S_IMODE(zip_path.stat().st_mode))
            os.replace(tmp, zip_path)
        finally:
            tmp.unlink(missing_ok=True)
    return sha256_file(zip_path)[0]


@dataclass
class ZipEdit:
    """A zip bundle opened for editing by :func:`edit_zip`; set ``save`` to write ``names`` back."""

    root: Path
    zip_path: Path
    names: tuple[str, ...]
    save: bool = False
    sha256: str | None = None


@contextmanager
def edit_zip(
    zip_path: Path | str,
    names: Sequence[str] = (PASSPORT_FILENAME, SIGNOFF_FILENAME),
    *,
    cache_dir: Path | str | None = None,
    limits: ZipLimits | None = None,
) -> Iterator[ZipEdit]:
    """Extract a zip bundle into a private work directory to generate or sign in place.

    The work directory lies under ``<cache>/work/`` and is named after the bundle
    (``demo-run:v3.zip`` → ``.../demo-run:v3``), so name-derived metadata stays right; the
    shared extraction cache is never written into. On a normal exit with ``save`` set, the
    zip is rewritten with :func:`rewrite_zip` (its ``sha256`` recorded on the edit); the
    work directory is always removed.
    """
    zip_path = Path(zip_path)
    work = cache_root(cache_dir) / "work"
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".edit-", dir=work))
    try:
        name = zip_path.name.removesuffix(".zip")
        root = extract_zip(zip_path, scratch / (name if name not in ("", ".", "..") else "bundle"), limits=limits)
        edit = ZipEdit(root, zip_path, tuple(names))
        yield edit
        if edit.save:
            edit.sha256 = rewrite_zip(zip_path, root, edit.names, limits=limits)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
