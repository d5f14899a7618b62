"""Parity: run the original model and the packaged one on the same rows, record the gap.

Rows are the sample the caller gave plus generated edge rows (missing values, unseen
categories, extreme values), so the evidence covers what production will send, not only
what training saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelport.contract import Contract, FieldType
from modelport.package.manifest import ParitySummary, Runtime
from modelport.runtime import Prediction, Scorer, Task

__all__ = [
    "DEFAULT_TOLERANCE",
    "MAX_PARITY_ROWS",
    "ParityReport",
    "edge_rows",
    "measure_parity",
    "original_prediction",
]

DEFAULT_TOLERANCE = 1e-6
MAX_PARITY_ROWS = 20_000  # sample rows checked; enough for evidence, bounded for build time
UNSEEN_CATEGORY = "__modelport_unseen__"
_EDGE_BASE_ROWS = 16
_WORST_SHOWN = 5


@dataclass(frozen=True, slots=True)
class ParityReport:
    """The measured gap between the original model and the packaged one."""

    passed: bool
    tolerance: float
    runtime: Runtime
    sample_rows: int
    edge_rows: int
    max_abs_diff: dict[str, float]
    label_mismatches: int
    worst: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_checked(self) -> int:
        return self.sample_rows + self.edge_rows

    def summary(self) -> ParitySummary:
        return ParitySummary(
            passed=self.passed,
            tolerance=self.tolerance,
            rows_checked=self.rows_checked,
            sample_rows=self.sample_rows,
            edge_rows=self.edge_rows,
            max_abs_diff=self.max_abs_diff,
            label_mismatches=self.label_mismatches,
            runtime=self.runtime,
        )

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        gaps = ", ".join(f"{k} {v:.3g}" for k, v in self.max_abs_diff.items())
        lines = [
            f"parity {verdict} ({self.runtime.value} runtime, tolerance {self.tolerance:g}): "
            f"{self.rows_checked} rows ({self.sample_rows} sample + {self.edge_rows} edge), "
            f"max abs diff {gaps}, {self.label_mismatches} label mismatches"
        ]
        lines.extend(
            f"  row {row['row']} ({row['source']}): original {row['original']} "
            f"vs packaged {row['packaged']} (diff {row['diff']:.3g})"
            for row in self.worst
        )
        return "\n".join(lines)


def original_prediction(model: Any, frame: pd.DataFrame, task: Task, classes: Any) -> Prediction:
    """What the original estimator says on ``frame``, as a :class:`Prediction`."""
    if task is Task.REGRESSION:
        values = np.asarray(model.predict(frame), dtype=np.float64).reshape(len(frame))
        return Prediction(task, classes, values=values)
    probabilities = np.asarray(model.predict_proba(frame), dtype=np.float64)
    return Prediction(
        task, classes, labels=np.asarray(model.predict(frame)), probabilities=probabilities
    )


def edge_rows(sample: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, list[str]]:
    """Rows production will send that training may not have: one change at a time.

    Returns the rows and, for each, a description of what was changed.
    """
    base = sample.head(_EDGE_BASE_ROWS).reset_index(drop=True)
    pieces: list[pd.DataFrame] = []
    sources: list[str] = []

    def add(frame: pd.DataFrame, what: str) -> None:
        pieces.append(frame)
        sources.extend([what] * len(frame))

    for spec in contract.fields:
        column = sample[spec.name]
        if not spec.required:
            changed = base.copy()
            changed[spec.name] = _missing_like(column, len(base))
            add(changed, f"{spec.name} missing")
        if spec.type is FieldType.STRING:
            changed = base.copy()
            changed[spec.name] = UNSEEN_CATEGORY
            add(changed, f"{spec.name} unseen category")
        elif spec.type in (FieldType.NUMBER, FieldType.INTEGER):
            present = pd.to_numeric(column, errors="coerce").dropna()
            if present.empty:
                continue
            low, high = float(present.min()), float(present.max())
            span = max(high - low, 1.0)
            for value, what in ((low - 10 * span, "far below"), (high + 10 * span, "far above")):
                changed = base.copy()
                if spec.type is FieldType.INTEGER:
                    value = float(np.round(value))
                changed[spec.name] = value
                add(changed, f"{spec.name} {what} the observed range")
    everything_missing = base.copy()
    optional = [s for s in contract.fields if not s.required]
    for spec in optional:
        everything_missing[spec.name] = _missing_like(sample[spec.name], len(base))
    if optional:
        add(everything_missing, "every optional field missing")
    if not pieces:
        return base.iloc[0:0], []
    return pd.concat(pieces, ignore_index=True), sources


def _with_defaults(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """What the service feeds the model: a field's default where the value is missing."""
    defaults = {f.name: f.default for f in contract.fields if f.default is not None}
    if not defaults:
        return frame
    filled = frame.copy()
    for name, default in defaults.items():
        column = filled[name].astype(object).where(filled[name].notna(), default)
        filled[name] = column.infer_objects()
    return filled


def _missing_like(column: pd.Series, n: int) -> pd.Series:
    """Missing values the way the sample's own column holds them (NaN in its dtype)."""
    dtype: Any = column.dtype
    if pd.api.types.is_integer_dtype(dtype):
        dtype = np.float64
    elif pd.api.types.is_bool_dtype(dtype):
        dtype = object
    missing: pd.Series = pd.Series([np.nan] * n, dtype=dtype)
    return missing


def measure_parity(
    model: Any,
    scorer: Scorer,
    sample: pd.DataFrame,
    runtime: Runtime,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ParityReport:
    """Score the sample and edge rows both ways; compare every output."""
    checked = sample.head(MAX_PARITY_ROWS).reset_index(drop=True)
    edges, edge_sources = edge_rows(checked, scorer.contract)
    frame = pd.concat([checked, edges], ignore_index=True) if len(edges) else checked
    sources = [f"sample row {i}" for i in range(len(checked))] + edge_sources

    original = original_prediction(
        model, _with_defaults(frame, scorer.contract), scorer.task, scorer.classes
    )
    # the rows hold what the model takes (any pre-steps ran on the sample at build), and
    # edge rows probe beyond the contract's bounds on purpose
    validated = scorer.validate(
        {name: frame[name] for name in scorer.contract.names},
        n_rows=len(frame),
        steps=False,
        check_domain=False,
    )
    if validated.errors:
        raise ValueError(f"parity rows do not fit the contract: {validated.errors[0]}")
    packaged = scorer.score(validated).prediction

    expected, actual = original.to_frame(), packaged.to_frame()
    outputs = [c for c in expected.columns if c != "label"]
    gap = (actual[outputs] - expected[outputs]).abs().max(axis=1, skipna=False).to_numpy()
    if "label" in expected:
        label_differs = (actual["label"].astype(str) != expected["label"].astype(str)).to_numpy()
    else:
        label_differs = np.zeros(len(expected), dtype=bool)
    worst_gap = float(np.max(gap, initial=0.0))  # NaN when a side produced NaN: a failure
    name = "value" if scorer.task is Task.REGRESSION else "probabilities"
    mismatches = int(label_differs.sum())
    return ParityReport(
        passed=mismatches == 0 and worst_gap <= tolerance,
        tolerance=tolerance,
        runtime=runtime,
        sample_rows=len(checked),
        edge_rows=len(edges),
        max_abs_diff={name: worst_gap},
        label_mismatches=mismatches,
        worst=_worst_rows(gap, label_differs, expected, actual, sources),
    )


def _worst_rows(
    gap: np.ndarray,
    label_differs: np.ndarray,
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    sources: list[str],
) -> list[dict[str, Any]]:
    """The rows that differ most (label changes first), both sides shown in full."""
    badness = np.nan_to_num(gap, nan=np.inf) + np.where(label_differs, np.inf, 0.0)
    order = np.argsort(-badness, kind="stable")[:_WORST_SHOWN]
    return [
        {
            "row": int(row),
            "source": sources[row],
            "original": {k: _plain(v) for k, v in expected.iloc[row].items()},
            "packaged": {k: _plain(v) for k, v in actual.iloc[row].items()},
            "diff": float(gap[row]),
        }
        for row in order
        if badness[row] > 0
    ]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
