"""Fitted scikit-learn pipelines as one ONNX graph, computing what scikit-learn computes.

The graph is fed by the contract, one input per field (see ``docs/package-format.md``):

* number, integer and boolean fields: ``tensor(double)`` ``[N, 1]``, NaN where missing;
* string and date fields: ``tensor(string)`` ``[N, 1]``, :data:`MISSING_STRING` where missing.

Outputs: classifiers give ``label`` ``[N]`` (the type of ``classes_``) and
``probabilities`` ``[N, n_classes]`` (float64, ``classes_`` order); regressors give
``value`` ``[N]`` (float64).

Every step is written out as plain ONNX operators rather than through skl2onnx: the
precision of each step must follow scikit-learn's (float64 preprocessing, float32 before
trees, float64 leaf sums) and missing strings need scikit-learn's NaN semantics, and both
are simpler to guarantee node by node than by patching skl2onnx's converters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from modelport.contract.fields import Contract
from modelport.errors import ModelportError, PackageError, UnsupportedModel
from modelport.package.converters import sklearn_estimators
from modelport.package.converters.onnx_graph import ML_OPSET, ONNX_OPSET, GraphBuilder
from modelport.package.converters.sklearn_estimators import Head, emit_estimator
from modelport.package.converters.sklearn_preprocessing import (
    MISSING_STRING,
    Block,
    Context,
    apply_transformer,
    as_matrix,
)

__all__ = [
    "MISSING_STRING",
    "OUTPUT_NAMES",
    "ConvertedModel",
    "convert_sklearn",
    "supported_estimators",
]

OUTPUT_NAMES = ("label", "probabilities", "value")


@dataclass(frozen=True)
class ConvertedModel:
    """An ONNX graph and what the package manifest needs to know about it."""

    onnx_model: onnx.ModelProto
    task: str  # "binary" | "multiclass" | "regression"
    classes: list[Any] | None  # classes_ as plain Python values; None for regression
    estimator: str  # the final estimator's class name, e.g. "RandomForestClassifier"
    notes: list[str]  # precision choices and caveats, for people reading the manifest


def supported_estimators() -> list[str]:
    """Class names of the final estimators :func:`convert_sklearn` accepts."""
    return sklearn_estimators.supported_estimators()


def convert_sklearn(pipeline: Any, contract: Contract) -> ConvertedModel:
    """Convert a fitted pipeline (or a bare estimator) into an ONNX graph.

    Raises :class:`~modelport.errors.UnsupportedModel` for steps with no exact ONNX form or
    an unfitted pipeline, and :class:`~modelport.errors.PackageError` when the pipeline and
    the contract disagree (a column the contract lacks, text where numbers are needed).
    """
    steps, estimator = _split(pipeline)
    _check_fitted([*steps, estimator])
    clash = sorted(set(contract.names) & set(OUTPUT_NAMES))
    if clash:
        raise PackageError(
            f"contract fields may not be named like the model outputs: {', '.join(clash)}"
        )
    ctx = Context(GraphBuilder())
    try:
        head, task, classes = _emit(ctx, pipeline, steps, estimator, contract)
    except ModelportError:
        raise
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        # A fitted step in a configuration the emitters did not foresee: refuse it
        # plainly rather than produce a graph nobody has checked.
        raise UnsupportedModel(
            f"cannot convert this {type(estimator).__name__} pipeline to ONNX ({exc}). "
            "Build the package with allow_native=True to serve it natively."
        ) from exc
    _outputs(ctx, head, classes)
    ctx.note(f"ONNX opsets: ai.onnx {ONNX_OPSET}, ai.onnx.ml {ML_OPSET}")
    model = ctx.builder.build(f"modelport_{type(estimator).__name__}")
    return ConvertedModel(
        onnx_model=model,
        task=task,
        classes=classes.tolist() if classes is not None else None,
        estimator=type(estimator).__name__,
        notes=list(ctx.notes),
    )


# -- pipeline structure -------------------------------------------------------------------


def _split(pipeline: Any) -> tuple[list[Any], Any]:
    """The transformers (nested pipelines flattened) and the final estimator."""
    steps: list[Any] = []

    def flatten(obj: Any) -> None:
        if isinstance(obj, Pipeline):
            for _, inner in obj.steps:
                flatten(inner)
        elif obj is not None and not (isinstance(obj, str) and obj == "passthrough"):
            steps.append(obj)

    flatten(pipeline)
    if not steps or not hasattr(steps[-1], "predict"):
        raise UnsupportedModel(
            "the pipeline does not end with an estimator (a step with predict); "
            "modelport converts fitted classifiers and regressors"
        )
    return steps[:-1], steps[-1]


def _check_fitted(steps: list[Any]) -> None:
    for step in steps:
        try:
            check_is_fitted(step)
        except NotFittedError:
            raise UnsupportedModel(
                f"the pipeline is not fitted ({type(step).__name__} has not been fitted); "
                "fit it before packaging"
            ) from None
        except TypeError as exc:  # not an estimator at all
            raise UnsupportedModel(f"cannot convert the step {step!r}: {exc}") from None


def _input_columns(first: Any, contract: Contract, ctx: Context) -> list[str]:
    """The contract fields the first step reads, in the order it was fitted on."""
    names = getattr(first, "feature_names_in_", None)
    if names is None:
        n = getattr(first, "n_features_in_", None)
        if n != len(contract.fields):
            raise PackageError(
                "the pipeline was fitted without column names and on "
                f"{n} columns, not the contract's {len(contract.fields)}; fit it on a "
                "pandas DataFrame so columns can be matched to fields by name"
            )
        ctx.note("the pipeline was fitted without column names: contract order assumed")
        return contract.names
    names = [str(n) for n in names]
    missing = [n for n in names if n not in contract.names]
    if missing:
        raise PackageError(f"the pipeline reads columns the contract lacks: {', '.join(missing)}")
    return names


def _emit(
    ctx: Context, pipeline: Any, steps: list[Any], estimator: Any, contract: Contract
) -> tuple[Head, str, np.ndarray | None]:
    b = ctx.builder
    inputs: dict[str, Block] = {}
    for spec in contract.fields:  # every field is an input, used or not: one feed convention
        text = not spec.type.is_numeric
        kind = TensorProto.STRING if text else TensorProto.DOUBLE
        inputs[spec.name] = Block(b.add_input(spec.name, kind, [None, 1]), 1, text, spec.name)
    first = steps[0] if steps else estimator
    blocks = [inputs[name] for name in _input_columns(first, contract, ctx)]
    for step in steps:
        blocks = apply_transformer(step, blocks, ctx)
    width = sum(blk.width for blk in blocks)
    if width != estimator.n_features_in_:
        raise PackageError(
            f"{type(estimator).__name__} was fitted on {estimator.n_features_in_} features "
            f"but the converted preprocessing yields {width}"
        )
    x = as_matrix(ctx, blocks, estimator)
    ctx.note("preprocessing computed in float64, in scikit-learn's order of operations")
    head = emit_estimator(estimator, x, ctx)
    if head.value is not None:
        return head, "regression", None
    classes = np.asarray(estimator.classes_)
    task = "binary" if classes.shape[0] == 2 else "multiclass"
    return head, task, classes


def _label_type(classes: np.ndarray) -> tuple[int, np.ndarray]:
    kind = classes.dtype.kind
    if kind in "iu":
        return TensorProto.INT64, classes.astype(np.int64)
    if kind == "b":
        return TensorProto.BOOL, classes
    if kind == "f":
        return TensorProto.DOUBLE, classes.astype(np.float64)
    if all(isinstance(c, str) for c in classes.tolist()):
        return TensorProto.STRING, classes.astype(object)
    raise UnsupportedModel(
        "class labels must be all integers, all booleans, all numbers or all strings; "
        f"got {sorted({type(c).__name__ for c in classes.tolist()})}"
    )


def _outputs(ctx: Context, head: Head, classes: np.ndarray | None) -> None:
    b = ctx.builder
    if head.value is not None:
        b.add_output(head.value, "value", TensorProto.DOUBLE, [None])
        return
    if classes is None or head.probabilities is None or head.label_index is None:
        raise UnsupportedModel("the estimator is neither a classifier nor a regressor")
    elem_type, values = _label_type(classes)
    label = b.op("Gather", [b.const(values, "classes"), head.label_index], "label_value", axis=0)
    b.add_output(label, "label", elem_type, [None])
    b.add_output(head.probabilities, "probabilities", TensorProto.DOUBLE, [None, len(classes)])
