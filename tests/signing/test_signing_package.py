"""signature.json on a package: written by signing, accepted by verification, carried by
archives, and read (without unpacking) before registration."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest
from signing_helpers import MODEL_FILE, Signer, copy_package, flip_byte

from modelport.errors import IntegrityError, SignatureError
from modelport.package import open_package
from modelport.package.archive import pack, read_members, unpack
from modelport.package.load import verify_directory
from modelport.package.manifest import MANIFEST_FILE
from modelport.signing import (
    SIGNATURE_FILE,
    load_public_key,
    read_signature_file,
    sign_package,
    source_signatures,
    verifies,
)


def test_signing_adds_signature_json_and_the_package_still_verifies(
    unsigned_copy: Path, signer: Signer
) -> None:
    digest = verify_directory(unsigned_copy).digest
    signature = sign_package(unsigned_copy, signer.private_key)
    assert signature.digest == digest
    document = json.loads((unsigned_copy / SIGNATURE_FILE).read_text())
    assert document == {"signatures": [signature.to_dict()]}
    assert verify_directory(unsigned_copy).digest == digest  # not part of the digest
    assert open_package(unsigned_copy).digest == digest
    assert verifies(read_signature_file(unsigned_copy)[0], load_public_key(signer.public_path))
    assert [p.name for p in unsigned_copy.iterdir() if p.name.startswith(".")] == []


def test_signing_again_replaces_the_keys_entry_and_another_key_adds_one(
    signed_copy: Path, signer: Signer, stranger: Signer
) -> None:
    sign_package(signed_copy, signer.private_key)
    assert [s.key_id for s in read_signature_file(signed_copy)] == [signer.key_id]
    sign_package(signed_copy, stranger.private_key)
    assert [s.key_id for s in read_signature_file(signed_copy)] == [
        signer.key_id,
        stranger.key_id,
    ]


def test_only_signature_json_may_sit_outside_the_manifest(signed_copy: Path) -> None:
    (signed_copy / "extra.txt").write_text("smuggled")
    with pytest.raises(IntegrityError, match="unexpected file extra.txt"):
        verify_directory(signed_copy)


def test_a_package_altered_after_signing_fails_verification_and_cannot_be_signed(
    signed_copy: Path, signer: Signer
) -> None:
    flip_byte(signed_copy / MODEL_FILE)
    with pytest.raises(IntegrityError, match=MODEL_FILE):
        open_package(signed_copy)
    with pytest.raises(IntegrityError, match=MODEL_FILE):
        sign_package(signed_copy, signer.private_key)


def test_a_malformed_signature_file_is_refused(signed_copy: Path) -> None:
    (signed_copy / SIGNATURE_FILE).write_text("{not json")
    with pytest.raises(SignatureError, match="not valid JSON"):
        read_signature_file(signed_copy)
    (signed_copy / SIGNATURE_FILE).write_text('{"signed": []}')
    with pytest.raises(SignatureError, match='no "signatures" list'):
        read_signature_file(signed_copy)


def test_archives_carry_the_signature_file(tmp_path: Path, signed_copy: Path) -> None:
    archive = pack(signed_copy, tmp_path / "loan.mpk")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[:2] == [MANIFEST_FILE, SIGNATURE_FILE]  # readable without the model
    unpacked = unpack(archive, tmp_path / "unpacked")
    assert read_signature_file(unpacked) == read_signature_file(signed_copy)
    assert open_package(archive).digest == verify_directory(signed_copy).digest
    members = read_members(archive, {SIGNATURE_FILE, MANIFEST_FILE})
    assert members[SIGNATURE_FILE] == (signed_copy / SIGNATURE_FILE).read_bytes()


def test_an_unsigned_archive_has_no_signature_file(tmp_path: Path, unsigned_copy: Path) -> None:
    archive = pack(unsigned_copy, tmp_path / "loan.mpk")
    with tarfile.open(archive) as tar:
        assert SIGNATURE_FILE not in tar.getnames()
    assert read_members(archive, {SIGNATURE_FILE}) == {}


def test_an_archive_is_signed_in_place(tmp_path: Path, unsigned_copy: Path, signer: Signer) -> None:
    archive = pack(unsigned_copy, tmp_path / "loan.mpk")
    signature = sign_package(archive, signer.private_key)
    carried = source_signatures(archive)
    assert carried.signatures == [signature]
    assert carried.claimed_digest == signature.digest == open_package(archive).digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loan.mpk", "unsigned"]


def test_source_signatures_reads_the_claims_without_verifying(
    tmp_path: Path, signed_copy: Path
) -> None:
    carried = source_signatures(signed_copy)
    assert carried.claimed_digest == verify_directory(signed_copy).digest
    assert [s.digest for s in carried.signatures] == [carried.claimed_digest]
    broken = copy_package(signed_copy, tmp_path / "broken")
    (broken / MANIFEST_FILE).write_text("{{{")
    assert source_signatures(broken).claimed_digest is None  # left for verification to report
    shutil.rmtree(broken)
    assert source_signatures(broken).signatures == []
