"""The README's promise, run for real: train + register the example, serve it, send the curl.

This is `make demo` without make: the same example script, the same CLI, the request
body and URL parsed out of README.md.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _readme_curl(path: str = "/v1/models/loan-approval/predict") -> list[str]:
    """The README's curl example that posts to ``path``, as its arguments."""
    text = (ROOT / "README.md").read_text()
    for block in re.findall(r"```bash\n(curl .*?)\n```", text, re.S):
        args = shlex.split(block.replace("\\\n", " "))
        if any(a.endswith(path) for a in args):
            return args
    raise AssertionError(f"README.md has no curl example for {path}")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("demo-home")
    env = {
        **os.environ,
        "MODELPORT_HOME": str(home),
        "MODELPORT_SOURCES_FILE": str(home / "demo-crm" / "sources.yaml"),
    }
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/loan_approval/train.py"),
            "--rows",
            "4000",
            "--register",
            "production",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "modelport.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(server.stderr.read().decode() if server.stderr else "exited")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise TimeoutError("the demo server did not become ready")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def _post(args: list[str], server: str) -> httpx.Response:
    url = next(a for a in args if a.startswith("http://"))
    body = args[args.index("-d") + 1]
    headers = dict(h.split(": ", 1) for h in (args[i + 1] for i, a in enumerate(args) if a == "-H"))
    assert url.startswith("http://127.0.0.1:8000/")
    return httpx.post(
        url.replace("127.0.0.1:8000", server.removeprefix("http://")), content=body, headers=headers
    )


def test_the_readme_score_by_customer_id_works_as_printed(demo_server: str) -> None:
    response = _post(_readme_curl("/v1/score"), demo_server)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["entity"] == {"customer_id": 17}
    assert answer["decision"] in ("accept", "refer", "decline")
    assert answer["rule"]["text"]
    assert 0 <= answer["score"] <= 1


def test_the_readme_curl_works_as_printed(demo_server: str) -> None:
    response = _post(_readme_curl(), demo_server)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True
    assert answer["model"] == {"name": "loan-approval", "version": 1}
    assert answer["prediction"]["label"] in (0, 1)
    assert answer["prediction"]["decision"] in ("accept", "refer", "decline")
    assert abs(sum(answer["prediction"]["probabilities"].values()) - 1) < 1e-9


def test_make_demo_prints_the_same_request_as_the_readme() -> None:
    readme_body = _readme_curl()[_readme_curl().index("-d") + 1]
    request = (ROOT / "examples/loan_approval/request.json").read_text().strip()
    assert json.loads(readme_body) == json.loads(request)
    score_body = _readme_curl("/v1/score")[_readme_curl("/v1/score").index("-d") + 1]
    score = (ROOT / "examples/loan_approval/score.json").read_text().strip()
    assert json.loads(score_body) == json.loads(score)
    makefile = (ROOT / "Makefile").read_text()
    assert "examples/loan_approval/request.json" in makefile
    assert "examples/loan_approval/score.json" in makefile
    assert "/v1/models/loan-approval/predict" in makefile
    assert "MODELPORT_SOURCES_FILE" in makefile
