"""Sync status and on-demand sync from every front end: the REST API of a Jupyter server
(with its background worker), the ``%modelops sync`` magic and ``jupyter modelops sync``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from jupyter_modelops.client import Client
from jupyter_modelops.sync import outbox

pytestmark = pytest.mark.postgres


@pytest.fixture
def linked_env(monkeypatch, registry):
    monkeypatch.setenv("JUPYTER_MODELOPS_REGISTRY_URL", registry.url)
    monkeypatch.setenv("JUPYTER_MODELOPS_REGISTRY_TOKEN", registry.token)
    return registry


@pytest.fixture
def with_sync_routes(monkeypatch):
    """What the server extension does once the sync routes and worker are registered
    (``server/sync_handlers.py``): routes before the API's catch-all, worker at start."""
    from jupyter_modelops.server import sync_handlers
    from jupyter_modelops.server.app import ModelOpsExtension

    init_settings, init_handlers, stop = (ModelOpsExtension.initialize_settings,
                                          ModelOpsExtension.initialize_handlers,
                                          ModelOpsExtension.stop_extension)
    if "make_sync_handlers" in open(sys.modules[ModelOpsExtension.__module__].__file__).read():
        return  # registered by the extension itself

    def initialize_settings(self):
        init_settings(self)
        sync_handlers.start_sync(self)

    def initialize_handlers(self):
        self.handlers.extend(sync_handlers.make_sync_handlers())
        init_handlers(self)

    async def stop_extension(self):
        sync_handlers.stop_sync(self)
        await stop(self)

    monkeypatch.setattr(ModelOpsExtension, "initialize_settings", initialize_settings)
    monkeypatch.setattr(ModelOpsExtension, "initialize_handlers", initialize_handlers)
    monkeypatch.setattr(ModelOpsExtension, "stop_extension", stop_extension)


@pytest.fixture
def jp_server_config(with_sync_routes, linked_env):
    return {"ServerApp": {"jpserver_extensions": {"jupyter_modelops": True}},
            "ModelOpsConfig": {"sync_interval": 0.3}}


async def test_rest_status_and_background_sync_of_the_jupyter_server(jp_fetch, mo_home, linked_env):
    async def status():
        return json.loads((await jp_fetch("modelops", "api", "v1", "sync", "status")).body)

    st = await status()
    assert st["linked"] is True and st["registry_url"] == linked_env.url and st["pending"] == 0
    # The notebook (another process in real life) records a run in the same store.
    nb = Client(home=str(mo_home))
    try:
        assert outbox.is_linked(nb.store)
        with nb.start_run("exp", "from-the-notebook") as run:
            nb.log_metric(run.id, "acc", 0.9)
        nb.flush()
    finally:
        nb.close()
    # The server's worker pushes it in the background.
    deadline = time.monotonic() + 30
    while (st := await status())["pending"] or not st["last_success"]:
        assert time.monotonic() < deadline, st
        await asyncio.sleep(0.1)
    assert st["worker"]["running"] and st["last_error"] is None
    remote = Client(url=linked_env.url, token=linked_env.token)
    try:
        assert remote.get_run(run.id).metrics == {"acc": 0.9}
    finally:
        remote.close()
    # Sync on demand, through the worker.
    report = json.loads((await jp_fetch("modelops", "api", "v1", "sync", "run", method="POST", body="")).body)
    assert report["pushed"] == 0 and report["pending"] == 0


def test_magic_sync_and_status(machines, linked_env, mo_home, capsys):
    from IPython.testing.globalipapp import get_ipython, start_ipython

    ip = start_ipython() or get_ipython()
    ip.run_line_magic("load_ext", "jupyter_modelops")
    import jupyter_modelops as mo

    mo.configure(home=str(mo_home))
    with mo.start_run(experiment="magic") as run:
        mo.log_param("alpha", 0.5)
    capsys.readouterr()
    ip.run_line_magic("modelops", "sync --status")
    out = capsys.readouterr().out
    assert "registry:     " + linked_env.url in out and "waiting to be pushed" in out
    assert "0 change(s)" not in out
    ip.run_line_magic("modelops", "sync")
    out = capsys.readouterr().out
    assert out.startswith("synced: pushed ") and "refused" not in out
    ip.run_line_magic("modelops", "sync --status")
    out = capsys.readouterr().out
    assert "pending:      0 change(s)" in out and "last success: " in out and "never" not in out
    remote = Client(url=linked_env.url, token=linked_env.token)
    try:
        assert remote.get_run(run.info.id).params == {"alpha": "0.5"}
    finally:
        remote.close()


def test_cli_sync_status_and_unreachable_registry(tmp_path, linked_env):
    home = tmp_path / "cli-home"
    env = {**os.environ, "JUPYTER_MODELOPS_HOME": str(home), "JUPYTER_MODELOPS_USER": "alice"}
    c = Client(home=str(home))
    try:
        assert outbox.is_linked(c.store)
        with c.start_run("cli", "r") as run:
            c.log_param(run.id, "k", "v")
    finally:
        c.close()

    def jm(*args, **extra):
        return subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", "sync", *args],
                              env={**env, **extra}, capture_output=True, text=True, timeout=120)

    down = jm(JUPYTER_MODELOPS_REGISTRY_URL="http://127.0.0.1:9")
    assert down.returncode == 1 and "cannot reach" in down.stderr
    status = jm("--status", "--json", JUPYTER_MODELOPS_REGISTRY_URL="http://127.0.0.1:9")
    st = json.loads(status.stdout)
    assert st["pending"] > 0 and "cannot reach" in st["last_error"]
    ok = jm()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("synced: pushed ")
    st = json.loads(jm("--status", "--json").stdout)
    assert st["pending"] == 0 and st["last_error"] is None and st["last_success"]
    assert "refused none" in jm("--rejected").stdout
