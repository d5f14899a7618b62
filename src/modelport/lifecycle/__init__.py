"""Lifecycle, the control plane: promotion gates, rollback, the evidence they weigh
(test-set metrics, contract compatibility) and registering uploaded archives. The admin
API is its HTTP adapter. See ``docs/lifecycle.md``."""

from modelport.lifecycle.compatibility import (
    ChangeKind,
    ContractChange,
    breaking,
    compare_contracts,
)
from modelport.lifecycle.evaluation import (
    METRICS,
    Evaluation,
    Metric,
    evaluate,
    metric_named,
    metrics_for,
    read_test_data,
)
from modelport.lifecycle.gates import GatePolicy, GateResult, Requirement
from modelport.lifecycle.promotion import PromotionReport, promote, rollback
from modelport.lifecycle.uploads import register_archive

__all__ = [
    "METRICS",
    "ChangeKind",
    "ContractChange",
    "Evaluation",
    "GatePolicy",
    "GateResult",
    "Metric",
    "PromotionReport",
    "Requirement",
    "breaking",
    "compare_contracts",
    "evaluate",
    "metric_named",
    "metrics_for",
    "promote",
    "read_test_data",
    "register_archive",
    "rollback",
]
