"""MLServer's two settings files for the scikit-learn runtime, written into a model folder.

    mlserver start <folder>     # reads settings.json and */model-settings.json

``parallel_workers`` inference processes run the model (the main process only speaks HTTP
and hands requests over); the model is the joblib file, loaded by ``mlserver_sklearn``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["write_settings"]


def write_settings(
    folder: Path, joblib_file: Path, name: str, ports: tuple[int, int, int], workers: int
) -> None:
    """Lay out ``folder`` for ``mlserver start``: server settings and one model."""
    http_port, grpc_port, metrics_port = ports
    model_dir = folder / name
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(joblib_file, model_dir / "model.joblib")
    server = {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
        "parallel_workers": workers,
        "debug": False,
    }
    model = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    (folder / "settings.json").write_text(json.dumps(server, indent=2) + "\n")
    (model_dir / "model-settings.json").write_text(json.dumps(model, indent=2) + "\n")
