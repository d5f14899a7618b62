"""The limit: a bare ASGI callable running the package's ONNX graph, with no validation.

    BARE_PACKAGE=<package dir> uvicorn bare_app:app --app-dir benchmarks/online_peers \
        --http httptools --loop uvloop --no-access-log --lifespan off --workers N

No framework, no contract, no registry: read the body, orjson-decode one record (an object)
or a list of records, build the feeds straight from the records (one [n, 1] input per field:
double with NaN for a missing value, string with "" for a missing category), run
onnxruntime with one intra-op thread, answer label and probabilities per record. Any other
request (GET) answers 200, for readiness checks. What modelport adds on top of this is the
price of its checks and envelope; this is the bar it is measured against.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import yaml

PACKAGE = Path(os.environ["BARE_PACKAGE"])
_options = ort.SessionOptions()
_options.intra_op_num_threads = 1
_options.inter_op_num_threads = 1
SESSION = ort.InferenceSession(
    str(PACKAGE / "model.onnx"), _options, providers=["CPUExecutionProvider"]
)
INPUTS = [(spec.name, spec.type == "tensor(string)") for spec in SESSION.get_inputs()]
OUTPUTS = ["label", "probabilities"]
CLASSES = [str(c) for c in yaml.safe_load((PACKAGE / "modelport.yaml").read_text())["classes"]]
JSON = [(b"content-type", b"application/json")]


def feeds(records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    n = len(records)
    out = {}
    for name, is_string in INPUTS:
        if is_string:
            values = [record.get(name) or "" for record in records]
            out[name] = np.array(values, dtype=object).reshape(n, 1)
        else:  # None becomes NaN, booleans 0.0 / 1.0
            out[name] = np.array([record.get(name) for record in records], np.float64).reshape(n, 1)
    return out


def predict(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels, probabilities = SESSION.run(OUTPUTS, feeds(records))
    return [
        {"label": int(label), "probabilities": dict(zip(CLASSES, row.tolist(), strict=True))}
        for label, row in zip(labels, probabilities, strict=True)
    ]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    if scope["method"] == "POST":
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        data = orjson.loads(body)
        single = isinstance(data, dict)
        answer = predict([data] if single else data)
        body = orjson.dumps({"prediction": answer[0] if single else answer})
    else:
        body = b'{"ready":true}'
    await send({"type": "http.response.start", "status": 200, "headers": JSON})
    await send({"type": "http.response.body", "body": body})
