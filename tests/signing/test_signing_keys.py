"""Key pairs, key ids, signatures over digests, and the trusted-keys directory."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from signing_helpers import Signer

from modelport.errors import SignatureError
from modelport.signing import (
    Keyring,
    Signature,
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
    sign_digest,
    verifies,
)
from modelport.signing.signatures import SIGNED_PREFIX

DIGEST = hashlib.sha256(b"a package").hexdigest()
OTHER_DIGEST = hashlib.sha256(b"another package").hexdigest()


def test_a_key_pair_is_a_private_key_only_its_owner_reads_and_a_public_key(
    tmp_path: Path,
) -> None:
    private, public, kid = generate_key_pair(tmp_path / "keys" / "release")
    assert (private.name, public.name) == ("release.key", "release.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) & 0o077 == 0o044
    assert b"PRIVATE KEY" in private.read_bytes() and b"PRIVATE" not in public.read_bytes()
    public_key = load_public_key(public)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert kid == key_id(public_key) == hashlib.sha256(raw).hexdigest()[:16]
    assert key_id(load_private_key(private).public_key()) == kid


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    private, _, _ = generate_key_pair(tmp_path / "release")
    before = private.read_bytes()
    with pytest.raises(SignatureError, match="already exists"):
        generate_key_pair(tmp_path / "release")
    assert private.read_bytes() == before


def test_keys_that_are_not_unencrypted_ed25519_pem_are_refused(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = tmp_path / "ec.key"
    ec_pem.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SignatureError, match="not an Ed25519"):
        load_private_key(ec_pem)
    ec_public = tmp_path / "ec.pub"
    ec_public.write_bytes(
        ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(SignatureError, match="not an Ed25519"):
        load_public_key(ec_public)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(SignatureError, match="encrypted"):
        load_private_key(encrypted)
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    with pytest.raises(SignatureError, match="not a PEM private key"):
        load_private_key(junk)
    with pytest.raises(SignatureError, match="cannot read"):
        load_private_key(tmp_path / "missing.key")


def test_a_signature_verifies_for_its_digest_and_key_only(signer: Signer, stranger: Signer) -> None:
    signature = sign_digest(signer.private_key, DIGEST)
    public_key = load_public_key(signer.public_path)
    assert signature.key_id == signer.key_id and signature.digest == DIGEST
    assert verifies(signature, public_key)
    moved = Signature(signature.key_id, OTHER_DIGEST, signature.value)
    assert not verifies(moved, public_key)
    flipped = bytearray(signature.value)
    flipped[0] ^= 1
    assert not verifies(Signature(signature.key_id, DIGEST, bytes(flipped)), public_key)
    assert not verifies(signature, load_public_key(stranger.public_path))


def test_what_is_signed_is_domain_separated(signer: Signer) -> None:
    """A signature over the bare digest (something else the key might sign) is no package
    signature, and a package signature is over the prefixed digest."""
    bare = signer.private_key.sign(DIGEST.encode())
    assert not verifies(Signature(signer.key_id, DIGEST, bare), load_public_key(signer.public_path))
    signature = sign_digest(signer.private_key, DIGEST)
    load_public_key(signer.public_path).verify(signature.value, SIGNED_PREFIX + DIGEST.encode())


def test_signature_entries_round_trip_and_malformed_ones_are_refused(signer: Signer) -> None:
    signature = sign_digest(signer.private_key, DIGEST)
    entry = signature.to_dict()
    assert entry["algorithm"] == "ed25519"
    assert Signature.from_dict(entry, origin="x") == signature
    bad = [
        ({**entry, "algorithm": "rsa"}, "not supported"),
        ({**entry, "key_id": "nothex"}, "not a key id"),
        ({**entry, "digest": "abc"}, "names no package digest"),
        ({**entry, "signature": "!!!"}, "not valid base64"),
        ({**entry, "signature": entry["signature"][:40]}, "altered or truncated"),
        ({k: v for k, v in entry.items() if k != "key_id"}, "no key_id"),
    ]
    for data, words in bad:
        with pytest.raises(SignatureError, match=words):
            Signature.from_dict(data, origin="signature.json")


def test_the_keyring_trusts_lists_finds_and_distrusts(
    tmp_path: Path, signer: Signer, stranger: Signer
) -> None:
    ring = Keyring(tmp_path / "trusted")
    assert ring.trusted_keys() == [] and ring.describe() == "none"
    release = ring.trust(signer.public_path)
    assert (release.name, release.key_id) == ("release", signer.key_id)
    assert release.path == tmp_path / "trusted" / "release.pub"
    assert ring.trust(signer.public_path) == release  # again: nothing changes
    other = ring.trust(stranger.public_path, name="ci-bot")
    assert [k.name for k in ring.trusted_keys()] == ["ci-bot", "release"]
    assert ring.find(stranger.key_id) == other and ring.find("0" * 16) is None
    assert ring.describe() == f"ci-bot ({stranger.key_id}), release ({signer.key_id})"
    with pytest.raises(SignatureError, match="already trusted as 'release'"):
        ring.trust(signer.public_path, name="again")
    with pytest.raises(SignatureError, match="another key"):
        ring.trust(signer.public_path, name="ci-bot")
    with pytest.raises(SignatureError, match="not a key name"):
        ring.trust(stranger.public_path, name="../escape")
    assert ring.distrust(stranger.key_id).name == "ci-bot"
    assert ring.distrust("release").key_id == signer.key_id
    assert ring.trusted_keys() == []
    with pytest.raises(SignatureError, match="no trusted key"):
        ring.distrust("release")


def test_a_broken_trusted_key_file_is_an_error_not_an_empty_keyring(tmp_path: Path) -> None:
    ring = Keyring(tmp_path / "trusted")
    ring.directory.mkdir()
    (ring.directory / "broken.pub").write_text("-----BEGIN PUBLIC KEY-----\nxx\n")
    with pytest.raises(SignatureError, match="broken.pub"):
        ring.trusted_keys()
