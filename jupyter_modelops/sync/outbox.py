"""The outbox: local changes waiting to be pushed to the shared registry.

``record`` is a ``services.WRITE_HOOKS`` entry: inside the transaction of every write op it
appends ``(entry id, op, replay arguments, created_at)`` to ``sync_outbox`` — but only when
the store is *linked* (a registry URL is configured); an unlinked store pays one attribute
lookup per write. The replay arguments are the op's own arguments completed with what the
op created or resolved (record ids, the experiment's name, the run's start time, the
version's id instead of its local number), so the registry can apply the entry with the
same ids and meaning. Only tracking and registry ops are queued: governance decisions are
taken on the registry (see README.md).
"""

from __future__ import annotations

import json
from typing import Iterable

import sqlalchemy as sa

from ..ids import new_id, now_ms
from ..store import schema as s

O, ST = s.sync_outbox, s.sync_state

PENDING, REJECTED = "pending", "rejected"

TRACKING_OPS = ("create_experiment", "create_run", "end_run", "log_params", "set_tags", "delete_tag",
                "log_metric_points", "record_artifact", "log_dataset")
REGISTRY_OPS = ("create_model", "update_model", "create_version", "update_version", "set_alias",
                "delete_alias")
SYNCED_OPS = frozenset(TRACKING_OPS + REGISTRY_OPS)


# --------------------------------------------------------------------------- JSON


def _default(value):
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": len(value)}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


def dumps(value) -> str:
    """Compact JSON that keeps NaN/±inf (metric values) as JSON extensions Python reads back."""
    return json.dumps(value, separators=(",", ":"), allow_nan=True, default=_default)


def loads(text: str):
    return json.loads(text)


# --------------------------------------------------------------------------- linked?

_ATTR = "_modelops_sync_linked"


def set_linked(store, linked: bool | None) -> None:
    """Force (True/False) or reset (None: ask the config again) whether ``store`` queues."""
    setattr(store.db, _ATTR, linked)


def is_linked(store) -> bool:
    flag = getattr(store.db, _ATTR, None)
    if flag is None:
        from ..config import load_config

        try:
            flag = bool(load_config().resolved_registry()[0])
        except Exception:  # noqa: BLE001 - a broken config file must not break writes
            flag = False
        setattr(store.db, _ATTR, flag)
    return flag


# --------------------------------------------------------------------------- replay arguments


def _experiment_name(conn, experiment_id: str) -> str | None:
    return conn.execute(sa.select(s.experiments.c.name).where(s.experiments.c.id == experiment_id)).scalar()


def replay_args(conn, op: str, kw: dict, result) -> dict | None:
    """What the registry needs to repeat ``op`` with the same ids; None: not synced."""
    from ..tracking.validation import param_text

    if op == "create_experiment":
        return {"id": result.id, "name": result.name, "description": result.description,
                "tags": result.tags, "created_at": result.created_at}
    if op == "create_run":
        return {"id": result.id, "experiment": _experiment_name(conn, result.experiment_id),
                "experiment_id": result.experiment_id,
                "name": result.name, "parent_run_id": result.parent_run_id, "tags": result.tags,
                "source": result.source, "code_hash": result.code_hash, "provenance": result.provenance,
                "user": result.user, "host": result.host, "start_time": result.start_time}
    if op == "end_run":
        return {"run_id": result.id, "status": result.status, "error_type": result.error_type,
                "error_message": result.error_message, "end_time": result.end_time}
    if op == "log_params":
        params = {str(k): param_text(str(k), v) for k, v in (kw.get("params") or {}).items()}
        return {"run_id": kw["run_id"].replace("-", "").lower(), "params": params} if params else None
    if op == "set_tags":
        tags = {str(k): str(v) for k, v in (kw.get("tags") or {}).items()}
        return {"run_id": kw["run_id"].replace("-", "").lower(), "tags": tags} if tags else None
    if op == "delete_tag":
        return {"run_id": kw["run_id"].replace("-", "").lower(), "key": kw["key"]}
    if op == "log_metric_points":
        # Columnar, one series per (run, key): a third of the bytes of point lists.
        series: dict[tuple[str, str], list[list]] = {}
        for run_id, key, step, ts, value in kw.get("points") or ():
            cols = series.get((run_id, key))
            if cols is None:
                cols = series[(run_id, key)] = [[], [], []]
            cols[0].append(step)
            cols[1].append(ts)
            cols[2].append(value)
        return {"series": [[r, k, *cols] for (r, k), cols in series.items()]} if series else None
    if op == "record_artifact":
        return {"run_id": kw["run_id"].replace("-", "").lower(), "name": result.path,
                "digest": result.digest, "size": result.size, "media_type": result.media_type,
                "created_at": result.created_at}
    if op == "log_dataset":
        return {"id": result.id, "run_id": result.run_id, "name": result.name, "digest": result.digest,
                "context": result.context, "source": result.source, "schema": result.schema,
                "num_rows": result.num_rows, "profile": result.profile}
    if op == "create_model":
        return {"id": result.id, "name": result.name, "kind": result.kind,
                "description": result.description, "owner": result.owner, "tags": result.tags}
    if op == "update_model":
        return {"name": kw["name"], "description": kw.get("description"), "tags": kw.get("tags")}
    if op == "create_version":
        return {"id": result.id, "name": result.name, "model_id": result.model_id,
                "flavor": result.flavor, "manifest_digest": result.manifest_digest,
                "run_id": result.run_id, "signature": result.signature, "lineage": result.lineage,
                "description": result.description, "tags": result.tags, "trusted": result.trusted,
                "kind": kw.get("kind"), "user": result.created_by, "local_version": result.version}
    if op == "update_version":
        return {"name": kw["name"], "version_id": result.id, "description": kw.get("description"),
                "tags": kw.get("tags")}
    if op == "set_alias":
        return {"name": kw["name"], "alias": kw["alias"], "version_id": result.id, "user": kw.get("user")}
    if op == "delete_alias":
        return {"name": kw["name"], "alias": kw["alias"], "user": kw.get("user")}
    return None


MAX_POINTS_PER_ENTRY = 50_000  # a huge metric batch becomes several entries (request size)


def record(conn, store, op: str, kwargs: dict, result) -> None:
    """``services.WRITE_HOOKS`` entry: queue the change when the store is linked."""
    if op not in SYNCED_OPS or not is_linked(store):
        return
    args = replay_args(conn, op, kwargs, result)
    if args is None:
        return
    if op == "log_metric_points":
        for part in _split_series(args["series"]):
            enqueue(conn, op, {"series": part})
        return
    enqueue(conn, op, args)


def _split_series(series: list) -> list[list]:
    """Series cut into parts of at most ``MAX_POINTS_PER_ENTRY`` points."""
    parts, part, room = [], [], MAX_POINTS_PER_ENTRY
    for run_id, key, steps, stamps, values in series:
        i = 0
        while i < len(steps):
            take = min(room, len(steps) - i)
            part.append([run_id, key, steps[i:i + take], stamps[i:i + take], values[i:i + take]])
            i += take
            room -= take
            if room == 0:
                parts.append(part)
                part, room = [], MAX_POINTS_PER_ENTRY
    if part:
        parts.append(part)
    return parts


_ENQUEUE = {
    "sqlite": "INSERT INTO sync_outbox (id, op, payload, size, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
    "postgresql": "INSERT INTO sync_outbox (id, op, payload, size, status, created_at) "
                  "VALUES (%s, %s, %s, %s, 'pending', %s)",
}


def enqueue(conn, op: str, args: dict, *, entry_id: str | None = None) -> str:
    payload = dumps(args)
    entry_id = entry_id or new_id()
    conn.exec_driver_sql(_ENQUEUE[conn.dialect.name], (entry_id, op, payload, len(payload), now_ms()))
    return entry_id


# --------------------------------------------------------------------------- reading and acknowledging


def pending_count(store) -> tuple[int, int, int]:
    """(pending entries, their bytes, rejected entries)."""
    with store.db.read() as conn:
        rows = dict(((st, (n, b)) for st, n, b in conn.execute(
            sa.select(O.c.status, sa.func.count(), sa.func.coalesce(sa.func.sum(O.c.size), 0))
            .group_by(O.c.status))))
    n, b = rows.get(PENDING, (0, 0))
    return int(n), int(b), int(rows.get(REJECTED, (0, 0))[0])


def last_seq(store) -> int:
    with store.db.read() as conn:
        return conn.execute(sa.select(sa.func.max(O.c.seq))).scalar() or 0


def read_batch(store, *, max_bytes: int, max_entries: int, upto: int | None = None) -> list[dict]:
    """The oldest pending entries (up to sequence number ``upto``), at most ``max_entries``
    and about ``max_bytes`` (always at least one)."""
    out, total, after = [], 0, 0
    chunk = min(max_entries, 2000)
    while len(out) < max_entries:
        with store.db.read() as conn:
            rows = conn.execute(
                sa.select(O.c.seq, O.c.id, O.c.op, O.c.payload, O.c.size, O.c.created_at)
                .where(O.c.status == PENDING, O.c.seq > after, O.c.seq <= (upto if upto is not None else 1 << 62))
                .order_by(O.c.seq).limit(chunk)
            ).all()
        if not rows:
            break
        for r in rows:
            if out and (total + r.size > max_bytes or len(out) >= max_entries):
                return out
            out.append({"seq": r.seq, "id": r.id, "op": r.op, "payload": r.payload,
                        "size": r.size, "created_at": r.created_at})
            total += r.size
        after = rows[-1].seq
    return out


def remove(conn, ids: Iterable[str]) -> None:
    ids = list(ids)
    for i in range(0, len(ids), 500):
        conn.execute(O.delete().where(O.c.id.in_(ids[i:i + 500])))


def mark_rejected(conn, errors: dict[str, str]) -> None:
    for entry_id, error in errors.items():
        conn.execute(O.update().where(O.c.id == entry_id).values(status=REJECTED, error=str(error)[:10_000]))


def rejected(store, limit: int = 100) -> list[dict]:
    with store.db.read() as conn:
        rows = conn.execute(sa.select(O.c.id, O.c.op, O.c.payload, O.c.error, O.c.created_at)
                            .where(O.c.status == REJECTED).order_by(O.c.seq).limit(limit)).all()
    return [{"id": r.id, "op": r.op, "args": loads(r.payload), "error": r.error,
             "created_at": r.created_at} for r in rows]


def retry_rejected(store) -> int:
    """Queue the rejected entries again (e.g. after a role was granted on the registry)."""
    with store.db.write() as conn:
        return conn.execute(O.update().where(O.c.status == REJECTED)
                            .values(status=PENDING, error=None)).rowcount


# --------------------------------------------------------------------------- sync state (key -> JSON)


def get_state(store_or_conn, key: str, default=None):
    def read(conn):
        v = conn.execute(sa.select(ST.c.value).where(ST.c.key == key)).scalar()
        return default if v is None else v

    if hasattr(store_or_conn, "db"):
        with store_or_conn.db.read() as conn:
            return read(conn)
    return read(store_or_conn)


def set_state(conn, key: str, value) -> None:
    ts = now_ms()
    if conn.execute(ST.update().where(ST.c.key == key).values(value=value, updated_at=ts)).rowcount == 0:
        conn.execute(ST.insert().values(key=key, value=value, updated_at=ts))


def origin_id(store) -> str:
    """This store's id as a sync origin (made on first use)."""
    value = get_state(store, "origin")
    if value:
        return value
    with store.db.write() as conn:
        value = get_state(conn, "origin")
        if not value:
            value = new_id()
            set_state(conn, "origin", value)
    return value


# --------------------------------------------------------------------------- runs ended without an op


def sweep_reaped_runs(store) -> int:
    """Queue an ``end_run`` for runs marked KILLED when their process died (``reap_dead_runs``
    ends them without a service op, so no hook saw it). Idempotent on the registry."""
    from ..tracking.records import KILLED

    r = s.runs
    mark = get_state(store, "reaped_swept_until")
    if mark is None:  # first sweep: from the oldest queued change on (not the store's history)
        with store.db.write() as conn:
            mark = conn.execute(sa.select(sa.func.min(O.c.created_at))).scalar() or now_ms()
            set_state(conn, "reaped_swept_until", mark)
    with store.db.read() as conn:
        rows = conn.execute(sa.select(r.c.id, r.c.status, r.c.error_type, r.c.error_message, r.c.end_time,
                                      r.c.updated_at)
                            .where(r.c.status == KILLED, r.c.error_type == "ProcessDied",
                                   r.c.updated_at >= mark).order_by(r.c.updated_at)).all()
    if not rows:
        return 0
    with store.db.write() as conn:
        for row in rows:
            enqueue(conn, "end_run", {"run_id": row.id, "status": row.status, "error_type": row.error_type,
                                      "error_message": row.error_message, "end_time": row.end_time})
        set_state(conn, "reaped_swept_until", rows[-1].updated_at + 1)
    return len(rows)
