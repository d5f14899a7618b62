"""Registry API on a real database (SQLite and PostgreSQL) and artifact store: versions,
aliases, lookups."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

import modelport as mp
from modelport.datasets import LOAN_FEATURES
from modelport.errors import (
    AliasNotFound,
    InvalidName,
    ModelNotFound,
    NotFound,
    PackageError,
    VersionNotFound,
)
from modelport.package import Package, pack
from modelport.registry import ModelRef, Registry
from modelport.settings import Settings


def test_register_makes_version_one_in_the_store(
    registry: Registry, registry_settings: Settings, loan_package_path: Path
) -> None:
    version = registry.register(loan_package_path)
    assert (version.name, version.version, version.aliases) == ("loan-approval", 1, ())
    assert (version.task, version.runtime) == ("binary", "onnx")
    assert version.created_at.tzinfo is UTC
    assert version.path == registry_settings.artifacts_dir / "sha256" / version.digest
    assert version.path.is_dir() and version.path != loan_package_path
    assert sorted(p.name for p in version.path.iterdir()) == sorted(
        p.name for p in loan_package_path.iterdir()
    )


def test_registering_the_same_package_again_returns_the_same_version(
    registry: Registry, loan_package_path: Path, loan_copy: Path, tmp_path: Path
) -> None:
    first = registry.register(loan_package_path)
    assert registry.register(loan_package_path) == first
    assert registry.register(loan_copy) == first  # same bytes elsewhere: same package
    archive = pack(loan_package_path, tmp_path / "loan.mpk")
    assert registry.register(archive) == first
    assert len(registry.get_model("loan-approval").versions) == 1


def test_a_different_package_becomes_version_two(
    registry: Registry, loan_package_path: Path, second_loan_package: Path
) -> None:
    one = registry.register(loan_package_path)
    two = registry.register(second_loan_package)
    assert (two.version, two.description) == (2, "small forest")
    assert two.digest != one.digest and two.path != one.path
    model = registry.get_model("loan-approval")
    assert [v.version for v in model.versions] == [1, 2]
    assert model.latest == two


def test_an_archive_registers_like_a_directory(
    registry: Registry, second_loan_package: Path, tmp_path: Path
) -> None:
    version = registry.register(pack(second_loan_package, tmp_path / "small.mpk"))
    assert version.version == 1
    assert registry.open("loan-approval:1").digest == version.digest


def test_versions_are_numbered_per_model(
    registry: Registry, loan_package_path: Path, fraud_package: Path, reseal: Callable[..., Path]
) -> None:
    registry.register(loan_package_path)
    assert registry.register(fraud_package).version == 1
    assert registry.register(reseal(name="fraud-score", description="b")).version == 2
    assert registry.register(reseal(description="b")).version == 2
    assert [m.name for m in registry.list_models()] == ["fraud-score", "loan-approval"]


def test_aliases_set_move_and_resolve_by_every_reference_form(
    registry: Registry, loan_package_path: Path, second_loan_package: Path
) -> None:
    one = registry.register(loan_package_path, alias="production")
    assert one.aliases == ("production",)
    two = registry.register(second_loan_package, alias="staging")
    assert registry.resolve("loan-approval").version == 1
    assert registry.resolve("loan-approval@production").version == 1
    assert registry.resolve("loan-approval@staging").version == 2
    assert registry.resolve("loan-approval:2").digest == two.digest
    assert registry.resolve(ModelRef("loan-approval", version=1)).digest == one.digest
    assert registry.alias_state() == {
        ("loan-approval", "production"): 1,
        ("loan-approval", "staging"): 2,
    }

    moved = registry.set_alias("loan-approval", "production", 2)
    assert moved.version == 2 and moved.aliases == ("production", "staging")
    assert registry.resolve("loan-approval").version == 2
    assert registry.open("loan-approval").digest == two.digest
    assert registry.alias_state()[("loan-approval", "production")] == 2
    assert registry.get_model("loan-approval").aliases == {"production": 2, "staging": 2}
    assert registry.get_version("loan-approval", 1).aliases == ()

    registry.register(loan_package_path, alias="staging")  # re-register moves the alias
    assert registry.resolve("loan-approval@staging").version == 1


def test_alias_moves_bump_a_revision_for_pollers(
    registry: Registry,
    registry_settings: Settings,
    loan_package_path: Path,
    reseal: Callable[..., Path],
) -> None:
    registry.register(loan_package_path)
    registry.register(reseal(description="v2"))
    before = registry.alias_state()
    for version in (1, 2, 2, 1):  # the repeated 2 is no move, so no new revision
        registry.set_alias("loan-approval", "canary", version)
    engine = create_engine(registry_settings.resolved_database_url)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT version, revision FROM aliases")).one()
    engine.dispose()
    assert tuple(row) == (1, 3)
    assert before == {} and registry.alias_state() == {("loan-approval", "canary"): 1}


def test_unknown_model_lists_the_registered_ones(
    registry: Registry, loan_package_path: Path, fraud_package: Path
) -> None:
    with pytest.raises(ModelNotFound, match="no models are registered"):
        registry.resolve("loan-approval")
    registry.register(loan_package_path)
    registry.register(fraud_package)
    for call in (
        lambda: registry.get_model("nope"),
        lambda: registry.get_version("nope", 1),
        lambda: registry.resolve("nope@staging"),
        lambda: registry.open("nope:1"),
        lambda: registry.set_alias("nope", "production", 1),
    ):
        with pytest.raises(ModelNotFound) as caught:
            call()
        assert str(caught.value) == (
            "no model named 'nope'; registered models: fraud-score, loan-approval"
        )
        assert caught.value.code == "model_not_found"
        assert isinstance(caught.value, NotFound)


def test_unknown_alias_lists_the_models_aliases(
    registry: Registry, loan_package_path: Path, second_loan_package: Path
) -> None:
    registry.register(loan_package_path)
    registry.register(second_loan_package)
    with pytest.raises(AliasNotFound, match=r"no alias 'production'.*e\.g\. 'loan-approval:2'"):
        registry.resolve("loan-approval")
    registry.set_alias("loan-approval", "staging", 2)
    registry.set_alias("loan-approval", "canary", 1)
    with pytest.raises(AliasNotFound) as caught:
        registry.open("loan-approval@shadow")
    assert str(caught.value) == (
        "model 'loan-approval' has no alias 'shadow'; "
        "its aliases: canary (version 1), staging (version 2)"
    )


def test_unknown_version_says_which_exist(
    registry: Registry, loan_package_path: Path, second_loan_package: Path
) -> None:
    registry.register(loan_package_path)
    with pytest.raises(VersionNotFound, match="has no version 2; its only version is 1"):
        registry.get_version("loan-approval", 2)
    registry.register(second_loan_package)
    with pytest.raises(VersionNotFound, match="has no version 7; its versions are 1 to 2"):
        registry.resolve("loan-approval:7")
    with pytest.raises(VersionNotFound):
        registry.set_alias("loan-approval", "production", 3)
    assert registry.alias_state() == {}


@pytest.mark.parametrize(
    "bad", ["../etc", "a/b", "%2e%2e", "name;drop table", "Loan", "", "x" * 65, "a b"]
)
def test_invalid_names_are_refused_before_anything_happens(
    registry: Registry, loan_package_path: Path, bad: str, entries: Callable[[], set[str]]
) -> None:
    registry.register(loan_package_path)
    for call in (
        lambda: registry.get_model(bad),
        lambda: registry.get_version(bad, 1),
        lambda: registry.resolve(bad),
        lambda: registry.resolve(f"loan-approval@{bad}"),
        lambda: registry.open(ModelRef("loan-approval", alias=bad)),
        lambda: registry.set_alias(bad, "production", 1),
        lambda: registry.set_alias("loan-approval", bad, 1),
        lambda: registry.register(loan_package_path, alias=bad),
    ):
        with pytest.raises(InvalidName):
            call()
    assert registry.alias_state() == {}
    assert len(entries()) == 1


@pytest.mark.parametrize("bad", [0, -1, 2**31, True])
def test_invalid_version_numbers(registry: Registry, loan_package_path: Path, bad: int) -> None:
    registry.register(loan_package_path)
    with pytest.raises(InvalidName):
        registry.get_version("loan-approval", bad)
    with pytest.raises(InvalidName):
        registry.set_alias("loan-approval", "production", bad)


def test_missing_or_foreign_sources_are_package_errors(
    registry: Registry, tmp_path: Path, entries: Callable[[], set[str]]
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackageError, match="no package at"):
        registry.register(tmp_path / "nothing-here")
    with pytest.raises(PackageError, match=r"modelport\.yaml is missing"):
        registry.register(tmp_path / "empty")
    assert entries() == set()


def test_concurrent_registrations_get_distinct_versions(
    registry_settings: Settings, reseal: Callable[..., Path]
) -> None:
    sources = [reseal(description=f"variant {i}") for i in range(5)]
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(sources))

    def register(source: Path) -> None:
        try:
            with Registry.from_settings(registry_settings) as own:
                start.wait()
                results.append(own.register(source, alias="latest").version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [1, 2, 3, 4, 5]


def test_open_returns_the_verified_stored_package(
    registry: Registry, loan_package_path: Path
) -> None:
    version = registry.register(loan_package_path, alias="production")
    package = registry.open("loan-approval")
    assert isinstance(package, Package)
    assert (package.path, package.digest, package.name) == (
        version.path,
        version.digest,
        "loan-approval",
    )
    assert registry.manifest("loan-approval:1") == package.manifest


def test_a_registry_reference_loads_a_scorer(
    registry: Registry, loan_package_path: Path, loan_frame: pd.DataFrame
) -> None:
    registry.register(loan_package_path, alias="production")
    scorer = mp.load("loan-approval", registry=registry)
    predicted = scorer.predict(loan_frame[LOAN_FEATURES].head(5))
    assert len(predicted) == 5
