"""Packages for registry tests: the shared loan package, a second real build, re-sealed copies."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.settings import Settings

Reseal = Callable[..., Path]


def _reseal(source: Path, target: Path, **changes: Any) -> Path:
    shutil.copytree(source, target)
    manifest = Manifest.read(target).model_copy(update=changes).sealed()
    (target / MANIFEST_FILE).write_text(manifest.to_yaml(), encoding="utf-8")
    return target


@pytest.fixture
def reseal(tmp_path: Path, loan_package_path: Path) -> Reseal:
    """``reseal(name=..., description=...)``: a valid copy of the loan package whose
    manifest differs in those fields, so it has a new digest."""
    counter = iter(range(1_000))

    def make(**changes: Any) -> Path:
        return _reseal(loan_package_path, tmp_path / f"resealed-{next(counter)}", **changes)

    return make


@pytest.fixture
def loan_copy(tmp_path: Path, loan_package_path: Path) -> Path:
    """A private copy of the loan package, free to tamper with."""
    return Path(shutil.copytree(loan_package_path, tmp_path / "loan-copy"))


@pytest.fixture(scope="session")
def second_loan_package(build_loan_version: Callable[..., Path]) -> Path:
    """Another real build of ``loan-approval`` (a smaller forest), so another version."""
    return build_loan_version("small forest", model__n_estimators=5, model__max_depth=3)


@pytest.fixture(scope="session")
def fraud_package(tmp_path_factory: pytest.TempPathFactory, loan_package_path: Path) -> Path:
    """A package of a second model name (the loan package re-sealed as ``fraud-score``)."""
    target = tmp_path_factory.mktemp("packages") / "fraud-score"
    return _reseal(loan_package_path, target, name="fraud-score")


def store_entries(settings: Settings) -> set[str]:
    """Names in the artifact store's ``sha256`` folder (entries and any leftovers)."""
    root = settings.artifacts_dir / "sha256"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


@pytest.fixture
def entries(registry_settings: Settings) -> Callable[[], set[str]]:
    return lambda: store_entries(registry_settings)
