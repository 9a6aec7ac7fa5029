"""Real registry servers for tests: ``RegistryFactory`` hands out fresh, running
``jupyter modelops serve`` processes, each with its own home, users and port.

A fresh server per test keeps tests independent, so starting one must be cheap:

- every home starts as a copy of one migrated template store (no migrations per server);
- the users (by default ``alice`` with roles ``admin`` and ``data_scientist``) and their
  tokens are made through the users service before the server starts;
- servers are forked from a fork server that has already imported jupyter_server and
  friends (``forkserver.py``; ``mode="subprocess"`` starts the ``jupyter-modelops``
  script instead, at ~2 s per server);
- ``spares`` servers are kept started in a background thread, so a test usually gets one
  that is already listening.

``get(home=...)`` makes a given (empty) folder the server's home by replacing it with a
symlink to the spare's home, so a test's own store path and the server see the same
files (tests that mix ``mo.*`` on the local store with a ``Client`` over HTTP rely on it).

Environment: ``MODELOPS_TEST_SERVER_MODE=subprocess`` starts every server through the
console script; ``MODELOPS_TEST_SERVER_STATS=<file>`` appends startup and wait times.
Servers and the fork server die with the test process (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .forkserver import die_with_parent

DEFAULT_USERS = (("alice", ("admin", "data_scientist")),)


@dataclass
class RegistryServer:
    home: Path
    pid: int
    tokens: dict[str, str]
    log: Path
    port: int = 0
    started_at: float = 0.0
    ready_at: float = 0.0
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return next(iter(self.tokens.values()))

    @property
    def startup_seconds(self) -> float:
        return self.ready_at - self.started_at

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        try:  # a zombie is not alive
            with open(f"/proc/{self.pid}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except OSError:
            return True

    def stop(self, wait: float = 0.0) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while wait and self.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if wait and self.alive():
            os.kill(self.pid, signal.SIGKILL)
        if self.process is not None and wait:
            self.process.wait(timeout=5)


class RegistryFactory:
    def __init__(self, root: str | os.PathLike, *, spares: int = 2, mode: str | None = None,
                 users=DEFAULT_USERS, server_args: tuple[str, ...] = (), timeout: float = 60.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.mode = mode or os.environ.get("MODELOPS_TEST_SERVER_MODE", "fork")
        self.spares = spares
        self.users = users
        self.server_args = tuple(server_args)
        self.timeout = timeout
        self._ready: queue.Queue[RegistryServer | BaseException] = queue.Queue()
        self._all: list[RegistryServer] = []
        self._lock = threading.Lock()
        self._count = 0
        self._closed = False
        self._fork = None
        self._fork_lock = threading.Lock()
        self._template: Path | None = None
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self.startup_times: list[float] = []  # spawn to listening, per server
        self.wait_times: list[float] = []     # how long each get() waited

    # ------------------------------------------------------------------ public
    def get(self, home: str | os.PathLike | None = None) -> RegistryServer:
        """A running server, fresh for the caller; ``home`` (an empty folder) becomes its home."""
        home = Path(home) if home is not None else None
        if home is not None and (not home.is_dir() or any(home.iterdir())):
            return self._start_and_wait(home)  # that folder has content already: serve it in place
        self._ensure_thread()
        t0 = time.monotonic()
        server = self._take()
        self.wait_times.append(time.monotonic() - t0)
        if home is not None:
            home.rmdir()
            home.symlink_to(server.home, target_is_directory=True)
        return server

    def start(self, home: str | os.PathLike | None = None) -> RegistryServer:
        """Start a server now (no spare), in ``home`` or a new folder."""
        return self._start_and_wait(Path(home) if home is not None else None)

    def stats(self) -> dict:
        def summary(xs):
            xs = sorted(xs)
            return {"n": len(xs), "median": xs[len(xs) // 2], "max": xs[-1]} if xs else {"n": 0}

        return {"mode": self.mode, "startup_s": summary(self.startup_times), "wait_s": summary(self.wait_times)}

    def close(self) -> None:
        if os.environ.get("MODELOPS_TEST_SERVER_STATS"):
            with open(os.environ["MODELOPS_TEST_SERVER_STATS"], "a") as fh:
                fh.write(json.dumps(self.stats()) + "\n")
        self._closed = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout)
        with self._lock:
            servers = list(self._all)
        for server in servers:
            server.stop()
        for server in servers:
            server.stop(wait=5)
        if self._fork is not None:
            self._fork.stdin.close()
            self._fork.wait(timeout=10)

    # ------------------------------------------------------------------ pool
    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._fill, name="registry-spares", daemon=True)
            self._thread.start()
        self._wanted.set()

    def _take(self) -> RegistryServer:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                item = self._ready.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no registry server became ready within {self.timeout:g} s") from None
            self._wanted.set()
            if isinstance(item, BaseException):
                raise item
            if item.alive():
                return item
            if time.monotonic() > deadline:
                raise TimeoutError("registry servers keep dying; see their server.log")

    def _fill(self) -> None:
        while not self._closed:
            if self._ready.qsize() >= self.spares:
                self._wanted.wait(timeout=0.5)
                self._wanted.clear()
                continue
            try:
                self._ready.put(self._start_and_wait(None))
            except BaseException as exc:  # hand the failure to the test that waits
                self._ready.put(exc)
                time.sleep(1)

    # ------------------------------------------------------------------ one server
    def _new_home(self) -> Path:
        with self._lock:
            self._count += 1
            n = self._count
        home = self.root / f"registry-{n:04d}"
        home.mkdir()
        return home

    def _template_db(self) -> Path:
        with self._lock:
            if self._template is None:
                from ..store.store import Store

                tmpl = self.root / "template"
                tmpl.mkdir(exist_ok=True)
                Store(f"sqlite:///{tmpl}/store.db", str(tmpl / "artifacts"), user="template").close()
                self._template = tmpl / "store.db"
        return self._template

    def prepare(self, home: Path) -> dict[str, str]:
        """Store and users in ``home``; returns {user: token}."""
        from .. import users
        from ..store.store import Store

        if not (home / "store.db").exists():
            shutil.copyfile(self._template_db(), home / "store.db")
        store = Store(f"sqlite:///{home}/store.db", str(home / "artifacts"), user="setup")
        try:
            tokens = {}
            for name, roles in self.users:
                users.add_user(store, name, roles)
                tokens[name] = users.create_token(store, name, label="tests")
        finally:
            store.close()
        return tokens

    def _argv(self, home: Path) -> list[str]:
        argv = ["serve", "--port=0", "--ip=127.0.0.1", f"--home={home}",
                f"--ServerApp.root_dir={home}", "--ServerApp.shutdown_no_activity_timeout=0"]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        return argv + list(self.server_args)

    def _env(self, home: Path) -> dict:
        return {
            "JUPYTER_MODELOPS_HOME": str(home), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_MODELOPS_DB": None,
            "JUPYTER_MODELOPS_ARTIFACTS": None, "JUPYTER_MODELOPS_USER": "registry",
            "JUPYTER_MODELOPS_TOKEN": None, "JUPYTER_TOKEN": None, "JUPYTER_PORT": None,
        }

    def _spawn(self, home: Path, log: Path) -> tuple[int, subprocess.Popen | None]:
        argv, env = self._argv(home), self._env(home)
        if self.mode == "subprocess":
            exe = Path(sys.executable).with_name("jupyter-modelops")
            cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_modelops.cli.app"]
            full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
            with open(log, "ab") as out:
                proc = subprocess.Popen(cmd + argv, env=full_env, cwd=home, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=die_with_parent)
            return proc.pid, proc
        with self._fork_lock:
            if self._fork is None:
                self._fork = subprocess.Popen(
                    [sys.executable, "-m", "jupyter_modelops.server.forkserver"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                    cwd=self.root)
                hello = self._fork.stdout.readline()
                if not hello:
                    raise RuntimeError("the registry fork server did not start")
            self._fork.stdin.write(json.dumps({"argv": argv, "env": env, "log": str(log),
                                               "cwd": str(home)}) + "\n")
            self._fork.stdin.flush()
            return json.loads(self._fork.stdout.readline())["pid"], None

    def _start_and_wait(self, home: Path | None) -> RegistryServer:
        t0 = time.monotonic()
        home = home or self._new_home()
        home.mkdir(parents=True, exist_ok=True)
        tokens = self.prepare(home)
        log = home / "server.log"
        pid, proc = self._spawn(home, log)
        server = RegistryServer(home=home, pid=pid, tokens=tokens, log=log, started_at=t0, process=proc)
        with self._lock:
            self._all.append(server)
        info = home / "runtime" / f"jpserver-{pid}.json"
        deadline = t0 + self.timeout
        while True:
            if info.exists():
                try:
                    server.port = json.loads(info.read_text())["port"]
                except (ValueError, KeyError):
                    server.port = 0
                if server.port and _accepting(server.port):
                    break
            if not server.alive():
                raise RuntimeError(f"registry server exited during start:\n{_tail(log)}")
            if time.monotonic() > deadline:
                server.stop(wait=2)
                raise TimeoutError(f"registry server not ready in {self.timeout:g} s:\n{_tail(log)}")
            time.sleep(0.01)
        server.ready_at = time.monotonic()
        self.startup_times.append(server.startup_seconds)
        return server


def _accepting(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"
