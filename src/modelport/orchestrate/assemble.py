"""Assemble model records for entities: sourced inputs from the enricher, the rest from the
request. One call handles a whole chunk (one fetch per source, not per entity).

A caller may not send an input the package reads from a source: the answer would depend on
which of the two won, so it is refused, naming the field and the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelport.errors import FieldError, InvalidInput
from modelport.orchestrate.coalesce import CoalescingEnricher
from modelport.orchestrate.enrich import Enricher
from modelport.orchestrate.spec import OrchestrationSpec

__all__ = ["assemble", "assemble_async"]


def assemble(
    spec: OrchestrationSpec,
    enricher: Enricher,
    entities: Sequence[Mapping[str, Any]],
    inputs: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One record per entity: its request ``inputs`` plus every sourced input."""
    records = _requested(spec, entities, inputs)
    for source in spec.sources:
        _merge(spec, source, records, enricher.rows(source, entities))
    return records


async def assemble_async(
    spec: OrchestrationSpec,
    enricher: CoalescingEnricher,
    entities: Sequence[Mapping[str, Any]],
    inputs: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """:func:`assemble` on an event loop (the server's)."""
    records = _requested(spec, entities, inputs)
    for source in spec.sources:
        _merge(spec, source, records, await enricher.rows(source, entities))
    return records


def _requested(
    spec: OrchestrationSpec,
    entities: Sequence[Mapping[str, Any]],
    inputs: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    given = list(inputs) if inputs is not None else [{}] * len(entities)
    if len(given) != len(entities):
        raise ValueError("inputs must have one mapping per entity")
    _refuse_overrides(spec, given)
    return [dict(request) for request in given]


def _merge(
    spec: OrchestrationSpec,
    source: str,
    records: list[dict[str, Any]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    fields = {name: f.column or name for name, f in spec.inputs.items() if f.source == source}
    for record, row in zip(records, rows, strict=True):
        for name, column in fields.items():
            record[name] = row.get(column)


def _refuse_overrides(spec: OrchestrationSpec, given: Sequence[Mapping[str, Any]]) -> None:
    errors = [
        FieldError(
            record=index,
            field=name,
            reason=f"comes from source {spec.inputs[name].source!r}; do not send it",
        )
        for index, request in enumerate(given)
        for name in request
        if name in spec.inputs
    ]
    if errors:
        raise InvalidInput("inputs include fields the model reads from its sources", errors)
