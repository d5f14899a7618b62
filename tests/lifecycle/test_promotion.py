"""Promotion gates, rollback and the audit trail, on a real registry (both databases)."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications
from modelport.errors import Conflict, GatedAlias, InUse, VersionNotFound
from modelport.lifecycle import GatePolicy, Requirement, promote, rollback
from modelport.registry import Action, Outcome, Registry
from modelport.settings import Settings

MODEL = "loan-approval"


@pytest.fixture(scope="module")
def holdout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Test rows the models never saw, with the target, as Parquet."""
    frame = loan_applications(1_500, seed=99)
    path = tmp_path_factory.mktemp("holdout") / "holdout.parquet"
    frame[[*LOAN_FEATURES, "approved"]].to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def weak_package(build_loan_version: Callable[..., Path]) -> Path:
    """A clearly worse model of the same name (a stump-like forest)."""
    return build_loan_version("weak", model__n_estimators=2, model__max_depth=1)


@pytest.fixture(scope="module")
def narrowed_package(
    tmp_path_factory: pytest.TempPathFactory, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> Path:
    """The same model with a contract that refuses applicants under 30: a breaking change."""
    path = tmp_path_factory.mktemp("packages") / "narrowed"
    mp.package(
        fitted_loan_model,
        loan_frame,
        name=MODEL,
        path=path,
        overrides={"age": {"minimum": 30}},
        description="refuses under-30s",
    )
    return path


def _policy(holdout: Path, *requirements: str, **options: object) -> GatePolicy:
    return GatePolicy(
        requirements=[Requirement.parse(r) for r in requirements],
        test_data=str(holdout),
        target="approved",
        **options,  # type: ignore[arg-type]
    )


def test_a_passing_promotion_moves_the_alias_and_is_audited(
    registry: Registry, loan_package_path: Path, holdout: Path
) -> None:
    registry.register(loan_package_path)
    report = promote(registry, MODEL, 1, "production", _policy(holdout, "roc_auc>=0.7"))
    assert report.passed, report.refusal()
    assert registry.alias_info(MODEL, "production").version == 1  # type: ignore[union-attr]
    names = [g.gate for g in report.gates]
    assert names[0] == "integrity and parity"
    assert "roc_auc >= 0.7" in names
    event = registry.history(MODEL)[0]
    assert (event.action, event.outcome, event.version, event.alias) == (
        Action.PROMOTE,
        Outcome.DONE,
        1,
        "production",
    )
    stored = {g["gate"]: g["passed"] for g in event.detail["gates"]}
    assert stored["roc_auc >= 0.7"] is True


def test_a_threshold_refuses_and_leaves_the_alias_where_it_was(
    registry: Registry, loan_package_path: Path, weak_package: Path, holdout: Path
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.register(weak_package)
    report = promote(registry, MODEL, 2, "production", _policy(holdout, "roc_auc>=0.9"))
    assert not report.passed
    failed = [g for g in report.gates if not g.passed]
    assert [g.gate for g in failed] == ["roc_auc >= 0.9"]
    assert "measured" in failed[0].detail
    assert "roc_auc >= 0.9" in report.refusal()
    assert registry.alias_info(MODEL, "production").version == 1  # type: ignore[union-attr]
    event = registry.history(MODEL)[0]
    assert (event.action, event.outcome, event.version) == (Action.PROMOTE, Outcome.REFUSED, 2)
    assert any(not g["passed"] for g in event.detail["gates"])


def test_no_worse_than_current_compares_on_the_same_rows(
    registry: Registry, loan_package_path: Path, weak_package: Path, holdout: Path
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.register(weak_package)
    refused = promote(
        registry, MODEL, 2, "production", _policy(holdout, no_worse_than_current=True)
    )
    gate = next(g for g in refused.gates if "no worse than" in g.gate)
    assert not gate.passed
    assert gate.measured["candidate"] < gate.measured["current"]
    allowed = promote(
        registry,
        MODEL,
        2,
        "production",
        _policy(holdout, no_worse_than_current=True, tolerance=1.0),
    )
    assert allowed.passed, allowed.refusal()


def test_a_breaking_contract_blocks_unless_allowed(
    registry: Registry, loan_package_path: Path, narrowed_package: Path
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.register(narrowed_package)
    report = promote(registry, MODEL, 2, "production")
    gate = next(g for g in report.gates if g.gate == "contract compatibility")
    assert not gate.passed
    assert "age" in gate.detail and "--allow-breaking" in gate.detail
    assert registry.alias_info(MODEL, "production").version == 1  # type: ignore[union-attr]
    allowed = promote(registry, MODEL, 2, "production", GatePolicy(allow_breaking=True))
    assert allowed.passed


def test_test_rows_the_candidate_refuses_fail_the_gate(
    registry: Registry, loan_package_path: Path, narrowed_package: Path, holdout: Path
) -> None:
    registry.register(narrowed_package)
    report = promote(registry, MODEL, 1, "staging", _policy(holdout, "accuracy>=0.5"))
    gate = next(g for g in report.gates if g.gate == "test data fits the contract")
    assert not gate.passed
    assert "age" in gate.detail


def test_a_tampered_package_fails_integrity(registry: Registry, loan_package_path: Path) -> None:
    version = registry.register(loan_package_path)
    model_file = next(p for p in version.path.iterdir() if p.suffix == ".onnx")
    model_file.chmod(stat.S_IWUSR | stat.S_IRUSR)
    with model_file.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    report = promote(registry, MODEL, 1, "production")
    assert [g.passed for g in report.gates] == [False]
    assert report.gates[0].gate == "integrity and parity"
    assert registry.alias_info(MODEL, "production") is None


def test_a_required_test_set_that_is_missing_refuses(
    registry: Registry, loan_package_path: Path
) -> None:
    registry.register(loan_package_path)
    report = promote(
        registry, MODEL, 1, "production", GatePolicy(requirements=[Requirement.parse("f1>=0.5")])
    )
    failed = [g for g in report.gates if not g.passed]
    assert len(failed) == 1 and "--test-data" in failed[0].detail


def test_the_alias_policy_applies_without_any_options(
    registry: Registry, loan_package_path: Path, weak_package: Path, holdout: Path
) -> None:
    registry.register(loan_package_path)
    registry.register(weak_package)
    registry.set_gate_policy(
        MODEL, "production", _policy(holdout, "roc_auc>=0.8").model_dump(mode="json")
    )
    refused = promote(registry, MODEL, 2, "production")
    assert not refused.passed
    assert promote(registry, MODEL, 1, "production").passed
    assert promote(registry, MODEL, 2, "staging").passed  # the policy guards production only
    registry.set_gate_policy("*", "staging", GatePolicy(no_worse_than_current=True).model_dump())
    missing = promote(registry, MODEL, 1, "staging")  # '*' applies; it needs test data
    assert not missing.passed


def test_rollback_walks_back_through_the_moves(
    registry: Registry,
    loan_package_path: Path,
    weak_package: Path,
    build_loan_version: Callable[..., Path],
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.register(weak_package)
    registry.register(build_loan_version("third", model__n_estimators=7))
    assert promote(registry, MODEL, 2, "production").passed
    assert promote(registry, MODEL, 3, "production").passed
    assert rollback(registry, MODEL, "production").version == 2
    assert rollback(registry, MODEL, "production").version == 1
    assert registry.alias_info(MODEL, "production").version == 1  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="no earlier version"):
        rollback(registry, MODEL, "production")
    actions = [(e.action, e.version) for e in registry.history(MODEL)][:2]
    assert actions == [(Action.ROLLBACK, 1), (Action.ROLLBACK, 2)]


def test_a_stale_promotion_is_a_conflict_and_changes_nothing(
    registry: Registry, loan_package_path: Path, weak_package: Path
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.register(weak_package)
    seen = registry.alias_info(MODEL, "production")
    assert seen is not None
    registry.set_alias(MODEL, "production", 2)  # someone else, meanwhile
    with pytest.raises(Conflict, match="moved by someone else"):
        registry.move_alias(
            MODEL, "production", 1, action=Action.PROMOTE, expect_revision=seen.revision
        )
    assert registry.alias_info(MODEL, "production").version == 2  # type: ignore[union-attr]


def test_concurrent_promotions_never_interleave(
    registry_settings: Settings,
    loan_package_path: Path,
    weak_package: Path,
    build_loan_version: Callable[..., Path],
) -> None:
    """Six promoters race for one alias: each wins or gets a conflict, and the trail of moves
    is one unbroken chain (every move starts where the previous one ended)."""
    with Registry.from_settings(registry_settings) as setup:
        setup.register(loan_package_path, alias="production")
        setup.register(weak_package)
        setup.register(build_loan_version("third", model__n_estimators=7))
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def race(version: int) -> None:
        with Registry.from_settings(registry_settings) as mine:
            start.wait()
            try:
                promote(mine, MODEL, version, "production")
                outcomes.append("won")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=race, args=(v,)) for v in (1, 2, 3, 2, 3, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes) == 6 and "won" in outcomes
    with Registry.from_settings(registry_settings) as check:
        moves = [
            e
            for e in reversed(check.history(MODEL))
            if e.action is Action.PROMOTE and e.outcome is Outcome.DONE
        ]
        conflicts = [e for e in check.history(MODEL) if e.outcome is Outcome.CONFLICT]
        final = check.alias_info(MODEL, "production")
    assert len(moves) == outcomes.count("won")
    assert len(conflicts) == outcomes.count("conflict")
    position = 1
    for move in moves:
        assert move.previous_version == position
        position = move.version  # type: ignore[assignment]
    assert final is not None and final.version == position


def test_delete_refuses_an_aliased_version_and_never_reuses_its_number(
    registry: Registry, loan_package_path: Path, weak_package: Path, build_loan_version: Callable
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.register(weak_package)
    with pytest.raises(InUse, match="production"):
        registry.delete_version(MODEL, 1)
    deleted = registry.delete_version(MODEL, 2)
    assert not deleted.path.exists()
    with pytest.raises(VersionNotFound, match="deleted"):
        registry.get_version(MODEL, 2)
    third = registry.register(build_loan_version("after delete", model__n_estimators=9))
    assert third.version == 3
    assert [v.version for v in registry.get_model(MODEL).versions] == [1, 3]
    restored = registry.register(weak_package)
    assert restored.version == 2 and restored.path.is_dir()
    actions = [e.action for e in registry.history(MODEL)]
    assert Action.DELETE in actions


def test_versions_carry_metadata_from_the_build_and_the_registration(
    registry: Registry,
    tmp_path: Path,
    fitted_loan_model: Pipeline,
    loan_frame: pd.DataFrame,
) -> None:
    path = tmp_path / "with-metadata"
    mp.package(
        fitted_loan_model,
        loan_frame,
        name=MODEL,
        path=path,
        owner="credit-risk team",
        tags=["loans"],
        lineage={"code": "git:4f2a1c"},
        training_metrics={"roc_auc": 0.91},
    )
    from modelport.registry import VersionMetadata

    version = registry.register(
        path, metadata=VersionMetadata(tags=("reviewed",), lineage={"data": "warehouse.loans"})
    )
    meta = registry.get_version(MODEL, version.version).metadata
    assert meta.owner == "credit-risk team"
    assert meta.tags == ("loans", "reviewed")
    assert meta.lineage == {"code": "git:4f2a1c", "data": "warehouse.loans"}
    assert meta.training_metrics == {"roc_auc": 0.91}
    assert meta.sample_fingerprint is not None and len(meta.sample_fingerprint) == 64
    assert meta.registered_by


def test_history_names_the_actor(
    registry: Registry, loan_package_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_ACTOR", "ci-pipeline")
    registry.register(loan_package_path, alias="staging")
    registry.set_alias(MODEL, "production", 1, actor="alice")
    events = registry.history(MODEL)
    assert [(e.actor, e.action) for e in events] == [
        ("alice", Action.ALIAS),
        ("ci-pipeline", Action.REGISTER),
    ]


def test_an_alias_with_a_policy_moves_only_by_promotion_unless_forced(
    registry: Registry, loan_package_path: Path, weak_package: Path
) -> None:
    registry.register(loan_package_path, alias="production")
    registry.set_gate_policy(MODEL, "production", GatePolicy(allow_breaking=False).model_dump())
    with pytest.raises(GatedAlias, match="modelport promote"):
        registry.register(weak_package, alias="production")
    assert [v.version for v in registry.get_model(MODEL).versions] == [1]  # nothing half-done
    registry.register(weak_package)
    with pytest.raises(GatedAlias, match="--force"):
        registry.set_alias(MODEL, "production", 2)
    assert registry.alias_info(MODEL, "production").version == 1  # type: ignore[union-attr]
    registry.set_alias(MODEL, "production", 2, force=True)
    event = registry.history(MODEL)[0]
    assert (event.action, event.version, event.detail.get("forced")) == (Action.ALIAS, 2, True)
    assert rollback(registry, MODEL, "production").version == 1  # rollback stays allowed
