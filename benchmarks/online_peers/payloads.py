"""Request bodies in each system's own format, and reading the probabilities back.

Records are plain JSON objects (``null`` for a missing value, a JSON boolean for
``has_cosigner``) of ``modelport.datasets.loan_applications``' fields. Formats:

* ``records``: one object, or a list of objects (modelport, the bare app, Flask);
* ``mlflow``: ``{"dataframe_records": [...]}`` for ``/invocations``;
* ``v2``: the V2 inference protocol with MLServer's pandas codec (one input per column,
  ``content_type: "pd"``; strings as ``BYTES`` with ``content_type: "str"``), asking for
  the ``predict_proba`` output;
* ``bentoml``: ``{"records": [...]}``, a records-oriented ``pandas.DataFrame`` argument.

:func:`positive_probabilities` reads the last class's probability per record from each
system's answer, so the answers can be checked (count, and agreement with scikit-learn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["Payload", "encode", "positive_probabilities", "v2_datatypes"]


@dataclass(frozen=True)
class Payload:
    """One request shape: ``single`` sends one bare object where the format allows it."""

    title: str
    records: list[dict[str, Any]]
    single: bool


def v2_datatypes(records: list[dict[str, Any]]) -> dict[str, str]:
    """The V2 datatype of each field, from the values the records hold."""
    kinds = {}
    for name in records[0]:
        values = [r[name] for r in records if r[name] is not None]
        if values and all(isinstance(v, bool) for v in values):
            kinds[name] = "BOOL"
        elif any(isinstance(v, str) for v in values):
            kinds[name] = "BYTES"
        elif values and all(isinstance(v, int) for v in values):
            kinds[name] = "INT64"
        else:
            kinds[name] = "FP64"
    return kinds


def encode(fmt: str, payload: Payload, datatypes: dict[str, str]) -> bytes:
    records = payload.records
    if fmt == "records":
        return orjson.dumps(records[0] if payload.single else records)
    if fmt == "mlflow":
        return orjson.dumps({"dataframe_records": records})
    if fmt == "bentoml":
        return orjson.dumps({"records": records})
    if fmt == "v2":
        inputs = []
        for name, datatype in datatypes.items():
            column: dict[str, Any] = {
                "name": name,
                "shape": [len(records)],
                "datatype": datatype,
                "data": [r[name] for r in records],
            }
            if datatype == "BYTES":
                column["parameters"] = {"content_type": "str"}
            inputs.append(column)
        request = {
            "parameters": {"content_type": "pd"},
            "inputs": inputs,
            "outputs": [{"name": "predict_proba"}],
        }
        return orjson.dumps(request)
    raise ValueError(f"unknown payload format {fmt!r}")


def positive_probabilities(fmt: str, answer: Any) -> list[float]:
    """The last class's probability for each record in ``answer`` (a decoded JSON body)."""
    if fmt == "records":
        if "prediction" in answer:  # modelport and the bare app
            found = answer["prediction"]
            rows = [found] if isinstance(found, dict) else found
            return [_last(row["probabilities"]) for row in rows]
        return [_last(row["probabilities"]) for row in answer["predictions"]]  # Flask
    if fmt == "mlflow":
        return [_last(row) for row in answer["predictions"]]
    if fmt == "bentoml":
        return [_last(row) for row in answer]
    if fmt == "v2":
        output = next(o for o in answer["outputs"] if o["name"] == "predict_proba")
        n, width = output["shape"]
        data = output["data"]
        return [float(data[i * width + width - 1]) for i in range(n)]
    raise ValueError(f"unknown payload format {fmt!r}")


def _last(probabilities: Any) -> float:
    values = list(probabilities.values()) if isinstance(probabilities, dict) else probabilities
    value = float(values[-1])
    if math.isnan(value):
        raise ValueError("a probability is NaN")
    return value
