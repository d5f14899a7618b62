"""Digests are verified on every copy between stores: into a remote (fsspec) store, out of
it, and at rest there, with signatures required or not.

The remote stores are fsspec's in-memory file system and a subclass of it that damages
bytes on their way (a faulty network or disk): what is outside the machine is the only
thing stood in for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from signing_helpers import MODEL, MODEL_FILE, flip_byte
from sqlalchemy.engine import URL

from modelport.errors import IntegrityError
from modelport.package.manifest import MANIFEST_FILE
from modelport.registry import Registry
from modelport.registry.remote_store import RemoteArtifactStore
from modelport.signing import Keyring


class LossyMemory(MemoryFileSystem):
    """The memory file system, but the model file's bytes change in transit: on upload
    (``put_file``) or on download (``get_file``), as ``damage`` says. Sizes stay the same."""

    protocol = "lossymem"
    damage: set[str] = set()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, str) and path.startswith("lossymem://"):
            path = path[len("lossymem://") :]
        return super()._strip_protocol(path)

    def put_file(self, lpath: str, rpath: str, *args: Any, **kwargs: Any) -> None:
        super().put_file(lpath, rpath, *args, **kwargs)
        if "upload" in self.damage and rpath.endswith(MODEL_FILE):
            data = bytearray(self.cat_file(rpath))
            data[len(data) // 2] ^= 0xFF
            self.pipe_file(rpath, bytes(data))

    def get_file(self, rpath: str, lpath: str, *args: Any, **kwargs: Any) -> None:
        super().get_file(rpath, lpath, *args, **kwargs)
        if "download" in self.damage and str(rpath).endswith(MODEL_FILE):
            flip_byte(Path(lpath))


fsspec.register_implementation("lossymem", LossyMemory, clobber=True)


@pytest.fixture
def root() -> Iterator[str]:
    path = f"/modelport-signing-tests/{uuid.uuid4().hex}"  # the memory file system is global
    yield path
    LossyMemory.damage = set()
    with suppress(FileNotFoundError):
        fsspec.filesystem("memory").rm(path, recursive=True)


def _registry(tmp_path: Path, url: str, cache: str, **options: Any) -> Registry:
    database = URL.create("sqlite", database=str(tmp_path / "registry.db")).render_as_string()
    return Registry(database, RemoteArtifactStore(url, cache_dir=tmp_path / cache), **options)


def _cached(tmp_path: Path, cache: str) -> list[str]:
    objects = tmp_path / cache / "sha256"
    return sorted(p.name for p in objects.iterdir()) if objects.is_dir() else []


def test_an_upload_altered_in_transit_is_not_committed(
    tmp_path: Path, root: str, signed_copy: Path
) -> None:
    LossyMemory.damage = {"upload"}
    with (
        _registry(tmp_path, f"lossymem://{root}", "cache-a") as registry,
        pytest.raises(IntegrityError, match=f"arrived altered \\({MODEL_FILE}"),
    ):
        registry.register(signed_copy)
    memory = fsspec.filesystem("memory")
    entries = memory.ls(f"{root}/sha256", detail=False)
    assert len(entries) == 1
    assert not memory.exists(f"{entries[0]}/{MANIFEST_FILE}")  # never committed
    with _registry(tmp_path, f"memory://{root}", "cache-b") as registry:
        assert registry.list_models() == []


def test_a_download_altered_in_transit_is_refused_and_not_cached(
    tmp_path: Path, root: str, signed_copy: Path, keyring: Keyring
) -> None:
    with _registry(tmp_path, f"lossymem://{root}", "cache-a") as registry:
        digest = registry.register(signed_copy).digest
    LossyMemory.damage = {"download"}
    strict = {"require_signature": True, "trusted_keys": keyring}
    with _registry(tmp_path, f"lossymem://{root}", "cache-b", **strict) as registry:
        with pytest.raises(IntegrityError, match=f"{MODEL_FILE} does not match") as caught:
            registry.open(f"{MODEL}:1")
        assert digest[:12] in str(caught.value)
        assert _cached(tmp_path, "cache-b") == []
        LossyMemory.damage = set()  # the network recovers: the same entry downloads fine
        assert registry.open(f"{MODEL}:1").digest == digest


def test_a_signed_package_altered_at_rest_in_the_remote_store_is_refused(
    tmp_path: Path, root: str, signed_copy: Path, keyring: Keyring
) -> None:
    """The signature row is intact, so the signature check passes; the digests do not."""
    strict = {"require_signature": True, "trusted_keys": keyring}
    with _registry(tmp_path, f"memory://{root}", "cache-a", **strict) as registry:
        digest = registry.register(signed_copy).digest
    memory = fsspec.filesystem("memory")
    remote_model = f"{root}/sha256/{digest}/{MODEL_FILE}"
    data = bytearray(memory.cat_file(remote_model))
    data[len(data) // 2] ^= 0xFF
    memory.pipe_file(remote_model, bytes(data))
    with (
        _registry(tmp_path, f"memory://{root}", "cache-b", **strict) as registry,
        pytest.raises(IntegrityError, match=f"{MODEL_FILE} does not match"),
    ):
        registry.open(f"{MODEL}:1")
    assert _cached(tmp_path, "cache-b") == []
