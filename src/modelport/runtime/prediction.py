"""What every scorer returns: columns of predictions, convertible to a frame or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Prediction", "Task"]


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


@dataclass(frozen=True, slots=True)
class Prediction:
    """Predictions for ``n`` rows: labels and probabilities, or values."""

    task: Task
    classes: list[Any] | None
    labels: np.ndarray | None = None
    probabilities: np.ndarray | None = None  # (n, n_classes) float64, columns in ``classes`` order
    values: np.ndarray | None = None  # (n,) float64

    @classmethod
    def empty(cls, task: Task, classes: list[Any] | None) -> Prediction:
        """A prediction for no rows, shaped as ``task`` and ``classes`` make every other."""
        if task is Task.REGRESSION:
            return cls(task, classes, values=np.empty(0))
        n_classes = len(classes or [])
        return cls(
            task, classes, labels=np.empty(0, dtype=object), probabilities=np.empty((0, n_classes))
        )

    def __len__(self) -> int:
        column = self.values if self.values is not None else self.labels
        return 0 if column is None else int(column.shape[0])

    def take(self, rows: np.ndarray) -> Prediction:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return Prediction(
            self.task, self.classes, pick(self.labels), pick(self.probabilities), pick(self.values)
        )

    def column_names(self) -> list[str]:
        if self.task is Task.REGRESSION:
            return ["value"]
        return ["label", *(f"proba_{c}" for c in self.classes or [])]

    def to_frame(self, index: Any = None) -> pd.DataFrame:
        """``label`` and ``proba_<class>`` columns for classifiers, ``value`` for regressors."""
        if self.task is Task.REGRESSION:
            return pd.DataFrame({"value": self.values}, index=index)
        data: dict[str, Any] = {"label": self.labels}
        if self.probabilities is not None:
            for i, cls in enumerate(self.classes or []):
                data[f"proba_{cls}"] = self.probabilities[:, i]
        return pd.DataFrame(data, index=index)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready answers, one per row (the ``prediction`` of the HTTP API)."""
        if self.task is Task.REGRESSION:
            assert_present(self.values, "values")
            return [{"value": v} for v in self.values.tolist()]  # type: ignore[union-attr]
        assert_present(self.labels, "labels")
        assert_present(self.probabilities, "probabilities")
        keys = [str(c) for c in self.classes or []]
        labels = self.labels.tolist()  # type: ignore[union-attr]
        rows = self.probabilities.tolist()  # type: ignore[union-attr]
        if self.task is Task.BINARY:
            return [
                {"label": label, "probabilities": dict(zip(keys, p, strict=True)), "score": p[1]}
                for label, p in zip(labels, rows, strict=True)
            ]
        return [
            {"label": label, "probabilities": dict(zip(keys, p, strict=True))}
            for label, p in zip(labels, rows, strict=True)
        ]


def assert_present(array: np.ndarray | None, name: str) -> None:
    if array is None:
        raise ValueError(f"this prediction has no {name}")
