"""checkpoint_tree_declared: nothing sits in a signed checkpoint unless it is declared (issue 9, point 3)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from pytest_passport import cli, schema
from pytest_passport.checkpoint import Checkpoint
from pytest_passport.checks.weight_integrity import auto_map_files, never_ignored
from pytest_passport.generate import main as generate_main

from .conftest import gate_failures, messages

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures"

#: Files a loader would use, added after signing (issue 9, point 3).
UNLISTED = [
    *(f"extra{suffix}" for suffix in (".pkl", ".pickle", ".npy", ".npz", ".joblib", ".onnx", ".h5", ".gguf", ".msgpack", ".keras", ".tflite", ".pb", ".tar", ".zip")),
    "modeling_policy.py",
    "tokenizer.json",
    "generation_config.json",
    "config.yaml",
    "model.safetensors.index.json",
    "sub/dir/extra.safetensors",
    "assets/reference_test_vector/extra.bin",
]


def tree_failure(root: Path) -> str:
    failures = gate_failures(root)
    tree = [f for f in failures if f.check == "checkpoint_tree_declared"]
    assert tree, f"checkpoint_tree_declared did not fail; failures:\n{messages(failures)}"
    return tree[0].message + "\n" + repr(tree[0].details)


@pytest.mark.parametrize("rel", UNLISTED)
def test_unlisted_file_fails_the_gate(signed: Path, rel: str) -> None:
    """Each loadable file type added after signing fails the gate, named."""
    path = signed / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"payload")
    assert rel in tree_failure(signed)


def test_signed_checkpoint_passes(signed: Path) -> None:
    """The untouched signed copy is loadable: the tree check passes on the shared builder's output."""
    assert gate_failures(signed) == []


def test_symlinked_directory_pointing_outside(signed: Path, tmp_path: Path) -> None:
    """A symlinked directory leading out of the checkpoint fails, named, and is not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.safetensors").write_bytes(b"x" * 16)
    (signed / "extras").symlink_to(outside, target_is_directory=True)
    text = tree_failure(signed)
    assert "extras (symbolic link" in text and "points outside the checkpoint" in text
    assert "evil.safetensors" not in text


def test_dangling_symlink(signed: Path, tmp_path: Path) -> None:
    """A dangling extra.safetensors (fillable after validation) fails, named as dangling."""
    (signed / "extra.safetensors").symlink_to(tmp_path / "later.safetensors")
    text = tree_failure(signed)
    assert "extra.safetensors (symbolic link" in text and "dangling" in text


def test_symlink_inside_the_root(signed: Path) -> None:
    """Even a link to a declared file inside the root fails: only regular files may sit there."""
    (signed / "alias.json").symlink_to("config.json")
    assert "alias.json (symbolic link" in tree_failure(signed)


def test_symlink_cycle_is_listed_not_followed(signed: Path) -> None:
    """A directory link to an ancestor cannot loop: links are never followed."""
    (signed / "assets" / "loop").symlink_to("..", target_is_directory=True)
    assert "assets/loop (symbolic link" in tree_failure(signed)


def test_declared_file_swapped_for_a_symlink(signed: Path, tmp_path: Path) -> None:
    """model.safetensors replaced by a link to identical bytes outside fails; the link is not read."""
    outside = tmp_path / "copy.safetensors"
    shutil.copyfile(signed / "model.safetensors", outside)
    (signed / "model.safetensors").unlink()
    (signed / "model.safetensors").symlink_to(outside)
    failures = gate_failures(signed)
    text = messages(failures)
    assert "model.safetensors (symbolic link" in text
    assert "model.safetensors: declared in MODEL_PASSPORT.json weight_integrity but rejected: resolves outside" in text


def test_unlisted_fifo_and_socket(signed: Path) -> None:
    """A FIFO and a UNIX socket in the tree fail, named by kind."""
    os.mkfifo(signed / "extra.fifo")
    server = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(signed)  # AF_UNIX paths are limited to ~100 bytes
    try:
        server.bind("extra.sock")
    finally:
        os.chdir(cwd)
    try:
        text = tree_failure(signed)
    finally:
        server.close()
    assert "extra.fifo (FIFO)" in text and "extra.sock (socket)" in text


def test_non_utf8_file_name_is_named_with_escapes(signed: Path) -> None:
    """A file whose name is not UTF-8 is reported with \\x escapes, not a crash."""
    Path(os.fsdecode(os.fsencode(str(signed)) + b"/extra\xff.bin")).write_bytes(b"x")
    assert "extra\\xff.bin" in tree_failure(signed)


def test_colon_name_is_a_relative_path(tmp_path: Path) -> None:
    """``x::y.json`` (and ``c:x``) are plain file names inside the root, not absolute paths."""
    shutil.copytree(FIXTURES / "lerobot" / "act_state_only", tmp_path / "ckpt")
    (tmp_path / "ckpt" / "x::y.json").write_text("{}")
    checkpoint = Checkpoint(tmp_path / "ckpt")
    assert checkpoint.resolve("x::y.json") == checkpoint.root / "x::y.json"
    assert checkpoint.resolve("c:x") == checkpoint.root / "c:x"
    assert generate_main([str(tmp_path / "ckpt")]) == 0
    report = _report(tmp_path / "ckpt")
    assert report["weight_integrity[x::y.json]"] == "pass"
    assert report["checkpoint_tree_declared"] == "pass"


def _report(root: Path) -> dict[str, str]:
    from pytest_passport.checks import CheckContext, CheckOptions
    from pytest_passport.suite import plan

    checkpoint = Checkpoint(root)
    ctx = CheckContext(checkpoint, CheckOptions())
    out = {}
    for p in plan(checkpoint):
        finding = p.run(ctx)
        out[p.item_name if p.is_file else p.name] = finding.status.value
    ctx.digests.close()
    return out


def _sign_with_patterns(root: Path, patterns: list[str]) -> None:
    passport = schema.read_passport(root / schema.PASSPORT_FILENAME)
    passport.weight_integrity.ignore_patterns = patterns
    schema.write_passport(passport, root / schema.PASSPORT_FILENAME)
    assert cli.sign_main([str(root)]) == 0


def test_ignore_patterns_wave_through_data_but_never_code(signed: Path) -> None:
    """Files matched by the signed ignore_patterns pass; code and loader files fail even when matched."""
    (signed / "notes").mkdir()
    (signed / "notes" / "eval.txt").write_text("fine\n")
    _sign_with_patterns(signed, ["notes/*"])
    assert gate_failures(signed) == []
    for name in ("policy.pkl", "modeling_x.py", "weights.bin", "arr.npy"):
        (signed / "notes" / name).write_bytes(b"x")
    text = tree_failure(signed)
    for name in ("policy.pkl", "modeling_x.py", "weights.bin", "arr.npy"):
        assert f"notes/{name} (ignore pattern 'notes/*' does not apply to code or loader files)" in text


def test_ignore_patterns_round_trip_losslessly() -> None:
    """weight_integrity.ignore_patterns is kept by load -> dump."""
    raw = b'{"weight_integrity": {"weight_files": [], "ignore_patterns": ["notes/*", "*.txt"]}}'
    passport = schema.load_passport_bytes(raw)
    assert passport.weight_integrity.ignore_patterns == ["notes/*", "*.txt"]
    assert schema.passport_to_dict(passport)["weight_integrity"]["ignore_patterns"] == ["notes/*", "*.txt"]


def test_auto_map_names_never_ignored_files() -> None:
    """Modules named by config.json auto_map (with or without a repo prefix) are never ignorable."""
    config = {"auto_map": {"AutoConfig": "configuration_x.XConfig", "AutoModel": ["pkg.modeling_x.XModel", None], "T": "org/repo--tok.Tok"}}
    named = auto_map_files(config)
    assert named == {"configuration_x.py", "pkg/modeling_x.py", "tok.py"}
    assert never_ignored("pkg/modeling_x.py", named) and never_ignored("a/b.PKL", set())
    assert not never_ignored("notes.txt", named)


def test_writer_temp_files_are_tolerated_others_are_not(signed: Path) -> None:
    """A leftover ``.SIGNOFF.json.<pid>.tmp`` passes; look-alike names do not."""
    (signed / ".SIGNOFF.json.999999999.tmp").write_text('{"partial')
    assert gate_failures(signed) == []
    (signed / ".SIGNOFF.json.tmp").write_text("x")
    (signed / "sub").mkdir()
    (signed / "sub" / ".SIGNOFF.json.1.tmp").write_text("x")
    text = tree_failure(signed)
    assert ".SIGNOFF.json.tmp" in text and "sub/.SIGNOFF.json.1.tmp" in text


def _fixture_dirs() -> list[Path]:
    dirs = [FIXTURES / "lerobot" / "act_state_only", FIXTURES / "metta" / "demo-run:v3"]
    for base in (SHARED / "lerobot", SHARED / "lerobot-policies" / "policies"):
        if base.is_dir():
            dirs += sorted(p for p in base.iterdir() if (p / "config.json").is_file())
    return dirs


@pytest.mark.parametrize("source", _fixture_dirs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generated_passports_declare_the_whole_tree(source: Path, tmp_path: Path) -> None:
    """generate-passport on every fixture declares every file, so checkpoint_tree_declared passes."""
    root = Path(shutil.copytree(source, tmp_path / source.name))
    assert generate_main([str(root)]) == 0
    report = _report(root)
    assert report["checkpoint_tree_declared"] == "pass"
    declared = {f.path for f in schema.read_passport(root / schema.PASSPORT_FILENAME).declared_files}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {schema.PASSPORT_FILENAME}
    assert declared == on_disk


def test_generate_refuses_links_and_special_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """generate-passport never vouches for a link or a FIFO: it stops, naming them."""
    root = Path(shutil.copytree(FIXTURES / "lerobot" / "act_state_only", tmp_path / "ckpt"))
    (root / "alias.json").symlink_to("config.json")
    os.mkfifo(root / "pipe")
    assert generate_main([str(root)]) == 1
    err = capsys.readouterr().err
    assert "alias.json (symbolic link" in err and "pipe (FIFO)" in err
    assert not (root / schema.PASSPORT_FILENAME).exists()


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_plugin_gate_names_unlisted_files(pytester: pytest.Pytester, signed: Path, tmp_path: Path, xdist: list[str]) -> None:
    """pytest --checkpoint --require-signoff fails on an added pickle and an outside-pointing link."""
    (signed / "extra.pkl").write_bytes(b"\x80\x04.")
    (tmp_path / "out").mkdir()
    (signed / "linked").symlink_to(tmp_path / "out", target_is_directory=True)
    result = pytester.runpytest("--checkpoint", signed, "--require-signoff", *xdist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*checkpoint_tree_declared: not a regular file: linked (symbolic link*points outside*"])
    result.stdout.fnmatch_lines(["*undeclared_code_or_loader_files: extra.pkl*"])
