"""Apply a declaration to a :class:`~modelport.runtime.Prediction`: one decision per row.

Vectorised over the rows with NumPy (one comparison per rule), so the same code serves a
single HTTP record and a million-row batch chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.decisions.rules import (
    PROBA_PREFIX,
    SCORE,
    UNDECIDED,
    VALUE,
    ThresholdRules,
    TopK,
)
from modelport.runtime import Prediction, Task

__all__ = ["NO_RULE", "Decisions", "apply", "score_of", "top_k"]

NO_RULE = -1  # ``rule_index`` of an undecided row: its score was not a finite number
_UNDECIDED_TEXT = "no rule: the score is not a finite number"


@dataclass(frozen=True, slots=True)
class Decisions:
    """The decision of every row and the rule that fired.

    ``rule_index`` counts the declaration's branches in order: ``0 .. len(rules) - 1`` for
    the rules, ``len(rules)`` for ``otherwise`` / ``fallback`` and :data:`NO_RULE` when the
    row is :data:`~modelport.decisions.rules.UNDECIDED`. ``rule_text`` is the human form
    (``"score >= 0.7"``, ``"else"``). For top-k, ``top_classes`` and ``top_probabilities``
    hold the ``k`` most probable classes of each row, most probable first.
    """

    decision: np.ndarray  # (n,) object: str
    rule_index: np.ndarray  # (n,) int64
    rule_text: np.ndarray  # (n,) object: str
    top_classes: np.ndarray | None = None  # (n, k) object: class labels as in ``classes``
    top_probabilities: np.ndarray | None = None  # (n, k) float64

    def __len__(self) -> int:
        return int(self.decision.shape[0])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready ``{"decision", "rule": {"index", "text"}[, "top_k"]}`` per row."""
        indexes = self.rule_index.tolist()
        records: list[dict[str, Any]] = [
            {
                "decision": decision,
                "rule": {"index": None if index == NO_RULE else index, "text": text},
            }
            for decision, index, text in zip(
                self.decision.tolist(), indexes, self.rule_text.tolist(), strict=True
            )
        ]
        if self.top_classes is not None and self.top_probabilities is not None:
            for record, classes, probabilities in zip(
                records, self.top_classes.tolist(), self.top_probabilities.tolist(), strict=True
            ):
                record["top_k"] = [
                    {"class": c, "probability": _json_float(p)}
                    for c, p in zip(classes, probabilities, strict=True)
                ]
        return records


def score_of(prediction: Prediction, score: str) -> np.ndarray:
    """The ``(n,)`` float64 column a threshold rule tests.

    ``"score"`` is the binary positive class, ``classes[1]``; ``"proba_<class>"`` matches
    the class whose ``str()`` is ``<class>`` (so ``proba_1`` for an integer class 1).
    """
    if score == VALUE:
        if prediction.task is not Task.REGRESSION or prediction.values is None:
            raise ValueError("'value' is only defined for a regression prediction")
        return np.asarray(prediction.values, dtype=np.float64)
    if prediction.probabilities is None:
        raise ValueError(f"{score!r} needs class probabilities; this prediction has none")
    probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
    if score == SCORE:
        if prediction.task is not Task.BINARY:
            raise ValueError("'score' is only defined for a binary prediction")
        return probabilities[:, 1]
    names = [str(c) for c in prediction.classes or []]
    wanted = score.removeprefix(PROBA_PREFIX)
    if not score.startswith(PROBA_PREFIX) or wanted not in names:
        raise ValueError(f"{score!r} is not an output of this prediction (classes {names})")
    return probabilities[:, names.index(wanted)]


def apply(declaration: ThresholdRules | TopK, prediction: Prediction) -> Decisions:
    """Decide every row of ``prediction`` (see :class:`Decisions`)."""
    if isinstance(declaration, TopK):
        return top_k(declaration, prediction)
    scores = score_of(prediction, declaration.score)
    n_rules = len(declaration.rules)
    index = np.full(scores.shape[0], n_rules, dtype=np.int64)
    # Last rule first, so an earlier rule overwrites a later one: first match wins.
    for i in range(n_rules - 1, -1, -1):
        index[_matches(declaration.rules[i].when, scores, declaration.rules[i].threshold)] = i
    index[~np.isfinite(scores)] = NO_RULE
    decisions = [rule.decision for rule in declaration.rules] + [declaration.otherwise]
    return _decided(index, decisions, declaration.texts())


def top_k(declaration: TopK, prediction: Prediction) -> Decisions:
    """The top class if its probability reaches ``min_probability``, else the fallback."""
    if prediction.probabilities is None or not prediction.task.is_classification:
        raise ValueError("top-k decisions need class probabilities (a classifier)")
    probabilities = np.asarray(prediction.probabilities, dtype=np.float64)
    classes = list(prediction.classes or [])
    if declaration.k > len(classes):
        raise ValueError(f"top-{declaration.k} asks for more classes than the {len(classes)}")
    order = _top_order(probabilities, declaration.k)
    top_probabilities = np.take_along_axis(probabilities, order, axis=1)
    labels = np.empty(len(classes), dtype=object)
    labels[:] = [c.item() if isinstance(c, np.generic) else c for c in classes]  # JSON-ready
    top_classes = labels[order]
    n = probabilities.shape[0]
    best = top_probabilities[:, 0] if n else np.empty(0)
    index = np.where(best >= declaration.min_probability, 0, 1).astype(np.int64)
    index[~np.isfinite(probabilities).all(axis=1)] = NO_RULE
    decision = np.empty(n, dtype=object)
    decision[:] = declaration.fallback
    picked = index == 0
    if n:
        decision[picked] = [str(c) for c in top_classes[picked, 0].tolist()]
    decision[index == NO_RULE] = UNDECIDED
    texts = np.array([*declaration.texts(), _UNDECIDED_TEXT], dtype=object)
    return Decisions(decision, index, texts[index], top_classes, top_probabilities)


def _top_order(probabilities: np.ndarray, k: int) -> np.ndarray:
    """Column indexes of the ``k`` largest per row; ties keep the classes' order."""
    if probabilities.shape[0] == 0:
        return np.empty((0, k), dtype=np.int64)
    return np.argsort(-probabilities, axis=1, kind="stable")[:, :k]


def _matches(when: str, scores: np.ndarray, threshold: float) -> np.ndarray:
    if when == ">=":
        return scores >= threshold
    if when == ">":
        return scores > threshold
    if when == "<=":
        return scores <= threshold
    return scores < threshold


def _decided(index: np.ndarray, decisions: list[str], texts: list[str]) -> Decisions:
    # Index NO_RULE (-1) picks the last entry of each table: the undecided one.
    decision_table = np.array([*decisions, UNDECIDED], dtype=object)
    text_table = np.array([*texts, _UNDECIDED_TEXT], dtype=object)
    return Decisions(decision_table[index], index, text_table[index])


def _json_float(value: float) -> float | None:
    return value if np.isfinite(value) else None
