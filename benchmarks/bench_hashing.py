#!/usr/bin/env python
"""How fast is the checkpoint gate compared with hashing the same bytes with the usual tools?

Run it from the repository root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_hashing.py            # full run (~4 GiB + ~4 GiB of data)
    .venv/bin/python benchmarks/bench_hashing.py --small    # ~256 MiB smoke test, a minute or so

What it does, in one process, page cache warm:

1. builds (or reuses) synthetic checkpoints under ``--dir`` (default ``/tmp/passport-bench``):
   ``large``: one 2 GiB file + eight 256 MiB shards + config/stats files; ``many``: 1,000
   shards (4 MiB each by default); ``collect-N``: N tiny shards, for collection cost only.
   Weight files are real safetensors (one ``U8`` tensor over the payload), the passport is
   written through ``pytest_passport.schema`` and signed with ``sign-checkpoint --reason bench``.
2. times, alternating the variants round by round (forward, then reversed order):
   ``validate-checkpoint --require-signoff`` serial and ``-n 2``, ``sha256sum`` (one process;
   ``xargs -P <cores>``), ``openssl dgst -sha256`` with ``xargs -P <cores>`` (for reference),
   and ``hashlib.file_digest`` single-threaded; prints the median, min–max, GB/s (10^9 bytes
   per second) and the ratio to the parallel ``sha256sum`` baseline, plus the peak RSS of
   each gate run (``/usr/bin/time -f %M``: the largest process of the run's tree) and how
   many cores other processes kept busy meanwhile (so a noisy shared machine shows).
3. the 1,000-shard variant: gate time against ``bytes / baseline throughput``.
4. collection time (passport parse, plan, safetensors headers, items) for N tiny shards.
5. fixed overhead: ``validate-checkpoint`` on ``../shared/fixtures/lerobot/act_state_only``
   against ``python -m pytest --version``.

Nothing here asserts; ``--json FILE`` saves every figure for later comparison.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

MiB = 1 << 20
GiB = 1 << 30
GB = 1e9
#: Bump when the layout of the generated checkpoints changes, so stale ones are rebuilt.
LAYOUT_VERSION = 3
ACTION_DIM, STATE_DIM = 7, 8


# --------------------------------------------------------------------------- building checkpoints


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def write_safetensors(path: Path, payload_bytes: int, seed: int, *, head: bool = False) -> None:
    """A real safetensors file: 8-byte header length, JSON header, one U8 tensor of random bytes.

    With ``head``, a small ``action_head.weight`` (F32, action dim x 64) comes first, so the
    config's action dimension is found in the weights as in a real policy.

    The payload is a random 16 MiB block whose first 16 bytes are replaced by (file, block)
    counters, so every block on disk is distinct while writing runs at disk speed.
    """
    header: dict = {"__metadata__": {"format": "pt", "generator": "benchmarks/bench_hashing.py"}}
    offset = 0
    if head:
        offset = ACTION_DIM * 64 * 4
        header["action_head.weight"] = {"dtype": "F32", "shape": [ACTION_DIM, 64], "data_offsets": [0, offset]}
    header["weight"] = {"dtype": "U8", "shape": [payload_bytes], "data_offsets": [offset, offset + payload_bytes]}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8-byte alignment
    block_size = 16 * MiB
    base = bytearray(os.urandom(min(block_size, max(payload_bytes, 16))))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        fh.write(bytes(offset))
        left, block = payload_bytes, 0
        while left > 0:
            n = min(left, len(base))
            base[:16] = struct.pack("<QQ", seed, block)
            fh.write(memoryview(base)[:n])
            left -= n
            block += 1


def write_small_files(root: Path) -> None:
    config = {
        "type": "bench_policy",
        "input_features": {"observation.state": {"type": "STATE", "shape": [STATE_DIM]}},
        "output_features": {"action": {"type": "ACTION", "shape": [ACTION_DIM]}},
        "n_obs_steps": 1,
        "chunk_size": 16,
        "n_action_steps": 16,
        "note": "synthetic checkpoint written by benchmarks/bench_hashing.py",
    }
    (root / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    stats = {
        "action": {"mean": [0.0] * ACTION_DIM, "std": [1.0] * ACTION_DIM},
        "observation.state": {"mean": [0.0] * STATE_DIM, "std": [1.0] * STATE_DIM},
    }
    (root / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")


def write_passport(root: Path) -> None:
    """MODEL_PASSPORT.json through the schema dataclasses, digests through the project's hashing."""
    from pytest_passport import schema
    from pytest_passport.hashing import DigestCache

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    files = [f for f in files if f not in (schema.PASSPORT_FILENAME, schema.SIGNOFF_FILENAME)]
    cache = DigestCache()
    try:
        cache.prefetch(root / f for f in files)
        weight_files = []
        for rel in files:
            digest, size = cache.get(root / rel)
            weight_files.append(schema.WeightFile(path=rel, sha256=digest, size_bytes=size))
    finally:
        cache.close()
    passport = schema.Passport(
        schema_version=schema.SCHEMA_VERSION,
        generated_by="benchmarks/bench_hashing.py",
        generated_at="2026-01-01T00:00:00Z",
        weight_integrity=schema.WeightIntegrity(weight_files=weight_files),
        provenance=schema.Provenance(
            training_repo_commit="0123456789abcdef0123456789abcdef01234567",
            passport_creation_repo_commit="89abcdef0123456789abcdef0123456789abcdef",
        ),
    )
    schema.write_passport(passport, root / schema.PASSPORT_FILENAME)


def console(name: str) -> list[str]:
    """A console script of this environment (next to the interpreter), or its module form."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    function = {"validate-checkpoint": "validate_main", "sign-checkpoint": "sign_main"}[name]
    return [sys.executable, "-c", f"import sys; from pytest_passport.cli import {function}; sys.exit({function}())"]


@dataclass
class Built:
    root: Path
    files: list[tuple[str, int]]  # declared payload files, largest first, with their sizes on disk

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    @property
    def paths(self) -> list[Path]:
        return [self.root / rel for rel, _ in self.files]


def build(base: Path, name: str, weights: list[tuple[str, int]], *, sign: bool, rebuild: bool) -> Built:
    """Build (or reuse, when its marker matches) the checkpoint ``base/name``."""
    root = base / name
    marker = base / f"{name}.spec.json"
    spec = json.loads(json.dumps({"layout": LAYOUT_VERSION, "weights": weights, "signed": sign}))
    if not rebuild and marker.exists() and root.is_dir():
        try:
            if json.loads(marker.read_text()) == spec:
                return _built(root)
        except ValueError:
            pass
    started = time.perf_counter()
    if root.exists():
        shutil.rmtree(root)
    marker.unlink(missing_ok=True)
    root.mkdir(parents=True)
    total = sum(n for _, n in weights)
    print(f"  building {root} ({len(weights)} weight file(s), {total / GiB:.2f} GiB)...", flush=True)
    for seed, (rel, payload) in enumerate(weights):
        write_safetensors(root / rel, payload, seed, head=seed == 0)
    write_small_files(root)
    write_passport(root)
    if sign:
        run = subprocess.run(console("sign-checkpoint") + [str(root), "--reason", "bench"], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"sign-checkpoint {root} failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    marker.write_text(json.dumps(spec))
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return _built(root)


def _built(root: Path) -> Built:
    from pytest_passport import schema

    passport = schema.read_passport(root / schema.PASSPORT_FILENAME)
    files = [(f.path, (root / f.path).stat().st_size) for f in passport.declared_files]
    files.sort(key=lambda item: (-item[1], item[0]))
    return Built(root, files)


def warm(paths: list[Path]) -> None:
    """Read every file once so the page cache is warm (the benchmark is about hashing, not disks)."""
    buffer = bytearray(8 * MiB)
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while fh.readinto(buffer):
                pass


# --------------------------------------------------------------------------- timing


@dataclass
class Variant:
    name: str
    command: list[str]
    env: dict[str, str] | None = None
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # bytes
    foreign: list[float] = field(default_factory=list)  # cores used by other processes during each run

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def summary(self) -> dict:
        return {
            "command": " ".join(self.command),
            "times_s": [round(t, 4) for t in self.times],
            "median_s": round(self.median, 4),
            "min_s": round(min(self.times), 4),
            "max_s": round(max(self.times), 4),
            "peak_rss_mb": round(max(self.rss) / 1e6, 1) if self.rss else None,
            "foreign_cores_median": round(statistics.median(self.foreign), 2) if self.foreign else None,
        }


def busy_jiffies() -> int | None:
    """Non-idle CPU time of the whole machine so far, in clock ticks (Linux), else ``None``."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def wait_idle(max_wait: float, threshold: float = 0.25) -> float:
    """Wait (at most ``max_wait`` s) until other processes use < ``threshold`` cores; returns their load."""
    deadline = time.monotonic() + max_wait
    while True:
        before = busy_jiffies()
        time.sleep(0.5)
        after = busy_jiffies()
        if before is None or after is None:
            return 0.0
        load = (after - before) / TICK / 0.5
        if load < threshold or time.monotonic() >= deadline:
            return load


#: GNU time reports the peak RSS of what it runs without inheriting ours: a child forked from
#: this (large) process would count this process's RSS as its own up to its exec.
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def run_once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int, str, float]:
    """Wall seconds, peak RSS (bytes, the largest process of the run's tree), exit code,
    output tail, and the cores other processes kept busy meanwhile (machine busy time minus
    this run's CPU)."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *command] if GNU_TIME else command
        busy = busy_jiffies()
        started = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        after = busy_jiffies()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        tail = out.read()[-3000:].decode(errors="replace")
        rss = usage.ru_maxrss * 1024
        if GNU_TIME:
            lines = [ln for ln in rss_file.read().split() if ln.isdigit()]
            rss = int(lines[-1]) * 1024 if lines else rss
    foreign = 0.0
    if busy is not None and after is not None:
        foreign = max(0.0, ((after - busy) / TICK - usage.ru_utime - usage.ru_stime) / elapsed)
    return elapsed, rss, proc.returncode, tail, foreign


def measure(variants: list[Variant], rounds: int, *, warmup: bool = True, idle_wait: float = 0.0) -> None:
    """Every variant once per round, forward order on even rounds and reversed on odd ones.

    With ``idle_wait``, each run first waits (up to that many seconds) for the machine to be
    quiet, so other people's jobs on a shared machine disturb fewer samples.
    """
    if warmup:
        for v in variants:
            _, _, code, tail, _ = run_once(v.command, v.env)
            if code != 0:
                raise SystemExit(f"{v.name} failed (exit {code}): {' '.join(v.command)}\n{tail}")
    for r in range(rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for v in order:
            if idle_wait:
                wait_idle(idle_wait)
            elapsed, rss, code, tail, foreign = run_once(v.command, v.env)
            if code != 0:
                raise SystemExit(f"{v.name} failed (exit {code}): {' '.join(v.command)}\n{tail}")
            v.times.append(elapsed)
            v.rss.append(rss)
            v.foreign.append(foreign)
        print(f"    round {r + 1}/{rounds}: " + ", ".join(f"{v.name} {v.times[-1]:.2f}s" for v in variants), flush=True)


def list_file(base: Path, name: str, paths: list[Path]) -> Path:
    target = base / f"{name}.files0"
    target.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in paths))
    return target


def hashing_variants(base: Path, name: str, built: Built, n: int, *, xargs_chunk: int, schedulers: bool = False) -> list[Variant]:
    """The gate (serial and ``-n 2``) and the reference hashers over the same declared files."""
    files0 = list_file(base, name, built.paths)  # largest first: fair to xargs -P as well
    root = str(built.root)
    gate = console("validate-checkpoint") + ["--require-signoff"]
    py_hash = (
        "import hashlib, sys\n"
        "for p in open(sys.argv[1], 'rb').read().split(b'\\0'):\n"
        "    if p:\n"
        "        with open(p, 'rb') as fh: hashlib.file_digest(fh, 'sha256')\n"
    )
    variants = [
        Variant("gate serial", gate + [root]),
        Variant("gate -n 2", gate + ["-n", "2", root]),
        Variant("sha256sum 1 proc", ["xargs", "-0", "-a", str(files0), "sha256sum"]),
        Variant(f"sha256sum xargs -P{n}", ["xargs", "-0", "-a", str(files0), "-P", str(n), "-n", str(xargs_chunk), "sha256sum"]),
        Variant("hashlib 1 thread", [sys.executable, "-c", py_hash, str(files0)]),
    ]
    if schedulers:
        # The same -n 2 gate with xdist's stock schedulers instead of the plugin's size-aware one.
        for kind in ("load", "worksteal"):
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
                       PYTEST_PLUGINS="xdist_schedulers", PASSPORT_BENCH_SCHEDULER=kind)
            variants.append(Variant(f"gate -n 2 stock {kind}", gate + ["-n", "2", root], env=env))
    if shutil.which("openssl"):
        variants.append(
            Variant(f"openssl xargs -P{n}", ["xargs", "-0", "-a", str(files0), "-P", str(n), "-n", str(xargs_chunk), "openssl", "dgst", "-sha256"])
        )
    return variants


def table(variants: list[Variant], total_bytes: int, baseline: Variant) -> list[dict]:
    base_rate = total_bytes / baseline.median
    rows = []
    print(f"    {'variant':<24}{'median s':>10}{'min-max s':>16}{'GB/s':>8}{'x baseline':>12}{'peak RSS MB':>13}{'other load':>12}")
    for v in variants:
        rate = total_bytes / v.median
        row = v.summary() | {"name": v.name, "gb_per_s": round(rate / GB, 3), "ratio_to_baseline": round(rate / base_rate, 3)}
        rows.append(row)
        rss = f"{row['peak_rss_mb']:.0f}" if row["peak_rss_mb"] is not None and v.name.startswith("gate") else ""
        print(
            f"    {v.name:<24}{v.median:>10.2f}{min(v.times):>8.2f}-{max(v.times):<7.2f}{rate / GB:>8.3f}{rate / base_rate:>12.2f}{rss:>13}"
            f"{statistics.median(v.foreign) if v.foreign else 0:>12.2f}"
        )
    return rows


# --------------------------------------------------------------------------- collection cost

COLLECT_SCRIPT = r"""
import sys, time, pytest
class Timer:
    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        self.t0 = time.perf_counter()
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.t1 = time.perf_counter()
        self.n = len(session.items)
t = Timer()
code = pytest.main(["-c", "/dev/null", "--noconftest", "-p", "no:cacheprovider", "-q", "--collect-only",
                    "--checkpoint=" + sys.argv[1]], plugins=[t])
sys.stdout = sys.__stdout__
print("RESULT", t.t1 - t.t0, t.n, int(code))
"""


def collection_cost(base: Path, counts: list[int], rounds: int, rebuild: bool) -> list[dict]:
    """Configure-to-collection-finish time (passport, plan, headers, items) for N tiny shards."""
    rows = []
    for count in counts:
        weights = [(f"shards/model-{i + 1:05d}-of-{count:05d}.safetensors", 4096) for i in range(count)]
        built = build(base, f"collect-{count}", weights, sign=False, rebuild=rebuild)
        samples = []
        for _ in range(rounds):
            run = subprocess.run([sys.executable, "-c", COLLECT_SCRIPT, str(built.root)], capture_output=True, text=True, check=False)
            line = next((ln for ln in run.stdout.splitlines() if ln.startswith("RESULT")), None)
            if line is None:
                raise SystemExit(f"collection of {built.root} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
            _, seconds, items, _ = line.split()
            samples.append(float(seconds))
        median = statistics.median(samples)
        rows.append({"files": count, "items": int(items), "median_s": round(median, 4), "us_per_file": round(median / count * 1e6, 1)})
        print(f"    {count:>6} files, {items:>5} items: collection {median * 1000:8.1f} ms  ({median / count * 1e6:6.1f} us/file)")
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        slope = (b["median_s"] - a["median_s"]) / (b["files"] - a["files"])
        print(f"    marginal cost between {a['files']} and {b['files']} files: {slope * 1e6:.1f} us/file")
    return rows


# --------------------------------------------------------------------------- targets


def targets(results: dict) -> list[dict]:
    """The issue's targets against this run's medians, printed as a checklist."""
    rows: list[dict] = []

    def add(name: str, value: float, limit: float, ok: bool, unit: str) -> None:
        rows.append({"target": name, "value": round(value, 3), "limit": limit, "met": ok})
        print(f"    [{'met' if ok else 'MISSED'}] {name}: {value:.2f}{unit} (limit {limit}{unit})")

    print("\n== targets")
    if results.get("small"):
        print("    (--small: too few bytes for the throughput targets, start-up dominates; run the default sizes)")
    large = {row["name"]: row for row in results.get("large", {}).get("variants", [])}
    for name in ("gate serial", "gate -n 2"):
        if name in large:
            ratio = large[name]["ratio_to_baseline"]
            add(f"large, {name}: throughput / parallel sha256sum", ratio, 0.9, ratio >= 0.9, "x")
    rss = [row["peak_rss_mb"] for row in large.values() if row["name"].startswith("gate") and row["peak_rss_mb"]]
    if rss:
        add("large: peak RSS of the validating process", max(rss), 200, max(rss) < 200, " MB")
    many = results.get("many")
    if many:
        ideal = many["ideal_s_at_large_baseline"]
        for row in many["variants"]:
            if row["name"] in ("gate serial", "gate -n 2"):
                ratio = row["median_s"] / ideal
                add(f"{many['files']} files, {row['name']}: time / (bytes / baseline throughput)", ratio, 1.2, ratio <= 1.2, "x")
    collection = results.get("collection") or []
    if len(collection) >= 3:
        slopes = [
            (b["median_s"] - a["median_s"]) / (b["files"] - a["files"]) * 1e6 for a, b in itertools.pairwise(collection)
        ]
        ratio = max(slopes) / max(min(slopes), 1e-9)
        add("collection: marginal cost per file, largest / smallest step", ratio, 2.0, ratio <= 2.0, "x")
    overhead = results.get("overhead")
    if overhead:
        add("small checkpoint: validate-checkpoint / pytest --version", overhead["ratio"], 2.5, overhead["ratio"] <= 2.5, "x")
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("PASSPORT_BENCH_DIR", "/tmp/passport-bench")))
    parser.add_argument("--small", action="store_true", help="~256 MiB instead of ~4 GiB, tiny 1,000-shard set, fewer rounds")
    parser.add_argument("--big-mib", type=int, help="size of the single large file (default 2048; --small 128)")
    parser.add_argument("--shards", type=int, default=8, help="number of shards next to it (default 8)")
    parser.add_argument("--shard-mib", type=int, help="size of each shard (default 256; --small 16)")
    parser.add_argument("--many", type=int, default=1000, help="shard count of the many-shard variant (0 skips it)")
    parser.add_argument("--many-kib", type=int, help="size of each of those shards (default 4096; --small 64)")
    parser.add_argument("--rounds", type=int, help="timed rounds per variant (default 5; --small 2)")
    parser.add_argument("--collect-counts", default="100,1000,4000", help="tiny-shard counts for collection cost ('' skips)")
    parser.add_argument("--overhead-rounds", type=int, help="rounds for the small-checkpoint overhead (default 15; 0 skips)")
    parser.add_argument("--fixture", type=Path, default=REPO.parent / "shared/fixtures/lerobot/act_state_only")
    parser.add_argument("--idle-wait", type=float, default=0.0, metavar="S",
                        help="before each run, wait up to S seconds for other processes to go quiet (shared machines)")
    parser.add_argument("--schedulers", action="store_true",
                        help="also time -n 2 with xdist's stock 'load' and 'worksteal' schedulers")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the checkpoints even when their marker matches")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    ns = parser.parse_args(argv)
    small = ns.small
    big_mib = ns.big_mib or (128 if small else 2048)
    shard_mib = ns.shard_mib or (16 if small else 256)
    many_kib = ns.many_kib or (64 if small else 4096)
    rounds = ns.rounds or (2 if small else 5)
    overhead_rounds = ns.overhead_rounds if ns.overhead_rounds is not None else (5 if small else 15)
    n = cores()
    base = ns.dir
    base.mkdir(parents=True, exist_ok=True)

    need = (big_mib + ns.shards * shard_mib) * MiB + ns.many * many_kib * 1024
    free = shutil.disk_usage(base).free
    print(f"machine: {n} usable core(s), {os.cpu_count()} online; python {sys.version.split()[0]}; data dir {base} ({free / GiB:.0f} GiB free)")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set: no .pyc caching, so start-up figures include compiling")
    if need > free * 0.9:
        raise SystemExit(f"need {need / GiB:.1f} GiB under {base}, only {free / GiB:.1f} GiB free")
    results: dict = {"cores": n, "python": sys.version.split()[0], "rounds": rounds, "small": small,
                     "pythondontwritebytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))}

    # 1. large checkpoint ---------------------------------------------------------------
    print(f"\n== large checkpoint: 1 x {big_mib} MiB + {ns.shards} x {shard_mib} MiB + config/stats")
    weights = [("policy.safetensors", big_mib * MiB)]
    weights += [(f"backbone/model-{i + 1:05d}-of-{ns.shards:05d}.safetensors", shard_mib * MiB) for i in range(ns.shards)]
    large = build(base, "large-small" if small else "large", weights, sign=True, rebuild=ns.rebuild)
    warm(large.paths)
    variants = hashing_variants(base, "large", large, n, xargs_chunk=1, schedulers=ns.schedulers)
    baseline = next(v for v in variants if v.name.startswith("sha256sum xargs"))
    print(f"    {len(large.files)} declared files, {large.total_bytes / GB:.3f} GB; {rounds} rounds")
    measure(variants, rounds, idle_wait=ns.idle_wait)
    results["large"] = {"files": len(large.files), "bytes": large.total_bytes, "variants": table(variants, large.total_bytes, baseline)}
    baseline_rate = large.total_bytes / baseline.median

    # 2. many shards ----------------------------------------------------------------------
    if ns.many:
        print(f"\n== many shards: {ns.many} x {many_kib} KiB + config/stats")
        weights = [(f"shards/model-{i + 1:05d}-of-{ns.many:05d}.safetensors", many_kib * 1024) for i in range(ns.many)]
        many = build(base, f"many-{ns.many}x{many_kib}k", weights, sign=True, rebuild=ns.rebuild)
        warm(many.paths)
        chunk = max(1, len(many.files) // (n * 16))
        mvariants = hashing_variants(base, "many", many, n, xargs_chunk=chunk, schedulers=ns.schedulers)
        print(f"    {len(many.files)} declared files, {many.total_bytes / GB:.3f} GB; {rounds} rounds; xargs -n {chunk}")
        measure(mvariants, rounds, idle_wait=ns.idle_wait)
        rows = table(mvariants, many.total_bytes, next(v for v in mvariants if v.name.startswith("sha256sum xargs")))
        ideal = many.total_bytes / baseline_rate
        print(f"    bytes / large-checkpoint sha256sum -P{n} throughput = {ideal:.2f} s")
        large_rows = {row["name"]: row for row in results["large"]["variants"]}
        for v in [v for v in mvariants if v.name.startswith("gate")]:
            large_rate = large.total_bytes / large_rows[v.name]["median_s"]
            per_file = (v.median - many.total_bytes / large_rate) / len(many.files)
            print(f"    {v.name:<12} {v.median:.2f} s = {v.median / ideal:.2f} x that; "
                  f"vs its own large-checkpoint rate: {per_file * 1000:+.2f} ms per file")
        results["many"] = {"files": len(many.files), "bytes": many.total_bytes, "variants": rows, "ideal_s_at_large_baseline": round(ideal, 4)}

    # 3. collection cost ------------------------------------------------------------------
    counts = [int(c) for c in ns.collect_counts.split(",") if c.strip()]
    if counts:
        print("\n== collection cost (pytest_configure to pytest_collection_finish, --collect-only), tiny shards")
        results["collection"] = collection_cost(base, counts, max(3, rounds), ns.rebuild)

    # 4. small checkpoint overhead -------------------------------------------------------
    if overhead_rounds and ns.fixture.is_dir():
        print(f"\n== fixed overhead: validate-checkpoint {ns.fixture} vs python -m pytest --version ({overhead_rounds} rounds)")
        ovariants = [
            Variant("validate-checkpoint", console("validate-checkpoint") + [str(ns.fixture)]),
            Variant("pytest --version", [sys.executable, "-m", "pytest", "--version"]),
        ]
        measure(ovariants, overhead_rounds, idle_wait=ns.idle_wait)
        v, p = ovariants
        print(f"    validate-checkpoint {v.median * 1000:.0f} ms (min {min(v.times) * 1000:.0f}), "
              f"pytest --version {p.median * 1000:.0f} ms (min {min(p.times) * 1000:.0f}): ratio {v.median / p.median:.2f}")
        results["overhead"] = {"validate": v.summary(), "pytest_version": p.summary(), "ratio": round(v.median / p.median, 3)}

    results["targets"] = targets(results)
    if ns.json:
        ns.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {ns.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
