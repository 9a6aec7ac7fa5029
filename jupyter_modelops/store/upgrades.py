"""Schema upgrades that survive being interrupted.

An upgrade runs in one transaction (SQLite and PostgreSQL both roll DDL back), so a kill
mid-upgrade normally leaves the store exactly at its old revision. What the database
cannot tell afterwards is whether *every* step was transactional — a migration that must
commit part way (or one shipped by a newer package) can leave tables of the new revision
under the old revision number. So:

1. one upgrader at a time, by a lock the operating system (a ``flock`` next to the SQLite
   file) or PostgreSQL (a session advisory lock) releases when its holder dies;
2. before the upgrade transaction, a marker row (``modelops_schema_upgrade``) is committed;
   the upgrade transaction deletes it, so it commits with the new schema or not at all;
3. whoever next holds the lock and still finds a marker knows the upgrade was interrupted.
   If the schema is exactly the one its recorded revision defines, the interruption left
   nothing behind and the upgrade simply runs again. Otherwise the store is refused with
   one line that names the recovery command;
4. SQLite stores are copied (backup API) before an upgrade; ``jupyter modelops db recover``
   puts that copy back. The copy is deleted once the upgrade has committed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from ..errors import InvalidInput, StoreUnavailable

log = logging.getLogger("jupyter_modelops.store")

MARKER_ID = 1
PG_LOCK_KEY = 727_274
IGNORED_TABLES = frozenset({"alembic_version", "modelops_schema_upgrade"})
RECOVER_HINT = "jupyter modelops db recover"

_expected_cache: dict[str | None, dict] = {}
_cache_lock = threading.Lock()


def sqlite_path(db) -> Path | None:
    """The file of a SQLite store (None for in-memory stores and PostgreSQL)."""
    if db.dialect != "sqlite":
        return None
    name = db.engine.url.database
    return Path(name) if name and name != ":memory:" else None


def backup_path(db, revision: str | None) -> Path | None:
    path = sqlite_path(db)
    return None if path is None else path.with_name(f"{path.name}.before-{revision or 'empty'}.bak")


@contextlib.contextmanager
def upgrade_lock(db) -> Iterator[None]:
    """Exclusive across processes; released by the OS or the server if the holder dies."""
    path = sqlite_path(db)
    if path is not None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock: the write lock alone serialises upgrades
            yield
            return
        with open(path.with_name(path.name + "-upgrade.lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({PG_LOCK_KEY})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_LOCK_KEY})")
                conn.commit()
        return
    yield


def read_marker(conn) -> dict | None:
    from .schema import schema_upgrade as t

    if not sa.inspect(conn).has_table(t.name):
        return None
    row = conn.execute(sa.select(t).where(t.c.id == MARKER_ID)).first()
    return dict(row._mapping) if row else None


def write_marker(db, from_rev: str | None, to_rev: str) -> None:
    from .._version import __version__
    from ..ids import now_ms
    from .schema import schema_upgrade as t

    with db.write() as conn:
        t.create(conn, checkfirst=True)
        conn.execute(t.delete())
        conn.execute(t.insert().values(
            id=MARKER_ID, from_rev=from_rev, to_rev=to_rev, package=f"jupyter-modelops {__version__}",
            host=socket.gethostname()[:255], pid=os.getpid(), started_at=now_ms()))


def clear_marker(conn) -> None:
    from .schema import schema_upgrade as t

    conn.execute(t.delete())


def fingerprint(conn) -> dict[str, tuple[str, ...]]:
    """Tables and their column names: what an interrupted upgrade would leave changed."""
    insp = sa.inspect(conn)
    return {name: tuple(sorted(c["name"] for c in insp.get_columns(name)))
            for name in insp.get_table_names() if name not in IGNORED_TABLES}


def expected_fingerprint(revision: str | None) -> dict[str, tuple[str, ...]]:
    """The fingerprint the migrations produce at ``revision`` (built once, in memory)."""
    if revision is None:
        return {}
    with _cache_lock:
        if revision not in _expected_cache:
            from alembic import command

            from .db import Database, alembic_config

            mem = Database("sqlite://", migrate=False)
            try:
                with mem.write() as conn:
                    command.upgrade(alembic_config(conn), revision)
                with mem.read() as conn:
                    _expected_cache[revision] = fingerprint(conn)
            finally:
                mem.close()
        return _expected_cache[revision]


def interrupted_message(db, revision: str | None, marker: dict, diff: str) -> str:
    from datetime import datetime, timezone

    when = datetime.fromtimestamp(marker["started_at"] / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = db.url.split("@")[-1]
    how = (f"run `{RECOVER_HINT} --db={where}` to restore the copy taken before it"
           if sqlite_path(db) is not None else
           "restore the database from a backup taken before it, then run `jupyter modelops db upgrade`")
    return (f"the store at {where} has an interrupted schema upgrade "
            f"({marker['from_rev'] or 'empty'} -> {marker['to_rev']}, started by {marker['package']} "
            f"pid {marker['pid']} on {marker['host']} at {when}; {diff}): {how}")


def check_interrupted(db, conn, revision: str | None, marker: dict) -> None:
    """With the upgrade lock held: allow a clean rollback, refuse a half-applied upgrade."""
    actual = fingerprint(conn)
    expected = expected_fingerprint(revision)
    if actual == expected:
        log.warning("an upgrade of %s to revision %s was interrupted and rolled back; running it again",
                    db.url.split("@")[-1], marker["to_rev"])
        return
    extra = sorted(set(actual) - set(expected))
    changed = sorted(t for t in set(actual) & set(expected) if actual[t] != expected[t])
    missing = sorted(set(expected) - set(actual))
    parts = [f"{label} {', '.join(names[:3])}" + ("…" if len(names) > 3 else "")
             for label, names in (("unexpected tables", extra), ("changed tables", changed),
                                  ("missing tables", missing)) if names]
    raise StoreUnavailable(interrupted_message(db, revision, marker, "; ".join(parts)),
                           revision=revision, marker=marker)


def take_backup(db, revision: str | None) -> Path | None:
    """Copy a SQLite store before upgrading it (consistent even with readers attached)."""
    path = sqlite_path(db)
    if path is None or revision is None:
        return None
    import sqlite3

    dest = backup_path(db, revision)
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        src = sqlite3.connect(str(path))
        try:
            out = sqlite3.connect(str(tmp))
            try:
                src.backup(out)
            finally:
                out.close()
        finally:
            src.close()
        os.replace(tmp, dest)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreUnavailable(f"could not copy {path} before upgrading it ({exc}); "
                               "free some disk space and open the store again") from exc
    return dest


def recover(db) -> str:
    """Put back the copy taken before an interrupted upgrade; returns what was done.

    The half-upgraded file is kept next to it (``.interrupted``) for inspection.
    """
    path = sqlite_path(db)
    with upgrade_lock(db):
        with db.read() as conn:
            marker = read_marker(conn)
        if marker is None:
            return f"{db.url.split('@')[-1]}: no interrupted upgrade, nothing to recover"
        if path is None:
            raise InvalidInput("only SQLite stores are recovered automatically: restore the database from "
                               "a backup taken before the upgrade, then run `jupyter modelops db upgrade`")
        copy = backup_path(db, marker["from_rev"])
        if marker["from_rev"] is not None and not copy.is_file():
            raise InvalidInput(f"no copy of the store from before the upgrade at {copy}: "
                               "restore it from your own backup")
        db.close()
        aside = path.with_name(path.name + ".interrupted")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        if marker["from_rev"] is not None:
            os.replace(copy, path)
            return (f"restored {path} as it was at revision {marker['from_rev']}; "
                    f"the interrupted file is kept as {aside}")
        return f"{path} held no data before the upgrade: moved aside to {aside}; a new store is created on open"
