"""What a request needs, knowing nothing of HTTP: resolution, the pool of loaded versions,
the alias poller and request payload decoding. The HTTP adapter is :mod:`modelport.server`."""

from modelport.serving.catalog import Catalog, ModelInfo, VersionInfo
from modelport.serving.payload import JsonLimits, Records, decode_json, parse_records
from modelport.serving.pool import LoadedModel, ModelPool
from modelport.serving.service import Readiness, ServingService, version_number

__all__ = [
    "JsonLimits",
    "Catalog",
    "LoadedModel",
    "ModelInfo",
    "ModelPool",
    "Readiness",
    "Records",
    "ServingService",
    "VersionInfo",
    "decode_json",
    "parse_records",
    "version_number",
]
