"""Helpers of the schedule tests: loan applications on disk, the webhook receiver's record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from typer.testing import Result

from modelport.datasets import LOAN_FEATURES, loan_applications

__all__ = ["Receiver", "Run", "WriteSchedule", "applications", "write_applications"]

WriteSchedule = Callable[..., Path]
Run = Callable[..., Result]


def applications(rows: int, seed: int = 3) -> pd.DataFrame:
    """``rows`` loan applications with an ``id`` column first."""
    frame = loan_applications(rows, seed=seed)[LOAN_FEATURES].reset_index(drop=True)
    frame.insert(0, "id", np.arange(rows, dtype=np.int64))
    return frame


def write_applications(path: Path, rows: int = 300, seed: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = applications(rows, seed)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


class Receiver:
    """What the webhook server received; ``status`` is what it answers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.reports: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 204
