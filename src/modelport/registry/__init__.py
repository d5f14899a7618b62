"""The model registry: named models, numbered versions, aliases, verified package files.

    registry = Registry.from_settings(Settings())
    v = registry.register("dist/loan-approval", alias="staging")   # -> loan-approval:1
    registry.set_alias("loan-approval", "production", v.version)
    package = registry.open("loan-approval")                       # production, re-verified

See ``docs/registry.md``.
"""

from modelport.registry.audit import Action, AuditEvent, Outcome
from modelport.registry.job_runs import JobRun, RunStatus
from modelport.registry.records import AliasState, ModelVersion, RegisteredModel, VersionMetadata
from modelport.registry.refs import DEFAULT_ALIAS, ModelRef, parse_ref
from modelport.registry.registry import Registry

__all__ = [
    "DEFAULT_ALIAS",
    "Action",
    "AliasState",
    "AuditEvent",
    "JobRun",
    "Outcome",
    "VersionMetadata",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "Registry",
    "RunStatus",
    "parse_ref",
]
