"""The metrics a promotion gate can require: canonical names, which way is better, and
the tasks each measures. :func:`metric_named` reads the names people write."""

from __future__ import annotations

from dataclasses import dataclass

from modelport.errors import EvaluationError
from modelport.runtime import Task

__all__ = ["METRICS", "Metric", "metric_named", "metrics_for"]

_CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
_REGRESSION = frozenset({Task.REGRESSION})


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric's canonical name, which way is better, and the tasks it measures."""

    name: str
    higher_is_better: bool
    tasks: frozenset[Task]
    description: str

    def gain(self, candidate: float, baseline: float) -> float:
        """How much better ``candidate`` is than ``baseline`` (negative: worse)."""
        return candidate - baseline if self.higher_is_better else baseline - candidate


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", True, _CLASSIFICATION, "share of rows whose label is right"),
        Metric("precision", True, _CLASSIFICATION, "positive class (binary) or macro average"),
        Metric("recall", True, _CLASSIFICATION, "positive class (binary) or macro average"),
        Metric("f1", True, _CLASSIFICATION, "positive class (binary) or macro average"),
        Metric("roc_auc", True, _CLASSIFICATION, "binary, or one-vs-rest macro average"),
        Metric("log_loss", False, _CLASSIFICATION, "cross-entropy of the probabilities"),
        Metric("mae", False, _REGRESSION, "mean absolute error"),
        Metric("rmse", False, _REGRESSION, "root mean squared error"),
        Metric("r2", True, _REGRESSION, "coefficient of determination"),
        Metric("mape", False, _REGRESSION, "mean absolute percentage error, as a fraction"),
    )
}

_ALIASES = {
    "acc": "accuracy",
    "accuracy_score": "accuracy",
    "precision_score": "precision",
    "recall_score": "recall",
    "sensitivity": "recall",
    "f1_score": "f1",
    "f_1": "f1",
    "f1score": "f1",
    "auc": "roc_auc",
    "auroc": "roc_auc",
    "rocauc": "roc_auc",
    "roc_auc_score": "roc_auc",
    "logloss": "log_loss",
    "cross_entropy": "log_loss",
    "mean_absolute_error": "mae",
    "root_mean_squared_error": "rmse",
    "r2_score": "r2",
    "r_squared": "r2",
    "r^2": "r2",
    "mean_absolute_percentage_error": "mape",
}


def metrics_for(task: Task | str) -> list[Metric]:
    """The metrics that measure a ``task``, in :data:`METRICS` order."""
    task = Task(task)
    return [m for m in METRICS.values() if task in m.tasks]


def metric_named(name: str, task: Task | str | None = None) -> Metric:
    """The metric ``name`` means, in any case, with ``-`` or spaces for ``_``, or an alias
    (``AUC``, ``f1_score``, ``logloss``). With ``task``, it must also measure that task."""
    key = "_".join(str(name).strip().lower().replace("-", " ").split())
    metric = METRICS.get(_ALIASES.get(key, key))
    valid = metrics_for(task) if task is not None else list(METRICS.values())
    choices = ", ".join(m.name for m in valid)
    if metric is None:
        raise EvaluationError(f"unknown metric {name!r}; use one of {choices}")
    if task is not None and Task(task) not in metric.tasks:
        raise EvaluationError(
            f"metric {name!r} does not measure {Task(task).value} models; use one of {choices}"
        )
    return metric
