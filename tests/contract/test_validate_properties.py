"""Property tests of the input contract: any JSON value in, typed columns or reasons out.

The validator never raises on a value, whatever a client sends: it returns the accepted
records as typed columns (the dtypes the contract promises, one value per accepted record,
every value inside the contract's bounds and categories) and, for every other record, the
reasons, each naming a record index within range and the field (or ``None`` when the whole
record is not an object). The doors turn those reasons into :class:`InvalidInput`
(``Scorer.validate``, the server's predict endpoint), and the body decoder in front
of them (:func:`modelport.serving.parse_records`) refuses anything that is not records
with :class:`MalformedRequest` and nothing else.

Contracts: the loan model's (from the session's built package, so the properties hold for
what is really served) and hand-built ones covering every field type, bounds, categories
under both policies, optional fields with defaults and both extra-field policies.

Time: every test is bounded by ``max_examples`` (at most 200; the file takes about 10 s
besides building the loan package) and derandomized, so CI sees the same examples every
run; ``deadline=None`` because the first examples pay for imports and compilation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport.contract import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
    Validated,
    Validator,
)
from modelport.errors import InvalidInput, MalformedRequest
from modelport.package import open_package
from modelport.package.load import load_scorer
from modelport.runtime.scorer import Scorer
from modelport.serving import Records, parse_records

FAST = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
THOROUGH = settings(FAST, max_examples=200)
MAX_RECORDS = 8

# -- contracts --------------------------------------------------------------------------------

CATEGORIES = ["north", "south", "é-east", "West 1"]


def hand_built(unknown: UnknownCategoryPolicy, extra: ExtraFieldPolicy) -> Contract:
    return Contract(
        fields=[
            FieldSpec(name="amount", type=FieldType.NUMBER, minimum=-5.5, maximum=1e6),
            FieldSpec(name="ratio", type=FieldType.NUMBER, required=False, minimum=0, maximum=1),
            FieldSpec(name="free", type=FieldType.NUMBER, required=False),
            FieldSpec(name="count", type=FieldType.INTEGER, minimum=0, maximum=2**53),
            FieldSpec(name="term", type=FieldType.INTEGER, required=False, default=12, minimum=1),
            FieldSpec(name="member", type=FieldType.BOOLEAN),
            FieldSpec(name="vip", type=FieldType.BOOLEAN, required=False, default=False),
            FieldSpec(name="region", type=FieldType.STRING, categories=CATEGORIES),
            FieldSpec(
                name="zone",
                type=FieldType.STRING,
                required=False,
                default="north",
                categories=CATEGORIES,
            ),
            FieldSpec(name="note", type=FieldType.STRING, required=False),
            FieldSpec(name="opened", type=FieldType.DATE),
            FieldSpec(name="closed", type=FieldType.DATE, required=False),
        ],
        unknown_categories=unknown,
        extra_fields=extra,
    )


HAND_BUILT = {
    f"{unknown}-{extra}": hand_built(unknown, extra)
    for unknown in UnknownCategoryPolicy
    for extra in ExtraFieldPolicy
}
SINGLE_FIELD = {
    "number": Contract(fields=[FieldSpec(name="x", type=FieldType.NUMBER, minimum=0, maximum=1)]),
    "integer": Contract(fields=[FieldSpec(name="x", type=FieldType.INTEGER, maximum=10)]),
    "boolean": Contract(fields=[FieldSpec(name="x", type=FieldType.BOOLEAN)]),
    "string": Contract(fields=[FieldSpec(name="x", type=FieldType.STRING)]),
    "category": Contract(fields=[FieldSpec(name="x", type=FieldType.STRING, categories=["a"])]),
    "date": Contract(fields=[FieldSpec(name="x", type=FieldType.DATE, required=False)]),
}


@pytest.fixture(scope="module")
def loan_contract(loan_package_path: Path) -> Contract:
    return open_package(loan_package_path).manifest.contract


@pytest.fixture(scope="module")
def loan_scorer(loan_package_path: Path) -> Scorer:
    return load_scorer(open_package(loan_package_path))


# -- strategies -------------------------------------------------------------------------------

NUMBER_LIKE_TEXT = ["NaN", "nan", "Infinity", "-inf", "1e999", "1_000", "0x10", " 1", "1.", "+1"]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70) | st.integers(max_value=-(2**63) + 1),
    st.integers(min_value=10**300, max_value=10**400),  # beyond float range
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 2.0**53 + 1]),
    st.text(max_size=20),
    st.sampled_from(NUMBER_LIKE_TEXT),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
# The Python API (batch, frames, mp.load(...).validate) also hands over NaN and inf.
python_values = json_values | st.sampled_from([math.nan, math.inf, -math.inf, np.float64(2.5)])


def near_valid(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Values at and just beyond a field's edges: bounds, categories, dates, spellings."""
    if spec.type is FieldType.BOOLEAN:
        return st.sampled_from([True, False, 0, 1, "true", "True", "1", 1.0, None])
    if spec.type is FieldType.DATE:
        day = st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat)
        odd = ["2020-02-30", "2020-13-01", "2020-1-1", "20200101", " 2020-01-01", "2020-01-01T25"]
        return day | day.map(lambda d: d + "T12:00:00Z") | st.sampled_from(odd)
    if spec.type is FieldType.STRING:
        if not spec.categories:
            return st.text(max_size=30) | st.just("")
        known = st.sampled_from(spec.categories)
        return known | known.flatmap(
            lambda c: st.sampled_from(
                [c.upper(), c.lower(), f" {c}", f"{c} ", c[:-1], c + "\x00", c + "\u0301"]
            )
        )
    edges = [b for b in (spec.minimum, spec.maximum) if b is not None]
    around = [
        v
        for b in edges
        for v in (b, math.nextafter(b, -math.inf), math.nextafter(b, math.inf), b - 1, b + 1)
    ]
    low = spec.minimum if spec.minimum is not None else -1e9
    high = spec.maximum if spec.maximum is not None else 1e9
    inside = st.floats(low, high)
    if spec.type is FieldType.INTEGER:
        inside = st.integers(math.ceil(low), math.floor(high)) | inside
    return inside | st.sampled_from(around or [0.0]) | st.sampled_from([True, "1", 10**400])


def valid_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """A plainly valid JSON value of the field (null too when it is optional)."""
    if spec.type is FieldType.BOOLEAN:
        valid: st.SearchStrategy[Any] = st.booleans()
    elif spec.type is FieldType.DATE:
        valid = st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(dt.date.isoformat)
    elif spec.type is FieldType.STRING:
        valid = st.sampled_from(spec.categories) if spec.categories else st.text(min_size=1)
    else:
        low = spec.minimum if spec.minimum is not None else -1e9
        high = spec.maximum if spec.maximum is not None else 1e9
        valid = st.integers(math.ceil(low), math.floor(high))
        if spec.type is FieldType.NUMBER:
            valid = valid | st.floats(low, high)
    return valid if spec.required else valid | st.none()


def records_for(contract: Contract, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One record: valid values, then a few fields spoilt (left out, a near-valid value or
    any value at all) and now and then an extra field."""
    names = contract.names
    extra_names = st.sampled_from(
        ["", "extra", "__proto__", names[0].upper(), names[0] + " ", "😀"]
    ) | st.text(max_size=6)

    @st.composite
    def record(draw: st.DrawFn) -> dict[str, Any]:
        made = {spec.name: draw(valid_value(spec)) for spec in contract.fields}
        for _ in range(draw(st.integers(0, 3))):
            spec = draw(st.sampled_from(contract.fields))
            how = draw(st.sampled_from(["absent", "near", "near", "any"]))
            if how == "absent":
                made.pop(spec.name, None)
            else:
                made[spec.name] = draw(near_valid(spec) if how == "near" else values)
        if draw(st.integers(0, 5)) == 0:
            made[draw(extra_names)] = draw(values)
        return made

    return record()


def batches(
    contract: Contract, values: st.SearchStrategy[Any] = json_values
) -> st.SearchStrategy[list[Any]]:
    """A list of records, now and then with an item that is not an object at all."""
    record = records_for(contract, values)
    return st.lists(record, max_size=5) | st.lists(record | values, max_size=5)


# -- what every answer of the validator must look like ----------------------------------------


def check_validated(
    contract: Contract, records: Sequence[Any], validated: Validated, *, enforce_domain: bool = True
) -> None:
    n = len(records)
    assert validated.n_rows == n
    accepted = validated.accepted.tolist()
    assert accepted == sorted(set(accepted))
    rejected = validated.rejected
    assert set(accepted).isdisjoint(rejected)
    assert set(accepted) | set(rejected) == set(range(n))
    for error in validated.errors:
        assert error.record is not None and 0 <= error.record < n, error
        assert isinstance(error.reason, str) and error.reason, error
        record = records[error.record]
        if error.field is None:
            assert not isinstance(record, dict), error  # the record as a whole
        else:
            assert isinstance(record, dict), error
            assert error.field in contract.names or error.field in map(str, record), error
    assert list(validated.columns) == contract.names
    for spec in contract.fields:
        check_column(spec, contract, validated.columns[spec.name], len(accepted), enforce_domain)


def check_column(
    spec: FieldSpec, contract: Contract, column: np.ndarray, n: int, enforce_domain: bool
) -> None:
    assert column.shape == (n,), (spec.name, column)
    missing_allowed = not spec.required and spec.default is None
    if spec.type.is_numeric:
        assert column.dtype == np.float64, (spec.name, column.dtype)
        present = column[~np.isnan(column)]
        assert missing_allowed or present.size == n, (spec.name, column)
        assert np.isfinite(present).all(), (spec.name, column)
        if spec.type is FieldType.BOOLEAN:
            assert np.isin(present, (0.0, 1.0)).all(), (spec.name, column)
        if spec.type is FieldType.INTEGER:
            assert (present == np.round(present)).all(), (spec.name, column)
        if enforce_domain and spec.minimum is not None:
            assert (present >= spec.minimum).all(), (spec.name, column)
        if enforce_domain and spec.maximum is not None:
            assert (present <= spec.maximum).all(), (spec.name, column)
        return
    assert column.dtype == object, (spec.name, column.dtype)
    for value in column:
        if value is None:
            assert missing_allowed, (spec.name, column)
            continue
        assert type(value) is str and value, (spec.name, column)
        if spec.type is FieldType.DATE:
            assert dt.date.fromisoformat(value).isoformat() == value, (spec.name, value)
        elif (
            enforce_domain
            and spec.categories is not None
            and contract.unknown_categories is UnknownCategoryPolicy.REJECT
        ):
            assert value in spec.categories, (spec.name, value)


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype == np.float64 and b.dtype == np.float64:
        return bool(np.array_equal(a, b, equal_nan=True))
    return a.tolist() == b.tolist()


def check_record_by_record(validator: Validator, records: Sequence[Any], batch: Validated) -> None:
    """A record's fate does not depend on its neighbours: alone, it is accepted (with the
    same values) or refused (for the same reasons) exactly as in the batch. This also holds
    the fast path (all plainly valid) and the general path to the same answers."""
    by_record = batch.errors_by_record()
    position = {row: i for i, row in enumerate(batch.accepted.tolist())}
    for index, record in enumerate(records):
        alone = validator.validate_records([record])
        if index in position:
            assert alone.errors == [], (record, alone.errors)
            for name, column in batch.columns.items():
                assert same_values(
                    alone.columns[name], column[position[index] : position[index] + 1]
                )
        else:
            mine = [(e.field, e.reason) for e in by_record.get(index, [])]
            assert [(e.field, e.reason) for e in alone.errors] == mine, record


# -- properties of the validator --------------------------------------------------------------


@THOROUGH
@given(data=st.data())
def test_loan_records_become_typed_columns_or_reasons(
    loan_contract: Contract, data: st.DataObject
) -> None:
    records = data.draw(batches(loan_contract), label="records")
    validator = Validator(loan_contract)
    validated = validator.validate_records(records)
    check_validated(loan_contract, records, validated)
    check_record_by_record(validator, records, validated)


@FAST
@given(data=st.data(), name=st.sampled_from(sorted(HAND_BUILT)))
def test_hand_built_records_become_typed_columns_or_reasons(data: st.DataObject, name: str) -> None:
    contract = HAND_BUILT[name]
    records = data.draw(batches(contract, python_values), label="records")
    validator = Validator(contract)
    for enforce_domain in (True, False):
        validated = validator.validate_records(records, enforce_domain=enforce_domain)
        check_validated(contract, records, validated, enforce_domain=enforce_domain)
    check_record_by_record(validator, records, validator.validate_records(records))


@FAST
@given(name=st.sampled_from(sorted(SINGLE_FIELD)), values=st.lists(python_values, max_size=6))
def test_any_value_in_a_single_field(name: str, values: list[Any]) -> None:
    contract = SINGLE_FIELD[name]
    records = [{"x": value} for value in values]
    validated = Validator(contract).validate_records(records)
    check_validated(contract, records, validated)


@FAST
@given(name=st.sampled_from(sorted(SINGLE_FIELD)), values=st.lists(python_values, max_size=6))
def test_columns_of_any_values_agree_with_the_same_values_as_records(
    name: str, values: list[Any]
) -> None:
    """The batch and Python-API door (columns) refuses and accepts exactly what the JSON door
    (records) does, value for value: no value is coerced on one door and refused on the other."""
    contract = SINGLE_FIELD[name]
    validator = Validator(contract)
    by_columns = validator.validate_columns({"x": values}, len(values))
    records = [{"x": value} for value in values]
    check_validated(contract, records, by_columns)
    by_records = validator.validate_records(records)
    assert by_columns.accepted.tolist() == by_records.accepted.tolist()
    assert same_values(by_columns.columns["x"], by_records.columns["x"])
    assert [(e.record, e.reason) for e in by_columns.errors] == [
        (e.record, e.reason) for e in by_records.errors
    ]


@FAST
@given(data=st.data(), name=st.sampled_from(sorted(HAND_BUILT)), lenient=st.booleans())
def test_columns_of_any_values_become_typed_columns_or_reasons(
    data: st.DataObject, name: str, lenient: bool
) -> None:
    contract = HAND_BUILT[name]
    n = data.draw(st.integers(0, 4), label="rows")
    columns = {
        spec.name: data.draw(st.lists(near_valid(spec) | python_values, min_size=n, max_size=n))
        for spec in contract.fields
        if data.draw(st.integers(0, 5)) > 0
    }
    validated = Validator(contract).validate_columns(columns, n, lenient=lenient)
    check_validated(contract, [dict.fromkeys(columns) for _ in range(n)], validated)


@FAST
@given(data=st.data())
def test_the_scorer_answers_every_record_or_raises_invalid_input(
    loan_contract: Contract, loan_scorer: Scorer, data: st.DataObject
) -> None:
    records = data.draw(batches(loan_contract), label="records")
    validated = loan_scorer.validate(records)
    if validated.errors:
        refused = InvalidInput("refused", validated.errors)
        for error in refused.errors:
            assert error.record is not None and 0 <= error.record < len(records)
        assert str(refused)
    else:
        scored = loan_scorer.score(validated)
        assert len(scored.prediction) == len(records)
        assert len(scored.answers()) == len(records)


# -- properties of the body decoder -----------------------------------------------------------


def deep(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8")),
    st.lists(json_values, max_size=MAX_RECORDS + 2).map(lambda v: json.dumps(v).encode()),
    st.lists(st.dictionaries(st.text(max_size=4), json_values, max_size=3), max_size=10).map(
        lambda v: json.dumps(v).encode()
    ),
    st.sampled_from(
        [deep(100), deep(1023), deep(1024), deep(5000), b'{"a": NaN}', b"\xef\xbb\xbf{}"]
    ),
    st.sampled_from([b"Infinity", b"-Infinity", b'"\\ud800"', b"[1e999]", b" \n\t", b"{}" * 2]),
)


def check_records(body: bytes, parse: Callable[[bytes, int], Records]) -> None:
    try:
        records = parse(body, MAX_RECORDS)
    except MalformedRequest as refused:
        assert refused.message
        for error in refused.errors:
            assert error.record is None or error.record >= 0
        return
    assert 1 <= len(records.items) <= MAX_RECORDS
    assert all(isinstance(item, dict) for item in records.items)
    assert records.single == isinstance(orjson.loads(body), dict)
    if records.single:
        assert records.items == [orjson.loads(body)]


@THOROUGH
@given(body=bodies)
def test_parse_records_returns_records_or_refuses_as_malformed(body: bytes) -> None:
    check_records(body, parse_records)


@FAST
@given(body=bodies)
def test_any_body_is_records_for_the_validator_or_malformed(
    loan_contract: Contract, body: bytes
) -> None:
    """The HTTP path without HTTP: bytes, then records, then typed columns or reasons."""
    try:
        records = parse_records(body, MAX_RECORDS)
    except MalformedRequest:
        return
    validated = Validator(loan_contract).validate_records(records.items)
    check_validated(loan_contract, records.items, validated)


# -- what the properties found (minimal reproductions) ----------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [[1, 2], [3]],  # ragged lists: np.asarray raised ValueError
        [[1, 2], [3, 4]],  # equal lists: flattened into four rows of two
        [{"a": 1}, (1, 2)],
    ],
)
def test_a_column_of_lists_is_refused_row_by_row_not_raised_or_flattened(
    values: list[Any],
) -> None:
    validated = Validator(SINGLE_FIELD["number"]).validate_columns({"x": values}, 2)
    assert [e.record for e in validated.errors] == [0, 1]
    assert all(e.reason.startswith("expected a number, got ") for e in validated.errors)
    assert validated.columns["x"].shape == (0,)


def test_a_list_column_is_not_coerced_to_one_type() -> None:
    """[0.5, True] was read as [0.5, 1.0]; records refuse the boolean, so must columns."""
    validated = Validator(SINGLE_FIELD["number"]).validate_columns({"x": [0.5, True]}, 2)
    assert [(e.record, e.reason) for e in validated.errors] == [
        (1, "expected a number, got boolean True")
    ]
    assert validated.columns["x"].tolist() == [0.5]
