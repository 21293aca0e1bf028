"""Pickle-based files are scanned, never unpickled: malicious ones fail naming the global, benign ones soft-signal."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from pytest_passport import VerificationError, schema, verify
from pytest_passport.pickle_scan import classify, scan_file

from . import pickle_corpus
from ..conftest import sha256


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The benign/malicious corpus (torch and joblib parts when installed) and its marker path."""
    root = tmp_path_factory.mktemp("corpus")
    marker = root / "MARKER"
    files = pickle_corpus.build(root / "files", marker)
    return {"marker": marker, **files}


def test_every_malicious_corpus_file_names_a_dangerous_global(corpus) -> None:
    """Each malicious file (protocols 0-5, torch zip/legacy, object npy/npz, hand-written) yields a dangerous global."""
    missed = [p.name for p in corpus["malicious"] if not scan_file(p).dangerous]
    assert missed == [], missed
    assert not corpus["marker"].exists()


def test_no_benign_corpus_file_is_flagged(corpus) -> None:
    """State dicts, tensors, numpy pickles and .npy/.npz files import only known-safe globals."""
    flagged = {p.name: scan_file(p).dangerous for p in corpus["benign"] if scan_file(p).dangerous}
    assert flagged == {}
    plain = [p for p in corpus["benign"] if p.suffix == ".pkl"]
    assert all(scan_file(p).streams == 1 and not scan_file(p).unknown for p in plain)


def test_payload_globals_are_named(tmp_path) -> None:
    """The scan names exactly the global the payload calls, in every protocol (Python 2 names below 3)."""
    import builtins
    import subprocess

    marker = tmp_path / "MARKER"
    for proto in pickle_corpus.PROTOCOLS:
        for func, py3, py2 in ((subprocess.Popen, "subprocess.Popen", "commands.Popen"), (builtins.eval, "builtins.eval", "__builtin__.eval")):
            path = tmp_path / f"p{proto}.pkl"
            path.write_bytes(pickle.dumps(pickle_corpus.Payload(func, (str(marker),)), protocol=proto))
            assert scan_file(path).dangerous == [py3 if proto >= 3 else py2]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name", "kind"),
    [
        ("posix", "system", "dangerous"),
        ("runpy", "_run_code", "dangerous"),
        ("webbrowser", "open", "dangerous"),
        ("builtins", "getattr", "dangerous"),
        ("collections", "OrderedDict.__init__", "dangerous"),
        ("torch._utils", "_rebuild_tensor_v2", "safe"),
        ("torch", "FloatStorage", "safe"),
        ("numpy.core.multiarray", "_reconstruct", "safe"),
        ("lerobot.policies.act", "ACTConfig", "unknown"),
    ],
)
def test_classify(module: str, name: str, kind: str) -> None:
    """Globals are sorted into dangerous / safe / unknown."""
    assert classify(module, name) == kind


def _evil_pickle(path: Path, marker: Path, *, torch_format: bool) -> None:
    import os

    payload = pickle_corpus.Payload(os.system, (f"touch {marker}",))
    if torch_format:
        torch = pytest.importorskip("torch", reason="torch is not installed (the dev extra installs it)")
        torch.save({"weight": torch.zeros(2), "hook": payload}, path)
    else:
        path.write_bytes(pickle.dumps({"weight": np.zeros(2), "hook": payload}, protocol=4))


def _declare(built, rel: str) -> None:
    path = built.root / rel
    built.passport.weight_integrity.weight_files.append(schema.WeightFile(rel, sha256(path), path.stat().st_size))
    built.write_passport()


@pytest.mark.parametrize("torch_format", [False, True], ids=["raw-pickle", "torch-zip"])
def test_declared_malicious_pickle_fails_the_gate_and_never_runs(cli, clean_checkpoint, tmp_path, mode, torch_format) -> None:
    """A declared malicious pickle: sign-checkpoint and validate-checkpoint refuse, naming file and global; no marker."""
    root, marker = clean_checkpoint.root, tmp_path / "MARKER"
    _evil_pickle(root / "optimizer.pt", marker, torch_format=torch_format)
    _declare(clean_checkpoint, "optimizer.pt")
    signed = cli("sign-checkpoint", root, *mode)
    assert signed.ret == 1
    signed.stderr.fnmatch_lines(["refusing to sign*", "*pickle_files_safe: optimizer.pt: unpickling it would import posix.system*"])
    gate = cli("validate-checkpoint", root, *mode)
    assert gate.ret == 1
    gate.stdout.fnmatch_lines(["*pickle_files_safe: optimizer.pt: unpickling it would import posix.system*do not load this checkpoint*"])
    assert not marker.exists()
    assert not (root / schema.SIGNOFF_FILENAME).exists()


@pytest.mark.parametrize("name", ["extra.pkl", "cache/state.joblib", "stats.npy"])
def test_unlisted_malicious_pickle_fails_a_signed_checkpoint(cli, pytester, clean_checkpoint, tmp_path, name) -> None:
    """A malicious pickle dropped in after signing fails the gate (CLI, pytest -n 2, verify) naming it; no marker."""
    root, marker = clean_checkpoint.root, tmp_path / "MARKER"
    assert cli("sign-checkpoint", root).ret == 0
    target = root / name
    target.parent.mkdir(exist_ok=True)
    if name.endswith(".npy"):
        import os

        array = np.empty(1, dtype=object)
        array[0] = pickle_corpus.Payload(os.system, (f"touch {marker}",))
        np.save(target, array, allow_pickle=True)
    else:
        _evil_pickle(target, marker, torch_format=False)
    gate = cli("validate-checkpoint", root, "--require-signoff")
    assert gate.ret == 1
    gate.stdout.fnmatch_lines([f"*pickle_files_safe: {name}: unpickling it would import posix.system*"])
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--checkpoint={root}", "--require-signoff", "-n", "2")
    assert run.ret == 1
    run.stdout.fnmatch_lines([f"*pickle_files_safe: {name}: unpickling it would import posix.system*"])
    with pytest.raises(VerificationError, match=f"{name}: unpickling it would import posix.system"):
        verify(root, trusted_keys=())
    assert not marker.exists()


def test_benign_torch_state_dict_passes_with_a_soft_signal(cli, clean_checkpoint, mode) -> None:
    """A declared torch.save state dict passes the scan as a soft signal recommending safetensors."""
    torch = pytest.importorskip("torch", reason="torch is not installed (the dev extra installs it)")
    root = clean_checkpoint.root
    torch.save(torch.nn.Linear(4, 3).state_dict(), root / "policy.pt")
    _declare(clean_checkpoint, "policy.pt")
    gate = cli("validate-checkpoint", root, *mode)
    assert gate.ret == 0, gate.stdout.str()
    gate.stdout.fnmatch_lines(
        ["*pickle_files_safe: 1 pickle-based file(s) (policy.pt): no dangerous import found, but loading pickle can run code; convert to safetensors*"]
    )
    report = verify(root, require_signoff=False, trusted_keys=())
    (finding,) = [f for f in report.soft_signals if f.check == "pickle_files_safe"]
    assert finding.details["pickle_files"] == ["policy.pt"]
    assert finding.details["unknown_globals"] == {}


def test_checkpoint_without_pickles_passes(clean_checkpoint) -> None:
    """The clean checkpoint's float .npy is not pickle-based: the check passes."""
    report = verify(clean_checkpoint.root, require_signoff=False, trusted_keys=())
    (finding,) = [f for f in report.findings if f.check == "pickle_files_safe"]
    assert finding.status.value == "pass"
    assert "assets/reference_test_vector/input_states.npy" in finding.details["scanned"]
