"""A compact text form of a declaration, for the command line and quick Python use.

Threshold rules, in order, then the ``else`` branch (required)::

    score>=0.7:decline, score>=0.4:refer, else:accept
    value > 250000 : review, else : auto

Top-k classes (the decision is the top class, so there is no ``:decision`` part)::

    top2>=0.2, else:unknown

Spaces around names, operators, numbers and ``:`` are ignored. :func:`format_rules` writes
the same form back, so ``parse_rules(format_rules(d)) == d`` for every declaration.
"""

from __future__ import annotations

import math
import re
from typing import cast

from pydantic import ValidationError

from modelport.decisions.rules import (
    OPERATORS,
    Operator,
    Rule,
    ThresholdRules,
    TopK,
    format_number,
)

__all__ = ["RuleSyntaxError", "format_rules", "parse_rules"]

_OPERATOR = "|".join(re.escape(op) for op in OPERATORS)
_RULE = re.compile(
    rf"^(?P<score>[^<>=:,\s][^<>=:,]*?)\s*(?P<op>{_OPERATOR})\s*(?P<number>[^:,]*?)\s*:"
    r"\s*(?P<decision>.*?)\s*$"
)
_TOP_K = re.compile(r"^top\s*(?P<k>\d+)\s*>=\s*(?P<number>[^:,]*?)\s*$")
_ELSE = re.compile(r"^else\s*:\s*(?P<decision>.*?)\s*$")
_SHAPE = "SCORE OP NUMBER:DECISION (OP one of >=, >, <=, <), ..., else:DECISION"


class RuleSyntaxError(ValueError):
    """The text is not a declaration; the message names the part and what was expected."""


def parse_rules(text: str) -> ThresholdRules | TopK:
    """Read ``score>=0.7:decline, score>=0.4:refer, else:accept`` or ``top2>=0.2, else:x``."""
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError(f"empty decision rules: expected {_SHAPE}")
    parts = [part.strip() for part in text.split(",")]
    for i, part in enumerate(parts, start=1):
        if not part:
            raise RuleSyntaxError(f"part {i} of {text!r} is empty (two commas in a row?)")
    last = _ELSE.match(parts[-1])
    if last is None:
        raise RuleSyntaxError(
            f"the last part must be else:DECISION (what to decide when no rule matches), "
            f"not {parts[-1]!r}"
        )
    for i, part in enumerate(parts[:-1], start=1):
        if _ELSE.match(part):
            raise RuleSyntaxError(f"part {i} ({part!r}): 'else' must be the last part")
    top = _TOP_K.match(parts[0])
    try:
        if top is not None:
            if len(parts) != 2:
                raise RuleSyntaxError("top-k takes one part and else, e.g. 'top2>=0.2, else:x'")
            return TopK(
                k=int(top["k"]),
                min_probability=_number(top["number"], 1, parts[0]),
                fallback=last["decision"],
            )
        rules: list[Rule] = []
        score: str | None = None
        for i, part in enumerate(parts[:-1], start=1):
            match = _RULE.match(part)
            if match is None:
                raise RuleSyntaxError(f"part {i} ({part!r}) is not a rule: expected {_SHAPE}")
            if score is not None and match["score"] != score:
                raise RuleSyntaxError(
                    f"part {i} ({part!r}) is on {match['score']!r}, the rules before it on "
                    f"{score!r}: all rules of a declaration test the same score"
                )
            score = match["score"]
            number = _number(match["number"], i, part)
            rules.append(Rule(cast(Operator, match["op"]), number, match["decision"]))
        if score is None:
            raise RuleSyntaxError(f"no rule before else: expected {_SHAPE}")
        return ThresholdRules(score=score, rules=rules, otherwise=last["decision"])
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RuleSyntaxError(
            f"decision rules {text!r}: {first['msg'].removeprefix('Value error, ')}"
        ) from None


def format_rules(declaration: ThresholdRules | TopK) -> str:
    """The compact text of a declaration; :func:`parse_rules` reads it back unchanged."""
    if isinstance(declaration, TopK):
        return (
            f"top{declaration.k}>={format_number(declaration.min_probability)}, "
            f"else:{declaration.fallback}"
        )
    parts = [
        f"{declaration.score}{rule.when}{format_number(rule.threshold)}:{rule.decision}"
        for rule in declaration.rules
    ]
    return ", ".join([*parts, f"else:{declaration.otherwise}"])


def _number(text: str, part: int, whole: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RuleSyntaxError(f"part {part} ({whole!r}): {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RuleSyntaxError(f"part {part} ({whole!r}): the threshold must be a finite number")
    return value
