"""Attack 6: permissions, read-only media, odd names and lone surrogates give clear messages, never tracebacks."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import pytest_passport
from pytest_passport.errors import PassportError, UnreadableCheckpointError

from ..conftest import Built

BIN = Path(sys.executable).parent
#: A console-script runner fixture (``cli``, ``unprivileged``): name, then arguments.
Runner = Callable[..., pytest.RunResult]


def _clean(result: pytest.RunResult) -> str:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text and "internal error" not in text, text
    return text


@pytest.fixture
def unprivileged(pytester: pytest.Pytester):
    """Runs a console script subject to file permissions: as root, setpriv drops the capabilities that bypass them."""
    drop = "-dac_override,-dac_read_search"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: permissions cannot be exercised (see the in-process tests)")
    prefix = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}"] if os.geteuid() == 0 else []

    def run(name: str, *args: object) -> pytest.RunResult:
        return pytester.run(*prefix, str(BIN / name), *[str(a) for a in args], timeout=120)

    return run


def test_unreadable_checkpoint_dir_is_a_usage_error(unprivileged, clean_checkpoint) -> None:
    """A directory the user cannot list (chmod 000, real permissions): exit 2 / 4 naming it, never INTERNALERROR."""
    root = clean_checkpoint.root
    root.chmod(0o000)
    expected = [f"*{root}: cannot read the checkpoint: Permission denied*"]
    result = unprivileged("validate-checkpoint", root, "--require-signoff")
    assert result.ret == 2
    result.stderr.fnmatch_lines(expected)
    result.stdout.fnmatch_lines([f"USAGE ERROR {root}"])
    _clean(result)
    result = unprivileged("sign-checkpoint", root)
    assert result.ret == 2
    result.stderr.fnmatch_lines(expected)
    _clean(result)
    result = unprivileged("pytest", "-p", "no:cacheprovider", f"--checkpoint={root}", "-n", "2")
    root.chmod(0o755)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(expected)
    _clean(result)


def test_verify_raises_the_documented_error_for_an_unreadable_dir(clean_checkpoint, monkeypatch) -> None:
    """verify() on a directory that cannot be listed raises UnreadableCheckpointError (a PassportError), naming it.

    Simulated in-process (os.scandir raising PermissionError), since the tests may run as root.
    """
    root = clean_checkpoint.root
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fsdecode(path)).resolve() == root.resolve():
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(UnreadableCheckpointError) as info:
        pytest_passport.verify(root)
    assert isinstance(info.value, PassportError)
    assert str(info.value) == f"{root}: cannot read the checkpoint: Permission denied"


def test_verify_on_a_regular_file_is_a_passport_error(tmp_path) -> None:
    """A path that is a plain file (not a checkpoint, zip or passport) raises a PassportError, not OSError."""
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    with pytest.raises(PassportError):
        pytest_passport.verify(stray)


def test_sign_with_a_directory_named_signoff_fails_clearly(cli, clean_checkpoint) -> None:
    """A directory SIGNOFF.json in the way of the write: exit 1 naming the file, no traceback, no temp file left."""
    root = clean_checkpoint.root
    (root / "SIGNOFF.json").mkdir()
    result = cli("sign-checkpoint", root)
    assert result.ret == 1
    result.stderr.fnmatch_lines([f"refusing to sign: cannot write {root / 'SIGNOFF.json'}: Is a directory"])
    _clean(result)
    assert sorted(p.name for p in root.glob(".SIGNOFF.json*")) == []


def test_sign_on_a_directory_the_user_cannot_write_fails_clearly(unprivileged, clean_checkpoint) -> None:
    """A checkpoint the signer may read but not write (0555, like a read-only mount): exit 1 naming SIGNOFF.json."""
    root = clean_checkpoint.root
    root.chmod(0o555)
    result = unprivileged("sign-checkpoint", root)
    root.chmod(0o755)
    assert result.ret == 1, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines([f"refusing to sign: cannot write {root / 'SIGNOFF.json'}: Permission denied"])
    _clean(result)
    assert not (root / "SIGNOFF.json").exists()


def _dataset_check_skipped(result: pytest.RunResult, reason: str) -> None:
    """input_contract_vs_dataset was not_checked (skipped) with ``reason``; nothing crashed or failed."""
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines([f"SKIPPED * input_contract_vs_dataset: {reason}"])
    assert "check crashed" not in _clean(result)


def test_unreadable_dataset_path_is_not_checked(unprivileged: Runner, clean_checkpoint: Built, tmp_path: Path) -> None:
    """A --dataset-path the user cannot read (chmod 000): input_contract_vs_dataset is not_checked naming path and error."""
    dataset = tmp_path / "dataset"
    (dataset / "meta").mkdir(parents=True)
    (dataset / "meta" / "info.json").write_text(json.dumps({"features": {}}))
    dataset.chmod(0o000)
    try:
        result = unprivileged("pytest", "-p", "no:cacheprovider", f"--checkpoint={clean_checkpoint.root}",
                              f"--dataset-path={dataset}", "-rs")
    finally:
        dataset.chmod(0o755)
    denied = os.strerror(errno.EACCES)
    _dataset_check_skipped(result, f"cannot read the local dataset {dataset}: {dataset / 'meta' / 'info.json'}: {denied}")


def test_unreadable_hub_cache_is_not_checked(unprivileged: Runner, clean_checkpoint: Built, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub cache the user cannot read, looked up for training_datasets[0]: not_checked naming the path and error."""
    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    hub.chmod(0o000)
    try:
        result = unprivileged("pytest", "-p", "no:cacheprovider", f"--checkpoint={clean_checkpoint.root}", "-rs")
    finally:
        hub.chmod(0o755)
    _dataset_check_skipped(result, f"cannot read the Hugging Face hub cache: {hub}{os.sep}*: {os.strerror(errno.EACCES)}")


@pytest.fixture
def odd_name(clean_checkpoint) -> Path:
    """The clean checkpoint plus a file whose name is not UTF-8 (b"extra\\xff.bin")."""
    root = clean_checkpoint.root
    with open(os.path.join(os.fsencode(root), b"extra\xff.bin"), "wb") as fh:
        fh.write(b"\x00" * 8)
    return root


def test_generate_passport_names_a_non_utf8_file(cli, odd_name, monkeypatch) -> None:
    """generate-passport stops with one line naming the file, its bytes escaped; no internal error."""
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    result = cli("generate-passport", odd_name)
    assert result.ret == 1
    result.stderr.fnmatch_lines([r"error: extra\xff.bin: not valid UTF-8, so a passport cannot record it; rename the file"])
    _clean(result)


def _plant_bad_file(root: Path, name: str, kind: str) -> None:
    """A file generate-passport refuses: a corrupt safetensors header, or a symbolic link."""
    if kind == "corrupt":
        (root / name).write_bytes(b"\xff" * 20)
    else:
        (root / name).symlink_to("/etc/hostname")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("line\nbreak.safetensors", "corrupt"), ("bell\x07esc\x1b[31mred\r.safetensors", "corrupt"), ("new\nline", "link")],
    ids=["newline-corrupt", "controls-corrupt", "newline-symlink"],
)
def test_generate_passport_escapes_control_characters_in_names(cli: Runner, clean_checkpoint: Built, name: str, kind: str) -> None:
    """A refused file named with a newline/control character: the same exit code and one error line, the name escaped."""
    root = clean_checkpoint.root
    plain = "plain_name" + Path(name).suffix
    _plant_bad_file(root, plain, kind)
    baseline = cli("generate-passport", root)
    (root / plain).unlink()
    _plant_bad_file(root, name, kind)
    result = cli("generate-passport", root)
    escaped = name.encode("unicode_escape").decode("ascii")
    assert escaped != name and baseline.ret != 0
    assert result.ret == baseline.ret
    assert len(result.errlines) == len(baseline.errlines) == 1
    assert result.errlines[0] == baseline.errlines[0].replace(plain, escaped)
    assert result.errlines[0].startswith("error: ") and escaped in result.errlines[0]
    _clean(result)


def test_validate_escapes_control_characters_in_the_verdict_line(cli: Runner, clean_checkpoint: Built) -> None:
    """A checkpoint directory named with a newline: validate-checkpoint's verdict stays one line, the name escaped."""
    odd = clean_checkpoint.root.with_name("run\nLOADABLE fake")
    os.rename(clean_checkpoint.root, odd)
    result = cli("validate-checkpoint", odd)
    verdicts = [line for line in result.outlines if line.startswith(("LOADABLE", "DO NOT LOAD"))]
    assert verdicts == [f"LOADABLE {str(odd).encode('unicode_escape').decode('ascii')}"]
    _clean(result)


def test_usage_errors_escape_control_characters(cli: Runner, tmp_path: Path) -> None:
    """A missing checkpoint named with control characters: the plain name's usage error, the name escaped."""
    baseline = cli("validate-checkpoint", tmp_path / "nope")
    result = cli("validate-checkpoint", tmp_path / "no\x1b[31mpe")
    assert result.ret == baseline.ret != 0
    errors = [line for line in result.errlines if "error:" in line]
    assert errors == [line.replace("nope", "no\\x1b[31mpe") for line in baseline.errlines if "error:" in line]
    _clean(result)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_validate_under_a_non_utf8_path(cli, clean_checkpoint, monkeypatch, xdist) -> None:
    """A checkpoint directory named with a non-UTF-8 byte validates; the exit line escapes the byte."""
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    odd = os.fsdecode(os.path.join(os.fsencode(clean_checkpoint.root.parent), b"run\xff7"))
    os.rename(clean_checkpoint.root, odd)
    result = cli("validate-checkpoint", odd, *xdist)
    assert result.ret == 0
    result.stdout.fnmatch_lines([r"LOADABLE *run\xff7"])
    _clean(result)


def test_pytest_xdist_refuses_a_non_utf8_checkpoint_path(pytester, clean_checkpoint, monkeypatch) -> None:
    """pytest -n 2 cannot hand a non-UTF-8 path to its workers: a usage error that says so, not INTERNALERROR."""
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    odd = os.fsdecode(os.path.join(os.fsencode(clean_checkpoint.root.parent), b"run\xff7"))
    os.rename(clean_checkpoint.root, odd)
    result = pytester.runpytest_subprocess(f"--checkpoint={odd}", "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([r"*run\xff7: the path is not valid UTF-8, which pytest-xdist cannot pass to its workers*"])
    _clean(result)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_lone_surrogates_in_the_passport_print_escaped(cli, clean_checkpoint, monkeypatch, xdist) -> None:
    """Lone surrogates in passport strings (notes, a declared path) reach the terminal escaped; the gate decides."""
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    path = clean_checkpoint.root / "MODEL_PASSPORT.json"
    data = json.loads(path.read_text())
    data["reference_test_vector"]["notes"] = "frames \ud800 0..1"
    data["weight_integrity"]["weight_files"][0]["path"] = "config\udcff.json"
    path.write_text(json.dumps(data))
    result = cli("validate-checkpoint", clean_checkpoint.root, *xdist)
    assert result.ret == 1
    result.stdout.fnmatch_lines([r"*config\xff.json*", "DO NOT LOAD *"])
    _clean(result)
