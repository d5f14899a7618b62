"""Which string fields a fitted pipeline scores unseen values for, and what it learned."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

from modelport.contract.infer import ModelCategories
from modelport.package.category_use import model_categories

ROWS = 60


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=ROWS),
            "plan": rng.choice(["basic", "plus", "pro"], ROWS),
            "city": rng.choice(["oslo", "rome"], ROWS),
            "note": rng.choice(["a", "b"], ROWS),
        }
    )


def fitted(prepare: Any) -> Any:
    data = frame()
    target = (data["x"] > 0).astype(int)
    return make_pipeline(prepare, LogisticRegression()).fit(data, target)


def found(model: Any) -> dict[str, ModelCategories]:
    return model_categories(model, list(frame().columns))


def test_encoders_that_score_unseen_values_open_their_fields() -> None:
    model = fitted(
        ColumnTransformer(
            [
                ("num", "passthrough", ["x"]),
                (
                    "plan",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="none"),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    ["plan"],
                ),
                (
                    "city",
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                    ["city"],
                ),
            ]
        )
    )
    result = found(model)
    assert result["plan"] == ModelCategories(scores_unseen=True, known=["basic", "plus", "pro"])
    assert result["city"] == ModelCategories(scores_unseen=True, known=["oslo", "rome"])
    # "note" is dropped (remainder="drop"): nothing refuses its values
    assert result["note"] == ModelCategories(scores_unseen=True, known=None)
    assert result["x"].scores_unseen is False  # a raw number reaches the estimator


@pytest.mark.parametrize(
    "encoder",
    [
        OneHotEncoder(handle_unknown="error"),
        OrdinalEncoder(handle_unknown="error"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    ],
    ids=["onehot-error", "ordinal-error", "ordinal-tolerant"],
)
def test_one_encoder_that_raises_on_unseen_values_closes_the_field(encoder: Any) -> None:
    model = fitted(
        ColumnTransformer(
            [
                ("tolerant", OneHotEncoder(handle_unknown="ignore"), ["plan", "city"]),
                ("other", encoder, ["plan"]),
            ],
            remainder="drop",
        )
    )
    result = found(model)
    raises = encoder.handle_unknown == "error"
    assert result["plan"] == ModelCategories(
        scores_unseen=not raises, known=["basic", "plus", "pro"]
    )
    assert result["city"] == ModelCategories(scores_unseen=True, known=["oslo", "rome"])


def test_what_cannot_be_followed_closes_the_field() -> None:
    lower = FunctionTransformer(lambda f: f.apply(lambda c: c.str.lower()))
    model = fitted(
        ColumnTransformer(
            [
                ("plan", make_pipeline(lower, OneHotEncoder(handle_unknown="ignore")), ["plan"]),
                ("both", FeatureUnion([("a", OneHotEncoder(handle_unknown="ignore"))]), ["city"]),
                ("num", "passthrough", ["x"]),
            ],
            remainder="drop",
        )
    )
    result = found(model)
    assert result["plan"] == ModelCategories(scores_unseen=False, known=None)
    assert result["city"] == ModelCategories(scores_unseen=True, known=["oslo", "rome"])


def test_a_raw_string_passed_on_closes_the_field() -> None:
    # remainder="passthrough" hands "note" on raw; whatever comes next decides, unseen.
    prepare = ColumnTransformer(
        [("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder="passthrough"
    )
    data = frame()[["plan", "note"]]
    prepare.fit(data)
    result = model_categories(prepare, ["plan", "note"])
    assert result["note"] == ModelCategories(scores_unseen=False, known=None)
    assert result["plan"].scores_unseen is True


def test_an_encoder_straight_in_the_pipeline_and_missing_values_it_learned() -> None:
    data = frame()[["plan"]].astype(object)
    data.loc[:5, "plan"] = np.nan
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression())
    model.fit(data, np.arange(ROWS) % 2)
    # NaN is a learned category, but missing is the contract's business, not a category
    assert model_categories(model, ["plan"]) == {
        "plan": ModelCategories(scores_unseen=True, known=["basic", "plus", "pro"])
    }
