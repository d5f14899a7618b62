"""Ed25519 signing keys as PEM files, and the short id that names a public key.

A key pair is made once per signer (a release manager, a CI job): the private key stays
with them (written owner-only, 0600), the public key goes to every machine that must
trust what they sign (``modelport keys trust``). Ed25519 because its keys and signatures
are small, signing is deterministic (no randomness to get wrong) and there are no
parameters to choose badly.

A key is named by its *key id*: the first 16 hex characters of the SHA-256 of the raw
32-byte public key, so the same key has the same id on every machine, whatever its file
is called.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from modelport.errors import SignatureError

__all__ = [
    "KEY_ID_PATTERN",
    "PRIVATE_SUFFIX",
    "PUBLIC_SUFFIX",
    "generate_key_pair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "parse_public_key",
    "public_key_pem",
]

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{16}")
_MAX_KEY_FILE = 64 * 1024


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id: 16 hex characters of the SHA-256 of its raw 32 bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as a PEM ``PUBLIC KEY`` block (SubjectPublicKeyInfo)."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key_pair(base: Path) -> tuple[Path, Path, str]:
    """Write a new key pair as ``<base>.key`` (private, mode 0600) and ``<base>.pub``.

    Returns both paths and the key id. Existing files are never overwritten: losing a
    signing key by accident is worse than choosing another name.
    """
    base = Path(base)
    private_path = base.with_name(base.name + PRIVATE_SUFFIX)
    public_path = base.with_name(base.name + PUBLIC_SUFFIX)
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise SignatureError(f"{path} already exists; choose another name for the key pair")
    base.parent.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_key_pem(private_key.public_key()), 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return private_path, public_path, key_id(private_key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path`` (unencrypted PKCS#8)."""
    data = _read_key_file(Path(path), "private")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SignatureError(
            f"the private key {path} is encrypted; modelport reads unencrypted keys only "
            "(keep the file owner-only, or generate one with `modelport keys signing-key`)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(
            f"{path} holds a {type(key).__name__.removeprefix('_')} key, not an Ed25519 one; "
            "generate one with `modelport keys signing-key`"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path``."""
    return parse_public_key(_read_key_file(Path(path), "public"), str(path))


def parse_public_key(data: bytes, origin: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes; errors name ``origin``."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError(f"{origin} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"{origin} is not an Ed25519 public key")
    return key


def _read_key_file(path: Path, kind: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE + 1)
    except OSError as exc:
        raise SignatureError(f"cannot read the {kind} key {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_KEY_FILE:
        raise SignatureError(f"{path} is too large to be a {kind} key")
    return data


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (never world-readable, even briefly)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise SignatureError(f"{path} already exists; choose another name") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # the umask may have taken bits from a 0644 public key
