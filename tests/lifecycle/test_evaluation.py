"""Evaluating real packages on test sets: the metrics are scikit-learn's on the pipeline's own
predictions, whatever file the rows come from, and refused rows are counted, not dropped."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_pipeline
from modelport.errors import EvaluationError
from modelport.lifecycle import METRICS, Evaluation, evaluate, metric_named, read_test_data
from modelport.lifecycle.evaluation import TEXT_SOURCE, metrics_for
from modelport.package import Package, load_scorer, open_package
from modelport.runtime import Task

TOLERANCE = 1e-6  # the packages' parity tolerance: their predictions are the pipeline's


@pytest.fixture(scope="module")
def loan_package(loan_package_path: Path) -> Package:
    return open_package(loan_package_path)


@pytest.fixture(scope="module")
def test_rows(loan_frame: pd.DataFrame) -> pd.DataFrame:
    """Rows the package's contract accepts (its bounds come from these very rows)."""
    return loan_frame.iloc[:1200].reset_index(drop=True)


def binary_expected(model: Pipeline, rows: pd.DataFrame) -> dict[str, float]:
    truth = rows["approved"].to_numpy()
    proba = model.predict_proba(rows[LOAN_FEATURES])
    labels = model.predict(rows[LOAN_FEATURES])
    return {
        "accuracy": skm.accuracy_score(truth, labels),
        "precision": skm.precision_score(truth, labels, pos_label=1),
        "recall": skm.recall_score(truth, labels, pos_label=1),
        "f1": skm.f1_score(truth, labels, pos_label=1),
        "roc_auc": skm.roc_auc_score(truth, proba[:, 1]),
        "log_loss": skm.log_loss(truth, proba),
    }


def assert_metrics(measured: dict[str, float], expected: dict[str, float]) -> None:
    assert set(measured) == set(expected)
    for name, value in expected.items():
        assert measured[name] == pytest.approx(value, abs=TOLERANCE), name


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as the file its name says, each format as users write it."""
    if path.name.endswith((".csv", ".csv.gz")):
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:  # JSON Lines, floats in full precision, NaN as null
        with path.open("w") as out:
            for record in frame.to_dict(orient="records"):
                clean = {k: _plain(v) for k, v in record.items()}
                out.write(json.dumps(clean) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


# -- binary classification -------------------------------------------------------------


def test_binary_metrics_are_scikit_learns_on_the_pipelines_predictions(
    loan_package: Package, fitted_loan_model: Pipeline, test_rows: pd.DataFrame
) -> None:
    result = evaluate(loan_package, test_rows, "approved")

    assert_metrics(result.metrics, binary_expected(fitted_loan_model, test_rows))
    assert list(result.metrics) == [m.name for m in metrics_for(Task.BINARY)]  # METRICS order
    assert (result.task, result.rows, result.scored, result.refused) == (Task.BINARY, 1200, 1200, 0)
    assert result.unlabelled == 0 and result.refusals == ()
    assert result.classes == (0, 1) and result.positive_class == 1
    # The other targets of the data set are neither fields nor the target: ignored, said so.
    assert "risk_grade" in result.notes["ignored_columns"]
    assert result.metric("AUC") == result.metrics["roc_auc"]
    orjson.dumps(result.to_dict())  # JSON-ready for reports and the audit trail


def test_a_loaded_scorer_evaluates_like_its_package(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    from_package = evaluate(loan_package, test_rows, "approved")
    from_scorer = evaluate(load_scorer(loan_package), test_rows, "approved")
    assert from_scorer.metrics == from_package.metrics


def test_chunked_scoring_gives_the_same_metrics(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    whole = evaluate(loan_package, test_rows, "approved")
    chunked = evaluate(loan_package, test_rows, "approved", chunk_rows=97)
    assert chunked.scored == whole.scored
    for name, value in whole.metrics.items():
        assert chunked.metrics[name] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("name", ["test.csv", "test.csv.gz", "test.parquet", "test.jsonl"])
def test_every_file_format_gives_the_same_metrics(
    loan_package: Package, test_rows: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    data = read_test_data(write(test_rows, tmp_path / name))

    assert len(data) == len(test_rows)
    assert data.attrs[TEXT_SOURCE] is name.startswith("test.csv")  # CSV columns are text
    in_memory = evaluate(loan_package, test_rows, "approved")
    from_file = evaluate(loan_package, data, "approved")
    assert (from_file.scored, from_file.refused) == (len(test_rows), 0)
    for metric, value in in_memory.metrics.items():
        assert from_file.metrics[metric] == pytest.approx(value, abs=1e-12), metric


@pytest.mark.parametrize(
    "convert",
    [
        lambda s: s.astype(str),  # "0"/"1", as a CSV gives them
        lambda s: s.astype(float),  # 0.0/1.0, as a column with gaps becomes
        lambda s: s.astype(bool),
    ],
    ids=["text", "float", "bool"],
)
def test_target_values_are_matched_to_the_classes_by_value(
    loan_package: Package, test_rows: pd.DataFrame, convert: Any
) -> None:
    relabelled = test_rows.assign(approved=convert(test_rows["approved"]))
    want = evaluate(loan_package, test_rows, "approved").metrics
    assert evaluate(loan_package, relabelled, "approved").metrics == want


def test_refused_rows_are_counted_and_described_not_dropped(
    loan_package: Package, fitted_loan_model: Pipeline, test_rows: pd.DataFrame
) -> None:
    contract = loan_package.manifest.contract
    assert contract.field("loan_amount").required  # so an empty one is refused
    broken = test_rows.astype({"age": object})
    broken.loc[3, "age"] = "abc"
    broken.loc[7, "loan_amount"] = np.nan

    result = evaluate(loan_package, broken, "approved")

    assert (result.rows, result.scored, result.refused) == (1200, 1198, 2)
    assert result.refusals == (
        "record 3: age: expected a number, got string 'abc'",
        "record 7: loan_amount: is required and must not be null",
    )
    assert result.refused_fields == {"age": 1, "loan_amount": 1}
    kept = test_rows.drop(index=[3, 7])
    assert_metrics(result.metrics, binary_expected(fitted_loan_model, kept))


def test_a_csv_is_read_leniently_and_its_bad_cells_refused_alike(
    loan_package: Package, test_rows: pd.DataFrame, tmp_path: Path
) -> None:
    broken = test_rows.astype({"age": object})
    broken.loc[3, "age"] = "abc"
    broken.loc[7, "loan_amount"] = np.nan
    from_csv = evaluate(loan_package, read_test_data(write(broken, tmp_path / "t.csv")), "approved")
    in_memory = evaluate(loan_package, broken, "approved")

    assert from_csv.refusals == in_memory.refusals
    assert from_csv.metrics == pytest.approx(in_memory.metrics, abs=1e-12)


def test_many_refusals_are_counted_but_only_the_first_few_described(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    broken = test_rows.copy()
    broken.loc[:49, "loan_amount"] = np.nan
    result = evaluate(loan_package, broken, "approved", chunk_rows=20)
    assert result.refused == 50 and result.scored == 1150
    assert [r.split(":")[0] for r in result.refusals] == [f"record {i}" for i in range(5)]


def test_rows_without_a_target_value_are_left_out_and_counted(
    loan_package: Package, fitted_loan_model: Pipeline, test_rows: pd.DataFrame
) -> None:
    gappy = test_rows.astype({"approved": object})
    gappy.loc[[0, 5, 9], "approved"] = None
    gappy.loc[11, "approved"] = ""
    result = evaluate(loan_package, gappy, "approved")

    assert (result.rows, result.unlabelled, result.scored, result.refused) == (1200, 4, 1196, 0)
    assert "4 rows have no 'approved' value" in result.notes["unlabelled"]
    kept = test_rows.drop(index=[0, 5, 9, 11])
    assert_metrics(result.metrics, binary_expected(fitted_loan_model, kept))


def test_a_target_value_that_is_not_a_class_is_an_error_naming_it(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    wrong = test_rows.astype({"approved": object})
    wrong.loc[4, "approved"] = "yes"
    wrong.loc[6, "approved"] = 2
    with pytest.raises(EvaluationError, match=r"'approved' holds 'yes', 2, not among .*\(0, 1\)"):
        evaluate(loan_package, wrong, "approved")
    doubled = test_rows.assign(approved=test_rows["approved"] * 2)  # int64: 0 and 2
    with pytest.raises(EvaluationError, match=r"'approved' holds 2, not among"):
        evaluate(loan_package, doubled, "approved")


def test_a_missing_target_column_is_an_error_naming_the_columns(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    with pytest.raises(
        EvaluationError, match=r"no target column 'aproved'.*'age', 'annual_income'"
    ):
        evaluate(loan_package, test_rows, "aproved")


def test_one_class_only_leaves_roc_auc_out_and_says_why(
    loan_package: Package, fitted_loan_model: Pipeline, test_rows: pd.DataFrame
) -> None:
    approved_only = test_rows[test_rows["approved"] == 1].reset_index(drop=True)
    result = evaluate(loan_package, approved_only, "approved")

    assert "roc_auc" not in result.metrics
    assert "class 0" in result.notes["roc_auc"]
    assert result.metric("roc_auc") is None
    truth, features = approved_only["approved"], approved_only[LOAN_FEATURES]
    labels = fitted_loan_model.predict(features)
    proba = fitted_loan_model.predict_proba(features)
    assert_metrics(
        result.metrics,
        {
            "accuracy": skm.accuracy_score(truth, labels),
            "precision": skm.precision_score(truth, labels, zero_division=0),
            "recall": skm.recall_score(truth, labels),
            "f1": skm.f1_score(truth, labels),
            "log_loss": skm.log_loss(truth, proba, labels=[0, 1]),
        },
    )


def test_no_scored_row_gives_no_metrics_and_a_note(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    result = evaluate(loan_package, test_rows.drop(columns=["loan_amount"]).head(10), "approved")
    assert (result.scored, result.refused, result.metrics) == (0, 10, {})
    assert "loan_amount" in result.notes["absent_fields"]
    assert "no row was scored" in result.notes["scored"]


# -- multiclass and regression ---------------------------------------------------------


@pytest.fixture(scope="module")
def grade_model(loan_frame: pd.DataFrame) -> Pipeline:
    model = loan_pipeline(LogisticRegression(max_iter=2000))
    return model.fit(loan_frame[LOAN_FEATURES], loan_frame["risk_grade"])


@pytest.fixture(scope="module")
def grade_package(
    grade_model: Pipeline, loan_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Package:
    path = tmp_path_factory.mktemp("lifecycle") / "risk-grade"
    return mp.package(grade_model, loan_frame, name="risk-grade", path=path).package


def test_multiclass_metrics_are_macro_averages_over_string_classes(
    grade_package: Package, grade_model: Pipeline, test_rows: pd.DataFrame
) -> None:
    result = evaluate(grade_package, test_rows, "risk_grade")

    truth, features = test_rows["risk_grade"], test_rows[LOAN_FEATURES]
    labels, proba = grade_model.predict(features), grade_model.predict_proba(features)
    assert result.task is Task.MULTICLASS and result.classes == ("A", "B", "C", "D")
    assert result.positive_class is None
    assert_metrics(
        result.metrics,
        {
            "accuracy": skm.accuracy_score(truth, labels),
            "precision": skm.precision_score(truth, labels, average="macro", zero_division=0),
            "recall": skm.recall_score(truth, labels, average="macro", zero_division=0),
            "f1": skm.f1_score(truth, labels, average="macro", zero_division=0),
            "roc_auc": skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro"),
            "log_loss": skm.log_loss(truth, proba, labels=grade_model.classes_),
        },
    )


def test_multiclass_roc_auc_needs_every_class(
    grade_package: Package, test_rows: pd.DataFrame
) -> None:
    no_d = test_rows[test_rows["risk_grade"] != "D"]
    result = evaluate(grade_package, no_d, "risk_grade")
    assert "roc_auc" not in result.metrics and "'D'" in result.notes["roc_auc"]
    assert "log_loss" in result.metrics


@pytest.fixture(scope="module")
def rate_model(loan_frame: pd.DataFrame) -> Pipeline:
    return loan_pipeline(Ridge(alpha=1.0)).fit(
        loan_frame[LOAN_FEATURES], loan_frame["interest_rate"]
    )


@pytest.fixture(scope="module")
def rate_package(
    rate_model: Pipeline, loan_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Package:
    path = tmp_path_factory.mktemp("lifecycle") / "interest-rate"
    return mp.package(rate_model, loan_frame, name="interest-rate", path=path).package


def test_regression_metrics_are_scikit_learns(
    rate_package: Package, rate_model: Pipeline, test_rows: pd.DataFrame, tmp_path: Path
) -> None:
    data = read_test_data(write(test_rows, tmp_path / "rates.csv"))
    result = evaluate(rate_package, data, "interest_rate")

    truth, values = test_rows["interest_rate"], rate_model.predict(test_rows[LOAN_FEATURES])
    assert result.task is Task.REGRESSION and result.classes is None
    assert list(result.metrics) == ["mae", "rmse", "r2", "mape"]
    assert_metrics(
        result.metrics,
        {
            "mae": skm.mean_absolute_error(truth, values),
            "rmse": math.sqrt(skm.mean_squared_error(truth, values)),
            "r2": skm.r2_score(truth, values),
            "mape": skm.mean_absolute_percentage_error(truth, values),
        },
    )


def test_a_regression_target_must_be_numbers(
    rate_package: Package, test_rows: pd.DataFrame
) -> None:
    wrong = test_rows.astype({"interest_rate": object})
    wrong.loc[2, "interest_rate"] = "high"
    with pytest.raises(EvaluationError, match="'interest_rate' must hold finite numbers.*'high'"):
        evaluate(rate_package, wrong, "interest_rate")


# -- metric names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("roc_auc", "roc_auc"),
        ("AUC", "roc_auc"),
        ("ROC-AUC", "roc_auc"),
        ("f1_score", "f1"),
        ("F1", "f1"),
        ("Log Loss", "log_loss"),
        ("logloss", "log_loss"),
        ("RMSE", "rmse"),
        ("r2_score", "r2"),
        ("mean_absolute_error", "mae"),
    ],
)
def test_metric_names_are_read_as_people_write_them(written: str, canonical: str) -> None:
    assert metric_named(written).name == canonical


def test_which_way_is_better() -> None:
    higher = {name for name, metric in METRICS.items() if metric.higher_is_better}
    assert higher == {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
    assert set(METRICS) - higher == {"log_loss", "mae", "rmse", "mape"}
    assert METRICS["rmse"].gain(1.0, 1.5) == pytest.approx(0.5)
    assert METRICS["roc_auc"].gain(0.8, 0.9) == pytest.approx(-0.1)


def test_an_unknown_metric_lists_the_valid_ones() -> None:
    with pytest.raises(EvaluationError, match="unknown metric 'gini'; use one of accuracy, .*mape"):
        metric_named("gini")
    with pytest.raises(
        EvaluationError, match="'mae' does not measure binary models; use one of accuracy, "
    ) as raised:
        metric_named("mae", Task.BINARY)
    assert "rmse" not in str(raised.value)


def test_evaluation_metric_checks_the_name_against_the_task(
    loan_package: Package, test_rows: pd.DataFrame
) -> None:
    result: Evaluation = evaluate(loan_package, test_rows.head(50), "approved")
    with pytest.raises(EvaluationError, match="does not measure binary"):
        result.metric("rmse")


# -- unreadable test data --------------------------------------------------------------


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        EvaluationError, match=r"cannot read the test data: .*missing\.csv does not exist"
    ):
        read_test_data(tmp_path / "missing.csv")


def test_an_unknown_extension_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "test.xlsx").write_bytes(b"PK")
    with pytest.raises(EvaluationError, match=r"cannot tell the format of .*test\.xlsx"):
        read_test_data(tmp_path / "test.xlsx")


def test_a_corrupt_parquet_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "test.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(EvaluationError, match=r"cannot read the test data: .*as Parquet"):
        read_test_data(tmp_path / "test.parquet")


def test_a_json_lines_line_that_is_not_an_object_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text('{"age": 30, "approved": 1}\n\n{"age": 31, \n')
    with pytest.raises(EvaluationError, match=r"test\.jsonl, line 3: not valid JSON"):
        read_test_data(path)
