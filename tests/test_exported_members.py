"""The public surface is exactly what ``__all__`` lists, and every listed name exists."""

from __future__ import annotations

import importlib

import pytest

import modelport as mp

PUBLIC = {
    "BuiltPackage",
    "Contract",
    "FieldError",
    "FieldSpec",
    "FieldType",
    "IntegrityError",
    "InvalidInput",
    "ModelportError",
    "NotFound",
    "Package",
    "PackageError",
    "ParityError",
    "ParityReport",
    "Prediction",
    "Registry",
    "Scorer",
    "Settings",
    "UnsupportedModel",
    "__version__",
    "infer_contract",
    "load",
    "open_package",
    "package",
}


def test_top_level_all_is_exact() -> None:
    assert set(mp.__all__) == PUBLIC


@pytest.mark.parametrize(
    "module",
    [
        "modelport",
        "modelport.errors",
        "modelport.contract",
        "modelport.package",
        "modelport.runtime",
        "modelport.registry",
        "modelport.lifecycle",
        "modelport.orchestrate",
        "modelport.decisions",
        "modelport.features",
        "modelport.predlog",
        "modelport.batch",
        "modelport.schedule",
        "modelport.serving",
        "modelport.server",
        "modelport.security",
        "modelport.signing",
    ],
)
def test_every_listed_name_exists(module: str) -> None:
    loaded = importlib.import_module(module)
    for name in loaded.__all__:
        assert hasattr(loaded, name), f"{module}.{name} is listed in __all__ but missing"


def test_every_error_has_a_unique_stable_code() -> None:
    from modelport import errors

    exported = [getattr(errors, n) for n in errors.__all__]
    classes = [c for c in exported if isinstance(c, type) and c is not errors.FieldError]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(issubclass(c, errors.ModelportError) for c in classes)
