"""Orchestration: score an entity by id. Feature sources bound at deployment, the
enrichment cache in front of them. See ``docs/orchestration.md``."""

from modelport.orchestrate.assemble import assemble, assemble_async
from modelport.orchestrate.cache import CacheStats, EnrichmentCache
from modelport.orchestrate.coalesce import CoalescingEnricher
from modelport.orchestrate.config import load_bindings
from modelport.orchestrate.enrich import Enricher
from modelport.orchestrate.entity import name_sources, split_entity
from modelport.orchestrate.sources import EntityKey, SourceBinding, SqlSource, entity_key
from modelport.orchestrate.spec import FieldSource, OrchestrationSpec

__all__ = [
    "CacheStats",
    "CoalescingEnricher",
    "Enricher",
    "EnrichmentCache",
    "EntityKey",
    "FieldSource",
    "OrchestrationSpec",
    "SourceBinding",
    "SqlSource",
    "assemble",
    "assemble_async",
    "entity_key",
    "load_bindings",
    "name_sources",
    "split_entity",
]
