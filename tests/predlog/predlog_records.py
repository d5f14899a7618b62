"""Realistic prediction records for the prediction-log tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelport.predlog import PredictionRecord

BASE = datetime(2026, 11, 21, 9, 12, 3, 512_345, tzinfo=UTC)


def record(number: int, request_id: str | None = None, **changes: object) -> PredictionRecord:
    """Record ``number``: loan inputs after enrichment, a score, a decision."""
    fields: dict[str, object] = {
        "model": "loan-approval",
        "version": 1 + number % 3,
        "request_id": request_id or f"req-{number:06d}",
        "at": BASE + timedelta(milliseconds=number),
        "entity": {"customer_id": 10_000 + number},
        "inputs": {
            "name": f"Customer {number}",
            "customer_id": 10_000 + number,
            "age": 20 + number % 50,
            "income": 30_000.5 + number,
            "employment": ["salaried", "self-employed", "retired"][number % 3],
            "debt_ratio": None if number % 7 == 0 else round(0.1 + (number % 9) / 20, 3),
        },
        "outputs": {"label": number % 2, "probability": round((number % 100) / 100, 2)},
        "decision": "approve" if number % 2 else "refer",
        "rule": "score>=0.5" if number % 2 else None,
        "latency_ms": 1.25 + number % 10,
    }
    fields.update(changes)
    return PredictionRecord(**fields)  # type: ignore[arg-type]


def by_request(records: list[PredictionRecord]) -> dict[tuple[str, int], PredictionRecord]:
    """Records keyed by request id and record number within it (via ``latency_ms``)."""
    return {(r.request_id, int(r.inputs["customer_id"])): r for r in records}
