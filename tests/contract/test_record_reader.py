"""The fast path for JSON records never decides differently from the general validator.

:class:`RecordReader` may only ever say "these records are plainly valid, here are their
columns" or "ask the general validator". Whenever it answers, the general path on the same
records must accept every record, warn about none and produce the same columns; and for
plainly valid JSON records (inside the expected ranges and categories too) it must answer,
or the fast path is never taken.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelport.contract import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
    Validated,
    Validator,
)
from modelport.contract.expectations import unwarned_range
from modelport.contract.records import RecordReader

CATEGORIES = ["a", "b", "c"]
ABSENT = object()  # a generated value meaning "leave the key out"
POLICIES = [(unknown, extra) for unknown in UnknownCategoryPolicy for extra in ExtraFieldPolicy]


def make_contract(
    unknown: UnknownCategoryPolicy, extra: ExtraFieldPolicy, *, boolean_default: bool = True
) -> Contract:
    """Every field type, optional fields with and without defaults, bounds, expected ranges
    (inside hard bounds, alone, and wider than a hard bound), categories and expected ones."""
    fields = [
        FieldSpec(name="amount", type=FieldType.NUMBER, minimum=0, maximum=100),
        FieldSpec(name="ratio", type=FieldType.NUMBER, required=False, minimum=-1.5, maximum=1.5),
        FieldSpec(name="score", type=FieldType.NUMBER, required=False, default=2.5),
        FieldSpec(name="free", type=FieldType.NUMBER, required=False),
        FieldSpec(
            name="income",
            type=FieldType.NUMBER,
            minimum=0,
            expected_minimum=0,
            expected_maximum=1e5,
        ),
        FieldSpec(
            name="rate",
            type=FieldType.NUMBER,
            required=False,
            minimum=-2,
            maximum=2,
            expected_minimum=-3,
            expected_maximum=0.5,
        ),
        FieldSpec(name="count", type=FieldType.INTEGER, minimum=0, maximum=1000),
        FieldSpec(
            name="visits",
            type=FieldType.INTEGER,
            required=False,
            default=3,
            minimum=0,
            expected_minimum=1,
            expected_maximum=50,
        ),
        FieldSpec(
            name="term", type=FieldType.INTEGER, required=False, default=12, minimum=1, maximum=60
        ),
        FieldSpec(name="member", type=FieldType.BOOLEAN),
        FieldSpec(name="vip", type=FieldType.BOOLEAN, required=False),
        FieldSpec(name="city", type=FieldType.STRING, categories=CATEGORIES),
        FieldSpec(name="zone", type=FieldType.STRING, required=False, categories=CATEGORIES),
        FieldSpec(
            name="tier", type=FieldType.STRING, required=False, default="b", categories=CATEGORIES
        ),
        FieldSpec(name="note", type=FieldType.STRING, required=False),
        FieldSpec(name="colour", type=FieldType.STRING, expected_categories=["red", "a"]),
        FieldSpec(
            name="shade",
            type=FieldType.STRING,
            required=False,
            categories=CATEGORIES,
            expected_categories=["a", "b"],
        ),
        FieldSpec(name="label", type=FieldType.STRING),
        FieldSpec(name="opened", type=FieldType.DATE),
        FieldSpec(name="closed", type=FieldType.DATE, required=False),
        FieldSpec(name="renewed", type=FieldType.DATE, required=False, default="2020-02-29"),
    ]
    if boolean_default:
        fields.append(
            FieldSpec(name="paperless", type=FieldType.BOOLEAN, required=False, default=True)
        )
    return Contract(fields=fields, unknown_categories=unknown, extra_fields=extra)


# -- generated values -----------------------------------------------------------------------


def valid_value(spec: FieldSpec, rng: random.Random) -> Any:
    """A plainly valid JSON value (within bounds, a known category); absent/null if optional."""
    if not spec.required and rng.random() < 0.3:
        return rng.choice([None, ABSENT])
    if spec.type is FieldType.BOOLEAN:
        return rng.random() < 0.5
    if spec.type is FieldType.DATE:
        day = dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(15_000))
        return day.isoformat()
    if spec.type is FieldType.STRING:
        known = spec.categories if spec.categories is not None else spec.expected_categories
        if known is not None and spec.expected_categories is not None:
            known = [c for c in known if c in spec.expected_categories]
        if known:
            return rng.choice(known)
        return "".join(rng.choice("xyz é-_0") for _ in range(rng.randint(1, 8)))
    low, high = unwarned_range(spec)
    low = low if low is not None else -1e6
    high = high if high is not None else 1e6
    if spec.type is FieldType.INTEGER:
        whole = rng.randint(math.ceil(low), math.floor(high))
        return float(whole) if rng.random() < 0.2 else whole  # JSON may write 12 as 12.0
    choice = rng.random()
    if choice < 0.1:
        return rng.choice([low, high])  # the bounds themselves are inside
    if choice < 0.3:
        return rng.randint(math.ceil(low), math.floor(high))
    return rng.uniform(low, high)


TROUBLE: list[Any] = [
    None,
    ABSENT,
    "",
    " ",
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -(10**400),
    10**20,
    2**53 + 1,
    1e308,
    -0.0,
    True,
    False,
    0,
    1,
    2,
    -1,
    0.0,
    1.0,
    2.5,
    101,
    100.0000001,
    99.5,
    1e5 + 1,
    0.75,
    -2.5,
    51,
    "red",
    "b",
    "c",
    -1e-9,
    "5",
    "1.5",
    "true",
    "abc",
    "a",
    "zz",
    "A",
    "2024-01-31",
    "2024-13-01",
    "2024-02-30",
    " 2024-01-31 ",
    "2024-01-31T10:20:30",
    "20240131",
    "31/01/2024",
    [],
    [1],
    {},
    {"a": 1},
    np.float64(1.5),
    np.float64("nan"),
    np.int64(3),
    np.bool_(True),
    np.str_("a"),
    dt.date(2024, 1, 31),
    pd.NA,
]

NOT_OBJECTS: list[Any] = [None, 5, "record", [1, 2], [("amount", 1)], (), 1.5, True]


def generate_record(contract: Contract, rng: random.Random, trouble: float) -> tuple[Any, bool]:
    """A record and whether it is plainly valid (no troublemaker went into it)."""
    record: dict[Any, Any] = {}
    plain = True
    for spec in contract.fields:
        if rng.random() < trouble:
            value = rng.choice(TROUBLE)
            plain = False
        else:
            value = valid_value(spec, rng)
        if value is not ABSENT:
            record[spec.name] = value
    if rng.random() < trouble / 3:
        record[rng.choice(["extra", "AMOUNT", 7, ""])] = rng.choice([1, None, "x"])
        plain = False
    if rng.random() < trouble / 5:
        return rng.choice(NOT_OBJECTS), False
    if rng.random() < 0.1:  # keys in another order
        items = list(record.items())
        rng.shuffle(items)
        record = dict(items)
    return record, plain


def batches(
    contract: Contract, seed: int, n_records: int, trouble: float
) -> Iterator[tuple[list[Any], bool]]:
    """Batches of 1 to 6 generated records, and whether every record in one is plainly valid."""
    rng = random.Random(seed)
    made = 0
    while made < n_records:
        size = rng.choice([1, 1, 1, 2, 3, 6])
        generated = [generate_record(contract, rng, trouble) for _ in range(size)]
        made += size
        yield [record for record, _ in generated], all(plain for _, plain in generated)


# -- comparison -----------------------------------------------------------------------------


def same_value(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return type(left) is type(right) and left == right


def columns_problem(fast: dict[str, np.ndarray], general: dict[str, np.ndarray]) -> str | None:
    """Why two sets of validated columns differ, or ``None`` when they are equal."""
    if list(fast) != list(general):
        return f"field names differ: {list(fast)} != {list(general)}"
    for name, left in fast.items():
        right = general[name]
        if left.dtype != right.dtype or left.shape != right.shape:
            return f"{name}: {left.dtype}{left.shape} != {right.dtype}{right.shape}"
        if left.dtype == np.float64:
            if not np.array_equal(left, right, equal_nan=True):
                return f"{name}: {left.tolist()} != {right.tolist()}"
        elif not all(same_value(a, b) for a, b in zip(left, right, strict=True)):
            return f"{name}: {left.tolist()!r} != {right.tolist()!r}"
    return None


def validated_problem(left: Validated, right: Validated) -> str | None:
    problem = columns_problem(left.columns, right.columns)
    if problem is not None:
        return problem
    if left.accepted.tolist() != right.accepted.tolist():
        return f"accepted {left.accepted.tolist()} != {right.accepted.tolist()}"
    if left.errors != right.errors:
        return f"errors {left.errors} != {right.errors}"
    if left.warnings != right.warnings:
        return f"warnings {left.warnings} != {right.warnings}"
    if left.n_rows != right.n_rows:
        return f"n_rows {left.n_rows} != {right.n_rows}"
    return None


def check_batch(contract: Contract, validator: Validator, records: list[Any], plain: bool) -> str:
    """Check one batch both ways; returns a failure description ('' when all is well)."""
    failures = []
    for enforce in (True, False):
        general = validator._validate_each_record(records, enforce)
        fast = RecordReader(contract, enforce_domain=enforce).read(records)
        if fast is None:
            if plain:
                failures.append(f"enforce={enforce}: the reader gave up on plainly valid records")
        elif general.errors:
            failures.append(
                f"enforce={enforce}: the reader accepted what the general path refuses: "
                f"{general.errors}"
            )
        elif general.warnings:
            failures.append(
                f"enforce={enforce}: the reader accepted what the general path warns about: "
                f"{general.warnings}"
            )
        else:
            problem = columns_problem(fast, general.columns)
            if problem is not None:
                failures.append(f"enforce={enforce}: columns differ: {problem}")
        public = validator.validate_records(records, enforce_domain=enforce)
        problem = validated_problem(public, general)
        if problem is not None:
            failures.append(f"enforce={enforce}: validate_records differs: {problem}")
    return "; ".join(failures)


def run_property(
    contract: Contract, seed: int, n_records: int, trouble: float, *, must_be_fast: bool
) -> None:
    validator = Validator(contract)
    reader = RecordReader(contract)
    fast_batches = 0
    for records, plain in batches(contract, seed, n_records, trouble):
        failure = check_batch(contract, validator, records, plain and must_be_fast)
        assert not failure, f"seed {seed}, records {records!r}: {failure}"
        fast_batches += reader.read(records) is not None
    assert fast_batches > 0, "no generated batch took the fast path: the property tested nothing"


# -- the properties -------------------------------------------------------------------------


@pytest.mark.parametrize(("unknown", "extra"), POLICIES, ids=lambda p: str(p))
def test_the_reader_agrees_with_the_general_validator_on_troublemakers(
    unknown: UnknownCategoryPolicy, extra: ExtraFieldPolicy
) -> None:
    contract = make_contract(unknown, extra)
    seed = 1000 + POLICIES.index((unknown, extra))
    # The agreement only: plainly valid records are held to the fast path below.
    run_property(contract, seed, n_records=2_500, trouble=0.06, must_be_fast=False)


@pytest.mark.parametrize(("unknown", "extra"), POLICIES, ids=lambda p: str(p))
def test_the_reader_takes_every_plainly_valid_record(
    unknown: UnknownCategoryPolicy, extra: ExtraFieldPolicy
) -> None:
    # No boolean field with a default here: see test_an_absent_boolean_with_a_default_...
    contract = make_contract(unknown, extra, boolean_default=False)
    seed = 2000 + POLICIES.index((unknown, extra))
    run_property(contract, seed, n_records=1_500, trouble=0.0, must_be_fast=True)


@pytest.mark.parametrize("field", [spec.name for spec in make_contract(*POLICIES[0]).fields])
def test_every_troublemaker_in_every_field_alone(field: str) -> None:
    """Each troublemaker in this field of an otherwise valid record, under every policy."""
    rng = random.Random(field)
    contracts = [make_contract(unknown, extra) for unknown, extra in POLICIES]
    validators = [Validator(contract) for contract in contracts]
    for value in TROUBLE:
        for contract, validator in zip(contracts, validators, strict=True):
            record = {}
            for spec in contract.fields:
                chosen = value if spec.name == field else valid_value(spec, rng)
                if chosen is not ABSENT:
                    record[spec.name] = chosen
            failure = check_batch(contract, validator, [record], plain=False)
            assert not failure, f"{contract.unknown_categories}/{contract.extra_fields}, " + (
                f"record {record!r}: {failure}"
            )


# -- targeted examples ----------------------------------------------------------------------


def bounded_contract(**spec: Any) -> Contract:
    return Contract(
        fields=[
            FieldSpec(name="x", type=FieldType.NUMBER, minimum=0, maximum=10),
            FieldSpec(name="y", **spec),
        ]
    )


def reasons(validated: Validated) -> list[tuple[int | None, str | None, str]]:
    return [(e.record, e.field, e.reason) for e in validated.errors]


def fast_path_only(validator: Validator) -> None:
    """Make the general path fail loudly, so a result can only come from the reader."""

    def general(records: Any, enforce_domain: bool) -> Validated:
        raise AssertionError("the general path was used for plainly valid records")

    validator._validate_each_record = general  # type: ignore[method-assign]


def test_a_default_outside_the_bounds_is_refused_by_the_general_path_as_before() -> None:
    contract = bounded_contract(
        type=FieldType.NUMBER, required=False, default=50, minimum=0, maximum=10
    )
    records = [{"x": 1, "y": 3}, {"x": 2}, {"x": 3, "y": None}]
    assert RecordReader(contract).read(records) is None
    validated = Validator(contract).validate_records(records)
    assert reasons(validated) == [
        (1, "y", "50 is above the maximum 10"),
        (2, "y", "50 is above the maximum 10"),
    ]
    assert validated.accepted.tolist() == [0]
    # Without the domain check the default is just a default, and the fast path takes it.
    columns = RecordReader(contract, enforce_domain=False).read(records)
    assert columns is not None
    assert columns["y"].tolist() == [3.0, 50.0, 50.0]
    lenient = Validator(contract).validate_records(records, enforce_domain=False)
    assert lenient.errors == []
    assert lenient.columns["y"].tolist() == [3.0, 50.0, 50.0]


def test_a_default_outside_the_categories_is_refused_by_the_general_path_as_before() -> None:
    contract = bounded_contract(
        type=FieldType.STRING, required=False, default="z", categories=["a", "b"]
    )
    records = [{"x": 1, "y": "a"}, {"x": 2}]
    assert RecordReader(contract).read(records) is None
    validated = Validator(contract).validate_records(records)
    assert reasons(validated) == [(1, "y", "'z' is not one of the known categories ('a', 'b')")]
    columns = RecordReader(contract, enforce_domain=False).read(records)
    assert columns is not None
    assert columns["y"].tolist() == ["a", "z"]


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"y": "a"}, "x", "is required"),
        ({"x": None, "y": "a"}, "x", "is required and must not be null"),
        ({"x": math.nan, "y": "a"}, "x", "is required and must not be null"),
        ({"x": 1}, "y", "is required"),
        ({"x": 1, "y": ""}, "y", "is required and must not be null"),
        ({"x": 10**400, "y": "a"}, "x", "must be a finite number"),
        ({"x": math.inf, "y": "a"}, "x", "must be a finite number"),
        ({"x": "5", "y": "a"}, "x", "expected a number, got string '5'"),
        ({"x": 11, "y": "a"}, "x", "11 is above the maximum 10"),
        ({"x": 1, "y": 7}, "y", "expected a string, got number 7"),
        ({"x": 1, "y": "a", "z": 1}, "z", "is not a field of this model"),
    ],
)
def test_a_refusal_is_worded_as_before(record: dict[str, Any], field: str, reason: str) -> None:
    contract = Contract(
        fields=[
            FieldSpec(name="x", type=FieldType.NUMBER, minimum=0, maximum=10),
            FieldSpec(name="y", type=FieldType.STRING),
        ]
    )
    good = {"x": 1, "y": "a"}
    assert RecordReader(contract).read([good, record]) is None
    validated = Validator(contract).validate_records([good, record])
    assert reasons(validated) == [(1, field, reason)]
    assert validated.accepted.tolist() == [0]
    assert validated.columns["x"].tolist() == [1.0]


def test_records_that_are_not_objects_are_one_error_each() -> None:
    contract = make_contract(UnknownCategoryPolicy.REJECT, ExtraFieldPolicy.REJECT)
    records = [[1, 2], "x", None]
    assert RecordReader(contract).read(records) is None
    validated = Validator(contract).validate_records(records)
    assert [(e.record, e.field) for e in validated.errors] == [(0, None), (1, None), (2, None)]
    assert validated.errors[0].reason == "expected a JSON object, got array [1, 2]"
    assert validated.n_accepted == 0


def test_plainly_valid_records_never_reach_the_general_path() -> None:
    contract = make_contract(
        UnknownCategoryPolicy.REJECT, ExtraFieldPolicy.REJECT, boolean_default=False
    )
    validator = Validator(contract)
    fast_path_only(validator)
    records = [
        {
            "amount": 100,
            "income": 1e5,
            "colour": "red",
            "shade": "a",
            "count": 3.0,
            "member": False,
            "city": "c",
            "label": "hello",
            "opened": " 2024-02-29T08:00:00Z",
            "ratio": None,
            "score": math.nan,  # NaN: missing, the default fills it
            "note": "",  # the empty string: missing
            "closed": "",
        },
        {
            "amount": 0.5,
            "income": 0,
            "colour": "a",
            "visits": None,
            "count": 0,
            "member": True,
            "city": "a",
            "label": "x",
            "opened": "20240131",
        },
    ]
    validated = validator.validate_records(records)
    assert validated.errors == []
    assert validated.accepted.tolist() == [0, 1]
    columns = validated.columns
    assert columns["amount"].tolist() == [100.0, 0.5]
    assert columns["score"].tolist() == [2.5, 2.5]
    assert columns["visits"].tolist() == [3.0, 3.0]
    assert columns["shade"].tolist() == ["a", None]
    assert columns["term"].tolist() == [12.0, 12.0]
    assert columns["tier"].tolist() == ["b", "b"]
    assert columns["note"].tolist() == [None, None]
    assert columns["opened"].tolist() == ["2024-02-29", "2024-01-31"]
    assert columns["closed"].tolist() == [None, None]
    assert columns["renewed"].tolist() == ["2020-02-29", "2020-02-29"]
    assert np.isnan(columns["ratio"]).all() and np.isnan(columns["vip"]).all()
    assert validator.validate_records([]).n_rows == 0


def test_extra_fields_take_the_fast_path_when_ignored() -> None:
    contract = Contract(
        fields=[FieldSpec(name="city", type=FieldType.STRING, categories=["a"])],
        extra_fields=ExtraFieldPolicy.IGNORE,
    )
    validator = Validator(contract)
    fast_path_only(validator)
    validated = validator.validate_records([{"city": "a", "extra": 1}, {"city": "a"}])
    assert validated.columns["city"].tolist() == ["a", "a"]


@pytest.mark.parametrize(
    ("spec", "value", "reason"),
    [
        (
            {"type": FieldType.STRING, "categories": ["a"]},
            "zz",
            "'zz' is not one of the known categories ('a'): passed to the model "
            "(unknown_categories=allow)",
        ),
        (
            {"type": FieldType.STRING, "expected_categories": ["a"]},
            "zz",
            "'zz' is not one of the expected categories ('a'): scored as a category the "
            "model never saw",
        ),
        (
            {"type": FieldType.NUMBER, "minimum": 0, "expected_maximum": 10},
            12.5,
            "12.5 is above the expected maximum 10 (the sample's range; scored, not refused)",
        ),
        (
            {"type": FieldType.INTEGER, "expected_minimum": -3, "maximum": 0},
            -4,
            "-4 is below the expected minimum -3 (the sample's range; scored, not refused)",
        ),
    ],
)
def test_a_value_that_deserves_a_warning_leaves_the_fast_path(
    spec: dict[str, Any], value: Any, reason: str
) -> None:
    contract = Contract(
        fields=[FieldSpec(name="x", **spec)],
        unknown_categories=UnknownCategoryPolicy.ALLOW,
    )
    records = [{"x": value}, {"x": value}]
    assert RecordReader(contract).read(records) is None
    validated = Validator(contract).validate_records(records)
    assert validated.errors == []
    assert validated.accepted.tolist() == [0, 1]
    assert validated.columns["x"].tolist() == [value, value]
    assert [(w.record, w.field, w.reason) for w in validated.warnings] == [
        (0, "x", reason),
        (1, "x", reason),
    ]
    # Re-checking reference rows (no domain checks) neither refuses nor warns, on the fast path.
    assert RecordReader(contract, enforce_domain=False).read(records) is not None
    assert Validator(contract).validate_records(records, enforce_domain=False).warnings == []


def test_an_absent_boolean_with_a_default_takes_the_fast_path() -> None:
    contract = Contract(
        fields=[
            FieldSpec(name="x", type=FieldType.NUMBER),
            FieldSpec(name="flag", type=FieldType.BOOLEAN, required=False, default=True),
        ]
    )
    records = [{"x": 1}, {"x": 2, "flag": None}, {"x": 3, "flag": False}]
    general = Validator(contract)._validate_each_record(records, True)
    assert general.errors == []
    assert general.columns["flag"].tolist() == [1.0, 1.0, 0.0]
    columns = RecordReader(contract).read(records)
    assert columns is not None, "an optional boolean with a default must take the fast path"
    assert columns["flag"].tolist() == [1.0, 1.0, 0.0]


# -- the helpers themselves -----------------------------------------------------------------


def test_the_comparison_notices_differences() -> None:
    nan = np.array([np.nan, 1.0])
    assert columns_problem({"a": nan}, {"a": nan.copy()}) is None
    assert columns_problem({"a": nan}, {"a": np.array([0.0, 1.0])}) is not None
    text = np.array(["a", None], dtype=object)
    assert columns_problem({"s": text}, {"s": np.array(["a", None], dtype=object)}) is None
    assert columns_problem({"s": text}, {"s": np.array(["a", "b"], dtype=object)}) is not None
    assert columns_problem({"s": text}, {"s": np.array([np.str_("a"), None], dtype=object)})
