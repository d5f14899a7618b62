"""One virtual environment per peer under ``benchmarks/.work/venvs/<system>``.

Created with the standard library's ``venv`` and filled by pip from the package index. A
marker file records the Python and the requirement set it was built for: a re-run with the
same set reuses the environment, a changed set rebuilds it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

__all__ = ["PeerFailed", "ensure_venv", "tail"]

MARKER = "modelport-bench.json"


class PeerFailed(RuntimeError):
    """A peer could not be installed, started or checked; the message says why."""


def tail(path: Path, lines: int = 12) -> str:
    """The last ``lines`` lines of a log file (to quote in a failure)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def ensure_venv(root: Path, name: str, requirements: list[str], log: Path) -> Path:
    """The ``bin`` folder of an environment with ``requirements`` installed."""
    home = root / name
    bin_dir = home / "bin"
    marker = home / MARKER
    wanted = json.dumps(
        {"python": sys.version.split()[0], "requirements": sorted(requirements)}, indent=1
    )
    if marker.exists() and marker.read_text() == wanted:
        return bin_dir
    print(f"  installing {name} into {home} (first run; a few minutes): {' '.join(requirements)}")
    shutil.rmtree(home, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        done = subprocess.run(
            [str(bin_dir / "python"), "-m", "pip", "install", "--upgrade", *requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise PeerFailed(f"pip install failed ({log}): {tail(log, 3)}")
    marker.write_text(wanted)
    return bin_dir
