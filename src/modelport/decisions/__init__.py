"""Decision logic and confidence, declared in the package at build time.

    rules.py        the declaration: ordered threshold rules, or top-k classes
    syntax.py       the compact text form: ``score>=0.7:decline, else:accept``
    apply.py        declaration + prediction -> a decision and the rule that fired, per row
    confidence.py   probability of the predicted class, margin to the decision threshold
    conformal.py    split-conformal intervals for regressors (calibrated at build time)
    decisioning.py  the manifest block bundling both, and the per-record answer fields

See ``docs/decisions.md``.
"""

from modelport.decisions.apply import NO_RULE, Decisions, apply, score_of
from modelport.decisions.confidence import (
    BINARY_THRESHOLD,
    Margins,
    margins,
    predicted_probability,
    threshold_margin,
    top_margin,
)
from modelport.decisions.conformal import (
    DEFAULT_COVERAGE,
    ConformalCalibration,
    calibrate_conformal,
    calibrate_for_package,
    interval,
    minimum_rows,
)
from modelport.decisions.decisioning import Decisioning, decide, decide_columns
from modelport.decisions.rules import (
    UNDECIDED,
    Declaration,
    Rule,
    ThresholdRules,
    TopK,
    check_declaration,
)
from modelport.decisions.syntax import RuleSyntaxError, format_rules, parse_rules

__all__ = [
    "BINARY_THRESHOLD",
    "DEFAULT_COVERAGE",
    "NO_RULE",
    "UNDECIDED",
    "ConformalCalibration",
    "Decisioning",
    "Decisions",
    "Declaration",
    "Margins",
    "Rule",
    "RuleSyntaxError",
    "ThresholdRules",
    "TopK",
    "apply",
    "calibrate_conformal",
    "calibrate_for_package",
    "check_declaration",
    "decide",
    "decide_columns",
    "format_rules",
    "interval",
    "margins",
    "minimum_rows",
    "parse_rules",
    "predicted_probability",
    "score_of",
    "threshold_margin",
    "top_margin",
]
