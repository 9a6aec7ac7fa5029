"""Helpers for the reliability tests: real child processes, the real CLI, store checks.

Every child process is killed when its test ends, whatever the test did.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def spawn(tmp_path):
    """``spawn(code, *args, home=...)``: a Python child running ``code`` (dedented)."""
    made: list[subprocess.Popen] = []

    def start(code: str, *args, home: Path | None = None, env: dict | None = None, **kw) -> subprocess.Popen:
        full_env = dict(os.environ, **(env or {}))
        if home is not None:
            full_env["JUPYTER_MODELOPS_HOME"] = str(home)
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
                                cwd=str(tmp_path), **kw)
        made.append(proc)
        return proc

    yield start
    for proc in made:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                stream.close()
