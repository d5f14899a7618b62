"""Building a package: the manifest, the reference rows, the parity proof, the refusals."""

from __future__ import annotations

import shutil
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


def test_an_existing_package_is_not_overwritten_unless_asked(
    loan_package_path: Path, fitted_loan_model: Pipeline, loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    target = tmp_path / "pkg"
    shutil.copytree(loan_package_path, target)
    with pytest.raises(FileExistsError):
        mp.package(fitted_loan_model, loan_frame.head(200), name="loan-approval", path=target)
    built = mp.package(
        fitted_loan_model, loan_frame.head(200), name="loan-approval", path=target, replace=True
    )
    assert built.manifest.parity.sample_rows == 200
    assert oct(target.stat().st_mode & 0o777) != oct(0o700)  # shareable, like any directory


def test_replace_never_removes_a_directory_that_is_not_a_package(
    fitted_loan_model: Pipeline, loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    (victim / "src").mkdir(parents=True)
    (victim / "src" / "notes.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a modelport package"):
        mp.package(fitted_loan_model, loan_frame, name="loan", path=victim, replace=True)
    assert (victim / "src" / "notes.txt").read_text() == "precious"


def test_field_defaults_are_part_of_what_parity_proves(
    fitted_loan_model: Pipeline, loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    built = mp.package(
        fitted_loan_model,
        loan_frame,
        name="loan",
        path=tmp_path / "pkg",
        overrides={"age": {"default": 40}, "purpose": {"default": "car"}},
    )
    assert built.parity.passed
    scorer = mp.load(built.path)
    row = loan_frame[LOAN_FEATURES].head(1).to_dict("records")[0]
    row.pop("age")
    row["purpose"] = None
    filled = {**row, "age": 40.0, "purpose": "car"}
    expected = fitted_loan_model.predict_proba(pd.DataFrame([filled]))[0, 1]
    assert abs(scorer.score(scorer.validate([row])).answers()[0]["score"] - expected) <= 1e-6


def test_a_classifier_without_probabilities_is_refused_with_advice(
    loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    from sklearn.linear_model import RidgeClassifier

    model = loan_pipeline(RidgeClassifier()).fit(loan_frame[LOAN_FEATURES], loan_frame["approved"])
    with pytest.raises(UnsupportedModel, match="predict_proba"):
        mp.package(model, loan_frame, name="ridge", path=tmp_path / "p", allow_native=True)


def test_a_native_package_cannot_widen_its_own_trust(
    loan_frame: pd.DataFrame, tmp_path: Path
) -> None:
    from modelport.errors import PackageError
    from modelport.package import Manifest

    rows = loan_frame.head(300)
    model = loan_pipeline(KNeighborsClassifier()).fit(rows[LOAN_FEATURES], rows["approved"])
    built = mp.package(model, rows, name="knn", path=tmp_path / "native", allow_native=True)
    manifest = Manifest.read(built.path)
    resealed = manifest.model_copy(
        update={"trusted_types": [*manifest.trusted_types, "posix.system"]}
    ).sealed()  # a forger can recompute the digest: it proves integrity, not origin
    (built.path / "modelport.yaml").write_text(resealed.to_yaml())
    with pytest.raises(PackageError, match="posix.system"):
        mp.load(built.path)
