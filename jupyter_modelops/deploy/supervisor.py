"""The supervisor of a ``local`` deployment (``serve-model --supervise``).

It binds the listening socket once and hands it to each serving worker it starts
(``serve-model --fd N``), so a worker that crashes is replaced on the same port while the
kernel keeps queueing connections. It restarts crashed workers with exponential backoff
and gives up (status FAILED) after ``max_restarts`` crashes within a minute, or at once
when a worker exits with status 2 (it could not load the model: restarting would not
help). SIGHUP is forwarded (reload the alias now); SIGTERM/SIGINT stop the worker
gracefully (SIGKILL after 15 s) and end with status STOPPED. Every status change is
written to the deployment's row; crashes are audited.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import time

from .server import ServeOptions

ACTOR = "modelops:supervisor"
FATAL_EXIT = 2


def worker_argv(o: ServeOptions, fd: int) -> list[str]:
    argv = [sys.executable, "-m", "jupyter_modelops.deploy", "serve-model", o.name, f"--fd={fd}",
            f"--host={o.host}", f"--port={o.port}", f"--sample-rate={o.sample_rate}", f"--log-queue={o.log_queue}",
            f"--log-batch={o.log_batch}", f"--log-interval={o.log_interval}",
            f"--reload-interval={o.reload_interval}", f"--check-interval={o.check_interval}"]
    if o.deployment_id:
        argv.append(f"--deployment={o.deployment_id}")
    if o.alias:
        argv.append(f"--alias={o.alias}")
    elif o.version is not None:
        argv.append(f"--version={o.version}")
    if o.package:
        argv.append(f"--package={o.package}")
    if o.trusted is True:
        argv.append("--trusted")
    elif o.trusted:
        argv += [f"--trust={t}" for t in o.trusted]
    if not o.fast:
        argv.append("--no-fast-path")
    return argv


def supervise(o: ServeOptions, max_restarts: int = 5, window: float = 60.0) -> int:
    from .targets.local import wait_ready

    store = None
    if o.deployment_id and o.db_url:
        from ..store.store import Store

        store = Store(o.db_url, o.artifact_uri, user=ACTOR, migrate=False)

    def status(value: str, **kw) -> None:
        if store is None:
            return
        from . import service

        try:
            service.set_status(store, o.deployment_id, value, actor=ACTOR, **kw)
        except Exception as exc:  # noqa: BLE001 - the store being away must not stop serving
            print(f"modelops supervisor: could not record status {value}: {exc}", file=sys.stderr, flush=True)

    family = socket.AF_INET6 if ":" in o.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((o.host, o.port))
    except OSError as exc:
        print(f"error: cannot listen on {o.host}:{o.port}: {exc.strerror}", file=sys.stderr, flush=True)
        status("FAILED", error=f"cannot listen on {o.host}:{o.port}: {exc.strerror}")
        return 1
    sock.listen(1024)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    o.port = port
    host = "127.0.0.1" if o.host in ("0.0.0.0", "localhost") else ("[::1]" if ":" in o.host else o.host)
    url = f"http://{host}:{port}"

    flags = {"stop": False, "hup": False}

    def on_stop(signum, frame):
        flags["stop"] = True

    def on_hup(signum, frame):
        flags["hup"] = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)

    crashes: collections.deque = collections.deque()
    code = 0
    print(f"modelops supervisor: pid {os.getpid()}, listening on {url}", file=sys.stderr, flush=True)
    while not flags["stop"]:
        child = subprocess.Popen(worker_argv(o, sock.fileno()), pass_fds=(sock.fileno(),),
                                 stdin=subprocess.DEVNULL)
        ready = False
        while not flags["stop"] and child.poll() is None:
            if not ready and wait_ready(url, child, 0.5):
                ready = True
                status("RUNNING", pid=os.getpid(), port=port, endpoint=url)
            if flags["hup"]:
                flags["hup"] = False
                try:
                    child.send_signal(signal.SIGHUP)
                except ProcessLookupError:
                    pass
            if ready:
                time.sleep(0.05)
        if flags["stop"]:
            _terminate(child)
            break
        rc = child.returncode
        if rc == FATAL_EXIT and not ready:
            status("FAILED", error="the server could not load the model (see its log)")
            code = 1
            break
        now = time.monotonic()
        crashes.append(now)
        while crashes and now - crashes[0] > window:
            crashes.popleft()
        if len(crashes) > max_restarts:
            status("FAILED", error=f"the server crashed {len(crashes)} times within {window:.0f} s "
                                   f"(last exit status {rc}); not restarting it")
            code = 1
            break
        print(f"modelops supervisor: the server exited with status {rc}; restarting", file=sys.stderr, flush=True)
        status("RESTARTING", error=f"the server exited with status {rc}; restarted", restarted=True)
        backoff = min(5.0, 0.1 * 2 ** (len(crashes) - 1))
        deadline = time.monotonic() + backoff
        while time.monotonic() < deadline and not flags["stop"]:
            time.sleep(0.02)
    sock.close()
    if flags["stop"]:
        from ..ids import now_ms

        status("STOPPED", stopped_at=now_ms())
    if store is not None:
        store.close()
    print("modelops supervisor: stopped", file=sys.stderr, flush=True)
    return code


def _terminate(child, timeout: float = 15.0) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)
