"""The numeric and geographic features as scikit-learn transformers.

Training code puts these in its pipeline (usually inside a ``ColumnTransformer``), so the
model is trained on exactly the function that scores it. Each follows scikit-learn's
conventions: parameters stored untouched in ``__init__``, learned state with a trailing
underscore, ``fit`` returning ``self``, ``get_feature_names_out`` (so ``set_output`` and
the next step's column names work). Each outputs only the features it derives, float64.

All of them convert exactly to ONNX (:mod:`modelport.package.converters.features`), so a
pipeline using them packages with a parity proof like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from modelport.features._base import ColumnRef, FeatureTransformer
from modelport.features.geo import check_references, haversine_km
from modelport.features.numeric import bucket, check_edges, log, min_max, ratio, z_score

__all__ = ["Bucketize", "HaversineNearest", "Log", "MinMaxScale", "Ratio", "ZScore"]


def _column_list(columns: Sequence[ColumnRef] | ColumnRef | None) -> list[ColumnRef] | None:
    if columns is None:
        return None
    if isinstance(columns, str | int):
        return [columns]
    return list(columns)


class MinMaxScale(FeatureTransformer):
    """:func:`~modelport.features.numeric.min_max` with ``min_``/``max_`` learned per column.

    ``columns``: the columns to scale (all inputs when ``None``). Missing and infinite
    values are ignored when learning; a column with none left gets ``min_ = 0, max_ = 1``.
    """

    def __init__(self, columns: Sequence[ColumnRef] | ColumnRef | None = None) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> MinMaxScale:
        self._fit_columns(X, _column_list(self.columns))
        values = self._columns(X)
        present = np.isfinite(values)
        empty = ~present.any(axis=0)
        filled_low = np.where(present, values, np.inf)
        filled_high = np.where(present, values, -np.inf)
        self.min_ = np.where(empty, 0.0, filled_low.min(axis=0, initial=np.inf))
        self.max_ = np.where(empty, 1.0, filled_high.max(axis=0, initial=-np.inf))
        return self

    def transform(self, X: Any) -> np.ndarray:
        return min_max(self._columns(X), self.min_, self.max_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._read_names(input_features), dtype=object)


class ZScore(FeatureTransformer):
    """:func:`~modelport.features.numeric.z_score` with ``mean_``/``std_`` learned per column.

    The standard deviation is the population one (``ddof=0``), as ``StandardScaler``'s;
    missing and infinite values are ignored when learning; a column with none left gets
    ``0`` and ``1``.
    """

    def __init__(self, columns: Sequence[ColumnRef] | ColumnRef | None = None) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> ZScore:
        self._fit_columns(X, _column_list(self.columns))
        values = self._columns(X)
        present = np.isfinite(values)
        count = present.sum(axis=0)
        safe_count = np.maximum(count, 1)
        mean = np.where(present, values, 0.0).sum(axis=0) / safe_count
        deviation = np.where(present, np.where(present, values, 0.0) - mean, 0.0)
        std = np.sqrt((deviation * deviation).sum(axis=0) / safe_count)
        self.mean_ = np.where(count == 0, 0.0, mean)
        self.std_ = np.where(count == 0, 1.0, std)
        return self

    def transform(self, X: Any) -> np.ndarray:
        return z_score(self._columns(X), self.mean_, self.std_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._read_names(input_features), dtype=object)


class Log(FeatureTransformer):
    """:func:`~modelport.features.numeric.log` of each column: ``ln(x + offset)``."""

    def __init__(
        self, columns: Sequence[ColumnRef] | ColumnRef | None = None, offset: float = 1.0
    ) -> None:
        self.columns = columns
        self.offset = offset

    def fit(self, X: Any, y: Any = None) -> Log:
        if not np.isfinite(float(self.offset)):
            raise ValueError(f"Log offset must be a finite number, got {self.offset!r}")
        self._fit_columns(X, _column_list(self.columns))
        return self

    def transform(self, X: Any) -> np.ndarray:
        return log(self._columns(X), float(self.offset))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._read_names(input_features), dtype=object)


class Bucketize(FeatureTransformer):
    """:func:`~modelport.features.numeric.bucket`: each column's bucket index.

    ``edges`` are shared by every column and must be finite and strictly increasing.
    """

    def __init__(
        self,
        edges: Sequence[float] = (0.0,),
        columns: Sequence[ColumnRef] | ColumnRef | None = None,
    ) -> None:
        self.edges = edges
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> Bucketize:
        self.edges_ = check_edges(self.edges)
        self._fit_columns(X, _column_list(self.columns))
        return self

    def transform(self, X: Any) -> np.ndarray:
        return bucket(self._columns(X), self.edges_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._read_names(input_features), dtype=object)


class Ratio(FeatureTransformer):
    """:func:`~modelport.features.numeric.ratio` of two columns, one output column.

    The output is named ``name``, or ``"<numerator>_per_<denominator>"`` by default.
    """

    def __init__(
        self,
        numerator: ColumnRef = 0,
        denominator: ColumnRef = 1,
        name: str | None = None,
    ) -> None:
        self.numerator = numerator
        self.denominator = denominator
        self.name = name

    def fit(self, X: Any, y: Any = None) -> Ratio:
        self._fit_columns(X, [self.numerator, self.denominator])
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = self._columns(X)
        return ratio(values[:, 0], values[:, 1]).reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        top, bottom = self._read_names(input_features)
        return np.asarray([self.name or f"{top}_per_{bottom}"], dtype=object)


class HaversineNearest(FeatureTransformer):
    """:func:`~modelport.features.geo.haversine_km` to the nearest of ``references``.

    ``lat``/``lon`` name the columns (degrees); ``references`` is a list of
    ``(lat, lon)`` pairs, stored as ``references_`` (``[k, 2]`` float64) when fitted.
    One output column, named ``name``.
    """

    def __init__(
        self,
        lat: ColumnRef = "lat",
        lon: ColumnRef = "lon",
        references: Sequence[tuple[float, float]] | None = None,
        name: str = "nearest_km",
    ) -> None:
        self.lat = lat
        self.lon = lon
        self.references = references
        self.name = name

    def fit(self, X: Any, y: Any = None) -> HaversineNearest:
        pairs = np.asarray(self.references if self.references is not None else [], np.float64)
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ValueError("HaversineNearest needs references as a list of (lat, lon) pairs")
        lats, lons = check_references(pairs[:, 0], pairs[:, 1])
        self.references_ = np.column_stack([lats, lons])
        self._fit_columns(X, [self.lat, self.lon])
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = self._columns(X)
        refs = self.references_
        return haversine_km(values[:, 0], values[:, 1], refs[:, 0], refs[:, 1]).reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        self._read_names(input_features)  # checks fitted and the names given
        return np.asarray([self.name], dtype=object)
