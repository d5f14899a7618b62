"""Fixtures of the security suite: the loan package as an ``.mpk``, a native (skops)
package, and the live-server helpers (:mod:`live_server`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

import live_server
import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_pipeline
from modelport.package import pack


@pytest.fixture(scope="session")
def server_helpers() -> ModuleType:
    """``start_server``, ``stop_server``, ``refusal``, ``Deployment``: :mod:`live_server`."""
    return live_server


@pytest.fixture(scope="session")
def loan_mpk(tmp_path_factory: pytest.TempPathFactory, loan_package_path: Path) -> Path:
    """The session's loan package as one ``.mpk`` file (do not modify)."""
    return pack(loan_package_path, tmp_path_factory.mktemp("mpk") / "loan-approval.mpk")


@pytest.fixture(scope="session")
def native_package_path(tmp_path_factory: pytest.TempPathFactory, loan_frame: pd.DataFrame) -> Path:
    """A native (skops) package: k-nearest neighbours cannot be converted with parity."""
    rows = loan_frame.head(300)
    model = loan_pipeline(KNeighborsClassifier(n_neighbors=15))
    model.fit(rows[LOAN_FEATURES], rows["approved"])
    path = tmp_path_factory.mktemp("native") / "knn"
    built = mp.package(model, rows, name="knn", path=path, allow_native=True)
    assert built.manifest.runtime == "native"
    return path


@pytest.fixture
def native_copy(tmp_path: Path, native_package_path: Path) -> Path:
    """A private, writable copy of the native package."""
    copy = tmp_path / "knn-copy"
    shutil.copytree(native_package_path, copy)
    return copy
