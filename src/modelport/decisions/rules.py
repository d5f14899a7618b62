"""The decision declaration: ordered threshold rules on one score, or top-k classes.

A declaration is data, not code: it is validated once (here, and against the model's task
with :func:`check_declaration` at build time), stored in the manifest and applied the same
way by every entry point. Two kinds exist:

* :class:`ThresholdRules` -- ordered rules on one score (``score``, ``proba_<class>`` or
  ``value``); the first rule that matches fires, else ``otherwise``.
* :class:`TopK` -- the top class if its probability reaches ``min_probability``, else
  ``fallback``; the answer also lists the ``k`` most probable classes.

A row whose score is not a finite number (NaN, infinite) gets :data:`UNDECIDED`: no rule
fires and ``otherwise`` does not either, so a broken score can never slip through an
``else: accept`` branch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelport.runtime import Task

__all__ = [
    "Declaration",
    "OPERATORS",
    "Operator",
    "Rule",
    "SCORE",
    "ThresholdRules",
    "TopK",
    "UNDECIDED",
    "VALUE",
    "check_declaration",
    "check_score_name",
    "format_number",
]

Operator = Literal[">=", ">", "<=", "<"]
OPERATORS: tuple[Operator, ...] = (">=", ">", "<=", "<")  # longest first: the parser relies on it
SCORE = "score"  # binary tasks: probability of the positive class, ``classes[1]``
VALUE = "value"  # regression: the predicted value
PROBA_PREFIX = "proba_"
UNDECIDED = "undecided"  # the decision of a row whose score is not a finite number

MAX_DECISION_LENGTH = 100
# ',' and ':' are the compact syntax's separators; the rest is what code, shells and
# templates are written with (``$(id)``, ``{{7*7}}``, ``%(x)s``, ``__import__('os')``): a
# label that reaches a log viewer, a spreadsheet or a downstream template stays a label.
_FORBIDDEN_IN_DECISION = re.compile(r"[,:\x00-\x1f\x7f(){}\[\]<>$`;|&\\'\"%=]")


def format_number(value: float) -> str:
    """The shortest text that reads back as the same float (``0.7``, ``1e-05``, ``12.0``)."""
    return repr(float(value))


def _check_decision(value: str, what: str) -> str:
    """Decisions are short labels that survive the compact string syntax unchanged."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    if value != value.strip():
        raise ValueError(f"{what} {value!r} has leading or trailing spaces")
    if len(value) > MAX_DECISION_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_DECISION_LENGTH} characters")
    if _FORBIDDEN_IN_DECISION.search(value):
        raise ValueError(
            f"{what} {value!r} may not contain ',', ':', control characters or any of "
            "( ) { } [ ] < > $ ` ; | & \\ ' \" % = (a decision is a plain label)"
        )
    if value == UNDECIDED:
        raise ValueError(
            f"{what} may not be {UNDECIDED!r}: it is reserved for rows without a finite score"
        )
    return value


def _is_probability(score: str) -> bool:
    return score == SCORE or score.startswith(PROBA_PREFIX)


class Rule(BaseModel):
    """``score <when> threshold`` decides ``decision``. ``Rule(">=", 0.7, "decline")``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Operator
    threshold: float
    decision: str

    def __init__(self, when: Operator, threshold: float, decision: str) -> None:
        super().__init__(when=when, threshold=threshold, decision=decision)

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a threshold must be a finite number")
        return value

    @field_validator("decision")
    @classmethod
    def _decision(cls, value: str) -> str:
        return _check_decision(value, "a rule's decision")

    def text(self, score: str) -> str:
        """Human-readable form, e.g. ``score >= 0.7``."""
        return f"{score} {self.when} {format_number(self.threshold)}"

    @property
    def is_upper(self) -> bool:
        """Whether the rule matches a ray going up (``>=``, ``>``)."""
        return self.when in (">=", ">")

    @property
    def inclusive(self) -> bool:
        return self.when in (">=", "<=")


class ThresholdRules(BaseModel):
    """Ordered rules on one score; the first rule that matches fires, else ``otherwise``.

    ``score`` is ``"score"`` (binary: probability of ``classes[1]``), ``"proba_<class>"``
    (any classifier) or ``"value"`` (regression). Probability thresholds must lie in
    ``[0, 1]``. A rule that an earlier rule always pre-empts (e.g. ``>= 0.4`` then
    ``>= 0.7``) is refused: it could never fire, so the order is almost certainly wrong.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["threshold"] = "threshold"
    score: str = SCORE
    rules: list[Rule] = Field(min_length=1)
    otherwise: str

    @field_validator("score")
    @classmethod
    def _score_name(cls, value: str) -> str:
        if value in (SCORE, VALUE):
            return value
        if value.startswith(PROBA_PREFIX) and len(value) > len(PROBA_PREFIX):
            return value
        raise ValueError(
            f"score {value!r} is not a model output: use 'score' (binary), "
            "'proba_<class>' (classifiers) or 'value' (regression)"
        )

    @field_validator("otherwise")
    @classmethod
    def _otherwise(cls, value: str) -> str:
        return _check_decision(value, "the 'otherwise' decision")

    @model_validator(mode="after")
    def _sensible(self) -> ThresholdRules:
        if _is_probability(self.score):
            for i, rule in enumerate(self.rules):
                if not 0.0 <= rule.threshold <= 1.0:
                    raise ValueError(
                        f"rule {i} ({rule.text(self.score)}): {self.score} is a probability, "
                        "so its thresholds must lie between 0 and 1"
                    )
        for i in _shadowed(self.rules):
            raise ValueError(
                f"rule {i} ({self.rules[i].text(self.score)}) can never fire: every score it "
                "matches is already matched by an earlier rule; order rules from the most to "
                "the least extreme threshold"
            )
        return self

    @property
    def thresholds(self) -> list[float]:
        return [rule.threshold for rule in self.rules]

    def texts(self) -> list[str]:
        """The text of each rule, then ``else`` for the ``otherwise`` branch."""
        return [rule.text(self.score) for rule in self.rules] + ["else"]


class TopK(BaseModel):
    """Decide the most probable class if its probability reaches ``min_probability``.

    Below it the decision is ``fallback``. Every answer also lists the ``k`` most probable
    classes. Ties go to the class listed first in the manifest's ``classes`` (as the
    model's own label does).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["top_k"] = "top_k"
    k: int = Field(default=1, ge=1)
    min_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    fallback: str = "unknown"

    @field_validator("fallback")
    @classmethod
    def _fallback(cls, value: str) -> str:
        return _check_decision(value, "the fallback decision")

    def texts(self) -> list[str]:
        """The text of the top-class rule, then ``else`` for the fallback."""
        return [f"top1 >= {format_number(self.min_probability)}", "else"]


Declaration = Annotated[ThresholdRules | TopK, Field(discriminator="kind")]


def check_score_name(score: str, task: Task, classes: Sequence[Any] | None) -> None:
    """Refuse a score name the model does not output (build time, with the real task)."""
    names = [str(c) for c in classes or []]
    if task is Task.REGRESSION:
        if score != VALUE:
            raise ValueError(f"a regression model outputs 'value', not {score!r}")
        return
    if score == VALUE:
        raise ValueError("'value' is a regression output; a classifier has 'proba_<class>'")
    if score == SCORE:
        if task is not Task.BINARY:
            raise ValueError(
                "'score' is the positive-class probability of a binary model; "
                f"this {task} model has {', '.join(PROBA_PREFIX + n for n in names)}"
            )
        return
    if score[len(PROBA_PREFIX) :] not in names:
        raise ValueError(
            f"{score!r} is not an output of this model: it has "
            f"{', '.join(PROBA_PREFIX + n for n in names)}"
        )


def check_declaration(
    declaration: ThresholdRules | TopK, task: Task, classes: Sequence[Any] | None
) -> None:
    """Refuse a declaration that does not fit the model: raises ``ValueError`` saying why."""
    if isinstance(declaration, ThresholdRules):
        check_score_name(declaration.score, task, classes)
        return
    if not task.is_classification:
        raise ValueError("top-k decisions need a classifier; this is a regression model")
    n_classes = len(classes or [])
    if declaration.k > n_classes:
        raise ValueError(f"top-{declaration.k} asks for more classes than the {n_classes} known")


def _shadowed(rules: Sequence[Rule]) -> list[int]:
    """The rules whose every matching score an earlier rule already matches.

    Each rule is a ray on the real line. The earlier rules' union is one upward ray (the
    lowest bound wins) and one downward ray (the highest wins); a rule is dead when its
    ray lies inside that union.
    """
    dead: list[int] = []
    up: tuple[float, bool] | None = None  # (bound, inclusive) of the union of upward rays
    down: tuple[float, bool] | None = None
    for i, rule in enumerate(rules):
        t, inc = rule.threshold, rule.inclusive
        covered = up is not None and down is not None and _rays_meet(up, down)
        if rule.is_upper:
            inside = up is not None and (up[0] < t or (up[0] == t and (up[1] or not inc)))
        else:
            inside = down is not None and (down[0] > t or (down[0] == t and (down[1] or not inc)))
        if covered or inside:
            dead.append(i)
        if rule.is_upper:
            if up is None or t < up[0] or (t == up[0] and inc):
                up = (t, inc)
        elif down is None or t > down[0] or (t == down[0] and inc):
            down = (t, inc)
    return dead


def _rays_meet(up: tuple[float, bool], down: tuple[float, bool]) -> bool:
    """Whether ``[up, inf)`` and ``(-inf, down]`` together cover every number."""
    return down[0] > up[0] or (down[0] == up[0] and (down[1] or up[1]))
