"""``local``: a real model server process on this machine, under a supervisor.

``start`` launches ``jupyter modelops serve-model NAME --supervise ...`` in a session of
its own (it outlives the notebook that deployed it) with the store's location in its
environment. The supervisor binds the port, starts the serving worker with the listening
socket inherited (so a restarted worker answers on the same port without a gap in
accepting connections), restarts it when it crashes (with backoff; FAILED after too many
crashes in a minute), forwards SIGHUP (reload) and SIGTERM (graceful stop), and keeps the
deployment's status in the store. ``start`` returns once the server answers
``/v2/health/ready``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ...errors import InvalidInput, ModelOpsError
from . import check_keys

ENV_ATTACHED = "JUPYTER_MODELOPS_DEPLOY_ATTACHED"  # "1": servers die with the process that started them

CONFIG = {
    "host": (str, "127.0.0.1"),
    "port": (int, 0),
    "sample_rate": ((int, float), 0.1),
    "log_queue": (int, 10_000),
    "log_batch": (int, 500),
    "log_interval": ((int, float), 1.0),
    "reload_interval": ((int, float), 2.0),
    "check_interval": ((int, float), 60.0),
    "start_timeout": ((int, float), 120.0),
    "max_restarts": (int, 5),
    "trusted": ((bool, list), False),
    "fast_path": (bool, True),
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def deployment_dir(store, deployment_id: str) -> Path:
    """Where a deployment keeps its files (server log...): next to a SQLite store, else in
    the temp folder."""
    import tempfile

    url = store.db.url
    if url.startswith("sqlite:///") and ":memory:" not in url:
        base = Path(url[len("sqlite:///"):]).parent
    else:
        base = Path(tempfile.gettempdir()) / "jupyter-modelops"
    folder = base / "deployments" / deployment_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_ready(url: str, proc=None, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)
    return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def stop_pid(pid: int | None, timeout: float = 15.0) -> bool:
    """SIGTERM, wait, then SIGKILL. True if the process is gone."""
    from ..service import _alive

    if not pid or not _alive(pid):
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        from ..service import _reap

        _reap()
        if not _alive(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    time.sleep(0.1)
    return not _alive(pid)


class LocalTarget:
    name = "local"
    serving = True
    monitored = True

    def check_config(self, config: dict) -> dict:
        cfg = check_keys(config, CONFIG, self.name)
        if not 0 <= cfg["port"] <= 65535:
            raise InvalidInput("port must be from 0 (any free port) to 65535")
        if not 0.0 <= float(cfg["sample_rate"]) <= 1.0:
            raise InvalidInput("sample_rate must be from 0 to 1")
        for key in ("log_queue", "log_batch"):
            if not 1 <= cfg[key] <= 10_000_000:
                raise InvalidInput(f"{key} must be from 1 to 10000000")
        for key in ("log_interval", "reload_interval", "start_timeout"):
            if not 0.01 <= float(cfg[key]) <= 86_400:
                raise InvalidInput(f"{key} must be from 0.01 to 86400 seconds")
        if not 0 <= float(cfg["check_interval"]) <= 86_400:
            raise InvalidInput("check_interval must be from 0 (never) to 86400 seconds")
        if isinstance(cfg["trusted"], list) and not all(isinstance(t, str) for t in cfg["trusted"]):
            raise InvalidInput("trusted must be true/false or a list of type names")
        if cfg["host"] not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::"):
            raise InvalidInput("host must be a loopback address (127.0.0.1) or 0.0.0.0")
        return cfg

    def command(self, store, dep, cfg: dict, port: int) -> list[str]:
        argv = [sys.executable, "-m", "jupyter_modelops.deploy", "serve-model", dep.model_name,
                f"--deployment={dep.id}", f"--host={cfg['host']}", f"--port={port}", "--supervise",
                f"--sample-rate={cfg['sample_rate']}", f"--log-queue={cfg['log_queue']}",
                f"--log-batch={cfg['log_batch']}", f"--log-interval={cfg['log_interval']}",
                f"--reload-interval={cfg['reload_interval']}", f"--check-interval={cfg['check_interval']}",
                f"--max-restarts={cfg['max_restarts']}"]
        argv.append(f"--alias={dep.alias}" if dep.alias else f"--version={dep.version}")
        if cfg["trusted"] is True:
            argv.append("--trusted")
        elif cfg["trusted"]:
            argv += [f"--trust={t}" for t in cfg["trusted"]]
        if not cfg["fast_path"]:
            argv.append("--no-fast-path")
        return argv

    def start(self, store, dep) -> dict:
        from ..service import adopt

        cfg = dep.config
        host = cfg["host"]
        port = cfg["port"] or free_port("127.0.0.1" if host in ("0.0.0.0", "localhost") else
                                        "::1" if host == "::" else host)
        folder = deployment_dir(store, dep.id)
        log_path = folder / "server.log"
        env = dict(os.environ)
        env["JUPYTER_MODELOPS_DB"] = store.db.url
        env["JUPYTER_MODELOPS_ARTIFACTS"] = store.artifacts.uri
        env["JUPYTER_MODELOPS_USER"] = store.user
        env.setdefault("PYTHONUNBUFFERED", "1")
        attached = os.environ.get(ENV_ATTACHED) == "1"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(self.command(store, dep, cfg, port), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, cwd=str(folder), close_fds=True,
                                    start_new_session=not attached)
        adopt(proc)
        from ...ids import now_ms
        from ...store import schema as s

        with store.db.write() as conn:
            conn.execute(s.deployments.update().where(s.deployments.c.id == dep.id).values(
                pid=proc.pid, port=port, endpoint=f"http://{_url_host(host)}:{port}",
                details={**dep.details, "log": str(log_path)}, updated_at=now_ms()))
        url = f"http://{_url_host(host)}:{port}"
        if not wait_ready(url, proc, float(cfg["start_timeout"])):
            stop_pid(proc.pid, 5)
            tail = _tail(log_path)
            raise ModelOpsError(f"the model server did not become ready on {url}"
                                + (f"; its log ends with:\n{tail}" if tail else ""), log=str(log_path))
        return {"status": "RUNNING", "pid": proc.pid, "port": port, "endpoint": url, "started_at": now_ms()}

    def stop(self, store, row) -> None:
        stop_pid(row.pid)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "localhost"):
        return "127.0.0.1"
    if host in ("::", "::1"):
        return "[::1]"
    return host
