"""Is a candidate's contract safe for the callers of the current version?

A change is *breaking* when a request the current version accepts could be refused by
the candidate (or, for a removed field, silently lose its meaning). Everything else a
caller could notice is reported too, as non-breaking, so a promotion shows the whole
picture. Descriptions are not compared: they change no answer.

Decisions worth knowing:

* a removed field is breaking under both ``extra_fields`` policies. With ``reject`` the
  callers still sending it are refused; with ``ignore`` they are not, but a value they
  send no longer affects the prediction, which they would not find out from any error;
* ``integer`` → ``number`` is a widening (every integer is a number); every other type
  change is breaking, ``number`` → ``integer`` included (``2.5`` would be refused);
* a narrowed set of categories (or categories where there were none) is breaking only when
  the candidate rejects unknown categories; with ``unknown_categories=allow`` the values
  still pass, and the change is reported as non-breaking with that reason;
* ``unknown_categories`` turning to ``reject`` is breaking only if some candidate field
  has categories (otherwise the policy has nothing to refuse);
* expectations (``expected_minimum``, ``expected_maximum``, ``expected_categories``: the
  sample's range and categories) refuse nothing, so changing them, narrowing included, is
  never breaking: it is noted, because more (or fewer) answers will carry warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from modelport.contract import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
)
from modelport.contract.validate import format_number

__all__ = ["ChangeKind", "ContractChange", "breaking", "compare_contracts"]

_SHOWN_CATEGORIES = 10


class ChangeKind(StrEnum):
    """What changed; stable strings, for audit records and tools."""

    FIELD_ADDED_REQUIRED = "field_added_required"
    FIELD_ADDED_OPTIONAL = "field_added_optional"
    FIELD_REMOVED = "field_removed"
    TYPE_CHANGED = "type_changed"
    TYPE_WIDENED = "type_widened"
    NOW_REQUIRED = "now_required"
    NOW_OPTIONAL = "now_optional"
    DEFAULT_CHANGED = "default_changed"
    MINIMUM_RAISED = "minimum_raised"
    MINIMUM_LOWERED = "minimum_lowered"
    MAXIMUM_LOWERED = "maximum_lowered"
    MAXIMUM_RAISED = "maximum_raised"
    CATEGORIES_NARROWED = "categories_narrowed"
    CATEGORIES_WIDENED = "categories_widened"
    EXTRA_FIELDS_REJECTED = "extra_fields_rejected"
    EXTRA_FIELDS_IGNORED = "extra_fields_ignored"
    UNKNOWN_CATEGORIES_REJECTED = "unknown_categories_rejected"
    UNKNOWN_CATEGORIES_ALLOWED = "unknown_categories_allowed"
    EXPECTED_RANGE_CHANGED = "expected_range_changed"
    EXPECTED_CATEGORIES_CHANGED = "expected_categories_changed"


_BOUND_KINDS = {  # (bound, narrower) -> kind
    ("minimum", True): ChangeKind.MINIMUM_RAISED,
    ("minimum", False): ChangeKind.MINIMUM_LOWERED,
    ("maximum", True): ChangeKind.MAXIMUM_LOWERED,
    ("maximum", False): ChangeKind.MAXIMUM_RAISED,
}


@dataclass(frozen=True, slots=True)
class ContractChange:
    """One difference between the current contract and the candidate's.

    ``field`` is ``None`` for a contract-wide policy. ``breaking``: requests the current
    version accepts could be refused (or lose their meaning) under the candidate.
    """

    field: str | None
    kind: ChangeKind
    breaking: bool
    message: str

    def __str__(self) -> str:
        return f"{'breaking' if self.breaking else 'compatible'}: {self.message}"


def compare_contracts(current: Contract, candidate: Contract) -> list[ContractChange]:
    """Every change from ``current`` to ``candidate``: the breaking ones first, then the
    others; within each, policies, then fields in the current contract's order, then
    fields new in the candidate in its order. Identical contracts give ``[]``."""
    changes = [*_policy_changes(current, candidate)]
    new = {spec.name: spec for spec in candidate.fields}
    for spec in current.fields:
        if spec.name in new:
            changes.extend(_field_changes(spec, new[spec.name], candidate))
        else:
            changes.append(_removed(spec, candidate))
    known = set(current.names)
    changes.extend(_added(spec) for spec in candidate.fields if spec.name not in known)
    return sorted(changes, key=lambda change: not change.breaking)  # stable: order kept


def breaking(changes: Iterable[ContractChange]) -> list[ContractChange]:
    """The breaking changes among ``changes``."""
    return [change for change in changes if change.breaking]


# -- contract-wide policies --------------------------------------------------------------


def _policy_changes(current: Contract, candidate: Contract) -> Iterator[ContractChange]:
    if current.extra_fields != candidate.extra_fields:
        if candidate.extra_fields == ExtraFieldPolicy.REJECT:
            yield ContractChange(
                None,
                ChangeKind.EXTRA_FIELDS_REJECTED,
                True,
                "extra fields are now rejected (extra_fields=reject): callers that send fields "
                "the model does not use would be refused",
            )
        else:
            yield ContractChange(
                None,
                ChangeKind.EXTRA_FIELDS_IGNORED,
                False,
                "extra fields are now ignored (extra_fields=ignore) instead of refused",
            )
    if current.unknown_categories != candidate.unknown_categories:
        if candidate.unknown_categories == UnknownCategoryPolicy.REJECT:
            categorical = [s.name for s in candidate.fields if s.categories is not None]
            effect = (
                f"callers that send a value outside the categories of {_names(categorical)} "
                "would be refused"
                if categorical
                else "no field has categories, so nothing more is refused"
            )
            yield ContractChange(
                None,
                ChangeKind.UNKNOWN_CATEGORIES_REJECTED,
                bool(categorical),
                f"unknown categories are now rejected (unknown_categories=reject): {effect}",
            )
        else:
            yield ContractChange(
                None,
                ChangeKind.UNKNOWN_CATEGORIES_ALLOWED,
                False,
                "unknown categories are now passed to the model (unknown_categories=allow) "
                "instead of refused",
            )


# -- fields added or removed -------------------------------------------------------------


def _added(spec: FieldSpec) -> ContractChange:
    if spec.required:
        return ContractChange(
            spec.name,
            ChangeKind.FIELD_ADDED_REQUIRED,
            True,
            f"field {spec.name!r} is new and required: callers that do not send it "
            "would be refused",
        )
    default = f" (default {spec.default!r})" if spec.default is not None else ""
    return ContractChange(
        spec.name,
        ChangeKind.FIELD_ADDED_OPTIONAL,
        False,
        f"field {spec.name!r} is new and optional{default}: callers may leave it out",
    )


def _removed(spec: FieldSpec, candidate: Contract) -> ContractChange:
    if candidate.extra_fields == ExtraFieldPolicy.REJECT:
        effect = "callers that still send it would be refused (extra_fields=reject)"
    else:
        effect = (
            "callers that still send it are not refused (extra_fields=ignore), but the value "
            "they send no longer affects the prediction"
        )
    return ContractChange(
        spec.name, ChangeKind.FIELD_REMOVED, True, f"field {spec.name!r} was removed: {effect}"
    )


# -- one field in both -------------------------------------------------------------------


def _field_changes(old: FieldSpec, new: FieldSpec, candidate: Contract) -> list[ContractChange]:
    changes = []
    name = old.name
    if old.type != new.type:
        widened = old.type == FieldType.INTEGER and new.type == FieldType.NUMBER
        kind = ChangeKind.TYPE_WIDENED if widened else ChangeKind.TYPE_CHANGED
        effect = (
            "every value accepted today is still accepted"
            if widened
            else f"values accepted as {old.type.value} could be refused"
        )
        changes.append(
            ContractChange(
                name,
                kind,
                not widened,
                f"field {name!r} changed type from {old.type.value} to {new.type.value}: {effect}",
            )
        )
    if old.required != new.required:
        if new.required:
            changes.append(
                ContractChange(
                    name,
                    ChangeKind.NOW_REQUIRED,
                    True,
                    f"field {name!r} is now required: callers that leave it out or send null "
                    "would be refused",
                )
            )
        else:
            changes.append(
                ContractChange(
                    name,
                    ChangeKind.NOW_OPTIONAL,
                    False,
                    f"field {name!r} is now optional: callers may leave it out",
                )
            )
    elif not new.required and old.default != new.default:
        changes.append(
            ContractChange(
                name,
                ChangeKind.DEFAULT_CHANGED,
                False,
                f"field {name!r} now defaults to {new.default!r} instead of {old.default!r}: "
                "callers that leave it out get a different value",
            )
        )
    if _has_bounds(old.type) and _has_bounds(new.type):
        changes.extend(_bound_changes(old, new))
        changes.extend(_expected_range_change(old, new))
    if old.type == FieldType.STRING and new.type == FieldType.STRING:
        changes.extend(_category_changes(old, new, candidate))
        changes.extend(_expected_categories_change(old, new))
    return changes


def _has_bounds(kind: FieldType) -> bool:
    return kind in (FieldType.NUMBER, FieldType.INTEGER)


def _bound_changes(old: FieldSpec, new: FieldSpec) -> Iterator[ContractChange]:
    limits = (
        ("minimum", old.minimum, new.minimum, 1, "below"),
        ("maximum", old.maximum, new.maximum, -1, "above"),
    )
    for bound, was, now, inward, side in limits:
        if was == now:
            continue
        # Narrower: a limit where there was none, or one moved inward (up for a minimum).
        narrower = now is not None and (was is None or (now - was) * inward > 0)
        if was is None:
            words = f"now has a {bound} of {_number(now)}"
        elif now is None:
            words = f"no longer has a {bound} (it was {_number(was)})"
        else:
            moved = "raised" if now > was else "lowered"
            words = f"{bound} {moved} from {_number(was)} to {_number(now)}"
        effect = f": callers that send values {side} {_number(now)} would be refused"
        yield ContractChange(
            old.name,
            _BOUND_KINDS[bound, narrower],
            narrower,
            f"field {old.name!r} {words}" + (effect if narrower else ""),
        )


def _category_changes(
    old: FieldSpec, new: FieldSpec, candidate: Contract
) -> Iterator[ContractChange]:
    """``None`` categories mean any string: going to a list narrows, going to ``None`` widens."""
    name = old.name
    if old.categories == new.categories:
        return
    if new.categories is None:
        yield ContractChange(
            name,
            ChangeKind.CATEGORIES_WIDENED,
            False,
            f"field {name!r} no longer restricts its values to a list of categories",
        )
        return
    if old.categories is None:
        narrowed = f"field {name!r} now restricts its values to {_values(new.categories)}"
    else:
        gone = [c for c in old.categories if c not in set(new.categories)]
        narrowed = f"field {name!r} no longer has the categories {_values(gone)}" if gone else ""
    if narrowed:
        allowed = candidate.unknown_categories == UnknownCategoryPolicy.ALLOW
        effect = (
            "but unknown categories are passed to the model (unknown_categories=allow), "
            "so no caller is refused"
            if allowed
            else "callers that send other values would be refused"
        )
        yield ContractChange(
            name, ChangeKind.CATEGORIES_NARROWED, not allowed, f"{narrowed}: {effect}"
        )
    if old.categories is not None:
        added = [c for c in new.categories if c not in set(old.categories)]
        if added:
            yield ContractChange(
                name,
                ChangeKind.CATEGORIES_WIDENED,
                False,
                f"field {name!r} has new categories {_values(added)}",
            )


def _expected_range_change(old: FieldSpec, new: FieldSpec) -> Iterator[ContractChange]:
    was = (old.expected_minimum, old.expected_maximum)
    now = (new.expected_minimum, new.expected_maximum)
    if was != now:
        yield ContractChange(
            old.name,
            ChangeKind.EXPECTED_RANGE_CHANGED,
            False,
            f"field {old.name!r} now expects {_range(*now)} (it expected {_range(*was)}): "
            f"{_WARNED}",
        )


def _expected_categories_change(old: FieldSpec, new: FieldSpec) -> Iterator[ContractChange]:
    was, now = old.expected_categories, new.expected_categories
    if was == now:
        return
    if now is None:
        words = ["no longer expects a list of categories"]
    elif was is None:
        words = [f"now expects the categories {_values(now)}"]
    else:
        gone = [c for c in was if c not in set(now)]
        added = [c for c in now if c not in set(was)]
        words = [f"no longer expects {_values(gone)}"] if gone else []
        words += [f"now also expects {_values(added)}"] if added else []
    yield ContractChange(
        old.name,
        ChangeKind.EXPECTED_CATEGORIES_CHANGED,
        False,
        f"field {old.name!r} {' and '.join(words)}: other values are scored with a warning, "
        "not refused",
    )


_WARNED = "values outside it are scored with a warning, not refused"


# -- words -------------------------------------------------------------------------------


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "any value"
    if high is None:
        return f"values of at least {_number(low)}"
    if low is None:
        return f"values of at most {_number(high)}"
    return f"values from {_number(low)} to {_number(high)}"


def _number(value: float | None) -> str:
    return "none" if value is None else format_number(value)


def _values(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:_SHOWN_CATEGORIES])
    more = f" and {len(values) - _SHOWN_CATEGORIES} more" if len(values) > _SHOWN_CATEGORIES else ""
    return shown + more


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)
