"""``jupyter modelops serve`` as an operator runs it: the console script, a real process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import httpx

from jupyter_modelops.server import API_PREFIX
from jupyter_modelops.store.db import HEAD_REVISION
from jupyter_modelops.server.testing import RegistryFactory


def test_serve_command_starts_migrates_serves_and_stops(tmp_path):
    factory = RegistryFactory(tmp_path / "registries", mode="subprocess", spares=0)
    try:
        server = factory.start()
        cmdline = open(f"/proc/{server.pid}/cmdline", "rb").read().split(b"\0")
        script = next(i for i, arg in enumerate(cmdline) if arg.endswith(b"/jupyter-modelops"))
        assert cmdline[script + 1] == b"serve"  # the console script, as an operator runs it
        headers = {"Authorization": f"token {server.token}"}
        me = httpx.get(server.url + API_PREFIX + "/whoami", headers=headers).json()
        assert me["username"] == "alice" and me["mode"] == "registry"
        assert server.startup_seconds < 30
        log = server.log.read_text()
        assert "ModelOps store: sqlite:///" in log and "is running at" in log
        assert server.token not in log
        server.stop(wait=15)
        assert not server.alive()
        assert "Shutting down" in server.log.read_text()
    finally:
        factory.close()


def test_serve_creates_and_migrates_a_fresh_store_at_start(tmp_path):
    home = tmp_path / "fresh"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_modelops.cli.app", "serve", "--port=0", f"--home={home}",
         "--allow-root", f"--ServerApp.root_dir={home}"],
        env={"PATH": "/usr/bin:/bin", "JUPYTER_RUNTIME_DIR": str(home / "rt"),
             "JUPYTER_CONFIG_DIR": str(home / "cfg"), "HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list((home / "rt").glob("jpserver-*.json")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with sqlite3.connect(home / "store.db") as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stderr.close()


def test_serve_refuses_a_bad_store_url(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_modelops.cli.app", "serve", "--port=0", "--allow-root",
         "--db=mysql://nowhere/x"],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")})
    assert proc.returncode != 0
    assert "unsupported store URL" in proc.stderr
