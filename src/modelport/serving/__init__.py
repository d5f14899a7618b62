"""What a request needs, knowing nothing of HTTP: the dataplane every door calls
(:mod:`modelport.serving.dataplane`), and beneath it resolution, the pool of loaded
versions, the alias poller, micro-batching and request payload decoding. The HTTP adapter
is :mod:`modelport.server`."""

from modelport.serving.catalog import Catalog, ModelInfo, VersionInfo
from modelport.serving.dataplane import (
    Dataplane,
    DataplaneListener,
    EntityScore,
    PredictResult,
    RequestRef,
    ScoreRequest,
)
from modelport.serving.payload import JsonLimits, Records, decode_json, parse_records
from modelport.serving.pool import LoadedModel, ModelPool
from modelport.serving.service import Readiness, ServingService, version_number

__all__ = [
    "Catalog",
    "Dataplane",
    "DataplaneListener",
    "EntityScore",
    "JsonLimits",
    "LoadedModel",
    "ModelInfo",
    "ModelPool",
    "PredictResult",
    "Readiness",
    "Records",
    "RequestRef",
    "ScoreRequest",
    "ServingService",
    "VersionInfo",
    "decode_json",
    "parse_records",
    "version_number",
]
