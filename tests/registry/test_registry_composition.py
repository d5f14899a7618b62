"""The registry is composed, not inherited: models, versions, aliases, audit and gate
policies are its own; job runs, API keys, signatures and cache invalidations are small
repositories reached as attributes, all over the registry's one database. A signature and
its audit event are still written in one transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from modelport.errors import RegistryError
from modelport.registry import (
    Action,
    ApiKeys,
    CacheInvalidations,
    JobRuns,
    Registry,
    RunStatus,
    Signatures,
)
from modelport.registry.database import create_registry_engine
from modelport.settings import Settings
from modelport.signing import generate_key_pair, load_private_key, sign_digest

MODEL = "loan-approval"

# What Registry itself offers: models, versions, aliases, audit, gate policies, opening.
REGISTRY_OWN = {
    "alias_history",
    "alias_info",
    "alias_state",
    "close",
    "delete_version",
    "from_settings",
    "gate_policies",
    "get_model",
    "get_version",
    "history",
    "keyring",
    "list_models",
    "manifest",
    "move_alias",
    "open",
    "record_attempt",
    "register",
    "require_signature",
    "resolve",
    "set_alias",
    "set_gate_policy",
}
REPOSITORIES = {
    "job_runs": JobRuns,
    "api_keys": ApiKeys,
    "signatures": Signatures,
    "invalidations": CacheInvalidations,
}


def test_the_registry_has_no_base_classes_and_a_small_surface() -> None:
    assert Registry.__bases__ == (object,)
    public = {name for name in vars(Registry) if not name.startswith("_")}
    assert public == REGISTRY_OWN


def test_each_repository_is_an_attribute_over_the_registry_database(registry: Registry) -> None:
    for name, kind in REPOSITORIES.items():
        assert type(getattr(registry, name)) is kind, name
    databases = {id(vars(getattr(registry, name))["_database"]) for name in REPOSITORIES}
    assert databases == {id(vars(registry)["_database"])}


def test_the_repositories_write_and_read_through_the_registry(registry: Registry) -> None:
    run = registry.job_runs.start("nightly", datetime.now(UTC), host="h", pid=1)
    registry.job_runs.finish(run.id, RunStatus.SUCCEEDED, rows=(3, 2, 1))
    made, key = registry.api_keys.create("ci", ["metrics"], actor="ops")
    added = registry.invalidations.add("customers", actor="ops")
    assert [r.status for r in registry.job_runs.list()] == [RunStatus.SUCCEEDED]
    assert registry.api_keys.find(made.key_id) == made and key.startswith("mpk_")
    assert registry.invalidations.since(0) == (added.id, [added])
    assert registry.api_keys.revoke(made.key_id).revoked_at is not None
    assert registry.api_keys.list() == []


@pytest.fixture
def raw_engine(registry_settings: Settings) -> Iterator[Engine]:
    """The registry's database, reached past the registry (as its owner could)."""
    engine = create_registry_engine(registry_settings.resolved_database_url)
    yield engine
    engine.dispose()


def refuse_sign_events(engine: Engine) -> None:
    """A trigger refusing audit events of signing: a write that records one fails at it."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_sign BEFORE INSERT ON audit_events "
                "WHEN NEW.action = 'sign' BEGIN SELECT RAISE(ABORT, 'sign refused'); END"
            )
            return
        connection.exec_driver_sql(
            "CREATE FUNCTION refuse_sign() RETURNS trigger AS $$ BEGIN "
            "IF NEW.action = 'sign' THEN RAISE EXCEPTION 'sign refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_sign BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_sign()"
        )


def test_a_signature_and_its_audit_event_are_one_transaction(
    registry: Registry, raw_engine: Engine, loan_package_path: Path, tmp_path: Path
) -> None:
    version = registry.register(loan_package_path)
    private_path, _, _ = generate_key_pair(tmp_path / "signer")
    signature = sign_digest(load_private_key(private_path), version.digest)
    refuse_sign_events(raw_engine)
    with pytest.raises(RegistryError, match="sign refused"):
        registry.signatures.add(f"{MODEL}:1", signature, actor="ops")
    assert registry.signatures.list(f"{MODEL}:1") == []  # the signature went with the event
    with raw_engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse_sign" + _on_table(raw_engine)))
    registry.signatures.add(f"{MODEL}:1", signature, actor="ops")
    assert registry.signatures.list(f"{MODEL}:1") == [signature]
    assert registry.history(MODEL)[0].action is Action.SIGN


def _on_table(engine: Engine) -> str:
    return "" if engine.dialect.name == "sqlite" else " ON audit_events"
