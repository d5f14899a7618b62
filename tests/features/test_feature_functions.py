"""Each feature function against a plain, element-by-element reference computation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from modelport.features import (
    DATE_PARTS,
    EARTH_RADIUS_KM,
    age_years,
    bucket,
    date_parts,
    haversine_km,
    log,
    min_max,
    ratio,
    today_utc,
    z_score,
)

VALUES = [3.0, -1.5, 0.0, None, np.nan, 250.0, "7", "abc"]


def _number(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _same(actual: np.ndarray, expected: list[float], tol: float = 0.0) -> None:
    assert actual.dtype == np.float64
    np.testing.assert_allclose(actual, np.array(expected, dtype=np.float64), rtol=tol, atol=tol)


def test_min_max_against_reference() -> None:
    expected = [(_number(v) - 2.0) / (10.0 - 2.0) for v in VALUES]
    _same(min_max(np.array(VALUES, dtype=object), 2.0, 10.0), expected)


def test_min_max_zero_range_divides_by_one_and_does_not_clip() -> None:
    _same(min_max([4.0, 5.0, None], 4.0, 4.0), [0.0, 1.0, math.nan])
    _same(min_max([-10.0, 20.0], 0.0, 10.0), [-1.0, 2.0])


def test_min_max_per_column_parameters() -> None:
    x = np.array([[0.0, 10.0], [5.0, 20.0]])
    _same(min_max(x, [0.0, 10.0], [10.0, 30.0]).ravel(), [0.0, 0.0, 0.5, 0.5])


def test_z_score_against_reference() -> None:
    expected = [(_number(v) - 1.0) / 4.0 for v in VALUES]
    _same(z_score(pd.Series(VALUES, dtype=object), 1.0, 4.0), expected)
    _same(z_score([3.0, None], 1.0, 0.0), [2.0, math.nan])  # zero std divides by one


def test_log_against_reference() -> None:
    def reference(v: object, offset: float) -> float:
        x = _number(v) + offset
        return math.log(x) if x > 0 else math.nan

    for offset in (1.0, 0.0, 5.0):
        _same(log(VALUES, offset), [reference(v, offset) for v in VALUES], tol=1e-15)
    _same(log([-1.0, 0.0], 1.0), [math.nan, 0.0])  # log(0) is NaN, never -inf


def test_ratio_against_reference() -> None:
    a = [1.0, 0.0, -3.0, None, 4.0, 5.0, math.inf]
    b = [2.0, 0.0, 0.0, 1.0, None, -0.0, 2.0]

    def reference(x: object, y: object) -> float:
        fx, fy = _number(x), _number(y)
        if math.isnan(fx) or math.isnan(fy) or fy == 0:
            return math.nan
        return fx / fy

    _same(ratio(a, b), [reference(x, y) for x, y in zip(a, b, strict=True)])


def test_bucket_edges_belong_to_the_bucket_above() -> None:
    edges = [0.0, 10.0, 20.0]
    x = [-5.0, 0.0, 5.0, 10.0, 19.999, 20.0, 1e9, -math.inf, math.inf, None, math.nan]
    expected = [sum(1 for e in edges if e <= _number(v)) for v in x[:-2]] + [math.nan] * 2
    _same(bucket(x, edges), expected)
    assert expected[:6] == [0, 1, 1, 2, 2, 3]


@pytest.mark.parametrize("edges", [[], [1.0, 1.0], [2.0, 1.0], [0.0, math.nan]])
def test_bucket_refuses_bad_edges(edges: list[float]) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        bucket([1.0], edges)


def _reference_haversine(lat: float, lon: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))


def test_haversine_nearest_against_reference() -> None:
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-90, 90, 500), rng.uniform(-180, 180, 500)
    refs = [(51.5074, -0.1278), (48.8566, 2.3522), (-33.87, 151.21), (0.0, 0.0)]
    got = haversine_km(lat, lon, [r[0] for r in refs], [r[1] for r in refs])
    expected = [
        min(_reference_haversine(a, o, ra, ro) for ra, ro in refs)
        for a, o in zip(lat, lon, strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_haversine_identical_points_antipodes_and_known_distance() -> None:
    half_circumference = math.pi * EARTH_RADIUS_KM
    got = haversine_km([10.0, -10.0, 90.0, 0.0], [20.0, -160.0, 0.0, 180.0], [10.0], [20.0])
    assert got[0] == 0.0
    # The antipode: haversine is ill-conditioned there, still within a metre.
    assert got[1] == pytest.approx(half_circumference, abs=1e-3)
    # London to Paris is about 343.5 km on the sphere.
    assert haversine_km([51.5074], [-0.1278], [48.8566], [2.3522])[0] == pytest.approx(
        343.5, abs=0.5
    )
    # Identical points, the pole whatever its longitude; then exact antipodes: never NaN.
    same = haversine_km([0.0, 90.0], [0.0, 0.0], [0.0, 90.0], [0.0, 45.0])
    np.testing.assert_allclose(same, [0.0, 0.0], atol=1e-9)  # cos(90 deg) is 6e-17, not 0
    antipodes = haversine_km([0.0, 90.0], [0.0, 0.0], [0.0], [180.0])
    np.testing.assert_allclose(antipodes, [half_circumference, half_circumference / 2], atol=1e-3)


def test_haversine_missing_and_invalid_coordinates_give_nan() -> None:
    got = haversine_km(
        [None, 1.0, 91.0, 1.0, math.inf, 1.0],
        [1.0, None, 1.0, math.inf, 1.0, 361.0],
        [0.0],
        [0.0],
    )
    assert np.isnan(got[:5]).all()
    assert got[5] == pytest.approx(_reference_haversine(1.0, 1.0, 0.0, 0.0), rel=1e-12)
    with pytest.raises(ValueError):
        haversine_km([1.0], [1.0], [], [])
    with pytest.raises(ValueError):
        haversine_km([1.0], [1.0], [95.0], [0.0])


def _reference_age(born: dt.date, at: dt.date) -> int:
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def test_age_years_against_reference() -> None:
    rng = np.random.default_rng(1)
    at = dt.date(2024, 3, 1)
    born = [dt.date(1930, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 36000, 400)]
    got = age_years([d.isoformat() for d in born], at)
    assert got.tolist() == [_reference_age(d, at) for d in born]
    assert age_years(np.array(born, dtype="datetime64[D]"), at).tolist() == got.tolist()


def test_age_years_leap_days_anniversaries_and_future_dates() -> None:
    leap = ["2000-02-29"]
    assert age_years(leap, "2021-02-28")[0] == 20  # 28 February is before the anniversary
    assert age_years(leap, "2021-03-01")[0] == 21
    assert age_years(leap, "2024-02-29")[0] == 24
    assert age_years(["2000-05-10"], "2020-05-09")[0] == 19
    assert age_years(["2000-05-10"], "2020-05-10")[0] == 20
    assert age_years(["2020-05-11"], "2020-05-10")[0] == -1  # floored
    assert age_years(["1600-06-01"], "2020-06-01")[0] == 420  # outside pandas' ns range


def test_age_years_reads_every_date_form_and_missing_gives_nan() -> None:
    values = [
        "1990-06-15",
        " 1990-06-15T23:59:00+05:00 ",
        dt.date(1990, 6, 15),
        dt.datetime(1990, 6, 15, 22, 0),
        pd.Timestamp("1990-06-15 01:00", tz="UTC"),
        np.datetime64("1990-06-15"),
        None,
        math.nan,
        pd.NaT,
        "not a date",
        "1990-02-30",
        42,
    ]
    got = age_years(pd.Series(values, dtype=object), dt.datetime(2020, 6, 15, 3, 0))
    assert got[:6].tolist() == [30.0] * 6
    assert np.isnan(got[6:]).all()
    with pytest.raises(ValueError):
        age_years(["1990-01-01"], "not a date")


def test_age_years_reads_small_and_large_arrays_alike() -> None:
    """Short arrays are read one by one, long ones vectorised: the answers must not differ."""
    values = [
        "1990-06-15",
        " 1990-06-15T23:59:00+05:00 ",
        "19900615",
        "1600-06-01",
        dt.date(1990, 6, 15),
        pd.Timestamp("1990-06-15 01:00", tz="UTC"),
        None,
        math.nan,
        "not a date",
        "1990-02-30",
        "",
        42,
    ]
    at = dt.date(2020, 6, 15)
    small = age_years(pd.Series(values, dtype=object), at)
    large = age_years(pd.Series(values * 20, dtype=object), at)
    strings = [v for v in values if isinstance(v, str)]
    np.testing.assert_array_equal(np.tile(small, 20), large)
    np.testing.assert_array_equal(
        np.tile(age_years(strings, at), 20), age_years(np.array(strings * 20), at)
    )
    assert small[:4].tolist() == [30.0, 30.0, 30.0, 420.0]


def test_age_years_defaults_to_today_utc() -> None:
    today = today_utc()
    born = dt.date(1980, 1, 1)
    assert age_years([born])[0] == _reference_age(born, today)


def test_date_parts_against_python_dates() -> None:
    rng = np.random.default_rng(2)
    days = [dt.date(1999, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 12000, 300)]
    got = date_parts(days + [None])
    assert list(got.columns) == list(DATE_PARTS)
    expected = pd.DataFrame(
        {
            "year": [d.year for d in days],
            "month": [d.month for d in days],
            "day": [d.day for d in days],
            "day_of_week": [d.weekday() for d in days],
            "day_of_year": [d.timetuple().tm_yday for d in days],
            "quarter": [(d.month - 1) // 3 + 1 for d in days],
        },
        dtype=np.float64,
    )
    pd.testing.assert_frame_equal(got.iloc[:-1], expected)
    assert got.iloc[-1].isna().all()
    leap = date_parts(["2024-12-31", "2024-02-29"], ["day_of_year", "day"])
    assert leap.to_numpy().tolist() == [[366.0, 31.0], [60.0, 29.0]]
    with pytest.raises(ValueError, match="unknown date parts"):
        date_parts(["2024-01-01"], ["hour"])
