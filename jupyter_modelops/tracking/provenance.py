"""What produced a run: who, where, which code, which environment.

Environment facts that cannot change inside a process (Python, platform, installed
versions) are gathered once; git state is re-read at most every few seconds, so starting
many runs from a notebook stays cheap.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

_KEY_PACKAGES = ("jupyter-modelops", "scikit-learn", "numpy", "pandas", "scipy", "skops",
                 "xgboost", "lightgbm", "torch", "tensorflow", "onnx", "onnxruntime")
_env_cache: dict | None = None
_git_cache: dict[str, tuple[float, dict]] = {}
GIT_TTL = 5.0


def environment() -> dict:
    global _env_cache
    if _env_cache is None:
        from importlib import metadata

        versions = {}
        for name in _KEY_PACKAGES:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
        _env_cache = {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(terse=True),
            "executable": sys.executable,
            "packages": versions,
        }
    return dict(_env_cache)


def git_state(path: str | os.PathLike | None = None) -> dict:
    """Commit, branch and dirty flag of the repository holding ``path`` ({} outside git)."""
    folder = str(Path(path or os.getcwd()).resolve())
    if os.path.isfile(folder):
        folder = os.path.dirname(folder)
    hit = _git_cache.get(folder)
    if hit and time.monotonic() - hit[0] < GIT_TTL:
        return hit[1]
    state: dict = {}
    try:
        out = subprocess.run(
            ["git", "-C", folder, "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],
            capture_output=True, text=True, timeout=5,
        )
        if out.returncode == 0:
            commit, branch = (out.stdout.split() + ["", ""])[:2]
            dirty = subprocess.run(
                ["git", "-C", folder, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=5,
            )
            state = {"commit": commit, "branch": branch, "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        state = {}
    _git_cache[folder] = (time.monotonic(), state)
    return state


def code_hash(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def current_source() -> tuple[str, str]:
    """The notebook or script that is running and the hash of its code ('' if unknown)."""
    nb = os.environ.get("JPY_SESSION_NAME")
    if nb and nb.endswith(".ipynb"):
        return nb, ""  # the magics record the executed cells' hash
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path and os.path.isfile(path):
        try:
            return os.path.abspath(path), code_hash(Path(path).read_bytes())
        except OSError:
            return os.path.abspath(path), ""
    return "", ""


def capture(source: str | None = None) -> dict:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    src = source or current_source()[0]
    return {
        "os_user": user,
        "host": socket.gethostname(),
        "cwd": os.getcwd(),
        **environment(),
        "git": git_state(src if src and os.path.exists(src) else None),
    }
