"""Redaction: dropped fields never reach the sink, hashed ones arrive as a keyed SHA-256."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from prediction_sinks import SinkTarget
from predlog_records import record
from pydantic import ValidationError

from modelport.predlog import (
    PredictionLog,
    PredictionLogSettings,
    Redactor,
    open_prediction_log,
    read_predictions,
)


def test_dropped_fields_are_gone_and_hashed_ones_are_salted_sha256(target: SinkTarget) -> None:
    where, make_sink = target
    redactor = Redactor(drop=["name"], hash=["customer_id"], salt="pepper")
    original = [record(n) for n in range(50)]
    with PredictionLog(make_sink(), redactor=redactor) as log:
        log.append(original)
    found = read_predictions(where)
    assert len(found) == 50
    for before, after in zip(original, found, strict=True):
        assert "name" not in after.inputs
        expected = hmac.new(
            b"pepper", str(before.inputs["customer_id"]).encode(), hashlib.sha256
        ).hexdigest()
        assert after.inputs["customer_id"] == expected
        assert after.entity == {"customer_id": expected}  # entity too: the same join key
        untouched = {k: v for k, v in before.inputs.items() if k not in ("name", "customer_id")}
        assert {k: after.inputs[k] for k in untouched} == untouched
        assert after.outputs == before.outputs  # outputs are never redacted


def test_hashing_is_stable_keyed_and_type_blind_for_ids() -> None:
    redactor = Redactor(hash=["id"], salt="pepper")
    assert redactor.hash_value(42) == redactor.hash_value("42")
    assert redactor.hash_value("42") == Redactor(hash=["id"], salt="pepper").hash_value("42")
    assert redactor.hash_value("42") != Redactor(hash=["id"], salt="salt").hash_value("42")
    assert redactor.hash_value(None) is None
    assert len(redactor.hash_value({"nested": [1, 2]}) or "") == 64
    untouched = record(1, inputs={"age": 3}, entity=None)
    assert redactor.apply(untouched) is untouched  # nothing to do: no copy


def test_hashing_without_a_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        Redactor(hash=["customer_id"])
    with pytest.raises(ValidationError, match="salt"):
        PredictionLogSettings(hash=["customer_id"])


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, target: SinkTarget
) -> None:
    where, _ = target
    variable = "DIRECTORY" if "://" not in where else "URL"
    monkeypatch.setenv(f"MODELPORT_PREDICTION_LOG_{variable}", where)
    monkeypatch.setenv("MODELPORT_PREDICTION_LOG_ENABLED", "true")
    monkeypatch.setenv("MODELPORT_PREDICTION_LOG_DROP", "name, employment")
    monkeypatch.setenv("MODELPORT_PREDICTION_LOG_HASH", "customer_id")
    monkeypatch.setenv("MODELPORT_PREDICTION_LOG_SALT", "pepper")
    monkeypatch.setenv("MODELPORT_PREDICTION_LOG_SAMPLE_RATE", "1")
    settings = PredictionLogSettings.from_env()
    assert settings.drop == ["name", "employment"] and settings.hash == ["customer_id"]
    assert "pepper" not in repr(settings)
    log = open_prediction_log(settings, default_url="sqlite:///never-used.db")
    assert log is not None
    with log:
        log.append([record(7)])
    (found,) = read_predictions(where)
    assert set(found.inputs) == {"customer_id", "age", "income", "debt_ratio"}
    assert found.inputs["customer_id"] == Redactor(hash=["x"], salt="pepper").hash_value(10_007)


def test_a_disabled_log_is_none() -> None:
    assert open_prediction_log(PredictionLogSettings(enabled=False), "sqlite://") is None
