"""The admin API: a promotion over HTTP runs the gates, moves the alias, and the running
server swaps to it under load with no failed request; refusals, rollback, history."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from test_hot_swap_load import load

from live_server import MODEL, Deployment, start_server, stop_server
from modelport.datasets import LOAN_FEATURES, loan_applications

ADMIN = {"MODELPORT_ADMIN_API": "true"}


def _holdout(tmp_path: Path) -> Path:
    frame: pd.DataFrame = loan_applications(800, seed=123)
    path = tmp_path / "holdout.parquet"
    frame[[*LOAN_FEATURES, "approved"]].to_parquet(path, index=False)
    return path


def test_a_promotion_over_http_is_served_within_seconds_with_no_failures(
    registry_factory: Callable[[], Deployment],
    records: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    deployment = registry_factory()
    deployment.registry.close()
    holdout = _holdout(tmp_path)
    env = {**ADMIN, "MODELPORT_PROMOTION_DATA_DIR": str(holdout.parent)}
    live = start_server(deployment, poll_seconds=0.5, extra_env=env)
    stop = threading.Event()
    outcomes: list[Any] = []
    runner = threading.Thread(
        target=lambda: outcomes.extend(asyncio.run(load(live.url, records[:2], stop))),
        daemon=True,
    )
    try:
        runner.start()
        time.sleep(0.5)
        with httpx.Client(base_url=live.url, timeout=60) as admin:
            refused = admin.post(
                f"/v1/admin/models/{MODEL}/promote",
                json={
                    "version": 2,
                    "alias": "production",
                    "test_data": holdout.name,
                    "target": "approved",
                    "require": ["roc_auc>=0.9999"],
                },
            )
            assert refused.status_code == 422, refused.text
            body = refused.json()
            assert body["code"] == "promotion_refused"
            assert [g["gate"] for g in body["gates"] if not g["passed"]] == ["roc_auc >= 0.9999"]

            promoted = admin.post(
                f"/v1/admin/models/{MODEL}/promote",
                json={
                    "version": 2,
                    "alias": "production",
                    "test_data": holdout.name,
                    "target": "approved",
                    "require": ["roc_auc>=0.5"],
                },
            )
            assert promoted.status_code == 200, promoted.text
            assert promoted.json()["previous_version"] == 1
            moved_at = time.monotonic()
            served = None
            while time.monotonic() - moved_at < 5:
                answer = admin.post(f"/v1/models/{MODEL}/predict", json=records[:1])
                served = answer.json()["model"]["version"]
                if served == 2:
                    break
                time.sleep(0.1)
            assert served == 2, "the server did not swap to the promoted version within 5 s"
            time.sleep(0.5)
    finally:
        stop.set()
        runner.join(30)
        stop_server(live)
    failures = [o for o in outcomes if not isinstance(o, httpx.Response) or o.status_code != 200]
    assert failures == [], f"{len(failures)} of {len(outcomes)} requests failed: {failures[:3]}"
    assert {r.json()["model"]["version"] for r in outcomes} == {1, 2}


def test_alias_moves_rollback_and_history_over_http(
    registry_factory: Callable[[], Deployment],
) -> None:
    deployment = registry_factory()
    deployment.registry.close()
    live = start_server(deployment, extra_env=ADMIN)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as admin:
            moved = admin.put(f"/v1/admin/models/{MODEL}/aliases/production", json={"version": 2})
            assert moved.status_code == 200, moved.text
            assert moved.json()["previous_version"] == 1
            back = admin.post(f"/v1/admin/models/{MODEL}/aliases/production/rollback")
            assert back.status_code == 200, back.text
            assert back.json()["version"] == 1
            again = admin.post(f"/v1/admin/models/{MODEL}/aliases/production/rollback")
            assert again.status_code == 409 and again.json()["code"] == "conflict"
            missing = admin.put(f"/v1/admin/models/{MODEL}/aliases/production", json={"version": 9})
            assert missing.status_code == 404 and missing.json()["code"] == "version_not_found"
            bad = admin.put(f"/v1/admin/models/{MODEL}/aliases/production", json={"version": "x"})
            assert bad.status_code == 400 and bad.json()["code"] == "malformed_request"
            body = {"version": 2, "alias": "staging", "test_data": "/etc/passwd", "target": "x"}
            unset = admin.post(f"/v1/admin/models/{MODEL}/promote", json=body)
            assert unset.status_code == 422 and "MODELPORT_PROMOTION_DATA_DIR" in unset.text
            history = admin.get(f"/v1/admin/models/{MODEL}/history").json()["events"]
    finally:
        stop_server(live)
    actions = [(e["action"], e["outcome"], e["version"]) for e in history[:2]]
    assert actions == [("rollback", "done", 1), ("alias", "done", 2)]
    assert history[0]["actor"] == "http 127.0.0.1"
    assert history[0]["undoes"] == history[1]["id"]


def test_promotions_read_only_the_test_data_directory_and_answers_hide_server_paths(
    registry_factory: Callable[[], Deployment], tmp_path: Path
) -> None:
    data = tmp_path / "test-data"
    data.mkdir()
    holdout = _holdout(data)
    secret = tmp_path / "secret.csv"
    secret.write_text("password,api_token\nhunter2,tok-123\n")
    (data / "link.csv").symlink_to(secret)
    deployment = registry_factory()
    deployment.registry.close()
    env = {**ADMIN, "MODELPORT_PROMOTION_DATA_DIR": str(data)}
    live = start_server(deployment, extra_env=env)

    def promote(test_data: str) -> httpx.Response:
        body = {"version": 2, "alias": "staging", "test_data": test_data, "target": "password"}
        return admin.post(
            f"/v1/admin/models/{MODEL}/promote", json={**body, "require": ["roc_auc>=0.5"]}
        )

    try:
        with httpx.Client(base_url=live.url, timeout=60) as admin:
            for outside in (str(secret), "../secret.csv", "link.csv", "~/secret.csv", "s3:x"):
                refused = promote(outside)
                assert refused.status_code == 422, refused.text
                assert refused.json()["code"] == "invalid_input"
                assert "hunter2" not in refused.text
            assert "leads out" in promote("link.csv").json()["message"]
            missing = promote("missing.parquet")
            assert 400 <= missing.status_code < 500, missing.text
            assert str(data) not in missing.text and "missing.parquet" in missing.text
            body = {"version": 2, "alias": "staging", "test_data": holdout.name}
            body |= {"target": "approved", "require": ["roc_auc>=0.5"]}
            assert admin.post(f"/v1/admin/models/{MODEL}/promote", json=body).status_code == 200

            uploaded = admin.post(f"/v1/admin/models/{MODEL}/versions", content=b"not an mpk")
            assert uploaded.status_code == 422, uploaded.text
            assert "/tmp" not in uploaded.text and "modelport-upload" not in uploaded.text
            assert "the uploaded archive" in uploaded.json()["message"]
    finally:
        stop_server(live)


def test_the_admin_api_is_off_by_default(client: httpx.Client) -> None:
    response = client.put(f"/v1/admin/models/{MODEL}/aliases/production", json={"version": 2})
    assert response.status_code in (404, 405)
    assert client.get(f"/v1/admin/models/{MODEL}/history").status_code == 404
