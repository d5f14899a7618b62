"""Orchestration: score an entity by id. Feature sources bound at deployment, the
enrichment cache in front of them. See ``docs/orchestration.md`` (in progress)."""

from modelport.orchestrate.assemble import assemble
from modelport.orchestrate.cache import CacheStats, EnrichmentCache
from modelport.orchestrate.config import load_bindings
from modelport.orchestrate.enrich import Enricher
from modelport.orchestrate.sources import EntityKey, SourceBinding, SqlSource, entity_key
from modelport.orchestrate.spec import FieldSource, OrchestrationSpec

__all__ = [
    "CacheStats",
    "Enricher",
    "EnrichmentCache",
    "EntityKey",
    "FieldSource",
    "OrchestrationSpec",
    "SourceBinding",
    "SqlSource",
    "assemble",
    "entity_key",
    "load_bindings",
]
