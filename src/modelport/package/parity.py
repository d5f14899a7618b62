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

from modelport.contract import Contract, FieldType, Validator
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
        for row in self.worst:
            lines.append(
                f"  row {row['row']} ({row['source']}): {row['output']} original "
                f"{row['original']!r} vs packaged {row['packaged']!r} (diff {row['diff']:.3g})"
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


def _missing_like(column: pd.Series, n: int) -> pd.Series:
    """Missing values the way the sample's own column holds them (NaN in its dtype)."""
    dtype = column.dtype if not pd.api.types.is_integer_dtype(column.dtype) else np.float64
    if pd.api.types.is_bool_dtype(dtype):
        dtype = object
    return pd.Series([np.nan] * n, dtype=dtype)


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

    original = original_prediction(model, frame, scorer.task, scorer.classes)
    validated = Validator(scorer.contract).validate_columns(
        {name: frame[name] for name in scorer.contract.names}, len(frame), enforce_domain=False
    )
    if validated.errors:
        raise ValueError(f"parity rows do not fit the contract: {validated.errors[0]}")
    packaged = scorer.score_validated(validated)

    gaps: dict[str, np.ndarray] = {}
    mismatches = 0
    if scorer.task is Task.REGRESSION:
        gaps["value"] = np.abs(packaged.values - original.values)  # type: ignore[operator]
    else:
        gaps["probabilities"] = np.abs(
            packaged.probabilities - original.probabilities  # type: ignore[operator]
        ).max(axis=1)
        same = np.asarray(
            [_same_label(a, b) for a, b in zip(packaged.labels, original.labels, strict=True)]  # type: ignore[arg-type]
        )
        mismatches = int((~same).sum())
        gaps["label"] = (~same).astype(np.float64)
    max_abs = {k: float(np.nanmax(v)) if v.size else 0.0 for k, v in gaps.items() if k != "label"}
    not_finite = any(not np.isfinite(v).all() for v in gaps.values())
    passed = mismatches == 0 and not not_finite and all(v <= tolerance for v in max_abs.values())
    return ParityReport(
        passed=passed,
        tolerance=tolerance,
        runtime=runtime,
        sample_rows=len(checked),
        edge_rows=len(edges),
        max_abs_diff=max_abs,
        label_mismatches=mismatches,
        worst=_worst_rows(gaps, original, packaged, sources),
    )


def _same_label(a: Any, b: Any) -> bool:
    return bool(a == b) or str(a) == str(b)


def _worst_rows(
    gaps: dict[str, np.ndarray], original: Prediction, packaged: Prediction, sources: list[str]
) -> list[dict[str, Any]]:
    key = "value" if "value" in gaps else "probabilities"
    score = np.nan_to_num(gaps[key], nan=np.inf) + gaps.get("label", 0) * 1e9
    order = np.argsort(-score, kind="stable")[:_WORST_SHOWN]
    worst = []
    for row in order:
        if score[row] == 0:
            break
        if key == "value":
            a, b = float(original.values[row]), float(packaged.values[row])  # type: ignore[index]
        else:
            a = original.labels[row].item() if hasattr(original.labels[row], "item") else original.labels[row]  # type: ignore[index]
            b = packaged.labels[row].item() if hasattr(packaged.labels[row], "item") else packaged.labels[row]  # type: ignore[index]
            if a == b:
                a = original.probabilities[row].round(8).tolist()  # type: ignore[index]
                b = packaged.probabilities[row].round(8).tolist()  # type: ignore[index]
        worst.append(
            {
                "row": int(row),
                "source": sources[row],
                "output": key,
                "original": a,
                "packaged": b,
                "diff": float(gaps[key][row]),
            }
        )
    return worst
