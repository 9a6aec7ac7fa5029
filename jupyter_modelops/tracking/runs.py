"""Experiments and runs: creation, life cycle, params, tags.

Rules that live here (and therefore hold for every client):
- a param is immutable: logging a different value for the same key is a ``Conflict``;
- params, metrics and artifacts go only to a RUNNING run: finished runs are immutable
  (tags stay editable, they are annotations);
- a run left RUNNING by a process that died is marked KILLED the next time the store
  is opened on the same host.
"""

from __future__ import annotations

import os
from typing import Iterable

import sqlalchemy as sa

from ..errors import Conflict, InvalidInput, NotFound
from ..ids import new_id, normalize_id, now_ms
from ..store import schema as s
from ..store.store import Store
from .records import FAILED, FINISHED, KILLED, RUN_STATUSES, RUNNING, Experiment, Run
from .validation import check_key, check_name, param_text

DEFAULT_EXPERIMENT = "Default"

# --------------------------------------------------------------------------- experiments


def _experiment(row) -> Experiment:
    return Experiment(
        id=row.id, name=row.name, description=row.description, tags=row.tags or {},
        created_at=row.created_at, updated_at=row.updated_at,
    )


def create_experiment(store: Store, name: str, description: str = "", tags: dict | None = None,
                      id: str | None = None) -> Experiment:
    name = check_name(name, "experiment name")
    ts = now_ms()
    rec = {"id": normalize_id(id) if id else new_id(), "name": name, "description": description or "",
           "tags": dict(tags or {}), "created_at": ts, "updated_at": ts}
    with store.db.write() as conn:
        if conn.execute(sa.select(s.experiments.c.id).where(s.experiments.c.name == name)).first():
            raise Conflict(f"experiment {name!r} already exists")
        if id and conn.execute(sa.select(s.experiments.c.id).where(s.experiments.c.id == rec["id"])).first():
            raise Conflict(f"an experiment with id {rec['id']} already exists")
        # ON CONFLICT DO NOTHING: on PostgreSQL a concurrent writer may insert the same name
        # between the check and the insert; a unique violation would abort the whole
        # transaction, this waits for it and reports a Conflict instead.
        insert = _dialect_insert(conn.dialect.name)
        stmt = insert(s.experiments).values(**rec).on_conflict_do_nothing().returning(s.experiments.c.id)
        if conn.execute(stmt).first() is None:
            raise Conflict(f"experiment {name!r} already exists")
    return Experiment(**rec)


def _dialect_insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def get_experiment(store: Store, ref: str) -> Experiment:
    """By id or by name."""
    if not isinstance(ref, str) or not ref:
        raise InvalidInput("experiment must be given by name or id")
    t = s.experiments
    with store.db.read() as conn:
        row = conn.execute(sa.select(t).where(t.c.name == ref)).first()
        if row is None and len(ref.replace("-", "")) == 32:
            row = conn.execute(sa.select(t).where(t.c.id == ref.replace("-", "").lower())).first()
    if row is None:
        raise NotFound(f"no experiment named or with id {ref!r}")
    return _experiment(row)


def get_or_create_experiment(store: Store, name: str | None) -> Experiment:
    name = name or DEFAULT_EXPERIMENT
    try:
        return get_experiment(store, name)
    except NotFound:
        try:
            return create_experiment(store, name)
        except Conflict:  # created concurrently by another process
            return get_experiment(store, name)


def list_experiments(store: Store) -> list[Experiment]:
    with store.db.read() as conn:
        rows = conn.execute(sa.select(s.experiments).order_by(s.experiments.c.created_at)).all()
    return [_experiment(r) for r in rows]


# --------------------------------------------------------------------------- runs


def _process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (guards against pid reuse)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def create_run(store: Store, experiment: str | None = None, name: str | None = None, *,
               parent_run_id: str | None = None, tags: dict | None = None, source: str = "",
               code_hash: str = "", provenance: dict | None = None, user: str | None = None,
               host: str | None = None, pid: int | None = None, id: str | None = None) -> Run:
    """Start a RUNNING run. ``pid``/``host`` identify the process that owns it."""
    exp = get_or_create_experiment(store, experiment)
    run_id = normalize_id(id, "run id") if id else new_id()
    if parent_run_id:
        parent_run_id = normalize_id(parent_run_id, "parent run id")
        get_run(store, parent_run_id, with_data=False)
    ts = now_ms()
    name = check_name(name, "run name") if name else _default_run_name(run_id)
    pid = os.getpid() if pid is None and host is None else pid
    rec = {
        "id": run_id, "experiment_id": exp.id, "parent_run_id": parent_run_id, "name": name,
        "status": RUNNING, "user": user or store.user, "host": host or store.host,
        "pid": pid, "pid_start": _process_start(pid) if pid and (host or store.host) == store.host else None,
        "start_time": ts, "end_time": None, "error_type": None, "error_message": None,
        "source": source or "", "code_hash": code_hash or "", "provenance": provenance or {},
        "updated_at": ts,
    }
    tag_rows = _tag_rows(run_id, tags)
    with store.db.write() as conn:
        if id and conn.execute(sa.select(s.runs.c.id).where(s.runs.c.id == run_id)).first():
            raise Conflict(f"a run with id {run_id} already exists")
        conn.execute(s.runs.insert().values(**rec))
        if tag_rows:
            conn.execute(s.tags.insert(), tag_rows)
    rec.pop("pid"), rec.pop("pid_start"), rec.pop("updated_at")
    return Run(**rec, tags={r["key"]: r["value"] for r in tag_rows})


_ADJ = ("brisk", "calm", "bold", "keen", "lucid", "merry", "noble", "quick", "sunny", "witty",
        "amber", "azure", "coral", "ivory", "olive", "rusty", "silver", "teal", "vivid", "young")
_NOUN = ("otter", "heron", "falcon", "panda", "lynx", "koala", "bison", "gecko", "ibis", "orca",
         "raven", "tapir", "wren", "yak", "zebra", "moose", "newt", "puma", "seal", "crane")


def _default_run_name(run_id: str) -> str:
    n = int(run_id[-8:], 16)
    return f"{_ADJ[n % 20]}-{_NOUN[(n // 20) % 20]}-{n % 1000:03d}"


def _run_from_row(row, params=None, metrics=None, tags=None) -> Run:
    return Run(
        id=row.id, experiment_id=row.experiment_id, name=row.name, status=row.status,
        user=row.user, host=row.host, start_time=row.start_time, end_time=row.end_time,
        parent_run_id=row.parent_run_id, error_type=row.error_type,
        error_message=row.error_message, source=row.source, code_hash=row.code_hash,
        provenance=row.provenance or {}, params=params or {}, metrics=metrics or {},
        tags=tags or {},
    )


def load_run_data(conn, run_ids: list[str]) -> dict[str, tuple[dict, dict, dict]]:
    """Params, latest metrics and tags for many runs in one round of three queries.

    A page of 100 runs is a few thousand rows; on SQLite they are read straight from the
    driver's cursor (SQLAlchemy's row processing would cost more than the queries)."""
    from .metrics import from_db

    out: dict[str, tuple[dict, dict, dict]] = {rid: ({}, {}, {}) for rid in run_ids}
    if not run_ids:
        return out
    for slot, rows in enumerate(_key_rows(conn, run_ids)):
        if slot == 1:
            for rid, k, v in rows:
                out[rid][1][k] = from_db(v)
        else:
            for rid, k, v in rows:
                out[rid][slot][k] = v
    return out


SQLITE_IN_CHUNK = 900  # under the 999 bound parameters of SQLite builds before 3.32


def _key_rows(conn, run_ids: list[str]):
    """(run_id, key, value) rows of params, latest metrics and tags of ``run_ids``."""
    tables = (s.params, s.latest_metrics, s.tags)
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.dbapi_connection.cursor()
        chunks = [run_ids[i:i + SQLITE_IN_CHUNK] for i in range(0, len(run_ids), SQLITE_IN_CHUNK)]
        try:
            for t in tables:  # table names come from the schema, the ids are bound
                rows = []
                for chunk in chunks:
                    sql = f"SELECT run_id, key, value FROM {t.name} WHERE run_id IN ({','.join('?' * len(chunk))})"
                    rows += cursor.execute(sql, chunk).fetchall()
                yield rows
        finally:
            cursor.close()
        return
    for t in tables:
        yield conn.execute(sa.select(t.c.run_id, t.c.key, t.c.value).where(t.c.run_id.in_(run_ids))).all()


def get_run(store: Store, run_id: str, *, with_data: bool = True) -> Run:
    run_id = normalize_id(run_id, "run id")
    with store.db.read() as conn:
        row = conn.execute(sa.select(s.runs).where(s.runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        if not with_data:
            return _run_from_row(row)
        params, metrics, tags = load_run_data(conn, [run_id])[run_id]
    return _run_from_row(row, params, metrics, tags)


def resolve_run_id(store: Store, ref: str) -> str:
    """A full id, or a unique prefix of at least 6 hex digits (as shown in tables)."""
    if not isinstance(ref, str):
        raise InvalidInput(f"run id must be a string, not {type(ref).__name__}")
    text = ref.strip().lower().replace("-", "")
    if len(text) == 32:
        return normalize_id(text, "run id")
    if len(text) < 6 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(f"{ref!r} is not a run id or a prefix of at least 6 hex digits")
    with store.db.read() as conn:
        ids = conn.execute(
            sa.select(s.runs.c.id).where(s.runs.c.id.like(text + "%")).limit(2)
        ).scalars().all()
    if not ids:
        raise NotFound(f"no run id starts with {text}")
    if len(ids) > 1:
        raise InvalidInput(f"run id prefix {text} is ambiguous; give more digits")
    return ids[0]


def require_running(conn, run_id: str) -> None:
    row = conn.execute(sa.select(s.runs.c.status).where(s.runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run with id {run_id}")
    if row.status != RUNNING:
        raise Conflict(
            f"run {run_id[:8]} is {row.status}; finished runs are immutable (start a new run)",
            run_id=run_id, status=row.status,
        )


def end_run(store: Store, run_id: str, status: str = FINISHED, *, error_type: str | None = None,
            error_message: str | None = None, end_time: int | None = None) -> Run:
    run_id = normalize_id(run_id, "run id")
    if status not in RUN_STATUSES or status == RUNNING:
        raise InvalidInput(f"a run ends FINISHED, FAILED or KILLED, not {status!r}")
    if status == FINISHED and (error_type or error_message):
        raise InvalidInput("a FINISHED run carries no error")
    with store.db.write() as conn:
        row = conn.execute(sa.select(s.runs.c.status).where(s.runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        if row.status == RUNNING:
            ts = end_time or now_ms()
            conn.execute(
                s.runs.update().where(s.runs.c.id == run_id).values(
                    status=status, end_time=ts, updated_at=ts, error_type=error_type,
                    error_message=(error_message or None) and error_message[:10_000],
                )
            )
        elif row.status != status:
            raise Conflict(f"run {run_id[:8]} already ended {row.status}")
    return get_run(store, run_id)


def reap_dead_runs(store: Store) -> list[str]:
    """Mark KILLED the runs on this host whose owning process is gone. Returns their ids."""
    r = s.runs
    with store.db.read() as conn:
        rows = conn.execute(
            sa.select(r.c.id, r.c.pid, r.c.pid_start).where(r.c.status == RUNNING, r.c.host == store.host)
        ).all()
    dead = [row.id for row in rows if row.pid and not _alive(row.pid, row.pid_start)]
    if not dead:
        return []
    with store.db.write() as conn:
        for run_id in dead:
            last = conn.execute(
                sa.select(sa.func.max(s.metrics.c.timestamp)).where(s.metrics.c.run_id == run_id)
            ).scalar()
            conn.execute(
                r.update().where(r.c.id == run_id, r.c.status == RUNNING).values(
                    status=KILLED, end_time=last or now_ms(), updated_at=now_ms(),
                    error_type="ProcessDied",
                    error_message="the process that owned this run ended without closing it",
                )
            )
    return dead


def _alive(pid: int, pid_start: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        if stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] in (b"Z", b"X"):
            return False  # exited, not yet reaped by its parent
    except (OSError, ValueError):
        pass
    if pid_start is not None:
        started = _process_start(pid)
        if started is not None and started != pid_start:
            return False  # the pid was reused by another process
        if started is None:
            return False
    return True


# --------------------------------------------------------------------------- params & tags


def log_params(store: Store, run_id: str, params: dict) -> None:
    run_id = normalize_id(run_id, "run id")
    if not isinstance(params, dict):
        raise InvalidInput(f"params must be a mapping, not {type(params).__name__}")
    rows = {check_key(str(k) if not isinstance(k, str) else k, "param key"): param_text(k, v)
            for k, v in params.items()}
    if not rows:
        return
    p = s.params
    with store.db.write() as conn:
        require_running(conn, run_id)
        existing = dict(
            conn.execute(
                sa.select(p.c.key, p.c.value).where(p.c.run_id == run_id, p.c.key.in_(list(rows)))
            ).all()
        )
        for key, value in rows.items():
            if key in existing and existing[key] != value:
                raise Conflict(
                    f"param {key!r} is already {existing[key]!r} in run {run_id[:8]}; params are "
                    f"immutable (tried {value!r})",
                    key=key, old=existing[key], new=value,
                )
        new = [{"run_id": run_id, "key": k, "value": v} for k, v in rows.items() if k not in existing]
        if new:
            conn.execute(p.insert(), new)


def _tag_rows(run_id: str, tags: dict | None) -> list[dict]:
    if tags is None:
        return []
    if not isinstance(tags, dict):
        raise InvalidInput(f"tags must be a mapping, not {type(tags).__name__}")
    rows = [{"run_id": run_id, "key": check_key(k, "tag key"), "value": str(v)} for k, v in tags.items()]
    for row in rows:
        if "\x00" in row["value"]:
            raise InvalidInput(f"tag {row['key']!r} contains a NUL character")
    return rows


def set_tags(store: Store, run_id: str, tags: dict) -> None:
    run_id = normalize_id(run_id, "run id")
    rows = _tag_rows(run_id, tags)
    with store.db.write() as conn:
        if conn.execute(sa.select(s.runs.c.id).where(s.runs.c.id == run_id)).first() is None:
            raise NotFound(f"no run with id {run_id}")
        for row in rows:
            conn.execute(s.tags.delete().where(s.tags.c.run_id == run_id, s.tags.c.key == row["key"]))
        if rows:
            conn.execute(s.tags.insert(), rows)


def delete_tag(store: Store, run_id: str, key: str) -> None:
    run_id = normalize_id(run_id, "run id")
    with store.db.write() as conn:
        res = conn.execute(s.tags.delete().where(s.tags.c.run_id == run_id, s.tags.c.key == key))
        if res.rowcount == 0:
            raise NotFound(f"run {run_id[:8]} has no tag {key!r}")


def child_runs(store: Store, run_id: str) -> list[Run]:
    run_id = normalize_id(run_id, "run id")
    with store.db.read() as conn:
        rows = conn.execute(
            sa.select(s.runs).where(s.runs.c.parent_run_id == run_id).order_by(s.runs.c.start_time)
        ).all()
        data = load_run_data(conn, [r.id for r in rows])
    return [_run_from_row(r, *data[r.id]) for r in rows]


def iter_ids(values: Iterable[str], what: str = "run id") -> list[str]:
    return [normalize_id(v, what) for v in values]
