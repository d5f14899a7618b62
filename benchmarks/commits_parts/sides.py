"""The two sides of a comparison: a commit, its worktree, its packages, its registries.

Every side runs its own code only: ``PYTHONPATH=<worktree>/src`` in a process of its own
(the benchmark's Python, so the same third-party libraries). The data are made once, by
the base commit's ``modelport.datasets``, and written as Parquet; then each side trains
and packages the three models from those files with its own ``mp.package``
(``build.py packages``), and registers each package, with its own CLI, as ``production``
in a registry (``MODELPORT_HOME``) per suite, so every server loads the one model its
suite measures. Everything is kept under ``benchmarks/.work/commits`` and reused by the
next run of the same commits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BUILD", "ROOT", "Side", "checkout", "git", "make_data", "prepare", "side_env"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILD = HERE / "build.py"
MODELS = {"online": "loan-approval", "score": "loan-by-customer", "batch": "loan-batch"}
DONE = ".done"


@dataclass
class Side:
    """One commit as the benchmark uses it."""

    ref: str  # as given on the command line
    commit: str
    tree: Path
    place: Path  # packages and registries of this commit (built from one data set)
    homes: dict[str, Path] = field(default_factory=dict)  # MODELPORT_HOME per suite

    @property
    def label(self) -> str:
        """``HEAD (3db056f0)``, or just ``bca90c2f`` when given as a hash."""
        short = self.commit[:8]
        return short if self.commit.startswith(self.ref.lower()) else f"{self.ref} ({short})"

    @property
    def packages(self) -> Path:
        return self.place / "packages"

    def env(self, suite: str, **extra: str) -> dict[str, str]:
        return side_env(self.tree, self.homes[suite], **extra)


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def checkout(commit: str, work: Path) -> Path:
    """A worktree of ``commit`` (reused if it is there already)."""
    tree = work / commit[:12]
    if not (tree / "src" / "modelport").is_dir():
        git("worktree", "add", "--detach", "--force", str(tree), commit)
    return tree


def side_env(tree: Path, home: Path | None = None, **extra: str) -> dict[str, str]:
    """A clean environment running ``tree``'s code: nothing of this shell's ``MODELPORT_*``."""
    env = {"PYTHONPATH": str(tree / "src"), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    for name in ("HOME", "LANG", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    if home is not None:
        env["MODELPORT_HOME"] = str(home)
    return {**env, **extra}


def _run(command: list[str], env: dict[str, str], log: Path, what: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        raise RuntimeError(f"{what} failed ({log}): {' / '.join(lines[-4:])}")


def make_data(base_tree: Path, data: Path, batch_rows: int, logs: Path) -> None:
    """The training rows, the customer table and a batch input, by the base's datasets."""
    if (data / "meta.json").exists() and (data / f"batch-input-{batch_rows}.parquet").exists():
        return
    print(f"making the data with {base_tree.name}'s modelport.datasets", flush=True)
    command = [sys.executable, str(BUILD), "data", str(data), str(batch_rows)]
    _run(command, side_env(base_tree), logs / "data.log", "making the data")


def prepare(sides: list[Side], data: Path, logs: Path, suites: list[str]) -> None:
    """Each side's packages (its own code, both sides at once) and registries."""
    building: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    try:
        for side in {s.commit: s for s in sides}.values():
            if (side.packages / DONE).exists():
                continue
            print(f"building the packages with {side.label}'s code", flush=True)
            log = logs / f"build-{side.commit[:12]}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, str(BUILD), "packages", str(data), str(side.packages)]
            with log.open("wb") as out:
                process = subprocess.Popen(
                    command, env=side_env(side.tree), stdout=out, stderr=subprocess.STDOUT
                )
            building[side.commit] = (process, log)
        failed = []
        for commit, (process, log) in building.items():
            if process.wait() != 0:
                lines = log.read_text(errors="replace").strip().splitlines()
                failed.append(f"{commit[:12]} ({log}): {' / '.join(lines[-3:])}")
            else:
                (next(s for s in sides if s.commit == commit).packages / DONE).touch()
        if failed:
            raise RuntimeError("building the packages failed: " + "; ".join(failed))
    finally:
        for process, _ in building.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for side in sides:
        for suite in suites:
            home = side.place / f"home-{suite}"
            side.homes[suite] = home
            if (home / DONE).exists():
                continue
            package = side.packages / MODELS[suite]
            command = [sys.executable, "-m", "modelport.cli.main", "models", "register"]
            command += [str(package), "--alias", "production"]
            what = f"registering {MODELS[suite]} with {side.label}'s CLI"
            _run(command, side.env(suite), logs / f"register-{side.commit[:12]}-{suite}.log", what)
            (home / DONE).touch()
