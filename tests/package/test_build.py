"""Building a package: the manifest, the reference rows, the parity proof, the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_pipeline
from modelport.errors import InvalidName, UnsupportedModel
from modelport.package import open_package
from modelport.package.reference import check_reference


def test_manifest_describes_the_model(loan_package_path: Path) -> None:
    manifest = open_package(loan_package_path).manifest
    assert manifest.format_version == 1
    assert manifest.task == "binary"
    assert manifest.classes == [0, 1]
    assert manifest.runtime == "onnx"
    assert manifest.framework["estimator"] == "RandomForestClassifier"
    assert {"scikit-learn", "onnxruntime", "onnx", "python"} <= set(manifest.libraries)
    assert manifest.contract.names == LOAN_FEATURES
    assert [o.name for o in manifest.outputs] == ["label", "proba_0", "proba_1", "score"]
    assert manifest.parity.passed
    assert manifest.parity.max_abs_diff["probabilities"] <= 1e-6
    assert manifest.parity.label_mismatches == 0
    assert manifest.parity.edge_rows > 0


def test_reference_rows_carry_the_original_predictions(
    loan_package_path: Path, fitted_loan_model: Pipeline
) -> None:
    package = open_package(loan_package_path)
    reference = package.reference()
    expected = fitted_loan_model.predict_proba(reference[LOAN_FEATURES])[:, 1]
    assert np.array_equal(reference["expected_proba_1"].to_numpy(), expected)
    assert check_reference(package) <= 1e-6


def test_loaded_scorer_matches_the_original(
    loan_package_path: Path, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> None:
    rows = loan_frame[LOAN_FEATURES].tail(500)
    out = mp.load(loan_package_path).predict(rows)
    assert list(out.columns) == ["label", "proba_0", "proba_1"]
    assert (
        np.abs(out["proba_1"].to_numpy() - fitted_loan_model.predict_proba(rows)[:, 1]).max()
        <= 1e-6
    )
    assert (out["label"].to_numpy() == fitted_loan_model.predict(rows)).all()


def test_predict_refuses_rows_outside_the_contract(
    loan_package_path: Path, loan_frame: pd.DataFrame
) -> None:
    rows = loan_frame[LOAN_FEATURES].head(3).copy()
    rows.loc[rows.index[1], "loan_amount"] = -1.0
    with pytest.raises(mp.InvalidInput) as caught:
        mp.load(loan_package_path).predict(rows)
    assert [(e.record, e.field) for e in caught.value.errors] == [(1, "loan_amount")]


def test_an_unconvertible_model_is_refused_or_stored_natively(
    tmp_path: Path, loan_frame: pd.DataFrame
) -> None:
    model = loan_pipeline(KNeighborsClassifier(n_neighbors=15))
    rows = loan_frame.head(300)
    model.fit(rows[LOAN_FEATURES], rows["approved"])
    with pytest.raises(UnsupportedModel, match="allow_native"):
        mp.package(model, rows, name="knn", path=tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-written leftovers

    built = mp.package(model, rows, name="knn", path=tmp_path / "native", allow_native=True)
    assert built.manifest.runtime == "native"
    assert built.manifest.trusted_types  # an explicit list, never "trust everything"
    assert built.parity.passed
    scored = mp.load(built.path).predict(rows[LOAN_FEATURES].head(20))
    assert np.allclose(scored["proba_1"], model.predict_proba(rows[LOAN_FEATURES].head(20))[:, 1])


@pytest.mark.parametrize("name", ["Loan", "../evil", "a/b", "", "x" * 65, "loan;drop"])
def test_model_names_follow_a_safe_pattern(
    name: str, tmp_path: Path, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame
) -> None:
    with pytest.raises(InvalidName):
        mp.package(fitted_loan_model, loan_frame, name=name, path=tmp_path / "p")


def test_an_existing_path_is_not_overwritten_unless_asked(
    loan_package_path: Path, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    target = tmp_path / "pkg"
    target.mkdir()
    with pytest.raises(FileExistsError):
        mp.package(fitted_loan_model, loan_frame.head(200), name="loan-approval", path=target)
    built = mp.package(
        fitted_loan_model, loan_frame.head(200), name="loan-approval", path=target, replace=True
    )
    assert built.manifest.parity.sample_rows == 200
