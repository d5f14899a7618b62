"""Shared fixtures: a realistic loan data set, a fitted pipeline, a built package, and the
registry databases (SQLite and PostgreSQL, see ``databases.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

import modelport as mp
from databases import BACKENDS, PostgresServer, PostgresUnavailable
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline


@pytest.fixture(scope="session")
def loan_frame() -> pd.DataFrame:
    return loan_applications(3_000, seed=7)


@pytest.fixture(scope="session")
def fitted_loan_model(loan_frame: pd.DataFrame) -> Pipeline:
    model = loan_pipeline(RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0))
    return model.fit(loan_frame[LOAN_FEATURES], loan_frame["approved"])


@pytest.fixture(scope="session")
def loan_package_path(
    tmp_path_factory: pytest.TempPathFactory, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> Path:
    """A built package of the loan model; tests must not modify it (copy it first)."""
    path = tmp_path_factory.mktemp("packages") / "loan-approval"
    mp.package(fitted_loan_model, loan_frame, name="loan-approval", path=path)
    return path


BuildVersion = Callable[..., Path]


@pytest.fixture(scope="session")
def build_loan_version(
    tmp_path_factory: pytest.TempPathFactory, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> BuildVersion:
    """``build(description, **params)``: another real build of ``loan-approval``, the loan
    pipeline refit with ``params`` changed, so registering it makes another version."""

    def build(description: str, **params: object) -> Path:
        model = clone(fitted_loan_model).set_params(**params)
        model.fit(loan_frame[LOAN_FEATURES], loan_frame["approved"])
        path = tmp_path_factory.mktemp("packages") / "loan-approval-variant"
        mp.package(model, loan_frame, name="loan-approval", path=path, description=description)
        return path

    return build


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The PostgreSQL server tests make their databases on; an ERROR (never a skip) if down."""
    try:
        server = PostgresServer.connect()
    except PostgresUnavailable as exc:
        unavailable = str(exc)
    else:
        unavailable = ""
    if unavailable:
        pytest.fail(unavailable, pytrace=False)
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The registry database of one test: ``None`` for SQLite (the default file under the
    registry's home), else the URL of a new PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def registry_settings(tmp_path: Path, database_url: str | None):
    """Settings with a temporary home and a database of their own (SQLite or PostgreSQL)."""
    from modelport.settings import Settings

    return Settings(home=tmp_path / "modelport-home", database_url=database_url)


@pytest.fixture
def registry(registry_settings):
    """An empty registry (database and artifact store) of ``registry_settings``."""
    from modelport.registry import Registry

    with Registry.from_settings(registry_settings) as opened:
        yield opened
