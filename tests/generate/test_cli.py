"""The generate-passport command: exit codes, refusals, determinism, git provenance, summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import numpy as np
import pytest
from safetensors.numpy import save_file

from pytest_passport import schema
from pytest_passport.extract import git as gitstate

from .builders import EPOCH, EPOCH_TEXT, NORMALIZER, Generate, load, make_git_repo, sha256

PASSPORT = schema.PASSPORT_FILENAME


# --------------------------------------------------------------------------- determinism


def test_same_inputs_give_identical_bytes(act_small: Path, dataset_path: Path, training_repo: tuple[Path, str],
                                          generate: Generate) -> None:
    """Two runs with the same inputs write byte-identical passports."""
    repo, _ = training_repo
    args = (act_small, "--dataset-path", dataset_path, "--training-repo", repo, "--dataset-repo", "lab/pick")
    assert generate(*args).code == 0
    first = (act_small / PASSPORT).read_bytes()
    assert generate(*args).code == 0
    assert (act_small / PASSPORT).read_bytes() == first


def test_generated_at_comes_from_source_date_epoch(act_small: Path, generate: Generate) -> None:
    """SOURCE_DATE_EPOCH pins generated_at; generated_by and schema_version are fixed."""
    assert generate(act_small).code == 0
    passport = load(act_small / PASSPORT)
    assert (passport.generated_at, passport.generated_by, passport.schema_version) == (EPOCH_TEXT, "generate-passport", "0.2")


def test_bad_source_date_epoch_refuses(act_small: Path, generate: Generate, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SOURCE_DATE_EPOCH that is not a timestamp is an error, not a silent 'now'."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    run = generate(act_small)
    assert run.code == 1 and "SOURCE_DATE_EPOCH" in run.err
    assert not (act_small / PASSPORT).exists()


def test_console_script_in_a_subprocess(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """The installed console script exits 0 and writes the same bytes as an in-process run."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    script = Path(sys.executable).parent / "generate-passport"
    done = subprocess.run([str(script), str(act_small)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {act_small / PASSPORT}")
    assert generate(act_small, "--output", tmp_path / "again.json").code == 0
    assert (tmp_path / "again.json").read_bytes() == (act_small / PASSPORT).read_bytes()


def test_existing_passport_is_regenerated_not_hashed(act_small: Path, generate: Generate) -> None:
    """An existing MODEL_PASSPORT.json is replaced, and never declared in weight_integrity."""
    (act_small / PASSPORT).write_text("{}")
    run = generate(act_small)
    assert run.code == 0 and "replaced" in run.out
    passport = load(act_small / PASSPORT)
    assert PASSPORT not in [f.path for f in passport.declared_files]


def test_stale_signoff_is_warned_about(act_small: Path, generate: Generate) -> None:
    """A SIGNOFF.json naming other passport bytes is reported stale; one naming these bytes is not."""
    assert generate(act_small).code == 0
    digest = sha256(act_small / PASSPORT)
    signoff = schema.Signoff(artifacts=[schema.Artifact(path=PASSPORT, sha256=digest)], verdict="pass")
    schema.write_signoff(signoff, act_small / schema.SIGNOFF_FILENAME)
    assert "SIGNOFF.json" not in generate(act_small).err
    (act_small / "config.json").write_text((act_small / "config.json").read_text().replace('"n_heads": 2', '"n_heads": 4'))
    assert "SIGNOFF.json does not cover the new passport" in generate(act_small).err


def test_output_inside_the_root_is_not_declared(act_small: Path, generate: Generate) -> None:
    """--output inside the checkpoint is excluded from weight_integrity so reruns stay stable."""
    assert generate(act_small, "--output", act_small / "passport.json").code == 0
    first = (act_small / "passport.json").read_bytes()
    assert "passport.json" not in [f.path for f in load(act_small / "passport.json").declared_files]
    assert generate(act_small, "--output", act_small / "passport.json").code == 0
    assert (act_small / "passport.json").read_bytes() == first


def test_every_file_but_the_root_documents_is_declared(act_small: Path, generate: Generate) -> None:
    """README, TRAINING_LOG.md, dot-files and nested files are declared; the root SIGNOFF.json is not."""
    for name in ("README.md", "TRAINING_LOG.md", ".DS_Store", "SIGNOFF.json"):
        (act_small / name).write_text("x\n")
    (act_small / "assets").mkdir()
    (act_small / "assets" / "frame.png").write_bytes(b"png")
    assert generate(act_small).code == 0
    paths = [f.path for f in load(act_small / PASSPORT).declared_files]
    assert {"README.md", "TRAINING_LOG.md", ".DS_Store", "assets/frame.png"} <= set(paths)
    assert "SIGNOFF.json" not in paths
    assert load(act_small / PASSPORT).provenance.run_log_path == "TRAINING_LOG.md"


# --------------------------------------------------------------------------- refusals


def test_dirty_target_repo_is_refused(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """A target repo with uncommitted tracked changes exits 1 and writes no file."""
    repo = tmp_path / "runner"
    make_git_repo(repo)
    (repo / "train.py").write_text("changed\n")
    run = generate(act_small, "--target-repo", repo)
    assert run.code == 1
    assert run.err.startswith("error: --target-repo") and "train.py" in run.err
    assert "Traceback" not in run.err
    assert not (act_small / PASSPORT).exists()


def test_untracked_files_do_not_make_the_target_dirty(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """Untracked files are ignored; the target's HEAD becomes deployment_repo_commit."""
    repo = tmp_path / "runner"
    head = make_git_repo(repo)
    (repo / "scratch.txt").write_text("notes\n")
    assert generate(act_small, "--target-repo", repo).code == 0
    provenance = load(act_small / PASSPORT).provenance
    assert provenance.deployment_repo_commit == head
    assert provenance.deployment_repo == str(repo.resolve())


def test_target_repo_that_is_not_git_is_refused(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """A --target-repo that is not a git checkout exits 1 naming the flag."""
    (tmp_path / "plain").mkdir()
    run = generate(act_small, "--target-repo", tmp_path / "plain")
    assert run.code == 1 and "not the root of a git checkout" in run.err


def test_missing_config_refuses_naming_the_file(act_small: Path, generate: Generate) -> None:
    """Without config.json (and no policy_spec.json) generation exits 1 naming config.json."""
    (act_small / "config.json").unlink()
    run = generate(act_small)
    assert run.code == 1
    assert "config.json: not found" in run.err
    assert not (act_small / PASSPORT).exists()


def test_lerobot_train_step_directory_points_at_pretrained_model(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """Given a lerobot-train step directory, the error names the nested pretrained_model/config.json."""
    step = tmp_path / "005000"
    step.mkdir()
    act_small.rename(step / "pretrained_model")
    run = generate(step)
    assert run.code == 1 and "pretrained_model/config.json" in run.err


def test_invalid_json_config_refuses_naming_the_file(act_small: Path, generate: Generate) -> None:
    """A config.json that is not JSON exits 1 with the file named and no traceback."""
    (act_small / "config.json").write_text("{not json")
    run = generate(act_small)
    assert run.code == 1
    assert "config.json" in run.err and "invalid JSON" in run.err and "Traceback" not in run.err
    assert not (act_small / PASSPORT).exists()


def test_wrongly_typed_config_field_refuses_naming_the_field(act_small: Path, generate: Generate) -> None:
    """A feature shape that is not an array of ints names config.json and the JSON path."""
    config = json.loads((act_small / "config.json").read_text())
    config["input_features"]["observation.state"]["shape"] = "six"
    (act_small / "config.json").write_text(json.dumps(config))
    run = generate(act_small)
    assert run.code == 1
    assert "config.json: field input_features.observation.state.shape" in run.err


def test_missing_checkpoint_and_zip_are_refused(tmp_path: Path, generate: Generate) -> None:
    """A path that does not exist, or a zip archive, exits 1 with one error line."""
    assert generate(tmp_path / "nope").code == 1
    (tmp_path / "bundle.zip").write_bytes(b"PK")
    run = generate(tmp_path / "bundle.zip")
    assert run.code == 1 and "zip archive" in run.err


def test_symlink_out_of_the_root_is_refused(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """A file symlinked from outside the checkpoint is never vouched for."""
    (tmp_path / "outside.bin").write_bytes(b"x")
    (act_small / "extra.bin").symlink_to(tmp_path / "outside.bin")
    run = generate(act_small)
    assert run.code == 1 and "extra.bin" in run.err


def test_usage_errors_exit_2(act_small: Path, generate: Generate) -> None:
    """Malformed dataset ids and mismatched --loader-class counts are usage errors."""
    assert generate(act_small, "--dataset-repo", "no-slash").code == 2
    assert generate(act_small, "--loader-class", "X").code == 2
    assert generate(act_small, "--dataset-repo", "a/b", "--dataset-repo", "c/d",
                    "--loader-class", "X", "--loader-class", "Y", "--loader-class", "Z").code == 2
    assert generate().code == 2
    assert not (act_small / PASSPORT).exists()


# --------------------------------------------------------------------------- provenance and datasets


def test_training_repo_commit_and_public_origin(act_small: Path, training_repo: tuple[Path, str], generate: Generate) -> None:
    """--training-repo records HEAD and the origin URL with its credentials removed."""
    repo, head = training_repo
    assert generate(act_small, "--training-repo", repo).code == 0
    provenance = load(act_small / PASSPORT).provenance
    assert provenance.training_repo_commit == head
    assert provenance.training_repo == "https://example.com/lab/train.git"
    assert provenance.extra["training_repo_dirty"] is False
    assert "secret-token" not in (act_small / PASSPORT).read_text()


def test_passport_creation_commit_from_the_tool_checkout() -> None:
    """Run from a git checkout that tracks the package, the tool's own HEAD is recorded."""
    package = Path(gitstate.__file__).resolve().parent.parent
    try:
        repo = git.Repo(package, search_parent_directories=True)
        repo.head.commit.tree / package.relative_to(repo.working_tree_dir).as_posix()
    except Exception:  # noqa: BLE001
        pytest.skip("pytest-passport is not running from a git checkout that tracks it")
    _, commit = gitstate.tool_repo()
    assert commit == repo.head.commit.hexsha


def test_passport_creation_commit_from_direct_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed from a VCS URL, pip's direct_url.json commit is used."""

    class Dist:
        def read_text(self, name: str) -> str:
            return json.dumps({"url": "https://tok@example.com/tools.git", "vcs_info": {"vcs": "git", "commit_id": "ab" * 20}})

    monkeypatch.setattr(gitstate, "_checkout_of_package", lambda: (None, None))
    monkeypatch.setattr(gitstate.importlib.metadata, "distribution", lambda name: Dist())
    assert gitstate.tool_repo() == ("https://example.com/tools.git", "ab" * 20)


def test_credentials_are_stripped_from_urls() -> None:
    """https tokens vanish; an ssh user name stays; scp-style URLs are untouched."""
    assert gitstate.public_url("https://user:pw@host/x.git") == "https://host/x.git"
    assert gitstate.public_url("ssh://git:pw@host/x.git") == "ssh://git@host/x.git"
    assert gitstate.public_url("git@github.com:org/x.git") == "git@github.com:org/x.git"


def test_datasets_loader_classes_and_pins(act_small: Path, generate: Generate) -> None:
    """Loaders pair with datasets in order; a sha revision pins, a branch name does not."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    run = generate(act_small, "--dataset-repo", f"lab/a@{sha}", "--dataset-repo", "lab/b@main",
                   "--loader-class", "pkg.LoaderA", "--loader-class", "pkg.LoaderB")
    assert run.code == 0
    a, b = load(act_small / PASSPORT).input_contract.training_datasets
    assert (a.repo, a.commit, a.loader_class) == ("lab/a", sha, "pkg.LoaderA")
    assert (b.repo, b.commit, b.loader_class, b.extra["revision"]) == ("lab/b", None, "pkg.LoaderB", "main")
    assert "not a pin" in run.err


def test_run_log_url_and_path(act_small: Path, tmp_path: Path, generate: Generate) -> None:
    """--run-log accepts an http(s) URL or a file inside the checkpoint; other places are refused."""
    assert generate(act_small, "--run-log", "https://wandb.example/run/7").code == 0
    assert load(act_small / PASSPORT).provenance.run_log_path == "https://wandb.example/run/7"
    (act_small / "logs").mkdir()
    (act_small / "logs" / "run.md").write_text("# run\n")
    assert generate(act_small, "--run-log", act_small / "logs" / "run.md").code == 0
    assert load(act_small / PASSPORT).provenance.run_log_path == "logs/run.md"
    assert generate(act_small, "--run-log", "ftp://host/log.md").code == 1
    (tmp_path / "outside.md").write_text("# elsewhere\n")
    assert generate(act_small, "--run-log", tmp_path / "outside.md").code == 1


def test_config_snapshot_is_fingerprinted(act_small: Path, generate: Generate) -> None:
    """config_snapshot_path names config.json and merged_config_sha256 is its digest."""
    assert generate(act_small).code == 0
    provenance = load(act_small / PASSPORT).provenance
    assert provenance.config_snapshot_path == "config.json"
    assert provenance.merged_config_sha256 == sha256(act_small / "config.json")


def test_summary_lists_null_fields_and_who_fills_them(act_small: Path, generate: Generate) -> None:
    """Stdout lists every field left null with the phase or human that fills it."""
    run = generate(act_small)
    assert "Left null" in run.out
    lines = {line.split()[0]: line for line in run.out.splitlines() if line.startswith("  ") and ":" not in line.split()[0]}
    assert "human: pass --training-repo" in lines["provenance.training_repo_commit"]
    assert "phase 2" in lines["reference_test_vector"]
    assert "human" in lines["input_contract.images[*].camera_serial|camera_usb_path|reference_frame_hash"]
    assert "input_contract.temporal.control_rate_hz" in lines


def test_stats_fingerprint_tracks_the_normalizer_bytes(act_small: Path, generate: Generate) -> None:
    """Editing the normalizer stats changes the declared fingerprint (stats edited in place are caught)."""
    assert generate(act_small).code == 0
    before = load(act_small / PASSPORT).input_contract.state.normalization["stats_fingerprint"]["file_sha256"]
    data = bytearray((act_small / NORMALIZER).read_bytes())
    data[-1] ^= 0x01
    (act_small / NORMALIZER).write_bytes(bytes(data))
    assert generate(act_small).code == 0
    after = load(act_small / PASSPORT).input_contract.state.normalization["stats_fingerprint"]["file_sha256"]
    assert before != after == sha256(act_small / NORMALIZER)


def test_unknown_config_still_describes_files(tmp_path: Path, generate: Generate) -> None:
    """A config of no known layout yields hashes and tensor facts, with a warning and no identity."""
    root = tmp_path / "custom"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"hidden": 8}))
    save_file({"w": np.zeros((2, 3), np.float32)}, str(root / "model.safetensors"))
    run = generate(root)
    assert run.code == 0 and "not a LeRobot" in run.err
    passport = load(root / PASSPORT)
    assert (passport.stack, passport.model_identity) == ("unknown", None)
    assert passport.model_internals.parameters.summary.total_params == 6


def test_dynamic_without_phase_two_refuses(act_small: Path, generate: Generate, monkeypatch: pytest.MonkeyPatch) -> None:
    """--dynamic without a Phase-2 module exits 1 and writes nothing."""
    from pytest_passport import generate as cli

    monkeypatch.setattr(cli, "DYNAMIC_MODULE", "pytest_passport.extract.no_such_phase_two")
    run = generate(act_small, "--dynamic")
    assert run.code == 1 and "--dynamic" in run.err
    assert not (act_small / PASSPORT).exists()
