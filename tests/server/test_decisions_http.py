"""A package that declares decision rules answers with its decision over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sklearn.pipeline import Pipeline

import modelport as mp
from conftest import MODEL, Deployment, start_server, stop_server
from modelport.registry import Registry
from modelport.settings import Settings


def test_every_answer_carries_the_decision_and_the_rule(
    tmp_path: Path,
    fitted_loan_model: Pipeline,
    loan_frame: pd.DataFrame,
    records: list[dict[str, Any]],
) -> None:
    path = tmp_path / "ruled"
    mp.package(
        fitted_loan_model,
        loan_frame,
        name=MODEL,
        path=path,
        decisions="score>=0.7:approve, score>=0.4:refer, else:decline",
    )
    home = tmp_path / "home"
    registry = Registry.from_settings(Settings(home=home))
    registry.register(path, alias="production")
    registry.close()
    live = start_server(Deployment(home, None, registry))
    try:
        single = httpx.post(f"{live.url}/v1/models/{MODEL}/predict", json=records[0], timeout=10)
        many = httpx.post(f"{live.url}/v1/models/{MODEL}/predict", json=records[:5], timeout=10)
    finally:
        stop_server(live)
    assert single.status_code == 200, single.text
    answer = single.json()["prediction"]
    score = answer["score"]
    assert answer["decision"] == (
        "approve" if score >= 0.7 else "refer" if score >= 0.4 else "decline"
    )
    assert answer["rule"]["text"]
    assert answer["confidence"]["probability"] >= 0.5
    assert [a["decision"] for a in many.json()["prediction"]][0] == answer["decision"]
