"""API keys for service-to-service calls: ``mpk_<key id>_<secret>``, shown once.

Only a salted SHA-256 of the secret is stored (``modelport.registry``'s ``api_keys``
table). The secret is 32 random bytes, so no dictionary or brute-force attack on a
stolen hash is possible, and a fast hash keeps a request's check in microseconds; a slow
password hash (scrypt, argon2) protects low-entropy passwords, which these are not. The
key id in front lets a request's key be found without a scan; the secret is then
compared in constant time.

:class:`ApiKeyVerifier` remembers looked-up keys for ``ttl`` seconds: a request costs no
database round trip, and a revoked key stops working within ``ttl`` on every server.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from modelport.errors import Unauthenticated
from modelport.security.principals import Principal

__all__ = [
    "API_KEY_PREFIX",
    "ApiKey",
    "ApiKeyVerifier",
    "hash_secret",
    "new_api_key",
    "split_api_key",
]

API_KEY_PREFIX = "mpk_"
_KEY = re.compile(r"mpk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_REMEMBERED = 4096


@dataclass(frozen=True)
class ApiKey:
    """A stored key: everything but the secret (``salt`` and ``secret_hash`` check it)."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    salt: str
    secret_hash: str

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def new_api_key() -> tuple[str, str, str]:
    """A fresh ``(key_id, secret, key)``; ``key`` is what the client sends."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"{API_KEY_PREFIX}{key_id}_{secret}"


def split_api_key(key: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else ``None``."""
    match = _KEY.fullmatch(key)
    return None if match is None else (match[1], match[2])


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("ascii")).hexdigest()


class ApiKeyVerifier:
    """Checks keys against ``lookup(key_id)`` (the registry), remembering lookups ``ttl`` s."""

    def __init__(
        self,
        lookup: Callable[[str], ApiKey | None],
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.ttl = ttl
        self._clock = clock
        self._known: OrderedDict[str, tuple[ApiKey | None, float]] = OrderedDict()
        # keys that verified, with when their record was read: no hash per request
        self._principals: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def cached(self, key: str) -> Principal | None:
        """The principal if the key's record is remembered and fresh; ``None``: call
        :meth:`verify` (it may query the database, so off the event loop)."""
        hit = self._principals.get(key)  # the common case: a client reusing its key
        now = self._clock()
        if hit is not None and now - hit[1] <= self.ttl:
            principal = hit[0]
            if principal.expires_at is None or principal.expires_at > time.time():
                return principal
        parts = split_api_key(key)
        if parts is None:
            raise Unauthenticated("the API key is malformed")
        found = self._known.get(parts[0])
        if found is None or now - found[1] > self.ttl:
            return None
        return self._accept(key, found, parts[1])

    def verify(self, key: str) -> Principal:
        parts = split_api_key(key)
        if parts is None:
            raise Unauthenticated("the API key is malformed")
        key_id, secret = parts
        found = (self._lookup(key_id), self._clock())
        self._known[key_id] = found  # unknown ids too: no database flood
        self._known.move_to_end(key_id)
        if len(self._known) > _REMEMBERED:
            self._known.popitem(last=False)
        return self._accept(key, found, secret)

    def _accept(self, key: str, found: tuple[ApiKey | None, float], secret: str) -> Principal:
        principal = _check(found[0], secret)
        self._principals[key] = (principal, found[1])
        if len(self._principals) > _REMEMBERED:
            self._principals.popitem(last=False)
        return principal


def _check(record: ApiKey | None, secret: str) -> Principal:
    if record is None or not hmac.compare_digest(
        hash_secret(secret, record.salt), record.secret_hash
    ):
        raise Unauthenticated("the API key is not valid")
    now = datetime.now(record.created_at.tzinfo)
    status = record.status(now)
    if status != "active":
        raise Unauthenticated(f"the API key was {status}")
    return Principal(
        subject=f"key {record.name}",
        scopes=frozenset(record.scopes),
        method="apikey",
        expires_at=None if record.expires_at is None else record.expires_at.timestamp(),
    )
