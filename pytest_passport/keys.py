"""Ed25519 key files: loading (PEM and OpenSSH), fingerprints, hygiene, and ``passport-keygen``.

Private keys sign SIGNOFF.json (``sign-checkpoint --signing-key``); public keys are pinned by
consumers (``--trusted-key``). Key material is never printed: messages name the file and the
key's fingerprint only. Fingerprints use the OpenSSH form (``SHA256:`` + unpadded base64 of the
sha256 of the key's SSH wire encoding), so ``ssh-keygen -lf KEY.pub`` shows the same string.

Keys can also be made with the usual tools::

    openssl genpkey -algorithm ed25519 -out signing.key && chmod 600 signing.key
    openssl pkey -in signing.key -pubout -out signing.pub
    ssh-keygen -t ed25519 -N '' -C release-signing -f signing_key   # signing_key + signing_key.pub

An encrypted private key is read with the passphrase in ``$PASSPORT_KEY_PASSPHRASE``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cliutil import one_line
from .errors import PassportError

if TYPE_CHECKING:  # cryptography is imported only when a key is used
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PASSPHRASE_ENV = "PASSPORT_KEY_PASSPHRASE"
#: Key files are small; anything larger is not a key.
MAX_KEY_BYTES = 64 * 1024


class KeyFileError(PassportError):
    """A key file that cannot be used; the message names the file, never the key material."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its OpenSSH one-line form and fingerprint."""

    raw: bytes
    #: Where it came from (a file, the signoff), for messages; not part of equality.
    source: str = field(default="", compare=False)

    @property
    def openssh(self) -> str:
        """``ssh-ed25519 <base64>``: the form embedded in SIGNOFF.json and accepted by ``--trusted-key``."""
        return "ssh-ed25519 " + base64.b64encode(_ssh_blob(self.raw)).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.raw)

    def verifier(self) -> Ed25519PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(self.raw)


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _ssh_blob(raw: bytes) -> bytes:
    return _ssh_string(b"ssh-ed25519") + _ssh_string(raw)


def fingerprint_of(raw: bytes) -> str:
    """``SHA256:<base64, no padding>`` of the key's SSH wire form (as ``ssh-keygen -l`` prints)."""
    digest = hashlib.sha256(_ssh_blob(raw)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _read_key_file(path: Path) -> bytes:
    """Read a small regular file without following it into a FIFO or a device."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise KeyFileError(path, f"cannot open key file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(path, "not a regular file")
        if info.st_size > MAX_KEY_BYTES:
            raise KeyFileError(path, f"{info.st_size} bytes is too large for a key file")
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read(MAX_KEY_BYTES + 1)
    finally:
        os.close(fd)


def check_private_permissions(path: Path) -> None:
    """Refuse a private key that group or others may read or write (``mode & 0o077``)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise KeyFileError(path, f"cannot stat key file: {exc.strerror or exc}") from None
    if os.name == "posix" and mode & 0o077:
        raise KeyFileError(
            path,
            f"private key is accessible by group/others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}",
        )


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM (PKCS#8) or OpenSSH file with owner-only permissions."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    check_private_permissions(path)
    data = _read_key_file(path)
    password = _passphrase()
    try:
        if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
            key: Any = serialization.load_ssh_private_key(data, password)
        elif b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except TypeError:
        # Raised for a missing or an unexpected passphrase; never echo either.
        raise KeyFileError(
            path, f"private key is encrypted: set ${PASSPHRASE_ENV}" if password is None else "passphrase given but the key is not encrypted"
        ) from None
    except Exception:  # noqa: BLE001 - cryptography raises several classes
        raise KeyFileError(path, "not a readable private key (expected Ed25519 in PEM/PKCS#8 or OpenSSH format, or wrong passphrase)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(path, f"{_kind(key)} key: only Ed25519 signing keys are supported")
    return key


def public_of(private: Ed25519PrivateKey, source: str = "") -> PublicKey:
    from cryptography.hazmat.primitives import serialization

    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(raw, source)


def parse_public_key(data: bytes, source: str = "") -> PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo), an OpenSSH line, or DER bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = data.strip()
    try:
        if text.startswith(b"ssh-"):
            key: Any = serialization.load_ssh_public_key(b" ".join(text.split()[:2]))
        elif text.startswith(b"-----BEGIN"):
            if b"PRIVATE KEY" in text:
                raise KeyFileError(source, "this is a private key; pin the public key (KEY.pub) instead")
            key = serialization.load_pem_public_key(text)
        else:
            key = serialization.load_der_public_key(data)
    except KeyFileError:
        raise
    except Exception:  # noqa: BLE001 - cryptography raises several classes
        raise KeyFileError(source, "not a readable public key (expected Ed25519 in PEM or OpenSSH format)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(source, f"{_kind(key)} key: only Ed25519 keys are supported")
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), source)


def load_public_key(path: Path | str) -> PublicKey:
    """An Ed25519 public key file (PEM or OpenSSH ``.pub``)."""
    return parse_public_key(_read_key_file(Path(path)), str(path))


def _kind(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa

    for kinds, text in (
        ((rsa.RSAPrivateKey, rsa.RSAPublicKey), "an RSA"),
        ((ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey), "an EC"),
        ((dsa.DSAPrivateKey, dsa.DSAPublicKey), "a DSA"),
        ((ed448.Ed448PrivateKey, ed448.Ed448PublicKey), "an Ed448"),
    ):
        if isinstance(key, kinds):
            return text
    return "an unsupported"


# --------------------------------------------------------------------------- passport-keygen


def _write_new(path: Path, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    if force and path.exists():
        os.unlink(path)
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


def generate(private_path: Path, *, key_format: str = "pem", comment: str = "", force: bool = False) -> PublicKey:
    """Write a new Ed25519 keypair: ``private_path`` (mode 0600) and ``private_path.pub``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise KeyFileError(path, "already exists (use --force to replace it)")
    key = Ed25519PrivateKey.generate()
    if key_format == "openssh":
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    else:
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = public_of(key, str(public_path))
    if key_format == "openssh":
        public_text = public.openssh + (f" {comment}" if comment else "") + "\n"
    else:
        public_text = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    _write_new(private_path, private, 0o600, force)
    _write_new(public_path, public_text.encode("ascii"), 0o644, force)
    return public


def keygen_main(argv: Sequence[str] | None = None) -> int:
    """``passport-keygen KEYFILE``: write an Ed25519 signing keypair; prints paths and fingerprint only."""
    parser = argparse.ArgumentParser(
        prog="passport-keygen",
        description=(
            "Write an Ed25519 keypair for sign-checkpoint --signing-key: KEYFILE (private, mode 0600) and "
            "KEYFILE.pub (pin it with --trusted-key or [tool.pytest_passport] trusted_keys)."
        ),
    )
    parser.add_argument("keyfile", metavar="KEYFILE", help="private key path to create")
    parser.add_argument("--format", choices=("pem", "openssh"), default="pem", help="PEM/PKCS#8 (default) or OpenSSH")
    parser.add_argument("--comment", default="", help="comment on the OpenSSH public key line")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    ns = parser.parse_args(argv)
    path = Path(ns.keyfile)
    if not path.parent.is_dir():
        parser.error(one_line(f"{path.parent}: no such directory"))
    try:
        public = generate(path, key_format=ns.format, comment=ns.comment, force=ns.force)
    except KeyFileError as exc:
        print(one_line(f"passport-keygen: {exc}"), file=sys.stderr)
        return 1
    except OSError as exc:
        print(one_line(f"passport-keygen: {path}: {exc.strerror or exc}"), file=sys.stderr)
        return 1
    print(one_line(f"private key: {path} (mode 0600; keep it secret)"))
    print(one_line(f"public key:  {path}.pub"))
    print(f"fingerprint: {public.fingerprint}")
    return 0


__all__ = [
    "KeyFileError",
    "PublicKey",
    "check_private_permissions",
    "fingerprint_of",
    "generate",
    "keygen_main",
    "load_private_key",
    "load_public_key",
    "parse_public_key",
    "public_of",
]
