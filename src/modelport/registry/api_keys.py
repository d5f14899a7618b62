"""API keys in the registry database: created (the secret returned once), listed, revoked.

Reached as ``registry.api_keys``. The hashing and the key format live in
:mod:`modelport.security.api_keys`; here is only what is stored and how.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelport.errors import InvalidName, NotFound
from modelport.package.manifest import check_name
from modelport.registry.audit import default_actor
from modelport.registry.database import Database
from modelport.registry.schema import ApiKeyRow
from modelport.security.api_keys import ApiKey, hash_secret, new_api_key
from modelport.security.principals import check_scopes

__all__ = ["ApiKeys"]


class ApiKeys:
    """API key records, as ``registry.api_keys``: created, listed, found, revoked."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def create(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        expires_at: datetime | None = None,
        actor: str | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key named ``name`` with ``scopes``: its record and the key itself, which
        is never stored and cannot be shown again."""
        check_name(name, "key name")
        checked = check_scopes(scopes)
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidName("give the expiry with a time zone (UTC)")
        key_id, secret, key = new_api_key()
        salt = secrets.token_hex(16)
        secret_hash = hash_secret(secret, salt)  # before the write lock is taken
        who = (actor or default_actor())[:128]

        def add(session: Session) -> ApiKey:
            row = ApiKeyRow(
                key_id=key_id,
                name=name,
                scopes=checked,
                salt=salt,
                secret_hash=secret_hash,
                created_at=datetime.now(UTC),
                created_by=who,
                expires_at=expires_at,
            )
            session.add(row)
            session.flush()
            return _snapshot(row)

        return self._database.write(add), key

    def list(self, *, include_revoked: bool = False) -> builtins.list[ApiKey]:
        """The keys, oldest first; revoked ones only with ``include_revoked``."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self._database.reading() as session:
            return [_snapshot(row) for row in session.scalars(query)]

    def find(self, key_id: str) -> ApiKey | None:
        """The key with id ``key_id`` (revoked or not), ``None`` if there is none."""
        with self._database.reading() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            return None if row is None else _snapshot(row)

    def revoke(self, key_id: str, *, actor: str | None = None) -> ApiKey:
        """Revoke the key (servers stop accepting it within their key cache's TTL)."""
        who = (actor or default_actor())[:128]

        def revoke(session: Session) -> ApiKey:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            if row is None:
                raise NotFound(f"no API key {key_id[:40]!r}: see `modelport keys list`")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
                row.revoked_by = who
            session.flush()
            return _snapshot(row)

        return self._database.write(revoke)


def _snapshot(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        salt=row.salt,
        secret_hash=row.secret_hash,
    )
