"""A signature over a package digest, and how it is made and checked.

What is signed is the package digest (which covers the manifest, which covers every
file's SHA-256), prefixed with a fixed domain string: ``modelport-package-signature-v1``
and a newline. The prefix means a signature made here can never be passed off as a
signature over anything else the same key might sign (and the reverse), and ``v1`` lets
a later format coexist.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from modelport.errors import SignatureError
from modelport.signing.keys import KEY_ID_PATTERN, key_id

__all__ = [
    "ALGORITHM",
    "SIGNED_PREFIX",
    "Signature",
    "sign_digest",
    "signed_message",
    "verifies",
]

ALGORITHM = "ed25519"
SIGNED_PREFIX = b"modelport-package-signature-v1\n"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SIGNATURE_BYTES = 64


@dataclass(frozen=True, slots=True)
class Signature:
    """One Ed25519 signature by the key ``key_id`` over the package ``digest``."""

    key_id: str
    digest: str
    value: bytes
    algorithm: str = ALGORITHM

    @property
    def encoded(self) -> str:
        """The signature bytes as base64 (how files and the registry keep them)."""
        return base64.b64encode(self.value).decode("ascii")

    def to_dict(self) -> dict[str, str]:
        return {
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "digest": self.digest,
            "signature": self.encoded,
        }

    @classmethod
    def from_parts(cls, key_id: str, digest: str, encoded: str, *, origin: str) -> Signature:
        """A signature from its stored parts, checked for form (not validity)."""
        return cls.from_dict(
            {"key_id": key_id, "algorithm": ALGORITHM, "digest": digest, "signature": encoded},
            origin=origin,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str) -> Signature:
        """Read one entry of ``signature.json`` (or a registry row); errors name ``origin``."""
        if not isinstance(data, Mapping):
            raise SignatureError(f"{origin}: a signature entry is not an object")
        fields = {name: data.get(name) for name in ("key_id", "algorithm", "digest", "signature")}
        for name, value in fields.items():
            if not isinstance(value, str):
                raise SignatureError(f"{origin}: a signature entry has no {name} string")
        kid, algorithm, digest, encoded = (str(v) for v in fields.values())
        if algorithm != ALGORITHM:
            raise SignatureError(
                f"{origin}: signature algorithm {algorithm[:20]!r} is not supported ({ALGORITHM})"
            )
        if not KEY_ID_PATTERN.fullmatch(kid):
            raise SignatureError(f"{origin}: {kid[:40]!r} is not a key id (16 hex characters)")
        if not _DIGEST.fullmatch(digest):
            raise SignatureError(f"{origin}: the signature by key {kid} names no package digest")
        try:
            value = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError(
                f"{origin}: the signature by key {kid} is not valid base64"
            ) from None
        if len(value) != _SIGNATURE_BYTES:
            raise SignatureError(
                f"{origin}: the signature by key {kid} is {len(value)} bytes, not "
                f"{_SIGNATURE_BYTES}: the signature was altered or truncated"
            )
        return cls(key_id=kid, digest=digest, value=value)


def signed_message(digest: str) -> bytes:
    """The exact bytes a package signature signs."""
    if not _DIGEST.fullmatch(digest):
        raise SignatureError(f"{digest[:70]!r} is not a SHA-256 package digest")
    return SIGNED_PREFIX + digest.encode("ascii")


def sign_digest(private_key: Ed25519PrivateKey, digest: str) -> Signature:
    """Sign the package ``digest`` with ``private_key``."""
    value = private_key.sign(signed_message(digest))
    return Signature(key_id=key_id(private_key.public_key()), digest=digest, value=value)


def verifies(signature: Signature, public_key: Ed25519PublicKey) -> bool:
    """Whether ``signature`` is ``public_key``'s signature over its digest."""
    if key_id(public_key) != signature.key_id:
        return False
    try:
        public_key.verify(signature.value, signed_message(signature.digest))
    except InvalidSignature:
        return False
    return True
