"""Decision rules and conformal intervals declared at build time reach every answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline
from modelport.decisions import decide
from modelport.package import open_package

RULES = "score>=0.7:approve, score>=0.4:refer, else:decline"


def test_rules_are_in_the_manifest_and_in_every_answer(
    tmp_path: Path, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> None:
    built = mp.package(
        fitted_loan_model, loan_frame, name="loan-approval", path=tmp_path / "p", decisions=RULES
    )
    manifest = open_package(built.package.path).manifest
    assert manifest.decisioning is not None and manifest.decisioning.rules is not None
    scorer = mp.load(tmp_path / "p")
    rows = loan_frame[LOAN_FEATURES].head(200)
    scored = scorer.score(
        scorer.validate(rows.astype(object).where(rows.notna(), None).to_dict("records"))
    )
    prediction, answers = scored.prediction, scored.answers()
    expected = decide(prediction, manifest.decisioning)
    for answer, extra, score in zip(answers, expected, prediction.probabilities[:, 1], strict=True):
        assert answer["decision"] == extra["decision"]
        assert answer["decision"] == (
            "approve" if score >= 0.7 else "refer" if score >= 0.4 else "decline"
        )
        assert answer["rule"] == extra["rule"]
        assert answer["confidence"]["probability"] == pytest.approx(max(score, 1 - score))
    assert {a["decision"] for a in answers} == {"approve", "refer", "decline"}


def test_a_package_without_declarations_answers_as_before(loan_package_path: Path) -> None:
    scorer = mp.load(loan_package_path)
    assert scorer.decision_fields == ()
    reference = open_package(loan_package_path).reference()[scorer.contract.names].head(3)
    scored = scorer.score(scorer.validate(reference, steps=False))
    assert [set(a) for a in scored.answers()] == [{"label", "probabilities", "score"}] * 3
    assert scored.decision_columns() == {}
    assert "decisioning" not in (loan_package_path / "modelport.yaml").read_text()


def test_a_regressor_carries_a_calibrated_interval(tmp_path: Path) -> None:
    frame = loan_applications(6_000, seed=3)
    train, calibration, held_out = frame[:2_000], frame[2_000:4_000], frame[4_000:]
    model = loan_pipeline(RandomForestRegressor(n_estimators=30, max_depth=8, random_state=0))
    model.fit(train[LOAN_FEATURES], train["interest_rate"])
    mp.package(
        model,
        train,
        name="interest-rate",
        path=tmp_path / "rate",
        calibration=(calibration, "interest_rate"),
        coverage=0.9,
    )
    scorer = mp.load(tmp_path / "rate")
    features = held_out[LOAN_FEATURES]
    records = features.astype(object).where(features.notna(), None).to_dict("records")
    validated = scorer.validate(records)
    answers = scorer.score(validated).answers()
    truth = held_out["interest_rate"].to_numpy()[np.asarray(validated.accepted)]
    inside = [
        lo <= t <= hi
        for (lo, hi), t in zip((a["confidence"]["interval"] for a in answers), truth, strict=True)
    ]
    assert answers[0]["confidence"]["coverage"] == 0.9
    assert abs(float(np.mean(inside)) - 0.9) <= 0.02


def test_bad_declarations_fail_the_build_early(
    tmp_path: Path, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> None:
    with pytest.raises(ValueError):
        mp.package(
            fitted_loan_model, loan_frame, name="x", path=tmp_path / "x", decisions="score>>0.7"
        )
    with pytest.raises(ValueError):
        mp.package(
            fitted_loan_model,
            loan_frame,
            name="x",
            path=tmp_path / "y",
            calibration=(loan_frame, "approved"),
        )
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
