"""Signers (real Ed25519 key pairs on disk), signed copies of the loan package, keyrings,
and registries that require signatures (on SQLite and PostgreSQL, via ``database_url``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from signing_helpers import Signer, copy_package

from modelport.registry import Registry
from modelport.settings import Settings
from modelport.signing import Keyring, sign_package


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    """The release key: trusted by the keyrings made here."""
    return Signer.make(tmp_path_factory.mktemp("keys") / "release")


@pytest.fixture(scope="session")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    """A valid key pair nobody here trusts."""
    return Signer.make(tmp_path_factory.mktemp("keys") / "stranger")


@pytest.fixture
def unsigned_copy(tmp_path: Path, loan_package_path: Path) -> Path:
    return copy_package(loan_package_path, tmp_path / "unsigned")


@pytest.fixture
def signed_copy(tmp_path: Path, loan_package_path: Path, signer: Signer) -> Path:
    """A copy of the loan package signed by ``signer`` (signature.json beside the manifest)."""
    path = copy_package(loan_package_path, tmp_path / "signed")
    sign_package(path, signer.private_key)
    return path


@pytest.fixture
def keyring(tmp_path: Path, signer: Signer) -> Keyring:
    """A trusted-keys directory holding the release key (as ``release``)."""
    ring = Keyring(tmp_path / "trusted-keys")
    ring.trust(signer.public_path)
    return ring


@pytest.fixture
def strict_settings(registry_settings: Settings, keyring: Keyring) -> Settings:
    """``registry_settings`` requiring signatures by the keys in ``keyring``."""
    return registry_settings.model_copy(
        update={"require_signature": True, "trusted_keys_dir": keyring.directory}
    )


@pytest.fixture
def lax_settings(registry_settings: Settings, keyring: Keyring) -> Settings:
    """The same registry and keys, signatures not required."""
    return registry_settings.model_copy(update={"trusted_keys_dir": keyring.directory})


@pytest.fixture
def open_registry() -> Iterator[Callable[[Settings], Registry]]:
    """``open_registry(settings)``: a registry closed when the test ends."""
    opened: list[Registry] = []

    def make(settings: Settings) -> Registry:
        registry = Registry.from_settings(settings)
        opened.append(registry)
        return registry

    yield make
    for registry in opened:
        registry.close()
