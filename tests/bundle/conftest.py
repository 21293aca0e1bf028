"""Fixtures for bundle tests: Metta-shaped bundles, zips, a signed bundle, S3 on loopback, an HF cache.

Every test gets its own private cache (``$PYTEST_PASSPORT_CACHE``). S3 is moto's server on
127.0.0.1, started once per session; Hugging Face is a hub cache layout built in tmp and
read with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save

from pytest_passport.schema import PASSPORT_FILENAME, SIGNOFF_FILENAME

from ..conftest import make_git_repo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: The Metta bundle made with the real libraries: in-repo if copied there, else the shared fixtures.
METTA_FIXTURE_DIRS = (FIXTURES / "metta", Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "metta")
SPEC = FIXTURES / "metta" / "policy_spec.json"
EPOCH = "1767225600"
#: Importable stand-in for the class a Metta passport records.
RUNTIME_STUB = {"metta/__init__.py": "", "metta/agent/__init__.py": "", "metta/agent/policy.py": "class CheckpointPolicy:\n    pass\n"}

Entry = tuple["str | zipfile.ZipInfo", "bytes | str"]


def weights_bytes(seed: int = 0) -> bytes:
    """A small plain ``state_dict()``-style safetensors file, different per seed."""
    rng = np.random.default_rng(seed)
    return save({
        "_action_head.weight": rng.standard_normal((5, 16)).astype(np.float32),
        "_action_head.bias": np.zeros(5, np.float32),
        "_net.0.weight": rng.standard_normal((16, 30)).astype(np.float32),
    })


def metta_files(seed: int = 0) -> dict[str, bytes]:
    """The two files of a Metta CheckpointPolicy bundle."""
    return {"policy_spec.json": SPEC.read_bytes(), "weights.safetensors": weights_bytes(seed)}


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def write_zip(path: Path, entries: Iterable[Entry], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip holding ``entries`` exactly as given (names are not sanitised)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def zip_dir(root: Path, path: Path) -> Path:
    """Zip a bundle directory's files at the archive root, sorted."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return write_zip(path, [(p.relative_to(root).as_posix(), p.read_bytes()) for p in files])


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private bundle cache for this test; zip limits at their defaults."""
    path = tmp_path / "cache"
    monkeypatch.setenv("PYTEST_PASSPORT_CACHE", str(path))
    monkeypatch.delenv("PYTEST_PASSPORT_ZIP_MAX_BYTES", raising=False)
    monkeypatch.delenv("PYTEST_PASSPORT_ZIP_MAX_RATIO", raising=False)
    return path


def assert_nothing_extracted(cache: Path) -> None:
    """No bundle content (and no temp directory) was left in the cache."""
    zips = cache / "zips"
    assert not zips.exists() or not any(zips.iterdir()), sorted(p.name for p in zips.iterdir())


@pytest.fixture
def real_metta(tmp_path: Path) -> Path:
    """A writable copy of the real Metta fixture folder (``demo-run:v3/`` and ``demo-run:v3.zip``)."""
    for folder in METTA_FIXTURE_DIRS:
        if (folder / "demo-run:v3.zip").is_file() and (folder / "demo-run:v3").is_dir():
            target = tmp_path / "metta"
            target.mkdir()
            shutil.copytree(folder / "demo-run:v3", target / "demo-run:v3")
            shutil.copyfile(folder / "demo-run:v3.zip", target / "demo-run:v3.zip")
            for path in target.rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)
            return target
    pytest.skip("the Metta fixture (demo-run:v3/, demo-run:v3.zip) is not available")


@pytest.fixture
def metta_dir(tmp_path: Path) -> Path:
    """A Metta bundle directory named as Metta's checkpoint manager names it."""
    return write_dir(tmp_path / "ckpts" / "demo-run:v3", metta_files())


@pytest.fixture
def metta_zip(tmp_path: Path) -> Path:
    """The same bundle zipped with its files at the archive root."""
    return write_zip(tmp_path / "ckpts" / "demo-run:v3.zip", metta_files().items())


# ---------------------------------------------------------------------------- a signed bundle


@contextmanager
def importable(root: Path) -> Iterator[None]:
    """``root`` on sys.path; the ``metta`` stub modules are forgotten afterwards."""
    before = set(sys.modules)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(root))
        try:
            yield
        finally:
            for name in set(sys.modules) - before:
                if name == "metta" or name.startswith("metta."):
                    del sys.modules[name]


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for Metta's runtime, so the class a passport records imports."""
    root = tmp_path_factory.mktemp("runtime")
    for rel, text in RUNTIME_STUB.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def metta_runtime(runtime_dir: Path) -> Iterator[Path]:
    """The Metta stand-in importable for the duration of one test."""
    with importable(runtime_dir):
        yield runtime_dir


def generate_and_sign(root: Path, training_repo: Path) -> None:
    """``generate-passport`` then ``sign-checkpoint`` on a bundle directory, in-process."""
    from pytest_passport.cli import sign_main
    from pytest_passport.generate import main as generate_main

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        assert generate_main([str(root), "--training-repo", str(training_repo)]) == 0
        assert sign_main([str(root), "--reason", "bundle tests: soft signals reviewed"]) == 0
    assert (root / PASSPORT_FILENAME).is_file() and (root / SIGNOFF_FILENAME).is_file()


@pytest.fixture(scope="session")
def training_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("training-repo")
    make_git_repo(path, {"train.py": "print('train')\n"})
    return path


@pytest.fixture(scope="session")
def signed_template(tmp_path_factory: pytest.TempPathFactory, runtime_dir: Path, training_repo: Path) -> Path:
    """A Metta bundle directory with a generated passport and a signoff (copy before changing it)."""
    root = write_dir(tmp_path_factory.mktemp("signed") / "demo-run:v3", metta_files())
    with importable(runtime_dir):
        generate_and_sign(root, training_repo)
    return root


@pytest.fixture
def signed_dir(signed_template: Path, tmp_path: Path) -> Path:
    """A private copy of the signed bundle directory."""
    return Path(shutil.copytree(signed_template, tmp_path / "signed" / "demo-run:v3"))


@pytest.fixture
def signed_zip(signed_template: Path, tmp_path: Path) -> Path:
    """The signed bundle directory zipped with its files at the archive root."""
    return zip_dir(signed_template, tmp_path / "signed" / "demo-run:v3.zip")


# ---------------------------------------------------------------------------- S3 on loopback


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free port of 127.0.0.1 for the whole session."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Bucket:
    name: str
    client: Any

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def put(self, key: str, data: bytes) -> str:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)
        return self.uri(key)


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bucket:
    """A fresh bucket; dummy credentials and ``AWS_ENDPOINT_URL`` point every client at moto."""
    import boto3

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"ckpt-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client)


# ---------------------------------------------------------------------------- a Hugging Face cache


@dataclass
class HfCache:
    """A hub cache laid out as huggingface_hub writes it: blobs, symlinked snapshots, refs."""

    root: Path

    def add(self, repo_id: str, files: dict[str, bytes], *, ref: str = "main") -> str:
        """Store ``files`` as one commit of ``repo_id``; returns the commit sha."""
        commit = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
        repo = self.root / ("models--" + repo_id.replace("/", "--"))
        for rel, data in files.items():
            blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = repo / "snapshots" / commit / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
        return commit

    def snapshot(self, repo_id: str, commit: str) -> Path:
        return self.root / ("models--" + repo_id.replace("/", "--")) / "snapshots" / commit


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HfCache:
    """An empty hub cache, offline: nothing may reach the network."""
    pytest.importorskip("huggingface_hub")
    root = tmp_path / "hf-hub"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    return HfCache(root)
