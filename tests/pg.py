"""A throwaway PostgreSQL cluster for tests (and the registry benchmark).

``PgCluster`` runs ``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` on a free
loopback port, with its data folder and socket in a temp folder. ``initdb`` refuses to run
as root, so as root both run through ``runuser -u postgres --`` on a folder owned by
``postgres``; otherwise they run directly. Each test gets a fresh database
(``CREATE DATABASE``) on the one cluster of the session.

Loaded by path from ``tests/sync/conftest.py`` and ``tests/postgres/conftest.py`` under
one module name, so the whole session shares one cluster (stopped at exit).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


SKIP_REASON = ("no PostgreSQL binaries (initdb/pg_ctl) in /usr/lib/postgresql/*/bin or on PATH; "
               "install them with `apt-get install -y postgresql`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One PostgreSQL server: ``start()``, ``stop()``, ``restart()``, ``kill()``, ``url(db)``."""

    def __init__(self, *, durable: bool = False, port: int | None = None) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError(SKIP_REASON)
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="modelops-pg-"))
        self.data = self.root / "data"
        self.port = port or free_port()
        self.durable = durable
        self._lock = threading.Lock()
        self._count = 0
        if self.as_root:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o755)  # the tests (root) read the log

    def _run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, cwd=self.root, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}\n{self.log_tail()}")
        return proc

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join((self.root / "server.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-locale", "--no-sync", timeout=120)

    def options(self) -> str:
        opts = [f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1",
                "-c max_connections=200", "-c shared_buffers=128MB"]
        if not self.durable:  # throwaway test data: skip the disk flushes
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(opts)

    def start(self) -> "PgCluster":
        if not (self.data / "PG_VERSION").exists():
            self.init()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o",
                  self.options(), "-w", "-t", "60", "start", timeout=90)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL did not listen on {self.port}:\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
                      check=False, timeout=90)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def new_database(self, prefix: str = "t") -> str:
        with self._lock:
            self._count += 1
            name = f"{prefix}_{os.getpid()}_{self._count}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        try:
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 - best effort; the cluster goes at the end anyway
            pass


_cluster: PgCluster | None = None
_failure: str | None = None


def get_cluster() -> PgCluster:
    """The session's cluster, started on first use; skips the test without binaries."""
    global _cluster, _failure
    if pg_bin() is None:
        pytest.skip(SKIP_REASON)
    if _failure:
        pytest.fail(_failure)
    if _cluster is None:
        try:
            _cluster = PgCluster().start()
        except Exception as exc:  # noqa: BLE001
            _failure = f"could not start PostgreSQL: {exc}"
            raise
        atexit.register(_cluster.destroy)
    return _cluster


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    return get_cluster()


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, empty database on the session's cluster (``postgresql://`` URL)."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


# --------------------------------------------------------------------------- registries on PostgreSQL


class PgRegistry:
    """A ``jupyter modelops serve --db=postgresql://...`` process that can be killed and restarted
    on the same port, database and artifact folder."""

    def __init__(self, factory: "PgRegistryFactory", home: Path, db_url: str, port: int) -> None:
        self.factory, self.home, self.db_url, self.port = factory, home, db_url, port
        self.server = None
        self.tokens: dict[str, str] = {}
        self.extra_args: list[str] = []  # more `jupyter modelops serve` options

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return self.tokens["alice"]

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    def start(self) -> "PgRegistry":
        self.server = self.factory.start_registry(self)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup (a crash)."""
        import signal

        if self.server is not None and self.server.alive():
            os.kill(self.server.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while self.server.alive() and time.monotonic() < deadline:
                time.sleep(0.01)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(wait=5)

    def restart(self) -> "PgRegistry":
        self.kill()
        return self.start()

    def open_store(self, user: str = "inspector"):
        from jupyter_modelops.store.store import Store

        return Store(self.db_url, str(self.artifacts), user=user)


def _registry_factory_class():
    from jupyter_modelops.server.testing import RegistryFactory

    class PgRegistryFactory(RegistryFactory):
        """``RegistryFactory`` (fork server, fast start) serving PostgreSQL stores."""

        def __init__(self, root, **kw) -> None:
            super().__init__(root, spares=0, **kw)
            self._by_home: dict[str, PgRegistry] = {}

        def new(self, db_url: str, users=None) -> PgRegistry:
            home = self._new_home()
            reg = PgRegistry(self, home, db_url, free_port())
            reg.users = users or (("alice", ("admin", "data_scientist")),)
            self._by_home[str(home)] = reg
            return reg

        def start_registry(self, reg: PgRegistry):
            return self._start_and_wait(reg.home)

        def prepare(self, home: Path) -> dict[str, str]:
            reg = self._by_home[str(home)]
            if reg.tokens:
                return reg.tokens
            from jupyter_modelops import users
            from jupyter_modelops.store.store import Store

            store = Store(reg.db_url, str(reg.artifacts), user="setup")  # migrates the database
            try:
                for name, roles in reg.users:
                    users.add_user(store, name, roles)
                    reg.tokens[name] = users.create_token(store, name, label="tests")
            finally:
                store.close()
            return reg.tokens

        def _argv(self, home: Path) -> list[str]:
            reg = self._by_home[str(home)]
            argv = [a for a in super()._argv(home) if not a.startswith("--port=")]
            return argv + [f"--port={reg.port}", f"--db={reg.db_url}", *reg.extra_args]

        def _env(self, home: Path) -> dict:
            return {**super()._env(home), "JUPYTER_MODELOPS_REGISTRY_URL": None,
                    "JUPYTER_MODELOPS_REGISTRY_TOKEN": None}

    return PgRegistryFactory


def PgRegistryFactory(root, **kw):
    return _registry_factory_class()(root, **kw)
