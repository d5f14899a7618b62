"""API keys in the registry (SQLite and PostgreSQL): shown once, stored hashed, revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from modelport.errors import InvalidName, NotFound, Unauthenticated
from modelport.registry import Registry
from modelport.security.api_keys import ApiKeyVerifier, split_api_key


def test_a_key_is_stored_only_as_a_salted_hash(registry: Registry, registry_settings) -> None:
    made, key = registry.api_keys.create("ci", ["predict:loan", "metrics"], actor="ops")
    key_id, secret = split_api_key(key) or ("", "")
    assert key_id == made.key_id and made.created_by == "ops"
    engine = create_engine(registry_settings.resolved_database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).mappings().all()
    engine.dispose()
    stored = " ".join(str(v) for v in rows[0].values())
    assert secret not in stored and key not in stored
    again, other = registry.api_keys.create("ci-2", ["predict:loan"])
    assert again.salt != made.salt and other != key


def test_verification_revocation_and_expiry(registry: Registry) -> None:
    made, key = registry.api_keys.create("scorer", ["predict:loan"])
    clock = [0.0]
    verifier = ApiKeyVerifier(registry.api_keys.find, ttl=5, clock=lambda: clock[0])
    assert verifier.cached(key) is None  # not looked up yet
    principal = verifier.verify(key)
    assert principal.may_predict("loan") and principal.method == "apikey"
    assert verifier.cached(key) == principal
    registry.api_keys.revoke(made.key_id, actor="ops")
    assert verifier.cached(key) == principal  # within the TTL the remembered record holds
    clock[0] += 6
    assert verifier.cached(key) is None
    with pytest.raises(Unauthenticated, match="revoked"):
        verifier.verify(key)
    [listed] = registry.api_keys.list(include_revoked=True)[:1]
    assert listed.revoked_by == "ops" and registry.api_keys.list() == []

    _, old = registry.api_keys.create(
        "old", ["admin"], expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(old)


@pytest.mark.parametrize(
    "key", ["", "mpk_", "mpk_zzzzzzzzzzzz_" + "a" * 43, "Bearer x", "mpk_0123456789ab_short"]
)
def test_malformed_keys_never_reach_the_database(key: str) -> None:
    def lookup(key_id: str) -> None:
        raise AssertionError("looked up a malformed key")

    with pytest.raises(Unauthenticated, match="malformed"):
        ApiKeyVerifier(lookup).verify(key)


def test_bad_names_scopes_and_unknown_ids_are_refused(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(InvalidName):
        registry.api_keys.create("../etc", ["admin"])
    with pytest.raises(InvalidName, match="unknown scope"):
        registry.api_keys.create("ok", ["root"])
    with pytest.raises(InvalidName, match="time zone"):
        registry.api_keys.create("ok", ["admin"], expires_at=datetime(2030, 1, 1))
    with pytest.raises(NotFound):
        registry.api_keys.revoke("0123456789ab")
