"""Enrichment: the rows a model's inputs come from, for a batch of entities, through the cache.

One call serves one request or one batch chunk: for every source, the cached rows first,
then one fetch for all the keys the cache did not have. An entity a source does not know
is an :class:`~modelport.errors.EntityNotFound` naming the entity and the source, never a
row filled with defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelport.errors import EntityNotFound
from modelport.orchestrate.cache import EnrichmentCache
from modelport.orchestrate.sources import SqlSource, entity_key

__all__ = ["Enricher"]


class Enricher:
    """Sources by name, and the cache in front of them."""

    def __init__(self, sources: Mapping[str, SqlSource], cache: EnrichmentCache | None = None):
        self.sources = dict(sources)
        self.cache = cache or EnrichmentCache()

    def close(self) -> None:
        for source in self.sources.values():
            source.close()

    def rows(self, source_name: str, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The source's row for each entity, in order."""
        source = self.sources.get(source_name)
        if source is None:
            known = ", ".join(sorted(self.sources)) or "none are configured"
            raise EntityNotFound(
                f"the model reads from source {source_name!r}, which this deployment does not "
                f"bind (bound sources: {known})"
            )
        keys = [entity_key(source.binding, entity) for entity in entities]
        cached, missing = self.cache.get_many(source_name, dict.fromkeys(keys))
        if missing:
            fetched = source.fetch(
                [dict(zip(source.binding.keys, key, strict=True)) for key in missing]
            )
            absent = [key for key in missing if key not in fetched]
            self.cache.put_many(source_name, source.binding.ttl_seconds, fetched, absent)
            cached.update(fetched)
            cached.update(dict.fromkeys(absent))
        rows = []
        for key in keys:
            row = cached.get(key)
            if row is None:
                named = zip(source.binding.keys, key, strict=True)
                shown = ", ".join(f"{name}={value!r}" for name, value in named)
                raise EntityNotFound(f"no entity {shown} in source {source_name!r}")
            rows.append(row)
        return rows
