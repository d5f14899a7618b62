"""Pre-steps: the manifest model, the runner, and the transformers that become pre-steps."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from modelport.features import (
    AgeFromDate,
    AgeFromDateStep,
    DateParts,
    PreSteps,
    age_years,
    date_parts,
    split_presteps,
    today_utc,
)

NOW = dt.date(2024, 6, 30)


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date_of_birth": ["1980-02-29", "2000-06-30", None, "garbage", "1999-07-01"],
            "applied_on": ["2024-01-15", None, "2023-12-31", "2024-06-01", "2024-02-29"],
            "income": [1.0, 2.0, 3.0, 4.0, 5.0],
        },
        index=[10, 11, 12, 13, 14],
    )


def _steps() -> PreSteps:
    return PreSteps(
        [
            {"step": "age_from_date", "version": 1, "column": "date_of_birth", "output": "age"},
            {"step": "date_parts", "column": "applied_on", "parts": ["month", "day_of_week"]},
        ]
    )


def test_manifest_form_round_trips_through_json_and_yaml() -> None:
    steps = _steps()
    stored = steps.to_manifest()
    assert stored[0] == {
        "step": "age_from_date",
        "version": 1,
        "column": "date_of_birth",
        "drop": True,
        "output": "age",
        "now": None,
    }
    assert PreSteps.from_manifest(json.loads(json.dumps(stored))) == steps
    assert PreSteps.from_manifest(yaml.safe_load(yaml.safe_dump(stored))) == steps
    assert not PreSteps.from_manifest(None)
    fixed = PreSteps([AgeFromDateStep(column="dob", output="age", now=NOW)])
    assert fixed.to_manifest()[0]["now"] == "2024-06-30"
    assert PreSteps.from_manifest(fixed.to_manifest()) == fixed


def test_unknown_steps_versions_and_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="version 2"):
        PreSteps([{"step": "age_from_date", "version": 2, "column": "d", "output": "age"}])
    with pytest.raises(ValidationError):
        PreSteps([{"step": "geocode", "version": 1, "column": "d"}])
    with pytest.raises(ValidationError):
        PreSteps([{"step": "age_from_date", "column": "d", "output": "age", "extra": 1}])
    with pytest.raises(ValidationError, match="unknown date parts"):
        PreSteps([{"step": "date_parts", "column": "d", "parts": ["hour"]}])


def test_inputs_outputs_and_dropped_columns() -> None:
    steps = _steps()
    assert steps.inputs == ["date_of_birth", "applied_on"]
    assert steps.outputs == ["age", "applied_on_month", "applied_on_day_of_week"]
    assert steps.dropped == ["date_of_birth", "applied_on"]


def test_apply_computes_the_functions_and_keeps_other_columns(raw: pd.DataFrame) -> None:
    out = _steps().apply(raw, now=NOW)
    assert list(out.columns) == ["income", "age", "applied_on_month", "applied_on_day_of_week"]
    assert list(out.index) == list(raw.index)
    np.testing.assert_array_equal(out["age"], age_years(raw["date_of_birth"], NOW))
    assert out["age"].tolist()[:2] == [44.0, 24.0] and np.isnan(out["age"].iloc[2:4]).all()
    parts = date_parts(raw["applied_on"], ["month", "day_of_week"])
    np.testing.assert_array_equal(out["applied_on_day_of_week"], parts["day_of_week"])
    pd.testing.assert_series_equal(out["income"], raw["income"])
    assert "date_of_birth" in raw  # the caller's frame is untouched


def test_apply_columns_works_on_validated_columns(raw: pd.DataFrame) -> None:
    columns = {name: raw[name].to_numpy(dtype=object) for name in raw.columns}
    out = _steps().apply_columns(columns, now=NOW)
    assert set(out) == {"income", "age", "applied_on_month", "applied_on_day_of_week"}
    np.testing.assert_array_equal(out["age"], _steps().apply(raw, now=NOW)["age"].to_numpy())
    with pytest.raises(KeyError, match="date_of_birth"):
        _steps().apply_columns({"applied_on": columns["applied_on"]})


def test_now_defaults_to_the_scoring_date_unless_the_step_fixes_it(raw: pd.DataFrame) -> None:
    today = _steps().apply(raw)["age"]
    np.testing.assert_array_equal(today, age_years(raw["date_of_birth"], today_utc()))
    fixed = PreSteps([AgeFromDateStep(column="date_of_birth", output="age", now=NOW)])
    later = fixed.apply(raw, now=dt.date(2030, 1, 1))["age"]
    np.testing.assert_array_equal(later, age_years(raw["date_of_birth"], NOW))


def test_unreadable_names_present_values_that_are_not_dates(raw: pd.DataFrame) -> None:
    assert _steps().unreadable({c: raw[c] for c in raw.columns}) == [(3, "date_of_birth")]


def test_date_transformers_are_the_prestep_code(raw: pd.DataFrame) -> None:
    age = AgeFromDate(column="date_of_birth", output="age", now="2024-06-30")
    parts = DateParts(column="applied_on", parts=["month", "day_of_week"])
    out = Pipeline([("age", age), ("parts", parts)]).fit(raw).transform(raw)
    pd.testing.assert_frame_equal(out, _steps().apply(raw, now=NOW))
    assert list(age.get_feature_names_out()) == ["applied_on", "income", "age"]
    assert list(parts.get_feature_names_out(["x", "applied_on"])) == [
        "x",
        "applied_on_month",
        "applied_on_day_of_week",
    ]
    kept = AgeFromDate("date_of_birth", "age", now=NOW, drop=False).fit(raw)
    assert list(kept.transform(raw).columns) == [*raw.columns, "age"]


@pytest.mark.parametrize(
    "transformer",
    [AgeFromDate("dob", "age", now="2024-06-30"), DateParts("applied_on", ["year"], "app")],
)
def test_date_transformers_clone_and_round_trip_params(transformer: object) -> None:
    copy = clone(transformer)
    assert copy.get_params() == transformer.get_params()  # type: ignore[attr-defined]
    assert type(copy)(**copy.get_params()).to_prestep() == copy.to_prestep()


def test_date_transformers_need_a_frame_with_the_column(raw: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        AgeFromDate("date_of_birth").fit(raw.to_numpy())
    with pytest.raises(ValueError, match="no column 'dob'"):
        AgeFromDate("dob").fit(raw)


def test_split_presteps_peels_the_head_of_the_pipeline() -> None:
    rows = pd.DataFrame(
        {
            "date_of_birth": ["1980-02-29", "2000-06-30", "1975-01-01", "1999-07-01"],
            "applied_on": ["2024-01-15", "2024-03-02", "2023-12-31", "2024-06-01"],
            "income": [1.0, 2.0, 3.0, 4.0],
        }
    )
    model = Pipeline(
        [
            ("age", AgeFromDate("date_of_birth", "age", now=NOW)),
            ("parts", DateParts("applied_on", ["month"])),
            ("model", LogisticRegression()),
        ]
    ).fit(rows, [0, 1, 0, 1])
    steps, rest = split_presteps(model)
    assert [s.step for s in steps.steps] == ["age_from_date", "date_parts"]
    assert steps.steps[0].now == NOW
    assert isinstance(rest, Pipeline) and [n for n, _ in rest.steps] == ["model"]
    assert rest.steps[0][1] is model.steps[-1][1]
    assert list(rest.feature_names_in_) == ["income", "age", "applied_on_month"]
    np.testing.assert_array_equal(rest.predict_proba(steps.apply(rows)), model.predict_proba(rows))
    plain = Pipeline([("model", LogisticRegression())])
    assert split_presteps(plain) == (PreSteps(), plain)
