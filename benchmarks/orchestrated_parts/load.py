"""Request bodies and the wrk Lua script that sends a random one of them per request.

Bodies are compact JSON, one per line of a file beside the script (orjson never writes a
newline inside one). Score by id:

    {"model": "loan-by-customer", "entity": {"customer_id": 4711},
     "inputs": {"loan_amount": 9000.0, "purpose": "car"}}

and, for the no-lookup baseline, the same application already joined with the customer's
row, as ``POST /v1/models/loan-by-customer/predict`` takes it:

    {"date_of_birth": "1980-02-03", "account_balance": 5120.5, "state": "NY",
     "loan_amount": 9000.0, "purpose": "car"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from orchestrated_parts.setup import MODEL, RAW

__all__ = ["applications", "predict_bodies", "score_bodies", "write_script"]

PURPOSES = ["debt_consolidation", "home_improvement", "car", "education"]
MAX_AMOUNT = 40_000.0  # inside the contract's range (inferred from the packaging sample)


def applications(ids: np.ndarray, seed: int) -> pd.DataFrame:
    """One loan application per customer id (amounts and purposes as in the datasets, the
    amount's long tail cut at ``MAX_AMOUNT``: the contract refuses amounts far above any
    it was packaged with, and every request here must be answered)."""
    rng = np.random.default_rng(seed)
    n = len(ids)
    return pd.DataFrame(
        {
            "customer_id": np.asarray(ids, dtype=np.int64),
            "loan_amount": rng.lognormal(9.2, 0.7, n).round(-2).clip(500, MAX_AMOUNT),
            "purpose": pd.Series(rng.choice(PURPOSES, n), dtype=object),
        }
    )


def score_bodies(apps: pd.DataFrame) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "model": MODEL,
                "entity": {"customer_id": customer_id},
                "inputs": {"loan_amount": amount, "purpose": purpose},
            }
        )
        for customer_id, amount, purpose in zip(
            apps["customer_id"].tolist(),
            apps["loan_amount"].tolist(),
            apps["purpose"].tolist(),
            strict=True,
        )
    ]


def joined(apps: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The applications with the customer's row: what the lookup would have assembled."""
    return apps.merge(table, on="customer_id", how="left", validate="many_to_one")


def predict_bodies(apps: pd.DataFrame, table: pd.DataFrame) -> list[bytes]:
    frame = joined(apps, table)[RAW]
    columns = [frame[name].tolist() for name in RAW]
    records: list[dict[str, Any]] = [
        dict(zip(RAW, values, strict=True)) for values in zip(*columns, strict=True)
    ]
    return [orjson.dumps(record) for record in records]


def write_script(path: Path, bodies: list[bytes], seed: int = 1) -> Path:
    """A wrk script POSTing a uniformly random body of ``bodies`` per request."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body_file = path.with_suffix(".jsonl")
    body_file.write_bytes(b"\n".join(bodies) + b"\n")
    lines = [
        'wrk.method = "POST"',
        'wrk.headers["Content-Type"] = "application/json"',
        "local bodies = {}",
        f"for line in io.lines({json.dumps(str(body_file))}) do",
        "  bodies[#bodies + 1] = line",
        "end",
        "function init(args)",
        f"  math.randomseed({int(seed)})",
        "end",
        "function request()",
        "  return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
