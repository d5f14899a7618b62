"""modelport: bring trained models into production unchanged, and provably so.

import modelport as mp
built = mp.package(pipeline, sample, name="loan-approval", path="dist/loan-approval")
scorer = mp.load("dist/loan-approval")          # or a registry reference: "loan-approval@staging"
scorer.predict(frame)                            # label + proba_<class> columns, or value
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.contract import Contract, FieldSpec, FieldType, infer_contract
from modelport.errors import (
    FieldError,
    IntegrityError,
    InvalidInput,
    ModelportError,
    NotFound,
    PackageError,
    ParityError,
    UnsupportedModel,
)
from modelport.package.build import BuiltPackage, package
from modelport.package.load import Package, load_scorer, open_package
from modelport.package.parity import ParityReport
from modelport.runtime import Prediction, Scorer
from modelport.settings import Settings, modelport_version

if TYPE_CHECKING:
    from modelport.registry import Registry

# Everything here needs only the core install; importing modelport never imports an
# extra (package() imports scikit-learn and ONNX when it runs, and says which extra to
# install when they are missing). One name is imported when first used: the registry
# (SQLAlchemy's ORM, Alembic, signing) would add about 30 MB and a few tenths of a second
# to every process that imports modelport, and the ones that only score a package by path
# (each spawned batch worker, each Dask task process) never use it.


def __getattr__(name: str) -> Any:
    if name == "Registry":
        from modelport.registry import Registry

        globals()[name] = Registry
        return Registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
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
]

__version__ = modelport_version()


def load(source: str | Path, *, registry: Registry | None = None, threads: int = 1) -> Scorer:
    """A scorer for a package path (directory or ``.mpk``) or a registry reference.

    A reference is ``NAME`` (its production alias), ``NAME@ALIAS`` or ``NAME:VERSION``.
    Either way every digest is verified before anything is loaded, and with
    ``MODELPORT_REQUIRE_SIGNATURE`` a package must be signed by a trusted key.
    """
    from modelport.registry.opening import open_model

    opened = open_model(source, Settings(), registry=registry)
    return load_scorer(opened.package, threads=threads)
