"""What a package declares about turning predictions into answers, and the answers.

:class:`Decisioning` bundles the decision declaration and the conformal calibration; it is
meant to be a block of the manifest, fixed at build time like everything else there.
:func:`decide` gives the JSON-ready fields of each record; :func:`decide_columns` gives
the same as columns for batch output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from modelport.decisions.apply import Decisions, apply, score_of
from modelport.decisions.confidence import Margins, margins, predicted_probability
from modelport.decisions.conformal import ConformalCalibration, interval
from modelport.decisions.rules import Declaration, check_declaration
from modelport.runtime import Prediction, Task

__all__ = ["Decisioning", "decide", "decide_columns"]


class Decisioning(BaseModel):
    """The ``decisioning`` block of a manifest: rules and/or a conformal calibration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: Declaration | None = None
    conformal: ConformalCalibration | None = None

    def check(self, task: Task, classes: Sequence[Any] | None) -> Decisioning:
        """Refuse a block that does not fit the model (``ValueError`` saying why)."""
        if self.rules is not None:
            check_declaration(self.rules, task, classes)
        if self.conformal is not None and task is not Task.REGRESSION:
            raise ValueError(
                "conformal intervals are for regressors; a classifier's confidence is its "
                "class probability and margin"
            )
        return self

    @property
    def is_empty(self) -> bool:
        return self.rules is None and self.conformal is None


def decide(prediction: Prediction, decisioning: Decisioning | None) -> list[dict[str, Any]]:
    """Per record: ``decision``, ``rule`` (``{"index", "text"}``), ``top_k`` for top-k
    declarations, and ``confidence``.

    ``confidence`` holds ``probability`` (classifiers), ``margin`` and ``threshold`` (see
    :mod:`modelport.decisions.confidence`) and, for calibrated regressors, ``interval``
    (``[lower, upper]``) and ``coverage``. Numbers that are not finite become ``None``.
    """
    decisioning = decisioning or Decisioning()
    n = len(prediction)
    records: list[dict[str, Any]] = [{} for _ in range(n)]
    if decisioning.rules is not None:
        for record, decided in zip(
            records, apply(decisioning.rules, prediction).to_records(), strict=True
        ):
            record.update(decided)
    confidence = _confidence_columns(prediction, decisioning)
    keys = list(confidence)
    lists = [_json_list(confidence[key]) for key in keys]
    for i, record in enumerate(records):
        block: dict[str, Any] = {key: column[i] for key, column in zip(keys, lists, strict=True)}
        if "lower" in block:
            block["interval"] = [block.pop("lower"), block.pop("upper")]
            block["coverage"] = decisioning.conformal.coverage if decisioning.conformal else None
        record["confidence"] = block
    return records


def decide_columns(prediction: Prediction, decisioning: Decisioning | None) -> dict[str, Any]:
    """The same fields as columns (``decision``, ``rule_index``, ``rule``, ``probability``,
    ``margin``, ``threshold``, ``lower``, ``upper``), for batch output. ``rule_index`` is
    ``-1`` for undecided rows; top-k lists are left to :func:`decide`."""
    decisioning = decisioning or Decisioning()
    columns: dict[str, Any] = {}
    if decisioning.rules is not None:
        decided: Decisions = apply(decisioning.rules, prediction)
        columns["decision"] = decided.decision
        columns["rule_index"] = decided.rule_index
        columns["rule"] = decided.rule_text
    columns.update(_confidence_columns(prediction, decisioning))
    return columns


def _confidence_columns(prediction: Prediction, decisioning: Decisioning) -> dict[str, Any]:
    columns: dict[str, np.ndarray] = {}
    if prediction.task.is_classification:
        columns["probability"] = predicted_probability(prediction)
    found: Margins | None = margins(prediction, decisioning.rules)
    if found is not None:
        columns["margin"] = found.margin
        if found.threshold is not None:
            columns["threshold"] = found.threshold
    if decisioning.conformal is not None:
        lower, upper = interval(score_of(prediction, "value"), decisioning.conformal)
        columns["lower"] = lower
        columns["upper"] = upper
    return columns


def _json_list(column: np.ndarray) -> list[Any]:
    values = np.asarray(column, dtype=np.float64)
    return [v if np.isfinite(v) else None for v in values.tolist()]
