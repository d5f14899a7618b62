"""Score a labelled test set with a package and measure it: the evidence a promotion gate weighs.

    data = read_test_data("holdout.parquet")
    result = evaluate(open_package("dist/loan-approval"), data, target="approved")
    result.metrics["roc_auc"], result.refused, result.refusals

Rows go through the same door as in serving and batch: ``Scorer.validate`` runs the
package's pre-steps and its contract (columns read as batch reads them,
:mod:`modelport.batch.columns`), and ``Scorer.score`` scores them. A row the contract
refuses is not scored, but it is counted and described, never silently dropped: a
candidate that refuses a tenth of the test set must not look as good as one that scores
all of it. Rows without a target value
cannot be measured; they are left out before validation and counted too.

Metrics are scikit-learn's, on the scored rows; :mod:`modelport.lifecycle.metrics` names
them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelport.batch.chunks import ArrowChunk, RecordsChunk, Unreadable
from modelport.batch.columns import scorer_columns
from modelport.batch.formats import Format, resolve_format
from modelport.batch.readers import open_reader
from modelport.contract import FieldWarning
from modelport.errors import BatchError, EvaluationError, FieldError
from modelport.extras import require
from modelport.lifecycle.metrics import METRICS, Metric, metric_named, metrics_for
from modelport.package.load import Package, load_scorer
from modelport.runtime import Prediction, Scorer, Task

__all__ = [
    "EVALUATION_CHUNK_ROWS",
    "METRICS",
    "TEXT_SOURCE",
    "Evaluation",
    "Metric",
    "evaluate",
    "metric_named",
    "metrics_for",
    "read_test_data",
]

EVALUATION_CHUNK_ROWS = 50_000  # rows validated and scored at a time: memory stays bounded
MAX_REFUSALS_SHOWN = 5
TEXT_SOURCE = "modelport.text_source"  # ``DataFrame.attrs`` key: the columns are text (CSV)

# -- reading a test set ----------------------------------------------------------------


def read_test_data(source: str | Path, *, format: Format | str | None = None) -> pd.DataFrame:
    """The whole test file as a frame: CSV, Parquet or JSON Lines, by extension or ``format``.

    The batch readers do the reading, so a file reads here as it would in a batch job. CSV
    columns stay text and the frame is marked (``attrs[TEXT_SOURCE]``) so that
    :func:`evaluate` reads numbers in them as leniently as batch does. A JSON Lines line
    that is not a JSON object fails the file: a test set is prepared data.
    """
    path = Path(source)
    tables: list[pa.Table] = []
    records: list[dict[str, Any]] = []
    try:
        kind = resolve_format(path, format)
        with open_reader(path, kind) as reader:
            for chunk in reader.chunks(EVALUATION_CHUNK_ROWS):
                if isinstance(chunk, ArrowChunk):
                    tables.append(chunk.table)
                elif isinstance(chunk, RecordsChunk):
                    records.extend(_objects(path, chunk))
            schema = reader.schema
    except BatchError as exc:
        raise EvaluationError(f"cannot read the test data: {exc.message}") from None
    if kind is Format.JSONL:
        frame = pd.DataFrame.from_records(records)
    else:
        table = pa.concat_tables(tables) if tables or schema is None else schema.empty_table()
        frame = table.to_pandas()
    frame.attrs[TEXT_SOURCE] = kind is Format.CSV
    return frame


def _objects(path: Path, chunk: RecordsChunk) -> list[dict[str, Any]]:
    for i, value in enumerate(chunk.values):
        if not isinstance(value, dict):
            line = chunk.lines[i] if chunk.lines is not None else chunk.start + i + 1
            why = value.reason if isinstance(value, Unreadable) else "not a JSON object"
            raise EvaluationError(f"cannot read the test data: {path}, line {line}: {why}")
    return chunk.values


# -- the result ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a package made of a test set. ``rows == scored + refused + unlabelled``.

    ``metrics`` holds the canonical names of :data:`METRICS` that could be computed; one
    that is undefined on this data (ROC AUC with a single class) is absent and
    ``notes[name]`` says why. Other notes: ``unlabelled``, ``ignored_columns``,
    ``absent_fields``, ``scored`` (nothing was), ``mape`` (zero targets). ``refusals``
    describes the first few refused rows (record numbers count the test set's rows from 0,
    as in batch); ``refused_fields`` counts refusals per field. ``warned`` counts the scored
    rows with a value outside the contract's expected ranges, ``warned_fields`` per field.
    """

    task: Task
    target: str
    rows: int
    scored: int
    refused: int
    unlabelled: int
    metrics: dict[str, float]
    refusals: tuple[str, ...] = ()
    refused_fields: dict[str, int] = field(default_factory=dict)
    warned: int = 0
    warned_fields: dict[str, int] = field(default_factory=dict)
    classes: tuple[Any, ...] | None = None
    positive_class: Any = None
    notes: dict[str, str] = field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        """The value of metric ``name`` (any alias), ``None`` if undefined on this data."""
        return self.metrics.get(metric_named(name, self.task).name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for reports and audit records."""
        return {
            "task": self.task.value,
            "target": self.target,
            "rows": self.rows,
            "scored": self.scored,
            "refused": self.refused,
            "unlabelled": self.unlabelled,
            "metrics": dict(self.metrics),
            "refusals": list(self.refusals),
            "refused_fields": dict(self.refused_fields),
            "warned": self.warned,
            "warned_fields": dict(self.warned_fields),
            "classes": None if self.classes is None else list(self.classes),
            "positive_class": self.positive_class,
            "notes": dict(self.notes),
        }


# -- evaluating ------------------------------------------------------------------------


def evaluate(
    package: Package | Scorer,
    data: pd.DataFrame,
    target: str,
    *,
    lenient: bool | None = None,
    chunk_rows: int = EVALUATION_CHUNK_ROWS,
) -> Evaluation:
    """Validate ``data`` with the package's contract, score what passes, measure it.

    ``lenient`` reads numbers and booleans written as text (as batch reads CSV); by default
    it is on exactly for frames :func:`read_test_data` read from CSV. Columns that are
    neither fields nor the target are ignored (ids, other labels), whatever the contract's
    ``extra_fields`` policy: they are the test set's, not a caller's.
    """
    scorer = package if isinstance(package, Scorer) else load_scorer(package)
    if target not in data.columns:
        present = ", ".join(repr(str(c)) for c in data.columns) or "none"
        raise EvaluationError(
            f"the test data has no target column {target!r}; its columns: {present}"
        )
    if chunk_rows < 1:
        raise EvaluationError(f"chunk_rows must be at least 1, got {chunk_rows}")
    lenient = bool(data.attrs.get(TEXT_SOURCE, False)) if lenient is None else lenient
    notes = _column_notes(data, scorer, target)

    labelled = np.flatnonzero(~_missing(data[target]))
    unlabelled = len(data) - labelled.size
    if unlabelled:
        notes["unlabelled"] = f"{unlabelled} rows have no {target!r} value and were left out"
    truth = _truth(data[target].iloc[labelled], scorer, target)
    inputs = data[[n for n in scorer.inputs if n in data.columns]].iloc[labelled]

    run = _Run(scorer)
    for start in range(0, labelled.size, chunk_rows):
        chunk = inputs.iloc[start : start + chunk_rows]
        # the one door every caller uses: pre-steps (a date of birth to an age), contract
        validated = scorer.validate(
            _columns(chunk, scorer, lenient), n_rows=len(chunk), lenient=lenient
        )
        run.refuse(validated.errors_by_record(), labelled[start : start + chunk_rows])
        run.warn(validated.warnings)
        run.score(scorer.score(validated).prediction, truth[start + validated.accepted])

    if scorer.task is Task.REGRESSION:
        measured = _regression_metrics(run.truth(), run.values(), notes)
    else:
        labels = _codes(run.labels(), scorer.classes or [])
        if (labels < 0).any():
            raise EvaluationError("the model answered a label that is not among its classes")
        measured = _classification_metrics(
            run.truth(), labels, run.probabilities(), scorer.task, list(scorer.classes or []), notes
        )
    classes = None if scorer.classes is None else tuple(scorer.classes)
    return Evaluation(
        task=scorer.task,
        target=target,
        rows=len(data),
        scored=run.scored,
        refused=run.refused,
        unlabelled=unlabelled,
        metrics=measured,
        refusals=tuple(run.refusals),
        refused_fields=dict(run.fields),
        warned=len(run.warned_rows),
        warned_fields=dict(run.warned_fields),
        classes=classes,
        positive_class=classes[1] if classes is not None and scorer.task is Task.BINARY else None,
        notes=notes,
    )


@dataclass(slots=True)
class _Run:
    """What the chunks yield, gathered: predictions and truth of scored rows, refusals."""

    scorer: Scorer
    scored: int = 0
    refused: int = 0
    refusals: list[str] = field(default_factory=list)
    fields: Counter[str] = field(default_factory=Counter)
    warned_rows: set[tuple[int, int]] = field(default_factory=set)  # (chunk, record)
    warned_fields: Counter[str] = field(default_factory=Counter)
    parts: list[tuple[np.ndarray, Prediction]] = field(default_factory=list)

    def refuse(self, grouped: dict[int, list[FieldError]], records: np.ndarray) -> None:
        self.refused += len(grouped)
        for row, errors in grouped.items():
            self.fields.update(e.field or "(row)" for e in errors)
            if len(self.refusals) < MAX_REFUSALS_SHOWN:
                reasons = "; ".join(
                    f"{e.field}: {e.reason}" if e.field else e.reason for e in errors
                )
                self.refusals.append(f"record {int(records[row])}: {reasons}")

    def warn(self, warnings: Sequence[FieldWarning]) -> None:
        chunk = len(self.parts)
        self.warned_rows.update((chunk, w.record) for w in warnings)
        self.warned_fields.update(w.field for w in warnings)

    def score(self, prediction: Prediction, truth: np.ndarray) -> None:
        self.scored += int(truth.shape[0])
        self.parts.append((truth, prediction))

    def _joined(self, pick: Callable[[Prediction], Any], empty: np.ndarray) -> np.ndarray:
        arrays = [np.asarray(pick(p)) for _, p in self.parts]
        return np.concatenate(arrays) if arrays else empty

    def truth(self) -> np.ndarray:
        arrays = [t for t, _ in self.parts]
        return np.concatenate(arrays) if arrays else np.empty(0)

    def values(self) -> np.ndarray:
        return self._joined(lambda p: p.values, np.empty(0))

    def labels(self) -> np.ndarray:
        return self._joined(lambda p: p.labels, np.empty(0, dtype=object))

    def probabilities(self) -> np.ndarray:
        k = len(self.scorer.classes or [])
        return self._joined(lambda p: p.probabilities, np.empty((0, k)))


def _column_notes(data: pd.DataFrame, scorer: Scorer, target: str) -> dict[str, str]:
    notes = {}
    names = set(scorer.inputs)
    absent = [n for n in scorer.inputs if n not in data.columns]
    if absent:
        notes["absent_fields"] = f"the test data has no column for the fields {', '.join(absent)}"
    ignored = [str(c) for c in data.columns if c != target and c not in names]
    if ignored:
        notes["ignored_columns"] = (
            f"columns that are not fields of the model were ignored: {', '.join(ignored)}"
        )
    return notes


def _columns(chunk: pd.DataFrame, scorer: Scorer, lenient: bool) -> dict[str, np.ndarray]:
    """The frame's input columns as batch hands them to the scorer.

    Through Arrow (:func:`~modelport.batch.columns.scorer_columns`), so text columns
    are parsed as batch parses CSV; a column of mixed Python values that Arrow cannot hold
    (a string among numbers) goes to the validator as objects, which words the refusals.
    """
    arrays: dict[str, pa.Array] = {}
    raw: dict[str, np.ndarray] = {}
    for name in chunk.columns:
        series = chunk[name]
        try:
            arrays[str(name)] = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            raw[str(name)] = series.to_numpy(dtype=object)
    columns = scorer_columns(pa.table(arrays), scorer, lenient=lenient) if arrays else {}
    columns.update(raw)
    return columns


def _missing(series: pd.Series) -> np.ndarray:
    """No target value: null, NaN, or an empty string."""
    missing = series.isna().to_numpy(dtype=bool)
    if series.dtype.kind == "O":
        missing = missing | (series.astype(object) == "").to_numpy(dtype=bool)
    return missing


# -- the target ------------------------------------------------------------------------


def _truth(series: pd.Series, scorer: Scorer, target: str) -> np.ndarray:
    """The target as the metrics take it: class positions, or float64 values."""
    if scorer.task is Task.REGRESSION:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(numbers)
        if bad.any():
            shown = _shown(pd.unique(series[bad]))
            raise EvaluationError(
                f"the target {target!r} must hold finite numbers; it holds {shown}"
            )
        return numbers
    classes = list(scorer.classes or [])
    codes = _codes(series, classes)
    if (codes < 0).any():
        raise EvaluationError(
            f"the target {target!r} holds {_shown(pd.unique(series[codes < 0]))}, not among "
            f"the model's classes ({_shown(classes)})"
        )
    return codes


def _shown(values: Any, limit: int = 5) -> str:
    plain = [v.item() if isinstance(v, np.generic) else v for v in list(values)[:limit]]
    return ", ".join(map(repr, plain)) + (", ..." if len(values) > limit else "")


_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n", "0"})


def _codes(values: Any, classes: Sequence[Any]) -> np.ndarray:
    """The position of each value in ``classes`` (``-1`` where none), matching by value
    in the classes' type: a CSV's ``"1"`` is the class ``1``, a float ``1.0`` too."""
    kind = _class_kind(classes)
    lookup = {_coerce(c, kind): i for i, c in enumerate(classes)}
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    found = np.array([lookup.get(_coerce(u, kind), -1) for u in uniques], dtype=np.int64)
    return found[codes] if codes.size else np.empty(0, dtype=np.int64)


def _class_kind(classes: Sequence[Any]) -> type:
    if all(isinstance(c, bool) for c in classes):
        return bool
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return int
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        return float
    return str


def _coerce(value: Any, kind: type) -> Any:
    """``value`` as a class of type ``kind``, or ``None`` if it cannot be one."""
    if isinstance(value, np.generic):
        value = value.item()
    if kind is str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if kind is bool:
            return True if text in _TRUE_TEXT else False if text in _FALSE_TEXT else None
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    if kind is bool:
        return bool(value) if value in (0, 1) else None
    if kind is int:
        if isinstance(value, int):
            return int(value)
        return int(value) if value.is_integer() else None
    return float(value)


# -- metrics on the scored rows --------------------------------------------------------


def _classification_metrics(
    truth: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    task: Task,
    classes: list[Any],
    notes: dict[str, str],
) -> dict[str, float]:
    """Binary: the positive class is ``classes[1]``; multiclass: macro averages."""
    require("build", "measuring metrics on test data")
    from sklearn import metrics as skm  # here: scoring processes never load scikit-learn

    if truth.size == 0:
        notes["scored"] = "no row was scored, so no metric was computed"
        return {}
    average: dict[str, Any] = (
        {"average": "binary", "pos_label": 1} if task is Task.BINARY else {"average": "macro"}
    )
    k = len(classes)
    # Clipped against rounding just past 1, which scikit-learn refuses in log_loss.
    probabilities = np.clip(probabilities, 0.0, 1.0)
    measured = {
        "accuracy": skm.accuracy_score(truth, labels),
        "precision": skm.precision_score(truth, labels, zero_division=0.0, **average),
        "recall": skm.recall_score(truth, labels, zero_division=0.0, **average),
        "f1": skm.f1_score(truth, labels, zero_division=0.0, **average),
        "log_loss": skm.log_loss(truth, probabilities, labels=list(range(k))),
    }
    present = set(np.unique(truth).tolist())
    absent = [classes[i] for i in range(k) if i not in present]
    if not absent:
        if task is Task.BINARY:
            measured["roc_auc"] = skm.roc_auc_score(truth, probabilities[:, 1])
        else:
            measured["roc_auc"] = skm.roc_auc_score(
                truth, probabilities, multi_class="ovr", average="macro", labels=list(range(k))
            )
    else:
        missing = ", ".join(repr(c) for c in absent)
        notes["roc_auc"] = (
            f"left out: no scored row is of class {missing}, and ROC AUC needs rows of every class"
        )
    return {name: float(measured[name]) for name in METRICS if name in measured}


def _regression_metrics(
    truth: np.ndarray, values: np.ndarray, notes: dict[str, str]
) -> dict[str, float]:
    require("build", "measuring metrics on test data")
    from sklearn import metrics as skm

    if truth.size == 0:
        notes["scored"] = "no row was scored, so no metric was computed"
        return {}
    measured = {
        "mae": skm.mean_absolute_error(truth, values),
        "rmse": skm.root_mean_squared_error(truth, values),
        "mape": skm.mean_absolute_percentage_error(truth, values),
    }
    if truth.size >= 2:
        measured["r2"] = skm.r2_score(truth, values)
    else:
        notes["r2"] = "left out: R² needs at least two scored rows"
    if (truth == 0).any():
        notes["mape"] = (
            "some target values are 0: MAPE divides by them (scikit-learn by machine epsilon "
            "instead), so it is very large"
        )
    return {name: float(measured[name]) for name in METRICS if name in measured}
