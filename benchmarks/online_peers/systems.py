"""The systems under test: how each is installed, started, asked and described.

Every system serves the same fitted pipeline on 127.0.0.1. modelport and the bare limit
app run from the project's own virtual environment; each peer runs from its own (see
:mod:`online_peers.venvs`), with its documented production command and two workers or
processes where it has them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from online_peers.mlserver_config import write_settings
from online_peers.procs import free_port
from online_peers.venvs import PeerFailed

__all__ = ["GROUPS", "NAME", "Context", "Launch", "System", "environment", "systems"]

NAME = "loan-approval"
HERE = Path(__file__).resolve().parent
PEER_WORKERS = 2
GROUPS = ["modelport", "bare", "flask", "mlflow", "mlserver", "bentoml"]
QUIET = {"BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}


@dataclass(frozen=True)
class Context:
    """What the launchers need: where things are and the artifacts of this run."""

    run_dir: Path  # scratch files of this run
    main_bin: Path  # the project's venv (modelport, uvicorn, onnxruntime)
    package: Path  # the modelport package of version 1
    joblib_file: Path  # the same fitted pipeline for the peers
    sample_file: Path  # JSON records (for MLflow's signature)
    modelport_home: Path  # MODELPORT_HOME with versions 1 and 2 registered


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    cwd: Path | None = None


@dataclass(frozen=True)
class System:
    key: str  # the row's name
    group: str  # what --systems selects
    config: str  # how it runs, shown in the table
    path: str  # the predict route
    payload_format: str  # see online_peers.payloads
    ready_path: str
    launch: Callable[[Context, Path, int], Launch]  # (context, bin dir, port) -> command
    requirements: tuple[str, ...] = ()  # () = the project's venv
    distributions: tuple[str, ...] = ()  # versions to report
    hot_swap: bool = False
    ready_timeout: float = 120.0


def _modelport(workers: int) -> Callable[[Context, Path, int], Launch]:
    def launch(ctx: Context, bin_dir: Path, port: int) -> Launch:
        command = [str(bin_dir / "modelport"), "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(workers)]
        return Launch(command, {"MODELPORT_HOME": str(ctx.modelport_home)})

    return launch


def _bare(workers: int) -> Callable[[Context, Path, int], Launch]:
    def launch(ctx: Context, bin_dir: Path, port: int) -> Launch:
        command = [str(bin_dir / "python"), "-m", "uvicorn", "bare_app:app"]
        command += ["--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers), "--http", "httptools", "--loop", "uvloop"]
        command += ["--no-access-log", "--lifespan", "off"]
        return Launch(command, {"BARE_PACKAGE": str(ctx.package)})

    return launch


def _flask(ctx: Context, bin_dir: Path, port: int) -> Launch:
    command = [str(bin_dir / "gunicorn"), "-w", str(PEER_WORKERS), "-b", f"127.0.0.1:{port}"]
    command += ["--chdir", str(HERE), "flask_app:app"]
    return Launch(command, {"MODEL_PATH": str(ctx.joblib_file)})


def _mlflow(ctx: Context, bin_dir: Path, port: int) -> Launch:
    model_dir = ctx.run_dir / "mlflow-model"
    if not model_dir.exists():
        export = [str(bin_dir / "python"), str(HERE / "mlflow_export.py")]
        export += [str(ctx.joblib_file), str(ctx.sample_file), str(model_dir)]
        done = subprocess.run(
            export, capture_output=True, text=True, env=environment(bin_dir, QUIET)
        )
        if done.returncode != 0:
            raise PeerFailed(f"mlflow.sklearn.save_model failed: {done.stderr.strip()[-300:]}")
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dir)]
    command += ["--env-manager", "local", "-w", str(PEER_WORKERS)]
    command += ["-h", "127.0.0.1", "-p", str(port)]
    return Launch(command, QUIET)


def _mlserver(ctx: Context, bin_dir: Path, port: int) -> Launch:
    folder = ctx.run_dir / "mlserver"
    ports = (port, free_port(), free_port())
    write_settings(folder, ctx.joblib_file, NAME, ports, PEER_WORKERS)
    return Launch([str(bin_dir / "mlserver"), "start", str(folder)], {}, cwd=folder)


def _bentoml(ctx: Context, bin_dir: Path, port: int) -> Launch:
    command = [str(bin_dir / "bentoml"), "serve", "bentoml_service:LoanApproval"]
    command += ["--working-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port)]
    env = {
        "MODEL_PATH": str(ctx.joblib_file),
        "BENTO_WORKERS": str(PEER_WORKERS),
        "BENTOML_HOME": str(ctx.run_dir / "bentoml-home"),
        **QUIET,
    }
    return Launch(command, env)


def environment(bin_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The current environment with ``bin_dir`` first on PATH, plus ``extra``."""
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", **extra}


def systems(sklearn_version: str) -> list[System]:
    """Every system, in table order; peers pin the project's scikit-learn version."""
    sklearn = f"scikit-learn=={sklearn_version}"
    route = f"/v1/models/{NAME}/predict"
    mine = ("modelport", "onnxruntime", "uvicorn")
    rows = [
        System(
            f"modelport ({n} worker{'s' if n > 1 else ''})",
            "modelport",
            f"`modelport serve --workers {n}`",
            route,
            "records",
            "/readyz",
            _modelport(n),
            distributions=mine,
            hot_swap=True,
        )
        for n in (1, 2)
    ]
    rows += [
        System(
            f"bare ASGI limit ({n} worker{'s' if n > 1 else ''})",
            "bare",
            f"uvicorn httptools+uvloop, `--workers {n}`",
            route,
            "records",
            "/",
            _bare(n),
            distributions=("onnxruntime", "uvicorn", "orjson"),
        )
        for n in (1, 2)
    ]
    rows += [
        System(
            "Flask + joblib",
            "flask",
            f"gunicorn, {PEER_WORKERS} sync workers",
            "/predict",
            "records",
            "/health",
            _flask,
            ("flask==3.1.3", "gunicorn==27.0.1", "pandas", "joblib", sklearn),
            ("flask", "gunicorn", "pandas", "scikit-learn"),
        ),
        System(
            "MLflow",
            "mlflow",
            f"`mlflow models serve --env-manager local -w {PEER_WORKERS}` (uvicorn)",
            "/invocations",
            "mlflow",
            "/ping",
            _mlflow,
            ("mlflow==3.17.2", sklearn),
            ("mlflow", "uvicorn", "pandas", "scikit-learn"),
        ),
        System(
            "MLServer (scikit-learn runtime)",
            "mlserver",
            f"`mlserver start`, parallel_workers={PEER_WORKERS}",
            f"/v2/models/{NAME}/infer",
            "v2",
            f"/v2/models/{NAME}/ready",
            _mlserver,
            # uvloop 0.22 breaks MLServer 1.7's inference workers (no current event loop)
            ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22", sklearn),
            ("mlserver", "mlserver-sklearn", "pandas", "scikit-learn"),
        ),
        System(
            "BentoML",
            "bentoml",
            f"`bentoml serve`, workers={PEER_WORKERS}",
            "/predict",
            "bentoml",
            "/readyz",
            _bentoml,
            # 1.4.40 needs a certifi release the package index does not have yet
            ("bentoml==1.4.39", "pandas", "joblib", sklearn),
            ("bentoml", "pandas", "scikit-learn"),
        ),
    ]
    return rows
