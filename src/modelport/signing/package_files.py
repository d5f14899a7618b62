"""``signature.json``: the signatures a package carries on disk, beside its manifest.

The file is not part of the package digest (it signs the digest), so adding a signature
never changes what was signed: the same package, signed by two people, is still one
package. It holds ``{"signatures": [{"key_id", "algorithm", "digest", "signature"}]}``;
each entry names the digest it signs, so one copied onto another package is seen for
what it is. Signing replaces the entry of the same key and writes the file atomically
(a temporary file renamed over it): a reader sees the old file or the new one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modelport.errors import SignatureError
from modelport.files import write_file_atomically
from modelport.package.archive import pack, read_members, unpack
from modelport.package.load import SIGNATURE_FILE, verify_directory
from modelport.package.manifest import MANIFEST_FILE
from modelport.signing.signatures import Signature, sign_digest

__all__ = [
    "SIGNATURE_FILE",
    "SourceSignatures",
    "parse_signature_file",
    "read_signature_file",
    "sign_package",
    "source_signatures",
    "write_signature_file",
]


@dataclass(frozen=True, slots=True)
class SourceSignatures:
    """What a package to register says about itself before it is verified: the digest
    its manifest claims and the signatures it carries."""

    claimed_digest: str | None
    signatures: list[Signature]


def parse_signature_file(data: bytes, *, origin: str) -> list[Signature]:
    """The entries of a ``signature.json``'s bytes; errors name ``origin``."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureError(f"{origin} is not valid JSON: {exc}") from None
    entries = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SignatureError(f'{origin} has no "signatures" list')
    return [Signature.from_dict(entry, origin=origin) for entry in entries]


def read_signature_file(directory: Path) -> list[Signature]:
    """The signatures in ``directory``'s ``signature.json`` (none if it has no such file)."""
    path = Path(directory) / SIGNATURE_FILE
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise SignatureError(f"{path} is not a regular file")
    if not path.exists():
        return []
    return parse_signature_file(path.read_bytes(), origin=str(path))


def write_signature_file(directory: Path, signatures: list[Signature]) -> Path:
    """Write ``signatures`` as ``directory``'s ``signature.json``, atomically."""
    target = Path(directory) / SIGNATURE_FILE
    body = {"signatures": [s.to_dict() for s in signatures]}
    text = json.dumps(body, indent=2, sort_keys=False) + "\n"
    return write_file_atomically(target, text.encode("utf-8"))


def sign_package(path: Path, private_key: Ed25519PrivateKey) -> Signature:
    """Sign the package at ``path`` (a directory or ``.mpk``), verified first: only what
    checks out is signed. The key's earlier entry, if any, is replaced."""
    path = Path(path)
    if path.is_file():
        return _sign_archive(path, private_key)
    manifest = verify_directory(path)
    if SIGNATURE_FILE in manifest.files:
        raise SignatureError(
            f"the package {path} lists {SIGNATURE_FILE} among its files, so it cannot be signed"
        )
    signature = sign_digest(private_key, manifest.digest)
    kept = [s for s in read_signature_file(path) if s.key_id != signature.key_id]
    write_signature_file(path, [*kept, signature])
    return signature


def source_signatures(source: Path) -> SourceSignatures:
    """The signatures a package directory or ``.mpk`` carries and the digest its manifest
    claims (``None`` if the manifest cannot say), read without verifying the package: the
    caller verifies it, this only lets it refuse early. A missing or unreadable manifest
    is left for that verification to report."""
    source = Path(source)
    if source.is_dir():
        manifest_path = source / MANIFEST_FILE
        manifest_bytes = manifest_path.read_bytes() if manifest_path.is_file() else None
        signatures = read_signature_file(source)
    elif source.is_file():
        members = read_members(source, {MANIFEST_FILE, SIGNATURE_FILE})
        manifest_bytes = members.get(MANIFEST_FILE)
        signature_bytes = members.get(SIGNATURE_FILE)
        origin = f"{SIGNATURE_FILE} in {source}"
        signatures = (
            [] if signature_bytes is None else parse_signature_file(signature_bytes, origin=origin)
        )
    else:
        return SourceSignatures(None, [])
    claimed = None if manifest_bytes is None else _claimed_digest(manifest_bytes)
    return SourceSignatures(claimed, signatures)


def _claimed_digest(data: bytes) -> str | None:
    try:
        document: Any = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    digest = document.get("digest") if isinstance(document, dict) else None
    return digest if isinstance(digest, str) and digest else None


def _sign_archive(archive: Path, private_key: Ed25519PrivateKey) -> Signature:
    """Unpack, sign, and pack again over the original (replaced in one rename)."""
    scratch = Path(tempfile.mkdtemp(prefix=".modelport-sign-", dir=archive.parent))
    try:
        directory = unpack(archive, scratch / "package")
        signature = sign_package(directory, private_key)
        pack(directory, archive)
        return signature
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
