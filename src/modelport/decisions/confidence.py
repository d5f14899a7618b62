"""How sure the answer is: class probability and the margin to the decision boundary.

Definitions (every entry point uses these, so a margin means the same thing everywhere):

* ``probability`` (classifiers): the probability of the predicted class, i.e. the highest
  class probability of the row.
* ``margin`` for threshold rules: the **signed distance from the score to the nearest rule
  threshold**, ``score - threshold``, with that threshold reported next to it. Positive
  means the score lies above it, negative below; its absolute value is how far the score
  would have to move to reach the nearest boundary where a rule starts or stops matching.
  For ``value`` rules it is in the units of the prediction.
* ``margin`` for top-k, and for a multiclass model without rules: ``top1 - top2``, the gap
  between the two highest class probabilities (0 means a tie; no threshold).
* ``margin`` for a binary model without rules: ``score - 0.5``, since the label is the
  positive class exactly when its probability exceeds 0.5.
* A regression model without rules has no margin; its confidence is the conformal
  interval (:mod:`modelport.decisions.conformal`).

A row whose score is not a finite number has no margin (``NaN`` here, ``null`` in JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelport.decisions.apply import score_of
from modelport.decisions.rules import ThresholdRules, TopK
from modelport.runtime import Prediction, Task

__all__ = [
    "BINARY_THRESHOLD",
    "Margins",
    "margins",
    "predicted_probability",
    "threshold_margin",
    "top_margin",
]

BINARY_THRESHOLD = 0.5  # the implicit threshold of a binary model's label


@dataclass(frozen=True, slots=True)
class Margins:
    """Per-row margins; ``threshold`` is the threshold each margin is measured from
    (``None`` for the ``top1 - top2`` gap)."""

    margin: np.ndarray  # (n,) float64
    threshold: np.ndarray | None  # (n,) float64


def predicted_probability(prediction: Prediction) -> np.ndarray:
    """The probability of the predicted class (the row's highest probability)."""
    if prediction.probabilities is None:
        raise ValueError("this prediction has no class probabilities")
    probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
    if probabilities.shape[0] == 0:
        return np.empty(0)
    best: np.ndarray = probabilities.max(axis=1)
    best[~np.isfinite(probabilities).all(axis=1)] = np.nan
    return best


def threshold_margin(scores: np.ndarray, thresholds: Sequence[float]) -> Margins:
    """Signed distance ``score - t`` to the nearest ``t`` in ``thresholds``.

    When two thresholds are equally near, the first one listed is used.
    """
    if not thresholds:
        raise ValueError("a threshold margin needs at least one threshold")
    table = np.asarray(thresholds, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    distance = scores[:, None] - table[None, :]
    with np.errstate(invalid="ignore"):
        nearest = np.argmin(np.abs(np.nan_to_num(distance, nan=np.inf)), axis=1)
    margin = np.take_along_axis(distance, nearest[:, None], axis=1)[:, 0]
    threshold = table[nearest]
    unknown = ~np.isfinite(scores)
    margin[unknown] = np.nan
    threshold[unknown] = np.nan
    return Margins(margin, threshold)


def top_margin(probabilities: np.ndarray) -> np.ndarray:
    """``top1 - top2`` per row (``top1`` for a single class)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n, n_classes = probabilities.shape
    if n == 0:
        return np.empty(0)
    if n_classes == 1:
        return probabilities[:, 0].copy()
    top = -np.partition(-probabilities, 1, axis=1)[:, :2]
    gap = top[:, 0] - top[:, 1]
    gap[~np.isfinite(probabilities).all(axis=1)] = np.nan
    return gap


def margins(prediction: Prediction, declaration: ThresholdRules | TopK | None) -> Margins | None:
    """The margin of every row, as defined in this module's docstring (``None``: no margin)."""
    if isinstance(declaration, ThresholdRules):
        return threshold_margin(score_of(prediction, declaration.score), declaration.thresholds)
    if prediction.task is Task.REGRESSION:
        return None
    if prediction.probabilities is None:
        raise ValueError("this prediction has no class probabilities")
    if declaration is None and prediction.task is Task.BINARY:
        return threshold_margin(score_of(prediction, "score"), [BINARY_THRESHOLD])
    return Margins(top_margin(prediction.probabilities), None)
