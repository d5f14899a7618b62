"""The date features as scikit-learn transformers that run as pre-steps when packaged.

They take the whole DataFrame and return it with the date column replaced by the
features derived from it, so they sit at the **head** of a ``Pipeline``, before the
``ColumnTransformer`` that picks columns by name. When the pipeline is packaged, these
leading steps become the manifest's pre-steps (:func:`~modelport.features.presteps.
split_presteps`) and everything after them becomes the ONNX graph. ``transform`` is the
pre-step's own code, so training and scoring share one implementation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from modelport.features.dates import DATE_PARTS
from modelport.features.presteps import AgeFromDateStep, DatePartsStep, PreSteps

__all__ = ["AgeFromDate", "DateParts"]


class _PreStepTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """DataFrame in, DataFrame out: the source column swapped for its derived features."""

    def to_prestep(self) -> AgeFromDateStep | DatePartsStep:
        raise NotImplementedError

    def fit(self, X: Any, y: Any = None) -> Any:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame with named columns")
        step = self.to_prestep()  # validates the parameters
        if step.column not in X.columns:
            raise ValueError(f"{type(self).__name__}: no column {step.column!r} in the input")
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_in_")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{type(self).__name__} needs a pandas DataFrame with named columns")
        return PreSteps([self.to_prestep()]).apply(X, now=None)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_in_")
        names = [str(n) for n in (input_features if input_features is not None else [])]
        names = names or [str(n) for n in self.feature_names_in_]
        step = self.to_prestep()
        kept = [n for n in names if not (step.drop and n == step.column)]
        kept = [n for n in kept if n not in step.outputs]
        return np.asarray(kept + step.outputs, dtype=object)


class AgeFromDate(_PreStepTransformer):
    """Age in whole years from a date column (:func:`~modelport.features.dates.age_years`).

    ``now=None`` measures at the scoring date (today, UTC) every time ``transform`` runs,
    which is what a served model does; give a fixed date (``"2024-06-30"``) to train
    reproducibly. ``drop`` removes the date column once read.
    """

    def __init__(
        self,
        column: str = "date_of_birth",
        output: str = "age",
        now: dt.date | str | None = None,
        drop: bool = True,
    ) -> None:
        self.column = column
        self.output = output
        self.now = now
        self.drop = drop

    def to_prestep(self) -> AgeFromDateStep:
        """This transformer as the manifest's pre-step (same parameters, current version)."""
        return AgeFromDateStep.model_validate(
            {"column": self.column, "output": self.output, "now": self.now, "drop": self.drop}
        )


class DateParts(_PreStepTransformer):
    """Year, month, day of week ... of a date column, as ``<prefix>_<part>`` columns.

    ``prefix`` defaults to the column name; ``parts`` is any of
    :data:`~modelport.features.dates.DATE_PARTS`.
    """

    def __init__(
        self,
        column: str = "date",
        parts: Sequence[str] = DATE_PARTS,
        prefix: str | None = None,
        drop: bool = True,
    ) -> None:
        self.column = column
        self.parts = parts
        self.prefix = prefix
        self.drop = drop

    def to_prestep(self) -> DatePartsStep:
        """This transformer as the manifest's pre-step (same parameters, current version)."""
        return DatePartsStep(
            column=self.column, parts=list(self.parts), prefix=self.prefix, drop=self.drop
        )
