"""Derived features: vectorised functions, and the same functions as scikit-learn steps.

Training code uses the transformers in its pipeline; the packaged model computes the
identical function, either inside the ONNX graph (the numeric and geographic features)
or as a declared, versioned pre-step recorded in the manifest (the date features, which
need date parsing and the scoring date). See ``docs/features.md``.

The functions and the pre-steps need only the core install (numpy, pandas, pydantic):
scoring runs them. The scikit-learn steps need the ``build`` extra and are imported when
first named, so scoring (pre-steps, batch workers, servers) never imports scikit-learn
and SciPy (about 70 MB) even where they are installed; where they are not, naming a step
says which extra to install.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from modelport.extras import require
from modelport.features.dates import DATE_PARTS, age_years, date_parts, today_utc
from modelport.features.geo import EARTH_RADIUS_KM, haversine_km
from modelport.features.numeric import bucket, log, min_max, ratio, z_score
from modelport.features.presteps import (
    AgeFromDateStep,
    DatePartsStep,
    PreStep,
    PreSteps,
    split_presteps,
)

if TYPE_CHECKING:
    from modelport.features.date_transformers import AgeFromDate, DateParts
    from modelport.features.transformers import (
        Bucketize,
        HaversineNearest,
        Log,
        MinMaxScale,
        Ratio,
        ZScore,
    )

# the scikit-learn steps, by module
_STEPS = {
    "AgeFromDate": "date_transformers",
    "DateParts": "date_transformers",
    **dict.fromkeys(
        ["Bucketize", "HaversineNearest", "Log", "MinMaxScale", "Ratio", "ZScore"], "transformers"
    ),
}


def __getattr__(name: str) -> Any:
    if name in _STEPS:
        require("build", f"modelport.features.{name}")
        value = getattr(import_module(f"modelport.features.{_STEPS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATE_PARTS",
    "EARTH_RADIUS_KM",
    "AgeFromDate",
    "AgeFromDateStep",
    "Bucketize",
    "DateParts",
    "DatePartsStep",
    "HaversineNearest",
    "Log",
    "MinMaxScale",
    "PreStep",
    "PreSteps",
    "Ratio",
    "ZScore",
    "age_years",
    "bucket",
    "date_parts",
    "haversine_km",
    "log",
    "min_max",
    "ratio",
    "split_presteps",
    "today_utc",
    "z_score",
]
