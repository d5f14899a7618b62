"""What a fitted scikit-learn model does with a category it never saw, field by field.

Contract inference asks this before deciding whether a string field's categories are hard
or only expected. An unseen value is safe to score only when the original model scores it
too: so a field is *open* (``ModelCategories(scores_unseen=True)``) only when every
encoder it reaches scores unseen values, ``OneHotEncoder(handle_unknown="ignore" |
"infrequent_if_exist" | "warn")`` or ``OrdinalEncoder(handle_unknown="use_encoded_value")``,
with nothing but ``SimpleImputer`` steps on the way. An encoder with
``handle_unknown="error"`` closes the field, and its learned categories are the hard list
(the original raises on anything else; the converted graph would answer). Anything this
module cannot follow, a custom transformer, a raw column passed through to the estimator,
a ``FunctionTransformer``, closes the field too: nothing here lets the package answer
where the original would raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from modelport.contract.infer import ModelCategories

__all__ = ["model_categories"]

# encoder class name -> the handle_unknown settings under which it scores unseen values
_SCORES_UNSEEN = {
    "OneHotEncoder": frozenset({"ignore", "infrequent_if_exist", "warn"}),
    "OrdinalEncoder": frozenset({"use_encoded_value"}),
}


@dataclass(slots=True)
class _Use:
    """What one raw field reaches: encoders (scores unseen?, categories learned), or worse."""

    encoders: list[tuple[bool, frozenset[str]]] = field(default_factory=list)
    opaque: bool = False  # reaches something that may refuse (or mishandle) unseen values


def model_categories(model: Any, names: Sequence[str]) -> dict[str, ModelCategories]:
    """For each input field in ``names``: does ``model`` score its unseen values, and
    which values did its encoders learn?"""
    uses = {name: _Use() for name in names}
    try:
        _trace(model, list(names), uses)
    except (AttributeError, IndexError, KeyError, TypeError):  # a shape this module misreads
        return {name: ModelCategories(scores_unseen=False) for name in names}
    result = {}
    for name, use in uses.items():
        known = None
        if use.encoders:
            learned = [categories for _, categories in use.encoders]
            known = sorted(frozenset.intersection(*learned))
        scores = not use.opaque and all(scores for scores, _ in use.encoders)
        result[name] = ModelCategories(scores_unseen=scores, known=known)
    return result


Labels = list[str | None]  # the raw field each input column of a step is, if any


def _trace(step: Any, labels: Labels, uses: dict[str, _Use]) -> None:
    """Follow each raw field among ``step``'s input columns to what consumes it."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if not any(labels) or _is_drop(step):
        return
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            if _is_passthrough(inner) or (
                isinstance(inner, SimpleImputer) and _keeps_columns(inner, len(labels))
            ):
                continue  # the same columns, still raw, go on to the next step
            _trace(inner, labels, uses)
            return  # whatever this step makes of the raw fields, they are no longer raw
        _opaque(labels, uses)  # raw values reach whatever the pipeline feeds
    elif isinstance(step, ColumnTransformer):
        indices = step._transformer_to_input_indices
        for name, inner, _ in step.transformers_:
            chosen = [labels[i] for i in indices[name]]
            if _is_passthrough(inner):
                _opaque(chosen, uses)  # raw values go on to the next step
            else:
                _trace(inner, chosen, uses)
    elif isinstance(step, FeatureUnion):
        for _, inner in step.transformer_list:
            _trace(inner, labels, uses)
    elif type(step).__name__ in _SCORES_UNSEEN and hasattr(step, "categories_"):
        if len(step.categories_) != len(labels):
            _opaque(labels, uses)
            return
        scores = step.handle_unknown in _SCORES_UNSEEN[type(step).__name__]
        for label, learned in zip(labels, step.categories_, strict=True):
            if label is not None:
                values = frozenset(str(v) for v in learned if not _is_missing(v))
                uses[label].encoders.append((scores, values))
    else:
        _opaque(labels, uses)


def _opaque(labels: Labels, uses: dict[str, _Use]) -> None:
    for label in labels:
        if label is not None:
            uses[label].opaque = True


def _is_drop(step: Any) -> bool:
    return isinstance(step, str) and step == "drop"


def _is_passthrough(step: Any) -> bool:
    """``None``, ``"passthrough"``, or the identity ``FunctionTransformer`` scikit-learn
    puts in a fitted ``ColumnTransformer`` for ``remainder="passthrough"``."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return True
    return type(step).__name__ == "FunctionTransformer" and getattr(step, "func", 0) is None


def _keeps_columns(imputer: Any, width: int) -> bool:
    """A ``SimpleImputer`` that hands on its input columns in place (it drops a column
    that was all missing when fitted, which would shift the ones after it)."""
    statistics = getattr(imputer, "statistics_", None)
    if statistics is None or len(statistics) != width:
        return False
    if getattr(imputer, "keep_empty_features", False) or imputer.strategy == "constant":
        return True
    return not any(_is_missing(value) for value in statistics)


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
