"""modelport's own feature transformers (:mod:`modelport.features`) as ONNX nodes.

Each emitter repeats the feature function's numpy arithmetic operation by operation, in
float64, with the same constants (computed here by the same numpy code), so the graph
matches scikit-learn to the last bit or two: only Sin, Cos and Log are computed by
onnxruntime's own routines, which may differ from numpy's by an ulp.

onnxruntime has no float64 Asin, which the haversine distance needs: the graph takes a
float32 Asin as a first guess and refines it with two Newton steps on ``sin(y) = w``
(quadratic convergence: 1e-7, then 1e-14, then rounding). The argument never exceeds
``sqrt(1/2)`` (larger angles go through the complement), so ``cos(y) >= 0.707`` and the
steps are well conditioned.

The date transformers cannot be in a graph (they parse dates and read the clock); their
emitters refuse them with the fix: keep them at the head of the pipeline, where the
build records them as pre-steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import TensorProto

from modelport.errors import PackageError, UnsupportedModel
from modelport.features.date_transformers import AgeFromDate, DateParts
from modelport.features.geo import DEGREES, EARTH_RADIUS_KM
from modelport.features.numeric import safe_scale
from modelport.features.transformers import (
    Bucketize,
    HaversineNearest,
    Log,
    MinMaxScale,
    Ratio,
    ZScore,
)
from modelport.package.converters.sklearn_preprocessing import Block, Context, as_matrix, select

__all__ = ["FEATURE_EMITTERS"]

NAN = np.float64(np.nan)


def _read(step: Any, blocks: list[Block], ctx: Context, indices: list[int] | None = None) -> str:
    """The float64 ``[N, m]`` matrix of the columns ``step`` reads."""
    width = sum(b.width for b in blocks)
    if width != step.n_features_in_:
        raise PackageError(
            f"{type(step).__name__} was fitted on {step.n_features_in_} columns "
            f"but receives {width}"
        )
    picked = select(ctx, blocks, list(step.input_indices_ if indices is None else indices))
    return as_matrix(ctx, picked, step)


def _f64(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _min_max_scale(step: MinMaxScale, blocks: list[Block], ctx: Context) -> list[Block]:
    b = ctx.builder
    x = _read(step, blocks, ctx)
    low = _f64(step.min_)
    span = safe_scale(_f64(step.max_) - low)
    out = b.op("Div", [b.op("Sub", [x, b.const(low, "min")]), b.const(span, "range")], "minmax")
    return [Block(out, len(step.input_indices_), False, "MinMaxScale")]


def _z_score(step: ZScore, blocks: list[Block], ctx: Context) -> list[Block]:
    b = ctx.builder
    x = _read(step, blocks, ctx)
    centred = b.op("Sub", [x, b.const(_f64(step.mean_), "mean")])
    out = b.op("Div", [centred, b.const(safe_scale(step.std_), "std")], "zscore")
    return [Block(out, len(step.input_indices_), False, "ZScore")]


def _log(step: Log, blocks: list[Block], ctx: Context) -> list[Block]:
    b = ctx.builder
    x = _read(step, blocks, ctx)
    shifted = b.op("Add", [x, b.const(np.float64(step.offset), "offset")])
    positive = b.op("Greater", [shifted, b.const(np.float64(0.0))])
    safe = b.op("Where", [positive, shifted, b.const(np.float64(1.0))])
    out = b.op("Where", [positive, b.op("Log", [safe]), b.const(NAN, "nan")], "log")
    return [Block(out, len(step.input_indices_), False, "Log")]


def _bucketize(step: Bucketize, blocks: list[Block], ctx: Context) -> list[Block]:
    b = ctx.builder
    x = _read(step, blocks, ctx)
    deep = b.op("Unsqueeze", [x, b.const(np.array([2], np.int64), "axis2")])  # [N, m, 1]
    above = b.op("GreaterOrEqual", [deep, b.const(_f64(step.edges_), "edges")])  # [N, m, k]
    counted = b.op(
        "ReduceSum",
        [b.op("Cast", [above], to=TensorProto.DOUBLE), b.const(np.array([2], np.int64))],
        keepdims=0,
    )
    out = b.op("Where", [b.op("IsNaN", [x]), b.const(NAN, "nan"), counted], "bucket")
    return [Block(out, len(step.input_indices_), False, "Bucketize")]


def _ratio(step: Ratio, blocks: list[Block], ctx: Context) -> list[Block]:
    b = ctx.builder
    top = _read(step, blocks, ctx, [step.input_indices_[0]])
    bottom = _read(step, blocks, ctx, [step.input_indices_[1]])
    quotient = b.op("Div", [top, bottom])
    zero = b.op("Equal", [bottom, b.const(np.float64(0.0))])
    out = b.op("Where", [zero, b.const(NAN, "nan"), quotient], "ratio")
    return [Block(out, 1, False, "Ratio")]


def _asin(ctx: Context, w: str) -> str:
    """Float64 ``asin(w)`` for ``0 <= w <= sqrt(1/2)``: float32 guess, two Newton steps."""
    b = ctx.builder
    single = b.op("Cast", [w], to=TensorProto.FLOAT)
    y = b.op("Cast", [b.op("Asin", [single])], "asin_guess", to=TensorProto.DOUBLE)
    for _ in range(2):
        error = b.op("Sub", [b.op("Sin", [y]), w])
        y = b.op("Sub", [y, b.op("Div", [error, b.op("Cos", [y])])], "asin")
    return y


def _haversine_nearest(step: HaversineNearest, blocks: list[Block], ctx: Context) -> list[Block]:
    b = ctx.builder
    lat = _read(step, blocks, ctx, [step.input_indices_[0]])  # [N, 1]
    lon = _read(step, blocks, ctx, [step.input_indices_[1]])
    refs = _f64(step.references_)
    ref_phi, ref_lam = refs[:, 0] * DEGREES, refs[:, 1] * DEGREES  # as geo.haversine_km
    degrees, half, one = b.const(np.float64(DEGREES)), b.const(np.float64(0.5)), b.const(1.0)
    rad_phi = b.op("Mul", [lat, degrees])
    rad_lam = b.op("Mul", [lon, degrees])
    half_dphi = b.op("Sin", [b.op("Mul", [b.op("Sub", [b.const(ref_phi), rad_phi]), half])])
    half_dlam = b.op("Sin", [b.op("Mul", [b.op("Sub", [b.const(ref_lam), rad_lam]), half])])
    cosines = b.op("Mul", [b.op("Cos", [rad_phi]), b.const(np.cos(ref_phi), "ref_cos")])
    term = b.op(
        "Add",
        [
            b.op("Mul", [half_dphi, half_dphi]),
            b.op("Mul", [cosines, b.op("Mul", [half_dlam, half_dlam])]),
        ],
    )
    term = b.op("Min", [term, one], "haversine")
    sine = b.op("Sqrt", [term])
    cosine = b.op("Sqrt", [b.op("Sub", [one, term])])
    low = b.op("LessOrEqual", [sine, cosine])
    angle = _asin(ctx, b.op("Where", [low, sine, cosine]))
    complement = b.op("Sub", [b.const(np.float64(np.pi / 2)), angle])
    half_angle = b.op("Where", [low, angle, complement])
    distance = b.op("Mul", [b.const(np.float64(2.0 * EARTH_RADIUS_KM)), half_angle], "km")
    nearest = b.op("ReduceMin", [distance, b.const(np.array([1], np.int64))], keepdims=1)
    lat_ok = b.op("LessOrEqual", [b.op("Abs", [lat]), b.const(np.float64(90.0))])
    lon_bad = b.op("Or", [b.op("IsNaN", [lon]), b.op("IsInf", [lon])])
    valid = b.op("And", [lat_ok, b.op("Not", [lon_bad])])
    out = b.op("Where", [valid, nearest, b.const(NAN, "nan")], "nearest_km")
    ctx.note("HaversineNearest: float64 asin computed as a float32 guess + 2 Newton steps")
    return [Block(out, 1, False, "HaversineNearest")]


def _prestep(step: Any, blocks: list[Block], ctx: Context) -> list[Block]:
    raise UnsupportedModel(
        f"{type(step).__name__} parses dates and reads the clock, which an ONNX graph does "
        "not do: it runs as a declared pre-step, which is only possible as one of the "
        "first steps of the top-level Pipeline (before any ColumnTransformer)"
    )


Emitter = Callable[[Any, list[Block], Context], list[Block]]

FEATURE_EMITTERS: dict[type, Emitter] = {
    MinMaxScale: _min_max_scale,
    ZScore: _z_score,
    Log: _log,
    Bucketize: _bucketize,
    Ratio: _ratio,
    HaversineNearest: _haversine_nearest,
    AgeFromDate: _prestep,
    DateParts: _prestep,
}
