"""Keys, signed copies of the loan package and ways to tamper with them, for signing tests."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.settings import Settings
from modelport.signing import SIGNATURE_FILE, generate_key_pair, load_private_key

MODEL = "loan-approval"
MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class Signer:
    """A key pair on disk, as `modelport keys signing-key` writes it."""

    private_path: Path
    public_path: Path
    key_id: str

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return load_private_key(self.private_path)

    @classmethod
    def make(cls, base: Path) -> Signer:
        private, public, kid = generate_key_pair(base)
        return cls(private, public, kid)


def copy_package(source: Path, target: Path, **changes: Any) -> Path:
    """A private copy of ``source``; with ``changes``, re-sealed (so a new digest)."""
    shutil.copytree(source, target)
    for path in [target, *target.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if changes:
        manifest = Manifest.read(target).model_copy(update=changes).sealed()
        (target / MANIFEST_FILE).write_text(manifest.to_yaml(), encoding="utf-8")
    return target


def flip_byte(path: Path) -> None:
    """Change one byte in the middle of ``path`` (its size stays the same)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_signature_file(package: Path, **changes: str) -> None:
    """Rewrite fields of the first entry of ``package``'s signature.json."""
    path = package / SIGNATURE_FILE
    document = json.loads(path.read_text())
    document["signatures"][0].update(changes)
    path.write_text(json.dumps(document))


def altered_base64(encoded: str) -> str:
    """The same-length base64 of a signature with one bit changed."""
    import base64

    raw = bytearray(base64.b64decode(encoded))
    raw[5] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def run_sql(settings: Settings, statement: str, **params: Any) -> list[Any]:
    """Run SQL straight against the registry database, as someone with its credentials."""
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def store_entries(settings: Settings) -> set[str]:
    root = settings.artifacts_dir / "sha256"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()
