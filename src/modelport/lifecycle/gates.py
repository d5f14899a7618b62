"""Promotion gates: what a version must pass before an alias points at it.

1. integrity and parity: every digest re-verified, the package's reference rows re-scored
   and equal (within the build's tolerance) to the predictions recorded at build;
2. a test dataset: whenever one is given, the task's metrics are measured, shown and
   stored; the rows must fit the contract's hard limits (values outside the expected
   ranges are scored and counted, never a failure); the metrics are checked against
   thresholds (``roc_auc>=0.8``) and against the version holding the alias, on the same rows;
3. contract compatibility with that version: a change that would refuse requests today's
   callers send (a new required field, a narrowed range, ...) blocks unless allowed.

A :class:`GatePolicy` says which gates apply. Policies stored in the registry for an alias
and the options of one promotion are combined with :meth:`GatePolicy.combine`, which only
ever tightens: a promotion can add requirements, never drop the alias's own.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelport.errors import InvalidInput, PackageError
from modelport.lifecycle.compatibility import ContractChange, compare_contracts
from modelport.lifecycle.evaluation import Evaluation
from modelport.lifecycle.metrics import METRICS, metric_named, metrics_for
from modelport.package.load import Package
from modelport.package.reference import check_reference

__all__ = [
    "GatePolicy",
    "GateResult",
    "Requirement",
    "compatibility_gate",
    "comparison_gates",
    "integrity_gate",
    "metrics_gate",
    "refusal_gate",
    "requirement_gates",
]

Comparison = Literal[">=", "<=", ">", "<"]
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9_ -]+?)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*")
PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}
"""What "no worse than current" compares when no requirement names a metric."""


class Requirement(BaseModel):
    """``metric op value``, e.g. ``roc_auc >= 0.8`` or ``rmse <= 1200``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    op: Comparison
    value: float

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        return metric_named(value).name

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """``"roc_auc>=0.8"`` (spaces allowed); a clear error for anything else."""
        found = _REQUIREMENT.fullmatch(text)
        if found is None:
            raise InvalidInput(
                f"invalid requirement {text!r}: write METRIC>=VALUE, e.g. roc_auc>=0.8 "
                f"(metrics: {', '.join(METRICS)})"
            )
        metric, op, value = found.groups()
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput(f"invalid requirement {text!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise InvalidInput(f"invalid requirement {text!r}: the value must be finite")
        return cls(metric=metric, op=op, value=number)  # type: ignore[arg-type]

    def holds(self, measured: float) -> bool:
        return _OPERATORS[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


class GatePolicy(BaseModel):
    """The gates a promotion runs beyond integrity (which always runs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: list[Requirement] = Field(default_factory=list)
    no_worse_than_current: bool = False
    tolerance: float = Field(default=0.0, ge=0.0)
    test_data: str | None = None
    target: str | None = None
    allow_breaking: bool = False

    @field_validator("tolerance")
    @classmethod
    def _finite_tolerance(cls, value: float) -> float:
        # InvalidInput rather than ValueError: pydantic lets it through unwrapped, so every
        # door refuses it as the caller's mistake (HTTP 422), and an infinite tolerance never
        # reaches the audit trail (PostgreSQL's JSON has no Infinity: a 503 before this)
        if not math.isfinite(value):
            raise InvalidInput(f"the tolerance must be a finite number, not {value}")
        return value

    @property
    def needs_test_data(self) -> bool:
        return bool(self.requirements) or self.no_worse_than_current

    @classmethod
    def combine(cls, policies: Iterable[GatePolicy]) -> GatePolicy:
        """All requirements of all policies; "no worse" if any asks; the smallest tolerance;
        breaking changes allowed only if every policy allows them; the first test data set
        named (the registry's own policies come first)."""
        chosen = list(policies)
        if not chosen:
            return cls()
        requirements = list(dict.fromkeys(r for p in chosen for r in p.requirements))
        strict = [p for p in chosen if p.no_worse_than_current]
        data = next((p for p in chosen if p.test_data), None)
        return cls(
            requirements=requirements,
            no_worse_than_current=bool(strict),
            tolerance=min(p.tolerance for p in strict) if strict else 0.0,
            test_data=data.test_data if data else None,
            target=data.target if data else next((p.target for p in chosen if p.target), None),
            allow_breaking=all(p.allow_breaking for p in chosen),
        )


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict, as shown in the promotion table and stored in the audit trail."""

    gate: str
    passed: bool
    detail: str
    measured: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def integrity_gate(open_package: Callable[[], Package]) -> GateResult:
    """Digests re-verified (by ``open_package``) and the reference rows re-scored."""
    try:
        package = open_package()
        worst = check_reference(package)
    except PackageError as exc:
        return GateResult("integrity and parity", False, str(exc))
    rows = len(package.reference())
    return GateResult(
        "integrity and parity",
        True,
        f"digests verified; {rows} reference rows reproduce within {worst:.3g} "
        f"(tolerance {package.manifest.parity.tolerance:g})",
        {"reference_rows": rows, "max_abs_diff": worst},
    )


def refusal_gate(evaluation: Evaluation) -> GateResult:
    """Fails only on test rows that break a hard limit of the contract; rows outside the
    expected ranges are scored, and counted here."""
    rows = evaluation.rows
    measured: dict[str, Any] = {
        "rows": rows,
        "scored": evaluation.scored,
        "refused": evaluation.refused,
        "refused_share": evaluation.refused / rows if rows else 0.0,
        "outside_expected": evaluation.warned,
    }
    expected = ""
    if evaluation.warned:
        fields = ", ".join(f"{k} {v}" for k, v in sorted(evaluation.warned_fields.items()))
        expected = (
            f"; {evaluation.warned} scored rows ({_share(evaluation.warned, rows)}) hold values "
            f"outside the expected ranges ({fields})"
        )
    if evaluation.refused:
        shown = "; ".join(evaluation.refusals)
        return GateResult(
            "test data fits the contract",
            False,
            f"{evaluation.refused} of {rows} test rows ({_share(evaluation.refused, rows)}) "
            f"break a hard limit of the contract and are refused: {shown}{expected}",
            measured,
        )
    return GateResult(
        "test data fits the contract",
        True,
        f"all {evaluation.scored} labelled rows scored{expected}",
        measured,
    )


def metrics_gate(evaluation: Evaluation) -> GateResult:
    """The task's metrics on the scored test rows: measured and stored with every promotion
    that has a test dataset, thresholds or not. Fails only when nothing could be scored."""
    if not evaluation.metrics:
        return GateResult("test metrics", False, _unmeasured(evaluation, None))
    shown = ", ".join(f"{name} {value:.4g}" for name, value in evaluation.metrics.items())
    return GateResult(
        "test metrics",
        True,
        f"{shown} (on {evaluation.scored} rows)",
        {**evaluation.metrics, "scored": evaluation.scored},
    )


def requirement_gates(candidate: Evaluation, policy: GatePolicy) -> list[GateResult]:
    """Each threshold, against the candidate's metrics."""
    results = []
    for requirement in policy.requirements:
        measured = candidate.metrics.get(requirement.metric)
        if measured is None:
            why = _unmeasured(candidate, requirement.metric)
            results.append(GateResult(str(requirement), False, f"cannot be measured: {why}"))
            continue
        results.append(
            GateResult(
                str(requirement),
                requirement.holds(measured),
                f"measured {measured:.4g}",
                {requirement.metric: measured},
            )
        )
    return results


def comparison_gates(
    candidate: Evaluation, current: Evaluation, current_label: str, policy: GatePolicy
) -> list[GateResult]:
    """Each compared metric no worse than the current holder's by more than the tolerance."""
    names = list(dict.fromkeys(r.metric for r in policy.requirements)) or [
        PRIMARY_METRIC[candidate.task]
    ]
    results = []
    for name in names:
        mine, theirs = candidate.metrics.get(name), current.metrics.get(name)
        gate = f"{name} no worse than {current_label}"
        if mine is None or theirs is None:
            results.append(GateResult(gate, False, f"{name} could not be measured on both"))
            continue
        higher = METRICS[name].higher_is_better
        worse_by = (theirs - mine) if higher else (mine - theirs)
        passed = worse_by <= policy.tolerance + 1e-12
        detail = f"{mine:.4g} vs {theirs:.4g}" + (
            f" (tolerance {policy.tolerance:g})" if policy.tolerance else ""
        )
        results.append(GateResult(gate, passed, detail, {"candidate": mine, "current": theirs}))
    return results


def compatibility_gate(
    current: Package, candidate: Package, current_label: str, policy: GatePolicy
) -> GateResult:
    changes = compare_contracts(current.manifest.contract, candidate.manifest.contract)
    breaking = [c for c in changes if c.breaking]
    listed = [_change(c) for c in changes]
    if not breaking:
        detail = f"compatible with {current_label}" + (
            f" ({len(changes)} non-breaking change{'s' if len(changes) != 1 else ''})"
            if changes
            else ""
        )
        return GateResult("contract compatibility", True, detail, {"changes": listed})
    summary = "; ".join(c.message for c in breaking[:3])
    more = f" (and {len(breaking) - 3} more)" if len(breaking) > 3 else ""
    if policy.allow_breaking:
        return GateResult(
            "contract compatibility",
            True,
            f"breaking changes allowed: {summary}{more}",
            {"changes": listed},
        )
    return GateResult(
        "contract compatibility",
        False,
        f"breaking against {current_label}: {summary}{more}; "
        "pass --allow-breaking once callers are ready",
        {"changes": listed},
    )


def _unmeasured(evaluation: Evaluation, metric: str | None) -> str:
    """Why a metric (or every metric) has no value: the real cause, never a guess."""
    if evaluation.scored == 0:
        if evaluation.refused:
            return (
                f"no test row was scored: the version refuses {evaluation.refused} of "
                f"{evaluation.rows} rows (see the gate 'test data fits the contract')"
            )
        return evaluation.notes.get("scored", "no labelled test row to score")
    if metric is None:
        return "no metric could be computed on the scored rows"
    measuring = [m.name for m in metrics_for(evaluation.task)]
    if metric not in measuring:
        return (
            f"{metric} does not measure a {evaluation.task.value} model "
            f"(its metrics: {', '.join(measuring)})"
        )
    return evaluation.notes.get(metric, "not defined on these rows")


def _share(part: int, whole: int) -> str:
    """``100%``, ``42%``, ``0.12%``: a share of test rows as people write it."""
    percent = 100 * part / whole if whole else 0.0
    return f"{percent:.0f}%" if percent >= 1 else f"{percent:.2g}%"


def _change(change: ContractChange) -> dict[str, Any]:
    return {
        "field": change.field,
        "kind": change.kind,
        "breaking": change.breaking,
        "message": change.message,
    }
