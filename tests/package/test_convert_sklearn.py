"""The scikit-learn converter: ONNX graphs that agree with scikit-learn to 1e-6.

Every family is fitted on synthetic loan applications with missing values, converted, and
run with onnxruntime (fed as the runtime feeds: float64 columns with NaN, string columns
with MISSING_STRING) on held-out rows that include missing values, unseen categories and
values ten times beyond the training range.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from modelport.contract import Contract, FieldSpec, FieldType, infer_contract
from modelport.errors import PackageError, UnsupportedModel
from modelport.package.converters import (
    MISSING_STRING,
    ConvertedModel,
    convert_sklearn,
    supported_estimators,
)

TOLERANCE = 1e-6

pytestmark = pytest.mark.filterwarnings(
    "ignore:Found unknown categories:UserWarning",  # the held-out rows have them on purpose
    "ignore:Skipping features without any observed values:UserWarning",
)

NUMERIC = ["income", "age", "debt_ratio", "credit_history_months", "late_payments"]
COUNTS = ["open_accounts"]  # integer, never missing
CATEGORICAL = ["employment_type", "home_ownership", "purpose", "region"]
BOOLEAN = ["has_cosigner"]
LEVELS = {
    "employment_type": ["salaried", "self_employed", "contract", "unemployed", "retired"],
    "home_ownership": ["rent", "own", "mortgage"],
    "purpose": ["debt_consolidation", "home_improvement", "car", "education", "medical", "other"],
    "region": ["north", "south", "east", "west", "central"],
}


# -- data --------------------------------------------------------------------------------


def _applications(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10.9, 0.5, n).round(2),
            "age": rng.integers(18, 80, n).astype(float),
            "debt_ratio": rng.beta(2, 5, n),
            "credit_history_months": rng.integers(0, 480, n).astype(float),
            "late_payments": rng.poisson(0.7, n).astype(float),
            "open_accounts": rng.poisson(4, n).astype(np.int64),
            "employment_type": rng.choice(
                LEVELS["employment_type"], n, p=[0.5, 0.15, 0.15, 0.1, 0.1]
            ),
            "home_ownership": rng.choice(LEVELS["home_ownership"], n),
            "purpose": rng.choice(LEVELS["purpose"], n),
            "region": rng.choice(LEVELS["region"], n),
            "has_cosigner": rng.random(n) < 0.2,
        }
    )
    for column, share in zip(
        NUMERIC + CATEGORICAL, [0.07, 0.05, 0.06, 0.08, 0.05, 0.06, 0.05, 0.07, 0.05], strict=True
    ):
        frame[column] = frame[column].astype(object) if column in CATEGORICAL else frame[column]
        frame.loc[rng.random(n) < share, column] = np.nan
    for column in CATEGORICAL:  # the dtype pandas would read from a CSV file
        frame[column] = frame[column].astype("str")
    return frame


def _targets(frame: pd.DataFrame, seed: int) -> dict[str, pd.Series]:
    rng = np.random.default_rng(seed)
    income = np.log(frame["income"].fillna(50_000))
    score = (
        -1.2 * (income - 10.9)
        + 3.0 * (frame["debt_ratio"].fillna(0.3) - 0.3)
        + 0.5 * frame["late_payments"].fillna(1)
        - 0.004 * (frame["credit_history_months"].fillna(200) - 200)
        + 0.8 * (frame["employment_type"] == "unemployed")
        - 0.5 * frame["has_cosigner"]
        + rng.normal(0, 0.8, len(frame))
    )
    grade = np.select([score < -0.5, score < 0.8], ["low", "medium"], "high")
    amount = 0.35 * frame["income"].fillna(40_000) * (1 - frame["debt_ratio"].fillna(0.5))
    amount = amount + 900 * frame["open_accounts"] + rng.normal(0, 2_500, len(frame))
    return {
        "binary": pd.Series((score > 0.4).astype(np.int64), name="defaulted"),
        "multiclass": pd.Series(grade, name="risk_grade"),
        "regression": pd.Series(amount.round(2), name="approved_amount"),
    }


def _held_out(train: pd.DataFrame) -> pd.DataFrame:
    rows = _applications(400, seed=7)
    # Unseen categories.
    rows.loc[0:19, "employment_type"] = "gig_worker"
    rows.loc[10:29, "region"] = "overseas"
    rows.loc[20:39, "purpose"] = "wedding"
    # Ten times beyond the training range, on both sides.
    for k, column in enumerate(NUMERIC):
        low, high = train[column].min(), train[column].max()
        rows.loc[40 + 10 * k : 44 + 10 * k, column] = high * 10
        rows.loc[45 + 10 * k : 49 + 10 * k, column] = low - 10 * (high - low)
    rows.loc[90:99, "open_accounts"] = int(train["open_accounts"].max()) * 10
    # Nothing known at all.
    rows.loc[100:109, NUMERIC + CATEGORICAL] = np.nan
    return rows


TRAIN = _applications(3_000, seed=1)
TARGETS = _targets(TRAIN, seed=2)
TEST = _held_out(TRAIN)
CONTRACT = infer_contract(TRAIN)


def feeds(frame: pd.DataFrame, contract: Contract) -> dict[str, np.ndarray]:
    """The runtime's feed convention: one [N, 1] column per field."""
    out = {}
    for spec in contract.fields:
        column = frame[spec.name]
        if spec.type.is_numeric:
            out[spec.name] = column.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
        else:
            text = np.where(column.isna(), MISSING_STRING, column.astype(object))
            out[spec.name] = text.astype(object).reshape(-1, 1)
    return out


def run(
    converted: ConvertedModel, frame: pd.DataFrame, contract: Contract = CONTRACT
) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(
        converted.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds(frame, contract)), strict=True))


# -- pipelines ---------------------------------------------------------------------------


def _scaled() -> ColumnTransformer:
    """Imputed and standardised numbers; constant-imputed one-hot categories."""
    return ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                NUMERIC + COUNTS,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                CATEGORICAL,
            ),
            ("flag", "passthrough", BOOLEAN),
        ]
    )


def _min_max() -> ColumnTransformer:
    """Mean-imputed min-max numbers, most-frequent-imputed and raw one-hot categories."""
    return ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="mean", add_indicator=True)),
                        ("scale", MinMaxScaler()),
                    ]
                ),
                NUMERIC,
            ),
            (
                "mode",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                ["employment_type", "home_ownership"],
            ),
            # No imputer: NaN is a category seen in training and gets its own column.
            (
                "raw",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ["purpose", "region"],
            ),
        ],
        remainder="passthrough",  # open_accounts and has_cosigner
    )


def _trees() -> ColumnTransformer:
    """Imputed numbers without scaling, one-hot categories, one column dropped."""
    return ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="constant", fill_value=-1.0), NUMERIC + COUNTS),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL[:3]),
        ],
        remainder="drop",  # region and has_cosigner unused
    )


def _native_missing() -> ColumnTransformer:
    """NaN left in the numbers (HistGradientBoosting routes it), ordinal categories."""
    return ColumnTransformer(
        [
            ("num", "passthrough", NUMERIC + COUNTS),
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                CATEGORICAL,
            ),
        ]
    )


FAMILIES: dict[
    str, tuple[Callable[[], Any], Callable[[], Any] | None, Callable[[], Any] | None]
] = {
    # name: (preprocessor, classifier, regressor)
    "logistic_regression": (_scaled, lambda: LogisticRegression(max_iter=500), None),
    "linear_regression": (_scaled, None, LinearRegression),
    "ridge": (_min_max, None, lambda: Ridge(alpha=3.0)),
    "decision_tree": (
        _trees,
        lambda: DecisionTreeClassifier(min_samples_leaf=5, random_state=0),
        lambda: DecisionTreeRegressor(max_depth=10, random_state=0),
    ),
    "random_forest": (
        _trees,
        lambda: RandomForestClassifier(n_estimators=60, min_samples_leaf=2, random_state=0),
        lambda: RandomForestRegressor(n_estimators=40, max_depth=12, random_state=0),
    ),
    "extra_trees": (
        _min_max,
        lambda: ExtraTreesClassifier(n_estimators=60, min_samples_leaf=2, random_state=0),
        lambda: ExtraTreesRegressor(n_estimators=40, max_depth=12, random_state=0),
    ),
    "gradient_boosting": (
        _trees,
        lambda: GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0),
        lambda: GradientBoostingRegressor(n_estimators=80, random_state=0),
    ),
    "hist_gradient_boosting": (
        _native_missing,
        lambda: HistGradientBoostingClassifier(max_iter=60, random_state=0),
        lambda: HistGradientBoostingRegressor(max_iter=80, random_state=0),
    ),
    "mlp": (
        _scaled,
        lambda: MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=150, random_state=0),
        lambda: MLPRegressor(
            hidden_layer_sizes=(16,), max_iter=150, learning_rate_init=0.01, random_state=0
        ),
    ),
}

CASES = [
    pytest.param(family, task, id=f"{family}-{task}")
    for family, (_, classifier, regressor) in FAMILIES.items()
    for task in ("binary", "multiclass", "regression")
    if (regressor if task == "regression" else classifier) is not None
]


def fit(family: str, task: str) -> Pipeline:
    preprocessor, classifier, regressor = FAMILIES[family]
    estimator = regressor() if task == "regression" else classifier()  # type: ignore[misc]
    target = TARGETS[task]
    if family == "mlp" and task == "regression":
        target = target / 1_000  # a scale an MLP can learn in a few iterations
    pipeline = Pipeline([("prepare", preprocessor()), ("model", estimator)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(TRAIN, target)
    return pipeline


def differences(
    pipeline: Any, converted: ConvertedModel, frame: pd.DataFrame, contract: Contract = CONTRACT
) -> tuple[float, int]:
    """Largest absolute difference and number of differing labels, graph vs scikit-learn."""
    outputs = run(converted, frame, contract)
    frame = frame[list(pipeline.feature_names_in_)]
    if converted.task == "regression":
        expected = pipeline.predict(frame)
        assert outputs["value"].shape == expected.shape
        return float(np.max(np.abs(outputs["value"] - expected))), 0
    proba = pipeline.predict_proba(frame)
    labels = pipeline.predict(frame).tolist()
    got = outputs["label"].tolist()
    assert len(got) == len(labels)
    mismatched = sum(a != b or type(a) is not type(b) for a, b in zip(got, labels, strict=True))
    return float(np.max(np.abs(outputs["probabilities"] - proba))), mismatched


# -- parity ------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "task"), CASES)
def test_graph_matches_scikit_learn(family: str, task: str) -> None:
    pipeline = fit(family, task)
    converted = convert_sklearn(pipeline, CONTRACT)

    worst, mismatched = differences(pipeline, converted, TEST)

    assert worst <= TOLERANCE
    assert mismatched == 0
    assert converted.task == task
    assert converted.estimator == type(pipeline[-1]).__name__
    if task == "regression":
        assert converted.classes is None
    else:
        assert converted.classes == pipeline[-1].classes_.tolist()
        assert all(type(c) in (int, str) for c in converted.classes)


# Less common configurations, on small models. TRAIN_X adds a column that is empty in
# training (SimpleImputer drops it) but filled at predict time.
TRAIN_X = TRAIN.assign(bureau_score=np.nan)
TEST_X = TEST.assign(bureau_score=np.linspace(300.0, 850.0, len(TEST)))
CONTRACT_X = infer_contract(TRAIN_X)
Y_BINARY, Y_GRADE, Y_AMOUNT = TARGETS["binary"], TARGETS["multiclass"], TARGETS["regression"]


def _numbers(*steps: Any, columns: list[str] = NUMERIC) -> ColumnTransformer:
    return ColumnTransformer([("num", make_pipeline(*steps) if steps else "passthrough", columns)])


def _with_categories(numbers: Any, categories: Any) -> ColumnTransformer:
    return ColumnTransformer([("num", numbers, NUMERIC), ("cat", categories, CATEGORICAL)])


VARIANTS: dict[str, tuple[Callable[[], Any], pd.Series]] = {
    "onehot-drop-first-scaler-without-mean": (
        lambda: make_pipeline(
            _with_categories(
                make_pipeline(SimpleImputer(), StandardScaler(with_mean=False)),
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="none"),
                    OneHotEncoder(drop="first", handle_unknown="ignore"),
                ),
            ),
            LogisticRegression(max_iter=300),
        ),
        Y_GRADE,
    ),
    "onehot-numeric-and-boolean-robust-scaler": (
        lambda: make_pipeline(
            ColumnTransformer(
                [
                    ("num", make_pipeline(SimpleImputer(), RobustScaler()), NUMERIC),
                    (
                        "codes",
                        OneHotEncoder(drop="if_binary", handle_unknown="ignore"),
                        COUNTS + BOOLEAN,
                    ),
                ]
            ),
            LogisticRegression(max_iter=300),
        ),
        Y_BINARY,
    ),
    "empty-column-indicator-max-abs": (
        lambda: make_pipeline(
            _numbers(
                SimpleImputer(add_indicator=True),
                MaxAbsScaler(),
                columns=[*NUMERIC, "bureau_score"],
            ),
            LinearRegression(),
        ),
        Y_AMOUNT,
    ),
    "empty-column-kept-min-max-clip": (
        lambda: make_pipeline(
            _numbers(
                SimpleImputer(strategy="median", keep_empty_features=True),
                MinMaxScaler(clip=True),
                columns=[*NUMERIC, "bureau_score"],
            ),
            Ridge(),
        ),
        Y_AMOUNT,
    ),
    "string-imputer-with-indicator": (
        lambda: make_pipeline(
            _with_categories(
                SimpleImputer(),
                make_pipeline(
                    SimpleImputer(strategy="most_frequent", add_indicator=True),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
            ),
            LogisticRegression(max_iter=300),
        ),
        Y_GRADE,
    ),
    "ordinal-missing-category": (
        lambda: make_pipeline(
            _with_categories(
                SimpleImputer(),
                OrdinalEncoder(
                    encoded_missing_value=-2,
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                ),
            ),
            RandomForestClassifier(n_estimators=20, max_depth=8, random_state=0),
        ),
        Y_GRADE,
    ),
    "trees-route-nan-themselves": (
        lambda: make_pipeline(_numbers(), DecisionTreeClassifier(max_depth=8, random_state=0)),
        Y_GRADE,
    ),
    "forest-routes-nan-itself": (
        lambda: make_pipeline(_numbers(), RandomForestRegressor(20, max_depth=8, random_state=0)),
        Y_AMOUNT,
    ),
    "tree-that-is-one-leaf": (
        lambda: make_pipeline(
            _numbers(SimpleImputer()), DecisionTreeClassifier(max_depth=1, min_samples_split=10**6)
        ),
        Y_GRADE,
    ),
    "gradient-boosting-exponential-loss": (
        lambda: make_pipeline(
            _numbers(SimpleImputer()),
            GradientBoostingClassifier(loss="exponential", n_estimators=20, random_state=0),
        ),
        Y_BINARY,
    ),
    "gradient-boosting-zero-init-huber": (
        lambda: make_pipeline(
            _numbers(SimpleImputer()),
            GradientBoostingRegressor(loss="huber", init="zero", n_estimators=20, random_state=0),
        ),
        Y_AMOUNT,
    ),
    "hist-gradient-boosting-poisson": (
        lambda: make_pipeline(
            _numbers(), HistGradientBoostingRegressor(loss="poisson", max_iter=20)
        ),
        Y_AMOUNT,
    ),
    "boolean-labels": (
        lambda: make_pipeline(
            _numbers(SimpleImputer()), RandomForestClassifier(10, max_depth=5, random_state=0)
        ),
        Y_BINARY.astype(bool),
    ),
    "float-labels": (
        lambda: make_pipeline(_numbers(SimpleImputer(), StandardScaler()), LogisticRegression()),
        Y_BINARY.astype(float),
    ),
    "string-binary-labels": (
        lambda: make_pipeline(
            _numbers(SimpleImputer()), GradientBoostingClassifier(n_estimators=20, random_state=0)
        ),
        pd.Series(np.where(Y_BINARY == 1, "declined", "approved")),
    ),
    "mlp-tanh": (
        lambda: make_pipeline(
            _numbers(SimpleImputer(), StandardScaler()),
            MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", max_iter=40, random_state=0),
        ),
        Y_GRADE,
    ),
    "mlp-logistic": (
        lambda: make_pipeline(
            _numbers(SimpleImputer(), StandardScaler()),
            MLPClassifier(
                hidden_layer_sizes=(8,), activation="logistic", max_iter=40, random_state=0
            ),
        ),
        Y_BINARY,
    ),
    "sparse-column-transformer-output": (
        lambda: make_pipeline(
            ColumnTransformer(
                [
                    ("income", SimpleImputer(), ["income"]),
                    ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                ],
                sparse_threshold=0.9,
            ),
            LogisticRegression(max_iter=300),
        ),
        Y_GRADE,
    ),
    "no-column-transformer": (
        lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()),
        Y_BINARY,
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_less_common_configurations_match(variant: str) -> None:
    build, target = VARIANTS[variant]
    pipeline = build()
    columns = NUMERIC if variant == "no-column-transformer" else list(TRAIN_X.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(TRAIN_X[columns], target)

    worst, mismatched = differences(
        pipeline, convert_sklearn(pipeline, CONTRACT_X), TEST_X, CONTRACT_X
    )

    assert worst <= TOLERANCE
    assert mismatched == 0


def _income_thresholds(model: Any) -> np.ndarray:
    """Split thresholds on feature 0 (income, unscaled in _trees and _native_missing)."""
    if hasattr(model, "_predictors"):
        nodes = [p.nodes for iteration in model._predictors for p in iteration]
        return np.concatenate(
            [n["num_threshold"][(n["feature_idx"] == 0) & (n["is_leaf"] == 0)] for n in nodes]
        )
    members = np.ravel(getattr(model, "estimators_", [model]))
    return np.concatenate([m.tree_.threshold[m.tree_.feature == 0] for m in members])


def _on_the_edge(thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, a value that rounding to float32 moves to the other side of it."""
    edges = []
    for t in thresholds:
        for x in (
            np.nextafter(t, np.inf),
            np.nextafter(t, -np.inf),
            t * (1 + 2**-26),
            t * (1 - 2**-26),
        ):
            if (float(np.float32(x)) <= t) != (x <= t):
                edges.append(x)
                break
    return np.array(edges)


@pytest.mark.parametrize(
    ("family", "task"),
    [
        ("decision_tree", "regression"),
        ("random_forest", "multiclass"),
        ("gradient_boosting", "binary"),
        ("hist_gradient_boosting", "regression"),
    ],
)
def test_trees_see_inputs_at_scikit_learn_precision(family: str, task: str) -> None:
    """Incomes a hair from a split: float32 trees and float64 HGB each send them their way."""
    pipeline = fit(family, task)
    edges = _on_the_edge(_income_thresholds(pipeline[-1]))[:300]
    rows = TEST.sample(len(edges), replace=True, random_state=0).reset_index(drop=True)
    rows["income"] = edges

    worst, mismatched = differences(pipeline, convert_sklearn(pipeline, CONTRACT), rows)

    assert len(edges) >= 20
    assert worst <= TOLERANCE
    assert mismatched == 0


def test_outputs_follow_the_feed_convention() -> None:
    pipeline = fit("random_forest", "multiclass")
    graph = convert_sklearn(pipeline, CONTRACT).onnx_model.graph

    inputs = {i.name: i.type.tensor_type for i in graph.input}
    outputs = {o.name: o.type.tensor_type for o in graph.output}

    assert list(inputs) == CONTRACT.names  # unused fields (region, has_cosigner) included
    assert inputs["income"].elem_type == 11  # double
    assert inputs["region"].elem_type == 8  # string
    assert [d.dim_value for d in inputs["income"].shape.dim] == [0, 1]
    assert outputs["label"].elem_type == 8
    assert outputs["probabilities"].elem_type == 11
    assert set(outputs) == {"label", "probabilities"}


def test_integer_labels_come_back_as_int64() -> None:
    outputs = run(convert_sklearn(fit("logistic_regression", "binary"), CONTRACT), TEST)

    assert outputs["label"].dtype == np.int64
    assert outputs["probabilities"].shape == (len(TEST), 2)


def test_missing_string_lights_the_nan_category() -> None:
    """OneHotEncoder without an imputer learned NaN as a category: "" must select it."""
    pipeline = fit("ridge", "regression")  # _min_max: raw one-hot of purpose and region
    rows = TEST.head(6).copy()
    rows.loc[rows.index[:3], "purpose"] = np.nan
    encoder = pipeline[0].named_transformers_["raw"]
    assert any(isinstance(c, float) for c in encoder.categories_[0])  # NaN was seen

    worst, _ = differences(pipeline, convert_sklearn(pipeline, CONTRACT), rows)

    assert worst <= TOLERANCE


def test_bare_estimator_on_numeric_frame() -> None:
    columns = ["income", "age"]
    frame = TRAIN[columns].fillna(0.0)
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(
        frame, TARGETS["binary"]
    )
    contract = infer_contract(frame)

    converted = convert_sklearn(model, contract)
    session = ort.InferenceSession(converted.onnx_model.SerializeToString())
    feed = {c: frame[[c]].to_numpy(np.float64) for c in columns}
    label, proba = session.run(["label", "probabilities"], feed)

    assert np.max(np.abs(proba - model.predict_proba(frame))) <= TOLERANCE
    assert np.array_equal(label, model.predict(frame))


# -- refusals ----------------------------------------------------------------------------


def test_unsupported_estimator_is_refused() -> None:
    pipeline = Pipeline([("prepare", _scaled()), ("model", SVC())])
    pipeline.fit(TRAIN.head(300), TARGETS["binary"].head(300))

    with pytest.raises(UnsupportedModel, match="SVC.*allow_native=True"):
        convert_sklearn(pipeline, CONTRACT)


def test_unfitted_pipeline_is_refused() -> None:
    pipeline = Pipeline([("prepare", _scaled()), ("model", LogisticRegression())])

    with pytest.raises(UnsupportedModel, match="not fitted"):
        convert_sklearn(pipeline, CONTRACT)


def test_pipeline_reading_a_column_the_contract_lacks_is_refused() -> None:
    pipeline = fit("decision_tree", "binary")
    contract = Contract(fields=[f for f in CONTRACT.fields if f.name != "purpose"])

    with pytest.raises(PackageError, match="purpose"):
        convert_sklearn(pipeline, contract)


def test_numbers_declared_as_text_are_refused() -> None:
    pipeline = fit("linear_regression", "regression")
    fields = [
        FieldSpec(name=f.name, type=FieldType.STRING, required=False) if f.name == "income" else f
        for f in CONTRACT.fields
    ]

    with pytest.raises(PackageError, match="income"):
        convert_sklearn(pipeline, Contract(fields=fields))


def test_empty_string_category_is_refused() -> None:
    """ "" is how a missing string is fed, so it cannot also be a real category."""
    frame = TRAIN[["region"]].replace({"north": ""})
    pipeline = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression())
    pipeline.fit(frame, TARGETS["binary"])

    with pytest.raises(UnsupportedModel, match="region"):
        convert_sklearn(pipeline, infer_contract(frame))


def test_notes_record_the_precision_choices() -> None:
    notes = convert_sklearn(fit("random_forest", "binary"), CONTRACT).notes

    assert any("float32" in note for note in notes)
    assert any("float64" in note for note in notes)


def test_supported_estimators_cover_every_family() -> None:
    names = supported_estimators()

    for _, classifier, regressor in FAMILIES.values():
        for factory in (classifier, regressor):
            if factory is not None:
                assert type(factory()).__name__ in names
    assert "SVC" not in names
