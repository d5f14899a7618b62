"""Enrichment: the rows a model's inputs come from, for a batch of entities, through the cache.

One call serves one request or one batch chunk: for every source, the cached rows first,
then one fetch for all the keys the cache did not have. An entity a source does not know
is an :class:`~modelport.errors.EntityNotFound` naming the entity and the source, never a
row filled with defaults.

:meth:`Enricher.rows` fetches in the calling thread (batch jobs); the server goes through
:class:`~modelport.orchestrate.coalesce.CoalescingEnricher`, which takes the same
:meth:`Enricher.lookup` and :meth:`Lookup.rows` steps but groups concurrent misses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelport.errors import EntityNotFound, InvalidInput
from modelport.orchestrate.cache import EnrichmentCache
from modelport.orchestrate.sources import EntityKey, SqlSource

__all__ = ["Enricher", "Lookup"]

Row = dict[str, Any]
# a key's row; None: the source does not have it; InvalidInput: the database refused the key
Fetched = dict[EntityKey, Row | None | InvalidInput]


@dataclass(slots=True)
class Lookup:
    """One source's rows for a list of entities: what the cache had, and what to fetch."""

    source: SqlSource
    keys: list[EntityKey]  # one per entity, in order
    found: Fetched  # None: the source is known not to have it
    missing: list[EntityKey]  # distinct keys the cache did not have

    def rows(self) -> list[Row]:
        """The row of every entity, in order, once ``found`` holds every key."""
        rows = []
        for key in self.keys:
            row = self.found.get(key)
            if isinstance(row, InvalidInput):
                raise row
            if row is None:
                named = zip(self.source.binding.keys, key, strict=True)
                shown = ", ".join(f"{name}={value!r}" for name, value in named)
                raise EntityNotFound(f"no entity {shown} in source {self.source.name!r}")
            rows.append(row)
        return rows


class Enricher:
    """Sources by name, and the cache in front of them."""

    def __init__(self, sources: Mapping[str, SqlSource], cache: EnrichmentCache | None = None):
        self.sources = dict(sources)
        self.cache = cache or EnrichmentCache()

    def close(self) -> None:
        for source in self.sources.values():
            source.close()

    def invalidate(self, source: str | None = None, entity: Mapping[str, Any] | None = None) -> int:
        """Drop cached rows: all of them, a source's, or one entity's (in ``source``, or in
        every source keyed by what ``entity`` holds); how many were dropped."""
        if not entity:
            return self.cache.invalidate(source)
        dropped = 0
        for name, bound in self.sources.items():
            if (source is None or name == source) and all(k in entity for k in bound.binding.keys):
                try:
                    key = bound.key_of(entity)
                except InvalidInput:  # not a key of this source: nothing is cached under it
                    continue
                dropped += self.cache.invalidate(name, key)
        return dropped

    def rows(self, source_name: str, entities: Sequence[Mapping[str, Any]]) -> list[Row]:
        """The source's row for each entity, in order (fetching in this thread)."""
        self.source(source_name).key_types()  # keys are typed like the source's columns
        lookup = self.lookup(source_name, entities)
        if lookup.missing:
            lookup.found.update(self.fetch(lookup.source, lookup.missing))
        return lookup.rows()

    def source(self, name: str) -> SqlSource:
        source = self.sources.get(name)
        if source is None:
            known = ", ".join(sorted(self.sources)) or "none are configured"
            raise EntityNotFound(
                f"the model reads from source {name!r}, which this deployment does not "
                f"bind (bound sources: {known})"
            )
        return source

    def lookup(self, source_name: str, entities: Sequence[Mapping[str, Any]]) -> Lookup:
        """The cache's part of :meth:`rows` (no I/O: safe on an event loop). The keys are
        typed like the source's key columns once :meth:`SqlSource.key_types` was read."""
        source = self.source(source_name)
        keys = [source.key_of(entity) for entity in entities]
        found, missing = self.cache.get_many(source_name, dict.fromkeys(keys))
        return Lookup(source, keys, dict(found), missing)

    def fetch(self, source: SqlSource, keys: Sequence[EntityKey]) -> Fetched:
        """Read ``keys`` from ``source`` (blocking) and cache what came back, absences too.

        Keys the database refuses (a query source's ``CAST`` of ``"abc"``) are refused one
        by one: one caller's bad key must not fail the others sharing the query."""
        try:
            fetched = source.fetch([dict(zip(source.binding.keys, k, strict=True)) for k in keys])
        except InvalidInput:
            if len(keys) == 1:
                raise
            found: Fetched = {}
            for key in keys:
                try:
                    found.update(self.fetch(source, [key]))
                except InvalidInput as refused:
                    found[key] = refused
            return found
        absent = [key for key in keys if key not in fetched]
        self.cache.put_many(source.name, source.binding.ttl_seconds, fetched, absent)
        return {**fetched, **dict.fromkeys(absent)}
