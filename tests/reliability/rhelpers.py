"""Plain helpers of the reliability tests (``import rhelpers``; the conftest puts this
folder on the path)."""

from __future__ import annotations

import subprocess
import sys
import time


def wait_for(predicate, timeout: float = 60.0, what: str = "condition", proc=None):
    """Poll ``predicate`` until truthy; fail early with the child's stderr if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the child exited {proc.returncode} before {what}:\n{proc.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def jm(home, *args, check: bool = True) -> subprocess.CompletedProcess:
    """``jupyter modelops ARGS --home=HOME`` as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", *args, f"--home={home}"],
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def assert_store_healthy(home) -> None:
    """``jupyter modelops db check`` passes: integrity, every blob, the audit chain."""
    proc = jm(home, "db", "check", check=False)
    assert proc.returncode == 0, f"db check failed:\n{proc.stdout}\n{proc.stderr}"
    assert "PROBLEM" not in proc.stdout
