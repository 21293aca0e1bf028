"""Keys and signed checkpoints for the authenticity tests (real keys, real signing runs)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Imported before any test: pytester drops modules first imported during a test, and
# cryptography's bindings then reject classes from a second import of the same module.
import cryptography.exceptions  # noqa: F401
import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
import cryptography.hazmat.primitives.serialization  # noqa: F401
import tomllib  # noqa: F401

try:  # torch cannot be imported twice in one process either
    import torch  # noqa: F401
except ImportError:
    pass

from pytest_passport import keys, schema

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    fingerprint: str


@pytest.fixture
def make_key(tmp_path: Path) -> Callable[[str], KeyPair]:
    """Generate an Ed25519 keypair with passport-keygen's code (private 0600, public .pub)."""

    def make(name: str, key_format: str = "pem") -> KeyPair:
        folder = tmp_path / "keys"
        folder.mkdir(exist_ok=True)
        private = folder / name
        public = keys.generate(private, key_format=key_format)
        return KeyPair(private, private.with_name(name + ".pub"), public.fingerprint)

    return make


@pytest.fixture
def key1(make_key: Callable[[str], KeyPair]) -> KeyPair:
    return make_key("key1")


@pytest.fixture
def key2(make_key: Callable[[str], KeyPair]) -> KeyPair:
    return make_key("key2")


@pytest.fixture
def cli(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run a console script in a subprocess, from pytester's (empty) working directory."""

    def run(name: str, *args: object) -> pytest.RunResult:
        return pytester.run(str(BIN / name), *[str(a) for a in args], timeout=180)

    return run


@pytest.fixture(params=["serial", "xdist"])
def mode(request: pytest.FixtureRequest) -> list[str]:
    """Extra arguments: none, or -n 2 (pytest-xdist)."""
    return [] if request.param == "serial" else ["-n", "2"]


def signoff_json(root: Path) -> dict:
    return json.loads((root / schema.SIGNOFF_FILENAME).read_text())


def tamper_weights(built) -> None:
    """Flip one byte of the weights and refresh the passport's hashes, as an attacker would."""
    path = built.root / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    built.rehash()
