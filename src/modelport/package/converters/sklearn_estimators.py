"""scikit-learn estimators as ONNX nodes, each computing in the precision scikit-learn uses.

* Linear models and MLPs: float64 end to end, ``X @ W + b`` as scikit-learn writes it.
* DecisionTree, RandomForest, ExtraTrees, GradientBoosting: scikit-learn casts ``X`` to
  float32 and compares it with float64 thresholds. The graph does the same: Cast to
  float32 and back, then a float64 ``TreeEnsemble`` keeping the thresholds untouched, so
  every sample takes the same path. Leaves are summed in float64.
* HistGradientBoosting: predicts on float64 ``X`` with float64 thresholds, so no cast.
* Labels come from the same quantity and rule scikit-learn's ``predict`` uses (``score > 0``,
  ``raw >= 0``, ``p > 0.5`` or argmax), not from the probabilities, so ties fall alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto, numpy_helper
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
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from modelport.errors import UnsupportedModel
from modelport.package.converters.onnx_graph import ML_DOMAIN
from modelport.package.converters.sklearn_preprocessing import Context

__all__ = ["Head", "emit_estimator", "supported_estimators"]


@dataclass(frozen=True)
class Head:
    """An estimator's outputs: probabilities and label index (classifiers) or value."""

    probabilities: str | None = None  # float64 [N, n_classes], in classes_ order
    label_index: str | None = None  # int64 [N], index into classes_
    value: str | None = None  # float64 [N]


def _unsupported(est: Any, why: str) -> UnsupportedModel:
    return UnsupportedModel(
        f"cannot convert {type(est).__name__} to ONNX: {why}. Build the package with "
        "allow_native=True to serve it natively."
    )


def _f64(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


# -- shared heads ------------------------------------------------------------------------


def _flat(ctx: Context, x: str) -> str:
    return ctx.builder.op("Reshape", [x, ctx.builder.const(np.array([-1], np.int64))], "flat")


def _binary(ctx: Context, p1: str, decision: str, rule: str, threshold: float) -> Head:
    """[1 - p, p] as scikit-learn stacks it; label = (decision rule threshold)."""
    b = ctx.builder
    p0 = b.op("Sub", [b.const(np.float64(1.0)), p1], "p0")
    proba = b.op("Concat", [p0, p1], "proba", axis=1)
    positive = b.op(rule, [decision, b.const(np.float64(threshold))], "positive")
    index = _flat(ctx, b.op("Cast", [positive], "index", to=TensorProto.INT64))
    return Head(probabilities=proba, label_index=index)


def _argmax(ctx: Context, scores: str) -> str:
    # ArgMax keeps the first maximum, like numpy.argmax.
    return ctx.builder.op("ArgMax", [scores], "index", axis=1, keepdims=0, select_last_index=0)


def _link(ctx: Context, raw: str, link: Any) -> str:
    """scikit-learn's inverse link functions (sklearn._loss.link)."""
    b = ctx.builder
    name = type(link).__name__
    if name == "IdentityLink":
        return raw
    if name == "LogLink":
        return b.op("Exp", [raw])
    if name == "LogitLink":
        return b.op("Sigmoid", [raw])
    if name == "HalfLogitLink":
        return b.op("Sigmoid", [b.op("Mul", [b.const(np.float64(2.0)), raw])])
    if name == "MultinomialLogit":
        return b.op("Softmax", [raw], axis=1)
    raise UnsupportedModel(f"cannot convert the link function {name} to ONNX")


# -- linear models and MLPs --------------------------------------------------------------


def _affine(ctx: Context, x: str, weights: np.ndarray, bias: np.ndarray) -> str:
    b = ctx.builder
    product = b.op("MatMul", [x, b.const(_f64(weights), "weights")])
    return b.op("Add", [product, b.const(_f64(bias), "bias")], "scores")


def _linear_classifier(est: LogisticRegression, x: str, ctx: Context) -> Head:
    coef = _f64(est.coef_)
    scores = _affine(ctx, x, coef.T, np.atleast_1d(_f64(est.intercept_)))
    ctx.note(f"{type(est).__name__} computed in float64")
    if coef.shape[0] == 1:
        p1 = ctx.builder.op("Sigmoid", [scores], "p1")
        return _binary(ctx, p1, scores, "Greater", 0.0)
    proba = ctx.builder.op("Softmax", [scores], "proba", axis=1)
    return Head(probabilities=proba, label_index=_argmax(ctx, scores))


def _linear_regressor(est: Any, x: str, ctx: Context) -> Head:
    coef = _f64(est.coef_)
    if coef.ndim != 1:
        raise _unsupported(est, "only single-target regression is supported")
    scores = _affine(ctx, x, coef.reshape(-1, 1), np.atleast_1d(_f64(est.intercept_)))
    ctx.note(f"{type(est).__name__} computed in float64")
    return Head(value=_flat(ctx, scores))


_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "exp": "Exp"}


def _mlp(est: Any, x: str, ctx: Context) -> Head:
    b = ctx.builder
    h = x
    last = len(est.coefs_) - 1
    for i, (weights, bias) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        h = _affine(ctx, h, weights, bias)
        activation = est.activation if i < last else est.out_activation_
        if activation == "softmax":
            h = b.op("Softmax", [h], "proba", axis=1)
        elif activation in _ACTIVATIONS:
            h = b.op(_ACTIVATIONS[activation], [h], activation)
        elif activation != "identity":
            raise _unsupported(est, f"activation {activation!r}")
    ctx.note(f"{type(est).__name__} computed in float64")
    if isinstance(est, MLPRegressor):
        if est.n_outputs_ != 1:
            raise _unsupported(est, "only single-target regression is supported")
        return Head(value=_flat(ctx, h))
    if est.out_activation_ == "logistic" and est.n_outputs_ == 1:
        return _binary(ctx, h, h, "Greater", 0.5)  # LabelBinarizer: y > 0.5
    if est.out_activation_ == "softmax":
        return Head(probabilities=h, label_index=_argmax(ctx, h))
    raise _unsupported(est, "multi-label classification is not supported")


# -- trees -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tree:
    """One tree in a common form; ``value`` holds each node's contribution to ``target``."""

    is_leaf: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    value: np.ndarray
    target: int


def _sklearn_trees(tree: Any, values: np.ndarray, targets: list[int]) -> list[_Tree]:
    """One _Tree per target from a fitted ``tree_``; ``values[:, i]`` feeds ``targets[i]``.

    A TreeEnsemble leaf adds to a single target, so a k-class tree becomes k trees of
    the same shape.
    """
    left = np.asarray(tree.children_left, np.int64)
    common = {
        "is_leaf": left == -1,
        "left": left,
        "right": np.asarray(tree.children_right, np.int64),
        "feature": np.asarray(tree.feature, np.int64),
        "threshold": _f64(tree.threshold),
        "missing_left": np.asarray(tree.missing_go_to_left, bool),
    }
    return [_Tree(value=values[:, i], target=k, **common) for i, k in enumerate(targets)]


def _hgb_tree(nodes: np.ndarray, target: int) -> _Tree:
    if nodes["is_categorical"].any():
        raise UnsupportedModel(
            "cannot convert HistGradientBoosting with native categorical splits to ONNX; "
            "one-hot or ordinal encode the column in the pipeline instead"
        )
    return _Tree(
        is_leaf=nodes["is_leaf"].astype(bool),
        left=nodes["left"].astype(np.int64),
        right=nodes["right"].astype(np.int64),
        feature=nodes["feature_idx"].astype(np.int64),
        threshold=_f64(nodes["num_threshold"]),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        value=_f64(nodes["value"]),
        target=target,
    )


def _tree_ensemble(ctx: Context, x: str, trees: list[_Tree], n_targets: int) -> str:
    """A float64 ai.onnx.ml TreeEnsemble summing the leaves of ``trees`` per target."""
    roots: list[int] = []
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("feature", "split", "true", "true_leaf", "false", "false_leaf", "missing")
    }
    leaf_weights: list[np.ndarray] = []
    leaf_targets: list[np.ndarray] = []
    n_nodes = n_leaves = 0
    for tree in trees:
        internal, leaves = np.flatnonzero(~tree.is_leaf), np.flatnonzero(tree.is_leaf)
        node_at = np.full(tree.is_leaf.shape[0], -1, np.int64)
        node_at[internal] = n_nodes + np.arange(internal.size)
        leaf_at = np.full(tree.is_leaf.shape[0], -1, np.int64)
        leaf_at[leaves] = n_leaves + np.arange(leaves.size)
        if internal.size == 0:  # a lone leaf: one split whose both branches reach it
            roots.append(n_nodes)
            one = np.array([leaf_at[0]])
            for key, value in (
                ("feature", [0]),
                ("split", [0.0]),
                ("true", one),
                ("true_leaf", [1]),
                ("false", one),
                ("false_leaf", [1]),
                ("missing", [0]),
            ):
                parts[key].append(np.asarray(value))
            n_nodes += 1
        else:
            roots.append(int(node_at[0]))
            left, right = tree.left[internal], tree.right[internal]
            parts["feature"].append(tree.feature[internal])
            parts["split"].append(tree.threshold[internal])
            parts["true"].append(np.where(tree.is_leaf[left], leaf_at[left], node_at[left]))
            parts["true_leaf"].append(tree.is_leaf[left].astype(np.int64))
            parts["false"].append(np.where(tree.is_leaf[right], leaf_at[right], node_at[right]))
            parts["false_leaf"].append(tree.is_leaf[right].astype(np.int64))
            parts["missing"].append(tree.missing_left[internal].astype(np.int64))
            n_nodes += internal.size
        leaf_weights.append(tree.value[leaves])
        leaf_targets.append(np.full(leaves.size, tree.target, np.int64))
        n_leaves += leaves.size

    def ints(key: str) -> list[int]:
        return [int(v) for v in np.concatenate(parts[key])]

    return ctx.builder.op(
        "TreeEnsemble",
        [x],
        "raw",
        domain=ML_DOMAIN,
        n_targets=n_targets,
        aggregate_function=1,  # SUM; averaging is a separate Div, as scikit-learn does it
        post_transform=0,
        tree_roots=roots,
        nodes_featureids=ints("feature"),
        nodes_splits=numpy_helper.from_array(_f64(np.concatenate(parts["split"]))),
        nodes_modes=numpy_helper.from_array(np.zeros(n_nodes, np.uint8)),  # BRANCH_LEQ
        nodes_truenodeids=ints("true"),
        nodes_trueleafs=ints("true_leaf"),
        nodes_falsenodeids=ints("false"),
        nodes_falseleafs=ints("false_leaf"),
        nodes_missing_value_tracks_true=ints("missing"),  # NaN follows missing_go_to_left
        leaf_targetids=[int(v) for v in np.concatenate(leaf_targets)],
        leaf_weights=numpy_helper.from_array(_f64(np.concatenate(leaf_weights))),
    )


def _as_float32(ctx: Context, x: str, est: Any) -> str:
    """X rounded to float32 as scikit-learn's trees see it, carried on as float64."""
    ctx.note(
        f"{type(est).__name__}: preprocessing in float64, input rounded to float32 as "
        "scikit-learn does before its trees; float64 thresholds and leaf sums"
    )
    x32 = ctx.builder.op("Cast", [x], "x_float32", to=TensorProto.FLOAT)
    return ctx.builder.op("Cast", [x32], "x_rounded", to=TensorProto.DOUBLE)


def _check_single_output(est: Any) -> None:
    if getattr(est, "n_outputs_", 1) != 1:
        raise _unsupported(est, "only single-output models are supported")


def _forest(est: Any, x: str, ctx: Context) -> Head:
    _check_single_output(est)
    members = list(getattr(est, "estimators_", [est]))
    classifier = hasattr(est, "classes_")
    n_targets = len(est.classes_) if classifier else 1
    # Two classes: a leaf's fractions add up to one, so the trees of the second class say
    # everything; the first's probability is 1 - p. Half the trees to walk, the same answers.
    binary = classifier and n_targets == 2
    trees: list[_Tree] = []
    for member in members:
        values = _f64(member.tree_.value[:, 0, :])  # class fractions, or the mean target
        if binary:
            trees.extend(_sklearn_trees(member.tree_, values[:, 1:], [0]))
        else:
            trees.extend(_sklearn_trees(member.tree_, values, list(range(n_targets))))
    b = ctx.builder
    summed = _tree_ensemble(ctx, _as_float32(ctx, x, est), trees, 1 if binary else n_targets)
    if len(members) > 1:  # sum, then divide once: scikit-learn's order of operations
        summed = b.op("Div", [summed, b.const(np.float64(len(members)))], "mean")
    if not classifier:
        return Head(value=_flat(ctx, summed))
    if binary:
        p0 = b.op("Sub", [b.const(np.float64(1.0)), summed], "p0")
        summed = b.op("Concat", [p0, summed], "proba", axis=1)
    return Head(probabilities=summed, label_index=_argmax(ctx, summed))


def _gradient_boosting(est: Any, x: str, ctx: Context) -> Head:
    init = est.init_
    if not (isinstance(init, str) and init == "zero"):
        strategy = getattr(init, "strategy", None)
        if type(init).__name__ not in ("DummyClassifier", "DummyRegressor") or strategy in (
            "stratified",
            "uniform",
        ):
            raise _unsupported(est, "only the default or 'zero' init estimator is supported")
    # The init estimator predicts a constant: take it from one row.
    baseline = _f64(est._raw_predict_init(np.zeros((1, est.n_features_in_), np.float32)))[0]
    stages = est.estimators_  # [n_stages, K] regression trees
    n_targets = stages.shape[1]
    trees: list[_Tree] = []
    for stage in stages:
        for k, member in enumerate(stage):
            # predict_stages adds learning_rate * value; the product is the same float64.
            values = est.learning_rate * _f64(member.tree_.value[:, 0, :1])
            trees.extend(_sklearn_trees(member.tree_, values, [k]))
    raw = _tree_ensemble(ctx, _as_float32(ctx, x, est), trees, n_targets)
    raw = ctx.builder.op("Add", [raw, ctx.builder.const(baseline, "init")], "raw")
    if isinstance(est, GradientBoostingRegressor):
        return Head(value=_flat(ctx, raw))  # predict returns the raw sum, with no link
    return _boosting_classes(est, raw, ctx, "GreaterOrEqual")


def _hist_gradient_boosting(est: Any, x: str, ctx: Context) -> Head:
    if getattr(est, "_preprocessor", None) is not None:
        raise _unsupported(est, "native categorical features are not supported")
    trees = [
        _hgb_tree(predictor.nodes, k)
        for iteration in est._predictors
        for k, predictor in enumerate(iteration)
    ]
    ctx.note(f"{type(est).__name__}: float64 input and thresholds, as scikit-learn predicts")
    raw = _tree_ensemble(ctx, x, trees, est.n_trees_per_iteration_)
    baseline = _f64(est._baseline_prediction).reshape(-1)
    raw = ctx.builder.op("Add", [raw, ctx.builder.const(baseline, "baseline")], "raw")
    if isinstance(est, HistGradientBoostingRegressor):
        return Head(value=_flat(ctx, _link(ctx, raw, est._loss.link)))
    return _boosting_classes(est, raw, ctx, "Greater")


def _boosting_classes(est: Any, raw: str, ctx: Context, binary_rule: str) -> Head:
    """Binary: p = link⁻¹(raw), label from raw against 0 (>= for GB, > for HGB)."""
    if len(est.classes_) == 2:
        return _binary(ctx, _link(ctx, raw, est._loss.link), raw, binary_rule, 0.0)
    proba = _link(ctx, raw, est._loss.link)
    return Head(probabilities=proba, label_index=_argmax(ctx, raw))


_EMITTERS: dict[type, Callable[[Any, str, Context], Head]] = {
    LogisticRegression: _linear_classifier,
    LinearRegression: _linear_regressor,
    Ridge: _linear_regressor,
    Lasso: _linear_regressor,
    ElasticNet: _linear_regressor,
    MLPClassifier: _mlp,
    MLPRegressor: _mlp,
    DecisionTreeClassifier: _forest,
    DecisionTreeRegressor: _forest,
    RandomForestClassifier: _forest,
    RandomForestRegressor: _forest,
    ExtraTreesClassifier: _forest,
    ExtraTreesRegressor: _forest,
    GradientBoostingClassifier: _gradient_boosting,
    GradientBoostingRegressor: _gradient_boosting,
    HistGradientBoostingClassifier: _hist_gradient_boosting,
    HistGradientBoostingRegressor: _hist_gradient_boosting,
}


def supported_estimators() -> list[str]:
    return sorted(t.__name__ for t in _EMITTERS)


def emit_estimator(est: Any, x: str, ctx: Context) -> Head:
    emitter = _EMITTERS.get(type(est))  # exact type: a subclass may predict differently
    if emitter is None:
        raise UnsupportedModel(
            f"cannot convert the estimator {type(est).__name__} to ONNX; supported: "
            f"{', '.join(supported_estimators())}. Build the package with allow_native=True "
            "to serve it natively."
        )
    return emitter(est, x, ctx)
