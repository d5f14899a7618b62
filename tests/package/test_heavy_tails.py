"""A contract inferred from a small sample never refuses fresh rows of the same distribution.

A pipeline packaged from 2,000 rows of heavy-tailed data (lognormal incomes and balances)
meets 200,000 fresh rows drawn the same way: values beyond the sample's range are scored
and flagged as warnings (exactly the ones outside the expected range in the manifest),
none is refused; and values the domain cannot take are still refused, naming the field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import modelport as mp
from modelport.contract import Contract, FieldType, Validated, Validator
from modelport.package import open_package
from modelport.runtime import WARNINGS_ATTR

NUMERIC = ["income", "balance", "age", "tenure_months"]
REGIONS = ["east", "north", "south", "west"]
SEGMENTS = ["retail", "private", "business", "premier", "staff"]
SEGMENT_SHARES = [0.55, 0.25, 0.15, 0.0499, 0.0001]  # "staff" is rare: likely unseen


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    balance = rng.lognormal(8.0, 1.4, n)
    balance[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "income": rng.lognormal(10.8, 0.9, n),
            "balance": balance,
            "age": np.clip(rng.normal(45, 14, n), 18, 99).round().astype(np.int64),
            "tenure_months": rng.geometric(1 / 40, n).astype(np.int64),
            "segment": rng.choice(SEGMENTS, n, p=SEGMENT_SHARES),
            "region": rng.choice(REGIONS, n),
        }
    )


def target(frame: pd.DataFrame, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(size=len(frame))
    score = np.log(frame["income"]) - 10.8 + 0.02 * (frame["age"] - 45) + noise
    return (score > 0).to_numpy().astype(int)


@pytest.fixture(scope="module")
def package_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sample = customers(2_000, seed=11)
    prepare = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["segment", "region"]),
        ]
    )
    model = Pipeline([("prepare", prepare), ("model", LogisticRegression(max_iter=500))])
    model.fit(sample, target(sample, seed=11))
    path = tmp_path_factory.mktemp("packages") / "heavy-tails"
    built = mp.package(
        model,
        sample,
        name="heavy-tails",
        path=path,
        # a closed list is the caller's to declare (the encoder would score any region)
        overrides={"region": {"categories": REGIONS}},
    )
    return built.path


@pytest.fixture(scope="module")
def contract(package_path: Path) -> Contract:
    # what the manifest on disk says (read back and verified), not what was built in memory
    return open_package(package_path).manifest.contract


def outside_expectations(contract: Contract, fresh: pd.DataFrame) -> set[tuple[int, str]]:
    """(row, field) of every value outside the manifest's expected range or categories,
    computed straight from the manifest with numpy and pandas, not by the validator."""
    flagged: set[tuple[int, str]] = set()
    for spec in contract.fields:
        column = fresh[spec.name]
        if spec.type in (FieldType.NUMBER, FieldType.INTEGER):
            values = column.to_numpy(dtype=np.float64)
            low = -np.inf if spec.expected_minimum is None else spec.expected_minimum
            high = np.inf if spec.expected_maximum is None else spec.expected_maximum
            with np.errstate(invalid="ignore"):
                outside = (values < low) | (values > high)
        elif spec.expected_categories is not None:
            outside = (column.notna() & ~column.isin(spec.expected_categories)).to_numpy()
        else:
            continue
        flagged.update((int(row), spec.name) for row in np.flatnonzero(outside))
    return flagged


def pairs(validated: Validated) -> set[tuple[int, str]]:
    return {(w.record, w.field) for w in validated.warnings}


def test_the_inferred_contract_proves_signs_and_expects_ranges(contract: Contract) -> None:
    for name in NUMERIC:
        spec = contract.field(name)
        assert spec.minimum == 0.0 and spec.maximum is None, name  # the sign, proven
        assert spec.expected_maximum is not None, name
    assert contract.field("age").type is FieldType.INTEGER
    segment, region = contract.field("segment"), contract.field("region")
    assert segment.categories is None and segment.expected_categories is not None
    assert region.categories == REGIONS and region.expected_categories is None


def test_fresh_rows_of_the_same_distribution_are_all_accepted_and_the_odd_ones_flagged(
    contract: Contract,
) -> None:
    fresh = customers(200_000, seed=12)
    validator = Validator(contract)
    validated = validator.validate_columns(
        {name: fresh[name] for name in contract.names}, len(fresh)
    )
    assert validated.errors == []
    assert validated.n_accepted == len(fresh)

    expected = outside_expectations(contract, fresh)
    # heavy tails: some fresh rows do go beyond the sample's range (hard bounds on that
    # range would have refused every one of them)
    assert len({field for _, field in expected} & {"income", "balance"}) == 2
    assert 20 < len(expected) < 2_000
    assert len(validated.warnings) == len(expected)
    assert pairs(validated) == expected
    assert all(w.field != "region" for w in validated.warnings)
    assert [w.record for w in validated.warnings] == sorted(w.record for w in validated.warnings)

    # JSON records get the same answers as columns
    head = fresh.head(20_000)
    records = [
        {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
        for row in head.to_dict(orient="records")
    ]
    from_records = validator.validate_records(records)
    assert from_records.errors == []
    assert from_records.warnings == [w for w in validated.warnings if w.record < 20_000]


def test_the_package_scores_every_fresh_row_and_its_answers_flag_the_odd_ones(
    package_path: Path, contract: Contract
) -> None:
    """End to end through ``mp.load``: 200,000 fresh rows scored, none refused, and the
    warnings in the answers are exactly the values outside the expected ranges."""
    fresh = customers(200_000, seed=12)
    scorer = mp.load(package_path)
    scored = scorer.predict(fresh)
    assert len(scored) == len(fresh) and scored["proba_1"].between(0, 1).all()
    expected = outside_expectations(contract, fresh)
    assert {(w["record"], w["field"]) for w in scored.attrs[WARNINGS_ATTR]} == expected
    # JSON records (as the HTTP API receives them) carry the warnings on each answer
    head = fresh.head(5_000)
    records = [
        {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
        for row in head.to_dict(orient="records")
    ]
    answers = scorer.score(scorer.validate(records)).answers()
    assert len(answers) == len(records)
    flagged = {(i, w["field"]) for i, a in enumerate(answers) for w in a.get("warnings", [])}
    assert flagged == {(row, name) for row, name in expected if row < 5_000}
    np.testing.assert_allclose([a["score"] for a in answers], scored["proba_1"][:5_000])


def test_what_the_domain_cannot_take_is_still_refused_naming_the_field(
    contract: Contract,
) -> None:
    good = {
        "income": 52_000.0,
        "balance": 3_000.0,
        "age": 40,
        "tenure_months": 12,
        "segment": "retail",
        "region": "north",
    }
    records = [
        {**good, "income": -5.0},  # the sample proves incomes are never negative
        {**good, "region": "atlantis"},  # a declared (closed) list of categories
        {**good, "income": "52000"},  # a string for a number
        {**good, "age": 40.5},  # the sample proves ages are whole
        {**good, "income": 1e9, "segment": "crypto"},  # only unusual: scored, flagged
    ]
    validated = Validator(contract).validate_records(records)
    assert [(e.record, e.field, e.reason) for e in validated.errors] == [
        (0, "income", "-5 is below the minimum 0"),
        (
            1,
            "region",
            "'atlantis' is not one of the known categories ('east', 'north', 'south', 'west')",
        ),
        (2, "income", "expected a number, got string '52000'"),
        (3, "age", "expected an integer, got 40.5"),
    ]
    assert validated.accepted.tolist() == [4]
    assert [(w.record, w.field) for w in validated.warnings] == [(4, "income"), (4, "segment")]
    assert validated.warnings[0].reason.startswith("1000000000 is above the expected maximum ")
