"""The model registry: named models, numbered versions, aliases, verified package files.

    registry = Registry.from_settings(Settings())
    v = registry.register("dist/loan-approval", alias="staging")   # -> loan-approval:1
    registry.set_alias("loan-approval", "production", v.version)
    package = registry.open("loan-approval")                       # production, re-verified

What else the registry database keeps is reached through the registry, one small
repository each: ``registry.job_runs``, ``registry.api_keys``, ``registry.signatures``,
``registry.invalidations``. :func:`open_model` opens what a user names: a package path
or a registry reference. See ``docs/registry.md``.
"""

from modelport.registry.api_keys import ApiKeys
from modelport.registry.audit import Action, AuditEvent, Outcome
from modelport.registry.invalidations import CacheInvalidation, CacheInvalidations
from modelport.registry.job_runs import JobRun, JobRuns, RunStatus
from modelport.registry.opening import OpenedModel, open_model
from modelport.registry.records import AliasState, ModelVersion, RegisteredModel, VersionMetadata
from modelport.registry.refs import DEFAULT_ALIAS, ModelRef, parse_ref
from modelport.registry.registry import Registry
from modelport.registry.signatures import Signatures

__all__ = [
    "DEFAULT_ALIAS",
    "Action",
    "AliasState",
    "ApiKeys",
    "AuditEvent",
    "CacheInvalidation",
    "CacheInvalidations",
    "JobRun",
    "JobRuns",
    "ModelRef",
    "ModelVersion",
    "OpenedModel",
    "Outcome",
    "RegisteredModel",
    "Registry",
    "RunStatus",
    "Signatures",
    "VersionMetadata",
    "open_model",
    "parse_ref",
]
