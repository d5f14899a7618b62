"""The registry keeps package signatures by digest and, when signatures are required,
refuses unsigned, untrusted or altered packages at registration and at every open.

Every test runs on SQLite and on PostgreSQL (``database_url``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from signing_helpers import (
    MODEL,
    MODEL_FILE,
    Signer,
    altered_base64,
    copy_package,
    edit_signature_file,
    flip_byte,
    run_sql,
    store_entries,
)

from modelport.errors import IntegrityError, SignatureError
from modelport.package.archive import pack
from modelport.package.load import verify_directory
from modelport.registry import Registry
from modelport.settings import Settings
from modelport.signing import SIGNATURE_FILE, Keyring, sign_digest, sign_package

OpenRegistry = Callable[[Settings], Registry]


def assert_nothing_written(registry: Registry, settings: Settings) -> None:
    assert registry.list_models() == []
    assert store_entries(settings) == set()
    assert run_sql(settings, "SELECT count(*) FROM package_signatures")[0][0] == 0


def test_registering_keeps_the_packages_signatures_by_digest(
    open_registry: OpenRegistry, lax_settings: Settings, signed_copy: Path, signer: Signer
) -> None:
    registry = open_registry(lax_settings)
    version = registry.register(signed_copy)
    kept = registry.signatures.list(f"{MODEL}:1")
    assert [(s.key_id, s.digest) for s in kept] == [(signer.key_id, version.digest)]
    rows = run_sql(lax_settings, "SELECT digest, key_id, added_by FROM package_signatures")
    assert [(r[0], r[1]) for r in rows] == [(version.digest, signer.key_id)] and rows[0][2]
    entry = lax_settings.artifacts_dir / "sha256" / version.digest
    assert not (entry / SIGNATURE_FILE).exists()  # the store keeps what the digest covers
    assert registry.open(MODEL + ":1").digest == version.digest
    registry.register(signed_copy)  # again: still one row
    assert len(registry.signatures.list(f"{MODEL}:1")) == 1


def test_a_signed_package_is_registered_and_opened_when_required(
    open_registry: OpenRegistry, strict_settings: Settings, signed_copy: Path, tmp_path: Path
) -> None:
    registry = open_registry(strict_settings)
    version = registry.register(signed_copy, alias="production")
    assert registry.open(MODEL).digest == version.digest
    archive = pack(signed_copy, tmp_path / "loan.mpk")  # and as an archive
    assert registry.register(archive).version == 1


def test_an_unsigned_package_is_refused_and_nothing_is_written(
    open_registry: OpenRegistry, strict_settings: Settings, unsigned_copy: Path
) -> None:
    registry = open_registry(strict_settings)
    with pytest.raises(SignatureError, match="is refused: unsigned") as caught:
        registry.register(unsigned_copy)
    assert str(unsigned_copy) in caught.value.message
    assert_nothing_written(registry, strict_settings)


def test_a_package_signed_by_an_untrusted_key_is_refused_naming_the_trusted_ones(
    open_registry: OpenRegistry,
    strict_settings: Settings,
    unsigned_copy: Path,
    stranger: Signer,
    signer: Signer,
) -> None:
    sign_package(unsigned_copy, stranger.private_key)
    registry = open_registry(strict_settings)
    with pytest.raises(SignatureError) as caught:
        registry.register(unsigned_copy)
    assert (
        f"signed by key {stranger.key_id} which is not trusted "
        f"(trusted: release ({signer.key_id}))" in caught.value.message
    )
    assert_nothing_written(registry, strict_settings)


def test_an_altered_signature_file_is_refused_and_nothing_is_written(
    open_registry: OpenRegistry, strict_settings: Settings, signed_copy: Path, signer: Signer
) -> None:
    entry = (signed_copy / SIGNATURE_FILE).read_text()
    registry = open_registry(strict_settings)
    original = sign_digest(signer.private_key, verify_directory(signed_copy).digest)
    edit_signature_file(signed_copy, signature=altered_base64(original.encoded))
    with pytest.raises(SignatureError) as caught:
        registry.register(signed_copy)
    assert (
        f"signature by key {signer.key_id} does not verify: the package or signature was "
        "altered" in caught.value.message
    )
    assert_nothing_written(registry, strict_settings)
    (signed_copy / SIGNATURE_FILE).write_text(entry)
    edit_signature_file(signed_copy, digest="0" * 64)  # a signature of another package
    with pytest.raises(SignatureError, match="unsigned .*over other packages: 000000000000"):
        registry.register(signed_copy)
    assert_nothing_written(registry, strict_settings)


def test_a_package_altered_after_signing_is_refused(
    open_registry: OpenRegistry, strict_settings: Settings, signed_copy: Path
) -> None:
    flip_byte(signed_copy / MODEL_FILE)
    registry = open_registry(strict_settings)
    with pytest.raises(IntegrityError, match=f"{MODEL_FILE} does not match"):
        registry.register(signed_copy)
    assert_nothing_written(registry, strict_settings)


def test_a_signature_copied_onto_another_package_does_not_make_it_signed(
    open_registry: OpenRegistry, strict_settings: Settings, signed_copy: Path, tmp_path: Path
) -> None:
    """A rebuilt package (another digest) that kept the old signature.json."""
    rebuilt = copy_package(signed_copy, tmp_path / "rebuilt", description="rebuilt")
    registry = open_registry(strict_settings)
    with pytest.raises(SignatureError, match="unsigned .*changed after it was signed"):
        registry.register(rebuilt)
    assert_nothing_written(registry, strict_settings)


def test_a_bad_signature_by_a_trusted_key_is_refused_even_when_not_required(
    open_registry: OpenRegistry, lax_settings: Settings, signed_copy: Path, signer: Signer
) -> None:
    original = sign_digest(signer.private_key, verify_directory(signed_copy).digest)
    edit_signature_file(signed_copy, signature=altered_base64(original.encoded))
    registry = open_registry(lax_settings)
    with pytest.raises(SignatureError, match=f"signature by key {signer.key_id} does not verify"):
        registry.register(signed_copy)
    assert_nothing_written(registry, lax_settings)


def test_open_refuses_an_unsigned_version_until_it_is_signed(
    open_registry: OpenRegistry,
    lax_settings: Settings,
    strict_settings: Settings,
    unsigned_copy: Path,
    signer: Signer,
) -> None:
    version = open_registry(lax_settings).register(unsigned_copy, alias="production")
    strict = open_registry(strict_settings)
    with pytest.raises(SignatureError) as caught:
        strict.open(MODEL)
    assert caught.value.message.startswith(
        f"{MODEL}:1 (package {version.digest[:12]}) is refused: unsigned"
    )
    strict.signatures.add(
        f"{MODEL}:1", sign_digest(signer.private_key, version.digest), actor="release-manager"
    )
    assert strict.open(MODEL).digest == version.digest
    signed = strict.history(MODEL)[0]  # the audit trail says who vouched for it, and when
    assert (signed.action, signed.actor, signed.version) == ("sign", "release-manager", 1)
    assert signed.detail["key_id"] == signer.key_id


def test_open_refuses_signature_rows_altered_in_the_database(
    open_registry: OpenRegistry,
    strict_settings: Settings,
    signed_copy: Path,
    tmp_path: Path,
    signer: Signer,
) -> None:
    """Whoever can write to the database cannot make a version trusted: an altered
    signature, one moved from another package, or junk, is refused."""
    registry = open_registry(strict_settings)
    first = registry.register(signed_copy)
    second_path = copy_package(signed_copy, tmp_path / "second", description="second")
    (second_path / SIGNATURE_FILE).unlink()
    sign_package(second_path, signer.private_key)
    second = registry.register(second_path)
    assert registry.open(f"{MODEL}:2").digest == second.digest
    (encoded,) = run_sql(
        strict_settings,
        "SELECT signature FROM package_signatures WHERE digest = :d",
        d=first.digest,
    )[0]
    refused = f"signature by key {signer.key_id} does not verify"

    run_sql(
        strict_settings,
        "UPDATE package_signatures SET signature = :s WHERE digest = :d",
        s=altered_base64(encoded),
        d=first.digest,
    )
    with pytest.raises(SignatureError, match=refused):
        registry.open(f"{MODEL}:1")

    run_sql(
        strict_settings,
        "UPDATE package_signatures SET signature = 'junk' WHERE digest = :d",
        d=first.digest,
    )
    with pytest.raises(SignatureError, match=refused):
        registry.open(f"{MODEL}:1")

    # the second version's row swapped onto the first digest (and the first's removed)
    run_sql(strict_settings, "DELETE FROM package_signatures WHERE digest = :d", d=first.digest)
    run_sql(
        strict_settings,
        "UPDATE package_signatures SET digest = :first WHERE digest = :second",
        first=first.digest,
        second=second.digest,
    )
    with pytest.raises(SignatureError, match=refused):
        registry.open(f"{MODEL}:1")
    with pytest.raises(SignatureError, match="unsigned"):
        registry.open(f"{MODEL}:2")


def test_a_key_distrusted_is_refused_at_the_next_open(
    open_registry: OpenRegistry, strict_settings: Settings, signed_copy: Path, keyring: Keyring
) -> None:
    registry = open_registry(strict_settings)
    registry.register(signed_copy)
    registry.open(f"{MODEL}:1")
    keyring.distrust("release")
    with pytest.raises(SignatureError, match=r"not trusted \(trusted: none\)"):
        registry.open(f"{MODEL}:1")


def test_add_signature_refuses_one_over_another_digest_or_that_does_not_verify(
    open_registry: OpenRegistry, lax_settings: Settings, unsigned_copy: Path, signer: Signer
) -> None:
    registry = open_registry(lax_settings)
    version = registry.register(unsigned_copy)
    with pytest.raises(SignatureError, match="is over package 000000000000"):
        registry.signatures.add(f"{MODEL}:1", sign_digest(signer.private_key, "0" * 64))
    good = sign_digest(signer.private_key, version.digest)
    forged = type(good)(good.key_id, good.digest, bytes(64))
    with pytest.raises(SignatureError, match="does not verify"):
        registry.signatures.add(f"{MODEL}:1", forged)
    assert registry.signatures.list(f"{MODEL}:1") == []
    registry.signatures.add(f"{MODEL}:1", good)
    registry.signatures.add(f"{MODEL}:1", good)  # again: still one
    assert registry.signatures.list(f"{MODEL}:1") == [good]
