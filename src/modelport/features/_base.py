"""What every feature transformer shares: remembering and finding its input columns.

modelport pipelines are fitted on DataFrames, so columns are named; a transformer reads
its columns by name (or by position when fitted on a plain array) and records, at fit
time, where they sit among its inputs (``input_indices_``). The ONNX converter needs
exactly that to pick the same columns out of the graph's tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from modelport.features._arrays import as_float

__all__ = ["ColumnRef", "FeatureTransformer"]

ColumnRef = str | int  # a column name, or a position when fitted without names


class FeatureTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Base of the derived-feature transformers: column bookkeeping, nothing else."""

    def _input_names(self, X: Any) -> list[str]:
        if isinstance(X, pd.DataFrame):
            return [str(c) for c in X.columns]
        width = np.shape(X)[1] if np.ndim(X) == 2 else None
        if width is None:
            raise ValueError(f"{type(self).__name__} expects a 2-D table, got shape {np.shape(X)}")
        return [f"x{i}" for i in range(width)]

    def _fit_columns(self, X: Any, wanted: Sequence[ColumnRef] | None) -> None:
        """Record the inputs (``feature_names_in_``, ``n_features_in_``) and the columns read."""
        names = self._input_names(X)
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = len(names)
        if wanted is None:
            self.input_indices_ = list(range(len(names)))
            return
        indices: list[int] = []
        for ref in wanted:
            if isinstance(ref, str):
                if ref not in names:
                    raise ValueError(f"{type(self).__name__}: no column {ref!r} among {names}")
                indices.append(names.index(ref))
            elif isinstance(ref, int | np.integer) and -len(names) <= int(ref) < len(names):
                indices.append(int(ref) % len(names))
            else:
                raise ValueError(f"{type(self).__name__}: no column {ref!r} among {names}")
        self.input_indices_ = indices

    def _columns(self, X: Any) -> np.ndarray:
        """The columns read, as float64 ``[N, len(input_indices_)]`` (NaN where not numbers)."""
        check_is_fitted(self, "input_indices_")
        if isinstance(X, pd.DataFrame):
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None:
                wanted = [str(fitted[i]) for i in self.input_indices_]
                absent = [c for c in wanted if c not in X.columns]
                if absent:
                    raise ValueError(f"{type(self).__name__}: missing columns {absent}")
                return as_float(X[wanted])
            return as_float(X.iloc[:, self.input_indices_])
        array = np.asarray(X)
        if array.ndim != 2 or array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} columns, "
                f"got shape {array.shape}"
            )
        return as_float(array[:, self.input_indices_])

    def _names_in(self, input_features: Any = None) -> list[str]:
        check_is_fitted(self, "input_indices_")
        if input_features is not None:
            names = [str(n) for n in input_features]
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"input_features has {len(names)} names, expected {self.n_features_in_}"
                )
            return names
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None:
            return [str(n) for n in fitted]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _read_names(self, input_features: Any = None) -> list[str]:
        names = self._names_in(input_features)
        return [names[i] for i in self.input_indices_]
