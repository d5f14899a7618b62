"""Promotion and rollback: move an alias only when the gates pass, and record it all.

    report = promote(registry, "loan-approval", 4, "production",
                     GatePolicy(requirements=[Requirement.parse("roc_auc>=0.8")],
                                test_data="holdout.parquet", target="approved"))
    report.passed, report.gates        # every gate's verdict, also in the audit trail

The gates run on what the alias pointed at when the promotion began; the move is a
compare-and-set on the alias's revision, so two promotions of one alias cannot interleave:
the first to finish wins and the other gets :class:`~modelport.errors.Conflict`. The move
and its audit record are one transaction, so a promotion killed at any point leaves the
alias where it was or where it was promoted to, never a move without its record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from modelport.errors import AliasNotFound, Conflict, MissingExtra, ModelportError
from modelport.lifecycle.evaluation import Evaluation, evaluate, read_test_data
from modelport.lifecycle.gates import (
    GatePolicy,
    GateResult,
    comparison_gates,
    compatibility_gate,
    integrity_gate,
    metrics_gate,
    refusal_gate,
    requirement_gates,
)
from modelport.package.load import Package
from modelport.registry import ModelRef, ModelVersion, Registry
from modelport.registry.audit import Action, AuditEvent, Outcome, default_actor

__all__ = ["PromotionReport", "promote", "rollback", "rollback_target"]


@dataclass(frozen=True)
class PromotionReport:
    """What a promotion (or rollback) found and did."""

    name: str
    version: int
    alias: str
    previous: int | None
    gates: list[GateResult]
    moved: ModelVersion | None = None
    policy: GatePolicy = field(default_factory=GatePolicy)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def refusal(self) -> str:
        failed = [f"{g.gate}: {g.detail}" for g in self.gates if not g.passed]
        where = "stays unset" if self.previous is None else f"stays at version {self.previous}"
        return (
            f"{self.name}@{self.alias} {where}; "
            f"version {self.version} failed {len(failed)} gate"
            f"{'s' if len(failed) != 1 else ''}: " + " | ".join(failed)
        )


def promote(
    registry: Registry,
    name: str,
    version: int,
    alias: str,
    options: GatePolicy | None = None,
    *,
    actor: str | None = None,
) -> PromotionReport:
    """Run the gates of ``alias``'s policies plus ``options``; move the alias if all pass.

    Refused promotions are recorded and returned with ``passed`` false; a promotion that
    lost a race raises :class:`Conflict` (recorded too).
    """
    who = actor or default_actor()
    state = registry.alias_info(name, alias)
    candidate = registry.get_version(name, version)
    stored = [GatePolicy.model_validate(p) for p in registry.gate_policies(name, alias)]
    policy = GatePolicy.combine([*stored, *([options] if options else [])])
    previous = None if state is None else state.version
    gates = list(_run_gates(registry, candidate, previous, alias, policy))
    report = PromotionReport(name, version, alias, previous, gates, policy=policy)
    detail: dict[str, Any] = {
        "gates": [g.as_dict() for g in gates],
        "policy": policy.model_dump(mode="json"),
    }
    expect = None if state is None else state.revision
    return _settle(registry, report, Action.PROMOTE, expect, detail, who)


def rollback(
    registry: Registry, name: str, alias: str, *, actor: str | None = None
) -> PromotionReport:
    """Move ``alias`` back to the version it pointed at before its latest move that has
    not itself been rolled back (so repeated rollbacks walk back through the history).
    The target is re-checked for integrity only."""
    who = actor or default_actor()
    state = registry.alias_info(name, alias)
    if state is None:
        raise AliasNotFound(f"{name} has no alias {alias!r}: there is nothing to roll back")
    undone = rollback_target(registry.alias_history(name, alias), state.version)
    if undone is None or undone.previous_version is None:
        raise Conflict(
            f"no earlier version of {name}@{alias} is recorded to roll back to "
            f"(it points at version {state.version}); move it with `modelport models alias`"
        )
    target = undone.previous_version
    gate = integrity_gate(lambda: registry.open(ModelRef(name, version=target)))
    report = PromotionReport(name, target, alias, state.version, [gate])
    detail = {"gates": [gate.as_dict()], "undoes": undone.id}
    return _settle(registry, report, Action.ROLLBACK, state.revision, detail, who, undone.id)


def _settle(
    registry: Registry,
    report: PromotionReport,
    action: Action,
    expect_revision: int | None,
    detail: dict[str, Any],
    actor: str,
    undoes: int | None = None,
) -> PromotionReport:
    """Move the alias if every gate passed (compare and set on its revision); record a
    refusal or a lost race otherwise, in a transaction of its own."""

    def record(outcome: Outcome, extra: dict[str, Any]) -> None:
        registry.record_attempt(
            report.name,
            action=action,
            outcome=outcome,
            version=report.version,
            alias=report.alias,
            detail={**detail, **extra},
            actor=actor,
        )

    if not report.passed:
        record(Outcome.REFUSED, {})
        return report
    try:
        moved = registry.move_alias(
            report.name,
            report.alias,
            report.version,
            action=action,
            actor=actor,
            expect_revision=expect_revision,
            detail=detail,
            undoes=undoes,
        )
    except Conflict as exc:
        record(Outcome.CONFLICT, {"conflict": exc.message})
        raise
    return replace(report, moved=moved)


def rollback_target(moves: Iterable[AuditEvent], current: int) -> AuditEvent | None:
    """The move a rollback undoes: the newest move (newest first in ``moves``) that is not a
    rollback and has not been undone, provided it is the one that brought ``current``."""
    moves = list(moves)
    undone = {m.undoes for m in moves if m.action is Action.ROLLBACK and m.undoes is not None}
    for move in moves:
        if move.action is Action.ROLLBACK or move.id in undone:
            continue
        return move if move.version == current else None
    return None


def _run_gates(
    registry: Registry,
    candidate: ModelVersion,
    previous: int | None,
    alias: str,
    policy: GatePolicy,
) -> Iterable[GateResult]:
    ref = ModelRef(candidate.name, version=candidate.version)
    integrity = integrity_gate(lambda: registry.open(ref))
    yield integrity
    if not integrity.passed:
        return  # nothing else can be trusted about this package
    package = registry.open(ref)
    current_package = None
    label = f"version {previous} (current {alias})"
    if previous is not None and previous != candidate.version:
        current_package = registry.open(ModelRef(candidate.name, version=previous))
    if policy.test_data and not policy.target:
        yield GateResult(
            "test data",
            False,
            f"the test dataset {policy.test_data} needs its label column: give --target COLUMN",
        )
    elif policy.needs_test_data or policy.test_data:
        if not policy.test_data or not policy.target:
            yield GateResult(
                "test data",
                False,
                "the gates need a test dataset (requirements: "
                + (", ".join(str(r) for r in policy.requirements) or "no worse than current")
                + "): give --test-data PATH --target COLUMN, or name one in the alias's policy",
            )
        else:
            yield from _metric_gates(
                package, current_package, label, policy, policy.test_data, policy.target
            )
    if current_package is not None:
        yield compatibility_gate(current_package, package, label, policy)


def _metric_gates(
    package: Package,
    current_package: Package | None,
    label: str,
    policy: GatePolicy,
    test_data: str,
    target: str,
) -> Iterable[GateResult]:
    try:
        data = read_test_data(test_data)
        candidate: Evaluation = evaluate(package, data, target)
    except MissingExtra:
        raise  # this machine cannot measure: a fact about the install, not about the version
    except ModelportError as exc:
        yield GateResult("test data", False, str(exc))
        return
    # whenever a test dataset is given, its metrics are measured, shown and stored
    yield refusal_gate(candidate)
    yield metrics_gate(candidate)
    yield from requirement_gates(candidate, policy)
    if not policy.no_worse_than_current:
        return
    if current_package is None:
        yield GateResult("no worse than current", True, "no other version holds the alias yet")
    else:
        try:
            current = evaluate(current_package, data, target)
        except MissingExtra:
            raise
        except ModelportError as exc:
            yield GateResult(f"no worse than {label}", False, f"{label} cannot be scored: {exc}")
            return
        yield from comparison_gates(candidate, current, label, policy)
