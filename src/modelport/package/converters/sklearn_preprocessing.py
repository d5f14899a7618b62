"""scikit-learn preprocessing steps as ONNX nodes, all in float64.

Data flows between steps as a list of :class:`Block` s: float64 matrices ``[N, width]``
and string columns ``[N, 1]``. Each step repeats scikit-learn's own arithmetic in the
same order (``(x - mean) / scale``, not ``x * (1 / scale)``), so the matrix reaching the
estimator is bit-for-bit what scikit-learn computes, not merely close to it.

Missing strings arrive as :data:`MISSING_STRING`; every string step treats it exactly as
scikit-learn treats ``NaN``/``None`` in an object column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from onnx import TensorProto
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from modelport.errors import PackageError, UnsupportedModel
from modelport.package.converters.onnx_graph import GraphBuilder
from modelport.runtime.onnx import MISSING_STRING  # the feed convention lives with the runtime

__all__ = [
    "MISSING_STRING",
    "Block",
    "Context",
    "apply_transformer",
    "as_matrix",
    "supported_transformers",
]


@dataclass(frozen=True)
class Block:
    """A tensor flowing between steps: float64 ``[N, width]`` or one string column."""

    name: str
    width: int
    text: bool = False
    label: str = ""  # a field name or step name, for error messages


@dataclass
class Context:
    """What every step emitter needs: the graph, and notes for the package manifest."""

    builder: GraphBuilder
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


Emitter = Callable[[Any, list[Block], Context], list[Block]]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _unsupported(step: Any, why: str) -> UnsupportedModel:
    return UnsupportedModel(
        f"cannot convert {type(step).__name__} to ONNX: {why}. Change the step, or build "
        "the package with allow_native=True to serve the pipeline natively."
    )


def select(ctx: Context, blocks: list[Block], indices: list[int]) -> list[Block]:
    """The columns at ``indices`` of the concatenation of ``blocks``."""
    located = [(k, i) for k, blk in enumerate(blocks) for i in range(blk.width)]
    runs: list[tuple[int, list[int]]] = []  # (block, offsets): one Gather per run
    for index in indices:
        k, offset = located[index]
        if runs and runs[-1][0] == k:
            runs[-1][1].append(offset)
        else:
            runs.append((k, [offset]))
    out: list[Block] = []
    for k, offsets in runs:
        block = blocks[k]
        if offsets == list(range(block.width)):
            out.append(block)
            continue
        taken = ctx.builder.const(np.array(offsets, np.int64), "columns")
        picked = ctx.builder.op("Gather", [block.name, taken], "picked", axis=1)
        out.append(Block(picked, len(offsets), block.text, block.label))
    return out


def as_matrix(ctx: Context, blocks: list[Block], step: Any) -> str:
    """One float64 ``[N, width]`` tensor of ``blocks``; strings cannot be numbers."""
    text = [b.label for b in blocks if b.text]
    if text:
        raise PackageError(
            f"{type(step).__name__} receives text columns ({', '.join(text)}) where it "
            "needs numbers: in the contract they are string/date fields, but the "
            "pipeline treats them as numeric"
        )
    if len(blocks) == 1:
        return blocks[0].name
    return ctx.builder.op("Concat", [b.name for b in blocks], "concat", axis=1)


def _width(blocks: list[Block]) -> int:
    return sum(b.width for b in blocks)


def _check_width(step: Any, blocks: list[Block]) -> None:
    expected = getattr(step, "n_features_in_", None)
    if expected is not None and expected != _width(blocks):
        raise PackageError(
            f"{type(step).__name__} was fitted on {expected} columns but receives {_width(blocks)}"
        )


# -- composition -------------------------------------------------------------------------


def _pipeline(step: Pipeline, blocks: list[Block], ctx: Context) -> list[Block]:
    for _, inner in step.steps:
        blocks = apply_transformer(inner, blocks, ctx)
    return blocks


def _column_transformer(step: ColumnTransformer, blocks: list[Block], ctx: Context) -> list[Block]:
    _check_width(step, blocks)
    # A private attribute, but the only record of which input columns each transformer
    # received once callables, slices and masks have been resolved at fit time.
    indices: dict[str, list[int]] = step._transformer_to_input_indices
    out: list[Block] = []
    # Output order is transformers_ order, the remainder last: scikit-learn hstacks them so.
    for name, transformer, _ in step.transformers_:
        columns = [int(i) for i in indices.get(name, [])]
        if (isinstance(transformer, str) and transformer == "drop") or not columns:
            continue
        out.extend(apply_transformer(transformer, select(ctx, blocks, columns), ctx))
    return out


def _function_transformer(
    step: FunctionTransformer, blocks: list[Block], ctx: Context
) -> list[Block]:
    if step.func is not None:
        raise _unsupported(step, "only the identity (func=None) is supported")
    return blocks


# -- imputation --------------------------------------------------------------------------


def _simple_imputer(step: SimpleImputer, blocks: list[Block], ctx: Context) -> list[Block]:
    _check_width(step, blocks)
    b = ctx.builder
    statistics = np.asarray(step.statistics_, dtype=object)
    keep = [
        j for j, s in enumerate(statistics) if step.keep_empty_features or not _is_missing(s)
    ]  # scikit-learn silently drops columns that were empty at fit time
    if all(not blk.text for blk in blocks):
        if not (isinstance(step.missing_values, float) and math.isnan(step.missing_values)):
            raise _unsupported(step, "numeric columns need missing_values=np.nan")
        x = as_matrix(ctx, blocks, step)
        mask = b.op("IsNaN", [x], "missing")
        indicator = _indicator(step, mask, ctx)
        if len(keep) < len(statistics):
            x = b.op("Gather", [x, b.const(np.array(keep, np.int64), "keep")], "kept", axis=1)
            mask = b.op("IsNaN", [x], "missing")
        fill = np.array([float(statistics[j]) for j in keep], dtype=np.float64)
        out = b.op("Where", [mask, b.const(fill, "fill"), x], "imputed")
        return [Block(out, len(keep), False, "imputed"), *indicator]
    if any(not blk.text for blk in blocks):
        if not any(isinstance(v, str) for v in statistics):
            as_matrix(ctx, blocks, step)  # fitted on numbers: raises, naming the text fields
        raise _unsupported(step, "it mixes numeric and string columns")
    if not (_is_missing(step.missing_values) or step.missing_values == MISSING_STRING):
        raise _unsupported(step, "string columns need missing_values=np.nan or None")
    masks = [
        b.op("Equal", [blk.name, b.const(np.array([MISSING_STRING], object))]) for blk in blocks
    ]
    mask = masks[0] if len(masks) == 1 else b.op("Concat", masks, "missing", axis=1)
    indicator = _indicator(step, mask, ctx)
    filled_columns: list[Block] = []
    for j in keep:
        value = statistics[j]
        if not isinstance(value, str):
            raise _unsupported(step, f"fill value {value!r} for a string column is not a string")
        filled = b.op(
            "Where", [masks[j], b.const(np.array([value], object), "fill"), blocks[j].name]
        )
        filled_columns.append(Block(filled, 1, True, blocks[j].label))
    ctx.note(
        f"missing strings are fed as {MISSING_STRING!r} and imputed as scikit-learn imputes NaN"
    )
    return [*filled_columns, *indicator]


def _indicator(step: SimpleImputer, mask: str, ctx: Context) -> list[Block]:
    if not step.add_indicator or step.indicator_ is None:
        return []
    features = np.asarray(step.indicator_.features_, dtype=np.int64)
    if features.size == 0:
        return []
    b = ctx.builder
    picked = b.op("Gather", [mask, b.const(features, "indicator_features")], axis=1)
    cast = b.op("Cast", [picked], "indicator", to=TensorProto.DOUBLE)
    return [Block(cast, int(features.size), False, "indicator")]


# -- scaling -----------------------------------------------------------------------------


def _scaled(
    step: Any, blocks: list[Block], ctx: Context, ops: list[tuple[str, Any]]
) -> list[Block]:
    _check_width(step, blocks)
    x = as_matrix(ctx, blocks, step)
    for op, value in ops:
        if op == "Clip":
            low, high = value
            x = ctx.builder.op(
                "Clip", [x, ctx.builder.const(np.float64(low)), ctx.builder.const(np.float64(high))]
            )
        else:
            x = ctx.builder.op(
                op, [x, ctx.builder.const(np.asarray(value, np.float64), op.lower())]
            )
    return [Block(x, _width(blocks), False, type(step).__name__)]


def _standard_scaler(step: StandardScaler, blocks: list[Block], ctx: Context) -> list[Block]:
    ops: list[tuple[str, Any]] = []
    if step.with_mean:
        ops.append(("Sub", step.mean_))
    if step.with_std:
        ops.append(("Div", step.scale_))
    return _scaled(step, blocks, ctx, ops)


def _robust_scaler(step: RobustScaler, blocks: list[Block], ctx: Context) -> list[Block]:
    ops: list[tuple[str, Any]] = []
    if step.with_centering:
        ops.append(("Sub", step.center_))
    if step.with_scaling:
        ops.append(("Div", step.scale_))
    return _scaled(step, blocks, ctx, ops)


def _min_max_scaler(step: MinMaxScaler, blocks: list[Block], ctx: Context) -> list[Block]:
    ops: list[tuple[str, Any]] = [("Mul", step.scale_), ("Add", step.min_)]
    if step.clip:
        ops.append(("Clip", step.feature_range))
    return _scaled(step, blocks, ctx, ops)


def _max_abs_scaler(step: MaxAbsScaler, blocks: list[Block], ctx: Context) -> list[Block]:
    ops: list[tuple[str, Any]] = [("Div", step.scale_)]
    if getattr(step, "clip", False):
        ops.append(("Clip", (-1.0, 1.0)))
    return _scaled(step, blocks, ctx, ops)


# -- encoding ----------------------------------------------------------------------------


def _categories(step: Any, j: int, column: Block) -> tuple[np.ndarray, int | None]:
    """The categories of column ``j`` as a constant of the column's type, and the missing one."""
    categories = list(step.categories_[j])
    missing = [k for k, c in enumerate(categories) if _is_missing(c)]
    at = missing[0] if missing else None
    present = [c for c in categories if not _is_missing(c)]
    if column.text:
        if not all(isinstance(c, str) for c in present):
            raise PackageError(
                f"{type(step).__name__} learned non-string categories for {column.label!r}, "
                "a string field in the contract"
            )
        if MISSING_STRING in present:
            # The runtime feeds a missing value as MISSING_STRING; a learned category of
            # the same text would light up for every missing value.
            raise _unsupported(
                step,
                f"{column.label!r} has the category {MISSING_STRING!r}, which is how a "
                "missing string is fed; map it to another value before fitting",
            )
        return np.array([MISSING_STRING if _is_missing(c) else c for c in categories], object), at
    if not all(isinstance(c, int | float | bool | np.number | np.bool_) for c in present):
        raise PackageError(
            f"{type(step).__name__} learned string categories for {column.label!r}, "
            "a numeric field in the contract"
        )
    return np.array([math.nan if _is_missing(c) else float(c) for c in categories]), at


def _matches(ctx: Context, column: Block, values: np.ndarray, missing_at: int | None) -> str:
    """Bool ``[N, k]``: does the row equal each category (NaN/missing matches the missing one)."""
    b = ctx.builder
    equal = b.op("Equal", [column.name, b.const(values, "categories")], "is")
    if column.text or missing_at is None:
        return equal  # missing strings arrive as MISSING_STRING, which is in ``values``
    isnan = b.op("IsNaN", [column.name])  # NaN never equals NaN: light its column explicitly
    column_mask = np.zeros(values.shape[0], dtype=bool)
    column_mask[missing_at] = True
    return b.op("Or", [equal, b.op("And", [isnan, b.const(column_mask)])], "is")


def _columns(ctx: Context, blocks: list[Block]) -> list[Block]:
    """One block per column: encoders work column by column."""
    return [select(ctx, blocks, [i])[0] for i in range(_width(blocks))]


def _one_hot_encoder(step: OneHotEncoder, blocks: list[Block], ctx: Context) -> list[Block]:
    _check_width(step, blocks)
    if getattr(step, "_infrequent_enabled", False):
        raise _unsupported(
            step, "infrequent categories (min_frequency/max_categories) are not supported"
        )
    if step.handle_unknown == "error":
        ctx.note("OneHotEncoder(handle_unknown='error'): unknown categories encode as all zeros")
    b = ctx.builder
    out: list[Block] = []
    drop = step.drop_idx_ if step.drop_idx_ is not None else [None] * len(step.categories_)
    for j, column in enumerate(_columns(ctx, blocks)):
        values, missing_at = _categories(step, j, column)
        matches = _matches(ctx, column, values, missing_at)
        if drop[j] is not None:
            kept = np.array([k for k in range(values.shape[0]) if k != drop[j]], np.int64)
            if kept.size == 0:
                continue
            matches = b.op("Gather", [matches, b.const(kept, "kept")], axis=1)
            width = int(kept.size)
        else:
            width = int(values.shape[0])
        out.append(
            Block(
                b.op("Cast", [matches], "onehot", to=TensorProto.DOUBLE), width, False, column.label
            )
        )
    return out


def _ordinal_encoder(step: OrdinalEncoder, blocks: list[Block], ctx: Context) -> list[Block]:
    _check_width(step, blocks)
    if getattr(step, "_infrequent_enabled", False):
        raise _unsupported(
            step, "infrequent categories (min_frequency/max_categories) are not supported"
        )
    unknown = float(step.unknown_value) if step.handle_unknown == "use_encoded_value" else math.nan
    if step.handle_unknown == "error":
        ctx.note("OrdinalEncoder(handle_unknown='error'): unknown categories encode as NaN")
    b = ctx.builder
    out: list[Block] = []
    for j, column in enumerate(_columns(ctx, blocks)):
        values, missing_at = _categories(step, j, column)
        codes = np.arange(values.shape[0] + 1, dtype=np.float64)
        codes[-1] = unknown  # index k (past the last category) means "no match"
        if missing_at is not None:
            codes[missing_at] = float(step.encoded_missing_value)
        matches = b.op("Cast", [_matches(ctx, column, values, missing_at)], to=TensorProto.INT64)
        # Append an always-1 column: ArgMax then finds the matching category, or k if none.
        ones = b.op("Expand", [b.const(np.ones((1, 1), np.int64)), b.op("Shape", [column.name])])
        index = b.op("ArgMax", [b.op("Concat", [matches, ones], axis=1)], axis=1, keepdims=1)
        code = b.op("Gather", [b.const(codes, "codes"), index], "ordinal", axis=0)
        out.append(Block(code, 1, False, column.label))
    return out


_EMITTERS: dict[type, Emitter] = {
    Pipeline: _pipeline,
    ColumnTransformer: _column_transformer,
    FunctionTransformer: _function_transformer,
    SimpleImputer: _simple_imputer,
    StandardScaler: _standard_scaler,
    MinMaxScaler: _min_max_scaler,
    MaxAbsScaler: _max_abs_scaler,
    RobustScaler: _robust_scaler,
    OneHotEncoder: _one_hot_encoder,
    OrdinalEncoder: _ordinal_encoder,
}


def _all_emitters() -> dict[type, Emitter]:
    # modelport.features' emitters build on Block and Context above: imported when needed.
    from modelport.package.converters.features import FEATURE_EMITTERS

    return {**_EMITTERS, **FEATURE_EMITTERS}


def supported_transformers() -> list[str]:
    return sorted(t.__name__ for t in _all_emitters())


def apply_transformer(step: Any, blocks: list[Block], ctx: Context) -> list[Block]:
    """Emit ``step`` applied to ``blocks``; ``None``/"passthrough" pass them through."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return blocks
    emitter = _all_emitters().get(type(step))  # exact type: a subclass may differ
    if emitter is None:
        raise UnsupportedModel(
            f"cannot convert the step {type(step).__name__} to ONNX; supported transformers: "
            f"{', '.join(supported_transformers())}. Replace the step, or build the package "
            "with allow_native=True to serve the pipeline natively."
        )
    return emitter(step, blocks, ctx)
