"""The side virtual environment that holds MLflow for the comparison benchmarks.

MLflow and this project must not share an environment (their dependency pins differ and
MLflow's imports would skew ours), so MLflow lives in ``benchmarks/.venv-mlflow``
(gitignored). ``ensure()`` creates it, or reuses it when it already holds the wanted
version: the newest 3.x that PyPI lists (or, when that release cannot be installed yet, the
newest one that can), or the installed one when PyPI cannot be asked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv-mlflow"
PYTHON = VENV / "bin" / "python"
MAJOR = 3
# MLflow sends usage telemetry by default; the benchmarks run offline and must not.
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}


def installed_version(python: Path = PYTHON) -> str | None:
    """MLflow's version in the side venv, or None when it has none (or no venv)."""
    if not python.exists():
        return None
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None if out.returncode == 0 else None


def latest_version(major: int = MAJOR) -> str | None:
    """The newest ``major.x`` release that pip can see, or None when the index is unreachable."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "mlflow"],
                             capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    listed = re.search(r"Available versions:\s*(.+)", out.stdout)
    versions = listed.group(1).split(", ") if listed else re.findall(r"mlflow \(([^)]+)\)", out.stdout)
    finals = [v.strip() for v in versions if re.fullmatch(rf"{major}\.\d+\.\d+", v.strip())]
    return max(finals, key=lambda v: tuple(map(int, v.split(".")))) if finals else None


def ensure(*, quiet: bool = False) -> tuple[Path, str, str | None]:
    """The side venv's interpreter, its MLflow version and the newest 3.x that PyPI lists.

    Reuses the venv when it already holds the newest listed release; otherwise asks pip
    for the newest *installable* ``mlflow>=3,<4`` (a just-published release can list
    before its dependencies do), so a run never fails on a half-published release.
    """
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    listed = latest_version()
    have = installed_version()
    if have and (listed is None or have == listed):
        if listed is None:
            say(f"PyPI not reachable: reusing MLflow {have} in {VENV}")
        return PYTHON, have, listed
    if listed is None:
        raise SystemExit("MLflow is not installed in the side venv and PyPI cannot be reached")
    say(f"MLflow {listed} is the newest on PyPI; side venv {VENV} has {have or 'none'}: updating ...")
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pkgs = [f"mlflow>={MAJOR},<{MAJOR + 1}"] + ([] if have else ["scikit-learn"])
    pip = subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", *pkgs],
                         capture_output=True, text=True)
    if pip.returncode:
        raise SystemExit(f"pip could not install MLflow into {VENV}:\n{pip.stderr[-2000:]}")
    have = installed_version()
    if have is None:
        raise SystemExit(f"could not install MLflow {MAJOR}.x into {VENV}")
    if have != listed:
        say(f"MLflow {listed} is listed but not installable here (its dependencies are not all "
            f"published); using {have}, the newest installable {MAJOR}.x")
    return PYTHON, have, listed


if __name__ == "__main__":
    python, have, listed = ensure()
    print(f"{python}: MLflow {have} (newest listed: {listed})")
