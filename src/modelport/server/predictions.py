"""Feeding the prediction log: every answered record, after the answer has gone out.

The predict endpoint and ``/v1/score`` leave what they scored on the request's scope (only
when the log is on); :class:`PredictionLogObserver`, a request observer, turns it into
:class:`~modelport.predlog.PredictionRecord` s once the response is sent, so the client
never waits for it, and the log writes them in batches from its own thread.
"""

from __future__ import annotations

from starlette.types import Scope

from modelport.predlog import PredictionLog, PredictionRecord
from modelport.server.asgi import MODEL_KEY, SCORED_KEY
from modelport.server.context import REQUEST_ID_KEY

__all__ = ["PredictionLogObserver"]


class PredictionLogObserver:
    """A request observer that appends one record per answered input."""

    def __init__(self, log: PredictionLog) -> None:
        self.log = log

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        found = scope.get(SCORED_KEY)
        model = scope.get(MODEL_KEY)
        if status != 200 or found is None or model is None:
            return
        inputs, outputs, entity = found
        at = PredictionRecord.now()
        request_id = scope.get(REQUEST_ID_KEY, "")
        latency_ms = seconds * 1000
        self.log.append(
            [
                PredictionRecord(
                    model=model.name,
                    version=model.version,
                    request_id=request_id,
                    at=at,
                    inputs=dict(record) if isinstance(record, dict) else {"value": record},
                    outputs=output,
                    entity=entity,
                    decision=output.get("decision"),
                    rule=(output.get("rule") or {}).get("text"),
                    latency_ms=latency_ms,
                )
                for record, output in zip(inputs, outputs, strict=True)
            ]
        )
