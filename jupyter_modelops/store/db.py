"""Engines and schema management for the metadata store.

SQLite (the embedded default) runs in WAL mode so that readers never block the writer,
and every write transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers
queue on the busy timeout instead of failing with "database is locked" when a read
transaction tries to upgrade. PostgreSQL (the shared registry) uses a pooled engine with
pre-ping so a restarted server is reconnected transparently.

Opening a store brings its schema to the newest migration; a store written by a newer
version of this package is refused rather than misread.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..errors import InvalidInput, StoreUnavailable

HEAD_REVISION = "0006"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """Accept plain paths and ``postgresql://`` URLs; pick the drivers we ship for."""
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


SQLITE_MMAP_BYTES = 256 << 20
SQLITE_CACHE_KIB = 16 << 10


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=8
        )
    else:
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=sa.pool.StaticPool
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event (below) decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=60000")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Searches over 100k runs touch a few thousand pages: reading them through a
        # memory map (shared by every connection, no copy) and keeping a larger page cache
        # than SQLite's 2 MB default cuts a filtered top-100 query by about a third.
        cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cur.execute(f"PRAGMA cache_size={-SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        if conn.get_execution_options().get("modelops_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _enable_wal(cur, timeout: float = 60.0) -> None:
    """Switch to WAL, retrying while another process creates or converts the file.

    SQLite can answer "database is locked" to ``PRAGMA journal_mode=WAL`` without
    calling the busy handler when two processes open a brand-new store at once.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def create_engine(url: str) -> Engine:
    parsed = sa.make_url(normalize_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        # No server-side prepared statements: psycopg prepares a statement after 5 executions
        # and PostgreSQL then switches to a generic plan that ignores the values, which made
        # filtered run searches 15x slower in a long-running registry. (Not plan_cache_mode=
        # force_custom_plan: that also re-plans every foreign-key check, halving bulk writes.)
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8,
                                connect_args={"prepare_threshold": None})
    raise InvalidInput(f"unsupported store URL {url!r}: use a SQLite path or postgresql://")


class Database:
    """An engine plus the two ways to use it: ``read()`` and ``write()`` transactions.

    Transactions nest: inside ``write()``, further ``read()``/``write()`` calls on the same
    thread reuse the open transaction. ``services.call`` relies on this to commit a
    change together with its audit entry and its sync outbox entry.
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = normalize_url(url)
        self.engine = create_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._pid = os.getpid()
        self._local = threading.local()
        if migrate:
            ensure_schema(self)

    @property
    def in_write(self) -> bool:
        return getattr(self._local, "writing", False)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        self._check_fork()
        with self.engine.connect() as conn, conn.begin():
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that holds the write lock from its first statement."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            if not self.in_write:
                raise RuntimeError("write() inside a read() transaction would deadlock writers")
            yield current
            return
        self._check_fork()
        with self.engine.connect() as conn:
            conn.execution_options(modelops_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
                self._local.conn, self._local.writing = conn, True
                try:
                    yield conn
                finally:
                    self._local.conn, self._local.writing = None, False

    def _check_fork(self) -> None:
        # Pooled connections must never cross a fork (multiprocessing, kernels).
        if os.getpid() != self._pid:
            self.engine.dispose(close=False)
            self._pid = os.getpid()

    def close(self) -> None:
        self.engine.dispose()


def current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return row[0] if row else None


_migrate_lock = threading.RLock()


def alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def ensure_schema(db: Database, target: str = HEAD_REVISION) -> None:
    """Upgrade the store to ``target`` unless it is there already (cheap check first).

    A store whose last upgrade was interrupted part way is refused (``upgrades.py``).
    """
    from .upgrades import read_marker

    with db.read() as conn:
        rev = current_revision(conn)
        marker = read_marker(conn) if rev == target else None
    if rev == target and marker is None:
        return
    _refuse_newer(db, rev)
    upgrade(db, target)


def _refuse_newer(db: Database, rev: str | None) -> None:
    if rev is not None and rev not in KNOWN_REVISIONS:
        raise StoreUnavailable(
            f"the store at {db.url} has schema revision {rev!r}, newer than this "
            f"jupyter-modelops understands ({HEAD_REVISION}); upgrade the package",
            revision=rev,
        )


def upgrade(db: Database, target: str = HEAD_REVISION) -> None:
    """Run the migrations up to ``target`` in one transaction, guarded against interruption."""
    from alembic import command

    from . import upgrades

    with _migrate_lock, upgrades.upgrade_lock(db):
        with db.read() as conn:
            rev = current_revision(conn)
            marker = upgrades.read_marker(conn)
            if marker is not None:  # its writer is gone: we hold the lock it held
                upgrades.check_interrupted(db, conn, rev, marker)
        _refuse_newer(db, rev)
        if rev == target:
            if marker is not None:
                with db.write() as conn:
                    upgrades.clear_marker(conn)
            return
        backup = upgrades.take_backup(db, rev)
        upgrades.write_marker(db, rev, target)
        with db.write() as conn:
            command.upgrade(alembic_config(conn), target)
            upgrades.clear_marker(conn)
        if backup is not None:
            backup.unlink(missing_ok=True)
