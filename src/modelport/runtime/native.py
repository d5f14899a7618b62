"""The native runtime: the original estimator, for models that cannot be converted with parity.

It is loaded with skops, never pickle, and only from an explicit list of trusted types
that the package names and :func:`is_safe_native_type` checks against modelport's policy.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelport.contract import Contract, FieldType
from modelport.errors import PackageError
from modelport.extras import require
from modelport.runtime.prediction import Prediction, Task

__all__ = ["NativeRuntime", "is_safe_native_type"]

# What a native (skops) package may ask to trust: the libraries the estimator is made of.
# The list comes from the package, so it is checked against this policy, not believed.
# A prefix alone is not a policy: ``numpy.lib.npyio.DataSource`` is a NumPy class whose
# finalizer deletes the directory its (loaded) state names. So, beyond the prefix:
#   - classes only, named where they are defined or re-exported by the library itself;
#   - no class with a finalizer (``__del__`` runs whatever state skops restored);
#   - nothing from test or testing modules;
#   - NumPy: dtypes, scalar types, plain arrays and the random generators only;
#   - SciPy: sparse matrices and arrays only (subclasses of ``scipy.sparse``'s base).
_SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
_SAFE_BUILTINS = frozenset(
    f"builtins.{name}" for name in ("dict", "list", "tuple", "set", "frozenset", "slice", "str")
)
_TEST_SEGMENTS = frozenset({"tests", "test", "testing", "_testing", "conftest"})


def is_safe_native_type(name: str) -> bool:
    """Whether a type may be loaded from a native package (never functions or modules)."""
    if name in _SAFE_BUILTINS:
        return True
    if not isinstance(name, str) or not name.startswith(_SAFE_TYPE_PREFIXES):
        return False
    module_name, _, attribute = name.rpartition(".")
    segments = module_name.split(".")
    if any(s in _TEST_SEGMENTS or s.startswith("test_") for s in segments):
        return False
    if not all(s.isidentifier() for s in [*segments, attribute]):
        return False  # "hook-numpy" and the like: not modules an estimator is made of
    # Classes only: a function (a FunctionTransformer's ``func``, a numpy ufunc) is how
    # code would ride in. Importing these libraries' own modules to look is harmless.
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError):
        return False
    if not isinstance(found, type):
        return False
    if any("__del__" in vars(base) for base in found.__mro__ if base is not object):
        return False
    if name.startswith("numpy."):
        return _is_numpy_data_type(found)
    if name.startswith("scipy.sparse."):
        from scipy.sparse._base import _spbase

        return issubclass(found, _spbase)
    return True


def _is_numpy_data_type(found: type) -> bool:
    """Dtypes, scalars, ``ndarray`` itself and the random generators: data, not I/O."""
    if found is np.ndarray or issubclass(found, np.dtype | np.generic):
        return True
    random = np.random
    return found in (random.RandomState, random.Generator, random.SeedSequence) or issubclass(
        found, random.BitGenerator
    )


class NativeRuntime:
    """The original estimator, loaded with skops from an explicit list of trusted types."""

    def __init__(
        self,
        path: Path,
        contract: Contract,
        task: Task,
        classes: list[Any] | None,
        trusted_types: list[str],
    ) -> None:
        require("build", f"scoring the native (skops) model {path.name}")
        import skops.io as sio

        self.contract, self.task, self.classes = contract, task, classes
        unsafe = sorted(t for t in trusted_types if not is_safe_native_type(t))
        if unsafe:
            raise PackageError(
                f"native model {path.name} asks to trust types modelport never loads: "
                f"{', '.join(unsafe)}"
            )
        untrusted = set(sio.get_untrusted_types(file=path)) - set(trusted_types)
        if untrusted:
            raise PackageError(
                f"native model {path.name} holds types outside its trusted list: "
                f"{', '.join(sorted(untrusted))}"
            )
        self.estimator = sio.load(path, trusted=trusted_types)

    def frame(self, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for spec in self.contract.fields:
            column = columns[spec.name]
            if (
                spec.type is FieldType.INTEGER
                or spec.type is FieldType.NUMBER
                or spec.type is FieldType.BOOLEAN
            ):
                data[spec.name] = column
            else:
                data[spec.name] = np.where(pd.isna(column), np.nan, column).astype(object)
        return pd.DataFrame(data)

    def run(self, columns: Mapping[str, np.ndarray], n_rows: int) -> Prediction:
        if n_rows == 0:
            return Prediction.empty(self.task, self.classes)
        frame = self.frame(columns)
        if self.task is Task.REGRESSION:
            values = np.asarray(self.estimator.predict(frame), dtype=np.float64).reshape(n_rows)
            return Prediction(self.task, self.classes, values=values)
        probabilities = np.asarray(self.estimator.predict_proba(frame), dtype=np.float64)
        labels = np.asarray(self.estimator.predict(frame))
        return Prediction(self.task, self.classes, labels=labels, probabilities=probabilities)
