"""The registry side of a push: a batch of outbox entries, applied exactly once.

``apply_batch`` runs inside the one write transaction ``services.call`` opens for the
``sync_apply`` operation:

1. *claim*: every entry id is inserted into ``sync_applied`` (``ON CONFLICT DO NOTHING``);
   ids that were there already (a batch sent again after a timeout or a crash) are not
   applied again — their first outcome is returned. A concurrent push of the same ids
   waits on the row locks and then finds them claimed;
2. *apply*, fast path: the entries are grouped by kind in an order that keeps every
   dependency (experiments, runs, params/tags/datasets/artifacts, metric points, run ends,
   then registry changes in their original order) and applied in bulk (one INSERT per
   table, ``COPY`` for metric points on PostgreSQL) inside a savepoint;
3. if any entry is refused (a ``ModelOpsError``: a param that would change, a run that is
   not running, a missing blob, a role the user lacks), the savepoint is rolled back and the
   entries are applied one by one in their original order, each in its own savepoint; the
   refused ones are recorded as ``rejected`` with the error, the others applied;
4. the outcomes are written to ``sync_applied`` in the same transaction.

Tracking rules are the same as the services' (params immutable, data only into RUNNING
runs, finished runs immutable); registry changes go through the registry services
themselves, and every write hook (the audit log) sees each of them. Tracking entries are
covered by the one audit entry of the ``sync_apply`` operation (origin, entry count and
op counts, checked here), not one per metric batch.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter

import sqlalchemy as sa

from ..errors import Conflict, InvalidInput, ModelOpsError, NotFound
from ..ids import new_id, normalize_id, now_ms
from ..store import schema as s
from ..tracking.records import FINISHED, RUN_STATUSES, RUNNING
from ..tracking.validation import check_key, check_name
from .outbox import REGISTRY_OPS, SYNCED_OPS

log = logging.getLogger("jupyter_modelops.sync")

MAX_BATCH_BYTES = 256 << 20     # decompressed
MAX_ENTRIES = 50_000
APPLIED, REJECTED, DUPLICATE = "applied", "rejected", "duplicate"
REGISTRY_LOCK = 727_276         # pg_advisory_xact_lock key: one pusher of registry changes at a time

SA = s.sync_applied
PHASE = {
    "create_experiment": 0, "create_run": 1, "log_params": 2, "set_tags": 3, "delete_tag": 3,
    "log_dataset": 4, "record_artifact": 5, "log_metric_points": 6, "end_run": 7,
    **{op: 8 for op in REGISTRY_OPS},
}
BULK = frozenset({"create_run", "log_params", "log_metric_points", "end_run"})


# --------------------------------------------------------------------------- decoding


def encode_batch(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 1)


def op_summary(entries) -> str:
    counts = Counter(e["op"] for e in entries)
    return ",".join(f"{op}:{n}" for op, n in sorted(counts.items()))


def decode_batch(batch) -> dict:
    if not isinstance(batch, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"a sync batch is compressed bytes, not {type(batch).__name__}")
    d = zlib.decompressobj()
    try:
        raw = d.decompress(bytes(batch), MAX_BATCH_BYTES)
    except zlib.error as exc:
        raise InvalidInput(f"the sync batch is not zlib-compressed JSON: {exc}") from None
    if d.unconsumed_tail:
        raise InvalidInput(f"the sync batch is larger than {MAX_BATCH_BYTES >> 20} MiB uncompressed")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the sync batch is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise InvalidInput("a sync batch is an object with an 'entries' list")
    if len(data["entries"]) > MAX_ENTRIES:
        raise InvalidInput(f"a sync batch holds at most {MAX_ENTRIES} entries")
    seen = set()
    entries = []
    for e in data["entries"]:
        if not isinstance(e, dict) or not isinstance(e.get("kwargs"), dict) or not isinstance(e.get("op"), str):
            raise InvalidInput("a sync entry is {id, op, created_at, kwargs}")
        e["id"] = normalize_id(e.get("id"), "sync entry id")
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        entries.append(e)
    data["entries"] = entries
    return data


# --------------------------------------------------------------------------- entry point


def apply_batch(store, batch: bytes, origin: str, entries: int | None = None, ops: str | None = None) -> dict:
    """Apply a pushed batch exactly once; returns counts and the per-entry outcomes that
    are not a plain success (rejections with their error, results such as the canonical
    number of a new version)."""
    origin = normalize_id(origin, "sync origin")
    data = decode_batch(batch)
    items = data["entries"]
    if entries is not None and entries != len(data["entries"]):
        raise InvalidInput(f"the batch holds {len(items)} entries, not the {entries} announced")
    if ops is not None and ops != op_summary(items):
        raise InvalidInput("the batch's operations differ from the summary announced")
    with store.db.write() as conn:
        claimed, previous = _claim(conn, store, origin, items)
        todo = [e for e in items if e["id"] in claimed]
        outcomes = _apply(conn, store, todo) if todo else {}
        _record(conn, outcomes)
    results = {}
    for entry_id, out in outcomes.items():
        if out.get("status") != APPLIED or out.get("result"):
            results[entry_id] = out
    for entry_id, out in previous.items():
        results[entry_id] = {**out, "duplicate": True}
    n_rejected = sum(1 for o in outcomes.values() if o["status"] == REJECTED)
    return {"applied": len(outcomes) - n_rejected, "rejected": n_rejected, "duplicates": len(previous),
            "results": results}


def _claim(conn, store, origin: str, items: list[dict]) -> tuple[set[str], dict[str, dict]]:
    ts, by = now_ms(), str(store.user)[:255]
    ids = [e["id"] for e in items]
    claimed: set[str] = set()
    if conn.dialect.name == "postgresql":
        # One statement; a concurrent push of the same ids waits on their row locks, then
        # finds them taken (ON CONFLICT DO NOTHING returns only the rows it inserted).
        for i in range(0, len(items), 10_000):
            chunk = items[i:i + 10_000]
            claimed.update(conn.exec_driver_sql(
                "INSERT INTO sync_applied (entry_id, origin, op, status, applied_by, applied_at) "
                "SELECT e, %(origin)s, o, 'applied', %(by)s, %(ts)s "
                "FROM unnest(%(ids)s::varchar[], %(ops)s::varchar[]) AS t(e, o) "
                "ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id",
                {"origin": origin, "by": by, "ts": ts, "ids": [e["id"] for e in chunk],
                 "ops": [e["op"][:64] for e in chunk]}).scalars())
    else:  # SQLite: writers are serialised, so look first, then insert the rest
        have = set()
        for i in range(0, len(ids), 500):
            have.update(conn.execute(sa.select(SA.c.entry_id).where(SA.c.entry_id.in_(ids[i:i + 500]))).scalars())
        rows = [{"entry_id": e["id"], "origin": origin, "op": e["op"][:64], "status": APPLIED, "error": None,
                 "result": None, "applied_by": by, "applied_at": ts} for e in items if e["id"] not in have]
        if rows:
            conn.execute(SA.insert(), rows)
        claimed = {r["entry_id"] for r in rows}
    others = [i for i in ids if i not in claimed]
    previous = {}
    for i in range(0, len(others), 1000):
        for row in conn.execute(sa.select(SA.c.entry_id, SA.c.status, SA.c.error, SA.c.result)
                                .where(SA.c.entry_id.in_(others[i:i + 1000]))):
            previous[row.entry_id] = {"status": row.status, "error": row.error, "result": row.result}
    return claimed, previous


def _insert_rows(conn, table: sa.Table, rows: list[dict]) -> None:
    """Many rows into ``table``: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    cols = list(rows[0])
    as_json = [isinstance(table.c[c].type, sa.JSON) for c in cols]
    names = ", ".join(f'"{c}"' for c in cols)
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([json.dumps(r[c], default=str) if j else r[c]
                                for c, j in zip(cols, as_json)])


def _record(conn, outcomes: dict[str, dict]) -> None:
    rows = [{"eid": k, "st": o["status"], "err": o.get("error"), "res": o.get("result")}
            for k, o in outcomes.items() if o["status"] != APPLIED or o.get("result")]
    if rows:
        conn.execute(SA.update().where(SA.c.entry_id == sa.bindparam("eid"))
                     .values(status=sa.bindparam("st"), error=sa.bindparam("err"), result=sa.bindparam("res")),
                     rows)


def _transient(exc: BaseException) -> bool:
    """Errors of the moment (database unreachable or restarting): the whole batch fails and
    the pusher sends it again later. Anything else an entry causes is that entry's refusal."""
    from ..errors import StoreUnavailable

    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.InternalError,
                            StoreUnavailable)) or not isinstance(exc, Exception)


def _refusal(exc: BaseException) -> str:
    if isinstance(exc, ModelOpsError):
        return f"{type(exc).__name__}: {exc.message}"
    if not isinstance(exc, sa.exc.SQLAlchemyError):
        log.exception("a sync entry failed unexpectedly")
    return f"{type(exc).__name__}: {str(getattr(exc, 'orig', exc)).splitlines()[0][:500]}"


def _apply(conn, store, todo: list[dict]) -> dict[str, dict]:
    try:
        with conn.begin_nested():
            return _apply_all(conn, store, todo, reorder=True)
    except Exception as exc:
        if _transient(exc):
            raise
    out: dict[str, dict] = {}
    for e in todo:  # one by one, in the order they happened, to find the refused ones
        try:
            with conn.begin_nested():
                out.update(_apply_all(conn, store, [e], reorder=False))
        except Exception as exc:
            if _transient(exc):
                raise
            out[e["id"]] = {"status": REJECTED, "error": _refusal(exc)}
    return out


def _apply_all(conn, store, items: list[dict], *, reorder: bool) -> dict[str, dict]:
    from .. import services

    for op in {e["op"] for e in items}:
        if op not in SYNCED_OPS:
            raise InvalidInput(f"operation {op!r} is not synced to the registry")
        services.authorize(store, op)
    if reorder:
        items = [e for _, e in sorted(enumerate(items), key=lambda ie: (PHASE[ie[1]["op"]], ie[0]))]
    if conn.dialect.name == "postgresql" and any(e["op"] in REGISTRY_OPS for e in items):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({REGISTRY_LOCK})")
    out: dict[str, dict] = {}
    i = 0
    while i < len(items):
        op = items[i]["op"]
        j = i + 1
        if op in BULK:
            while j < len(items) and items[j]["op"] == op:
                j += 1
        group = items[i:j]
        results = HANDLERS[op](conn, store, group)
        for e in group:
            out[e["id"]] = {"status": APPLIED, "result": (results or {}).get(e["id"])}
        i = j
    return out


# --------------------------------------------------------------------------- helpers


def _id(value, what: str) -> str:
    return normalize_id(value, what)


def _int(value, what: str, default=None):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer")
    return value


def _text(value, what: str, limit: int, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value


def _obj(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a mapping")
    return value


def _statuses(conn, run_ids) -> dict[str, str]:
    run_ids = list(run_ids)
    out = {}
    for i in range(0, len(run_ids), 1000):
        out.update(conn.execute(sa.select(s.runs.c.id, s.runs.c.status)
                                .where(s.runs.c.id.in_(run_ids[i:i + 1000]))).all())
    return out


def _require_running(conn, run_ids) -> None:
    status = _statuses(conn, run_ids)
    for rid in run_ids:
        st = status.get(rid)
        if st is None:
            raise NotFound(f"no run with id {rid}")
        if st != RUNNING:
            raise Conflict(f"run {rid[:8]} is {st}; finished runs are immutable", run_id=rid, status=st)


def _hooks(conn, store, op: str, kwargs: dict, result) -> None:
    from .. import services
    from .outbox import record

    for hook in services.WRITE_HOOKS:
        if hook is not record:
            hook(conn, store, op, kwargs, result)


# --------------------------------------------------------------------------- tracking


def _create_experiments(conn, store, group):
    E = s.experiments
    out = {}
    for e in group:
        kw = e["kwargs"]
        eid = _id(kw.get("id"), "experiment id")
        name = check_name(kw.get("name"), "experiment name")
        row = conn.execute(sa.select(E.c.id).where(sa.or_(E.c.id == eid, E.c.name == name))).first()
        if row is None:
            ts = _int(kw.get("created_at"), "created_at", now_ms())
            conn.execute(E.insert().values(id=eid, name=name, description=_text(kw.get("description"), "description", 100_000),
                                           tags=_obj(kw.get("tags"), "tags"), created_at=ts, updated_at=now_ms()))
            row_id = eid
        else:
            row_id = row.id  # the registry's experiment of that name (experiments match by name)
        if row_id != eid:
            out[e["id"]] = {"experiment_id": row_id}
    return out


def _experiment_ids(conn, names: dict[str, str | None]) -> dict[str, str]:
    """Registry experiment id by name, creating the missing ones (with the pusher's id when
    it is free: experiments match by name, ids converge where they can)."""
    E = s.experiments
    found = dict((n, i) for i, n in conn.execute(sa.select(E.c.id, E.c.name).where(E.c.name.in_(list(names)))))
    ts = now_ms()
    for name in sorted(set(names) - set(found)):
        eid = names[name]
        if not eid or conn.execute(sa.select(E.c.id).where(E.c.id == eid)).first() is not None:
            eid = new_id()
        # Another pusher may create it at the same moment: wait for it rather than fail.
        stmt = _insert(conn)(E).values(id=eid, name=name, description="", tags={}, created_at=ts, updated_at=ts)
        conn.execute(stmt.on_conflict_do_nothing())
        found[name] = conn.execute(sa.select(E.c.id).where(E.c.name == name)).scalar_one()
    return found


def _insert(conn):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _actor(store, value) -> str:
    """Who a replayed change names: as sent when an admin pushes (replaying a teammate's
    changes), else the authenticated pusher — nobody records changes in another's name."""
    if "admin" in store.roles and isinstance(value, str) and value:
        return value[:255]
    return store.user


def _create_runs(conn, store, group):
    from ..tracking.runs import DEFAULT_EXPERIMENT

    rows, tag_rows = [], []
    ids = [_id(e["kwargs"].get("id"), "run id") for e in group]
    existing = set()
    for i in range(0, len(ids), 1000):
        existing.update(conn.execute(sa.select(s.runs.c.id).where(s.runs.c.id.in_(ids[i:i + 1000]))).scalars())
    todo = []
    for rid, e in zip(ids, group):
        if rid in existing:
            continue  # idempotent by record id
        existing.add(rid)
        todo.append((rid, e["kwargs"]))
    if not todo:
        return {}
    names: dict[str, str | None] = {}
    for _, kw in todo:
        name = check_name(kw.get("experiment") or DEFAULT_EXPERIMENT, "experiment name")
        names.setdefault(name, _id(kw["experiment_id"], "experiment id") if kw.get("experiment_id") else None)
    exp_ids = _experiment_ids(conn, names)
    ts = now_ms()
    for rid, kw in todo:
        start = _int(kw.get("start_time"), "start_time", ts)
        rows.append({
            "id": rid, "experiment_id": exp_ids[check_name(kw.get("experiment") or DEFAULT_EXPERIMENT)],
            "parent_run_id": _id(kw["parent_run_id"], "parent run id") if kw.get("parent_run_id") else None,
            "name": check_name(kw.get("name"), "run name"), "status": RUNNING,
            "user": _actor(store, kw.get("user")),
            "host": _text(kw.get("host"), "host", 255) or "unknown",
            "pid": None, "pid_start": None,  # never reaped by the registry's host
            "start_time": start, "end_time": None, "error_type": None, "error_message": None,
            "source": _text(kw.get("source"), "source", 1024), "code_hash": _text(kw.get("code_hash"), "code hash", 64),
            "provenance": _obj(kw.get("provenance"), "provenance"), "updated_at": ts,
        })
        for k, v in _obj(kw.get("tags"), "tags").items():
            tag_rows.append({"run_id": rid, "key": check_key(k, "tag key"), "value": str(v)})
    _insert_rows(conn, s.runs, rows)
    _insert_rows(conn, s.tags, tag_rows)
    return {}


def _log_params(conn, store, group):
    from ..store.schema import PARAM_VALUE

    P = s.params
    wanted: list[tuple[str, str, str]] = []
    for e in group:
        kw = e["kwargs"]
        rid = _id(kw.get("run_id"), "run id")
        for k, v in _obj(kw.get("params"), "params").items():
            wanted.append((rid, check_key(k, "param key"), _text(v, f"param {k!r}", PARAM_VALUE)))
    run_ids = sorted({w[0] for w in wanted})
    _require_running(conn, run_ids)
    have: dict[tuple[str, str], str] = {}
    for i in range(0, len(run_ids), 500):
        for rid, k, v in conn.execute(sa.select(P.c.run_id, P.c.key, P.c.value).where(P.c.run_id.in_(run_ids[i:i + 500]))):
            have[(rid, k)] = v
    new = []
    for rid, k, v in wanted:
        cur = have.get((rid, k))
        if cur is None:
            have[(rid, k)] = v
            new.append({"run_id": rid, "key": k, "value": v})
        elif cur != v:
            raise Conflict(f"param {k!r} is already {cur!r} in run {rid[:8]}; params are immutable (tried {v!r})",
                           key=k, old=cur, new=v)
    _insert_rows(conn, P, new)
    return {}


def _tags(conn, store, group):
    from ..tracking import runs

    for e in group:
        kw = e["kwargs"]
        if e["op"] == "set_tags":
            runs.set_tags(store, kw.get("run_id"), _obj(kw.get("tags"), "tags"))
        else:
            try:
                runs.delete_tag(store, kw.get("run_id"), kw.get("key"))
            except NotFound:
                pass  # gone already: the result the entry asked for
    return {}


def _datasets(conn, store, group):
    from ..tracking import datasets

    for e in group:
        kw = dict(e["kwargs"])
        did = _id(kw.get("id"), "dataset id")
        if conn.execute(sa.select(s.datasets.c.id).where(s.datasets.c.id == did)).first() is None:
            datasets.record_dataset(store, kw.pop("run_id", None), kw.pop("name", None), kw.pop("digest", ""),
                                    context=kw.get("context") or "training", source=kw.get("source") or "",
                                    schema=kw.get("schema"), num_rows=kw.get("num_rows"),
                                    profile=kw.get("profile"), id=did)
    return {}


def _artifacts(conn, store, group):
    from ..tracking import artifacts

    for e in group:
        kw = e["kwargs"]
        artifacts.record_artifact(store, kw.get("run_id"), kw.get("name"), kw.get("digest"),
                                  _int(kw.get("size"), "size", 0), kw.get("media_type"))
    return {}


def _series(kwargs) -> list:
    """A log_metric_points entry as series ``[run_id, key, steps, timestamps, values]``
    (the outbox's columnar form; plain point lists are accepted too)."""
    if "series" in kwargs:
        series = kwargs["series"]
        if not isinstance(series, list):
            raise InvalidInput("metric series must be a list")
        return series
    points = kwargs.get("points")
    if not isinstance(points, list):
        raise InvalidInput("metric points must be a list")
    out: dict = {}
    for p in points:
        if not isinstance(p, list) or len(p) != 5:
            raise InvalidInput("a metric point is [run_id, key, step, timestamp, value]")
        cols = out.setdefault((p[0], p[1]), [[], [], []])
        cols[0].append(p[2])
        cols[1].append(p[3])
        cols[2].append(p[4])
    return [[r, k, *cols] for (r, k), cols in out.items()]


def _is_int(x) -> bool:
    return type(x) is int


def _metric_points(conn, store, group):
    from ..tracking import metrics as mt

    run_ids: dict[str, str] = {}
    keys: set[str] = set()
    checked = []
    latest: dict[tuple[str, str], tuple] = {}
    n = 0
    for e in group:
        for item in _series(e["kwargs"]):
            if not isinstance(item, list) or len(item) != 5:
                raise InvalidInput("a metric series is [run_id, key, steps, timestamps, values]")
            rid, key, steps, stamps, values = item
            r = run_ids.get(rid)
            if r is None:
                r = run_ids[rid] = _id(rid, "run id")
            if key not in keys:
                keys.add(check_key(key, "metric key"))
            if not (isinstance(steps, list) and isinstance(stamps, list) and isinstance(values, list)
                    and len(steps) == len(stamps) == len(values)):
                raise InvalidInput("a metric series has as many steps, timestamps and values")
            if not (all(map(_is_int, steps)) and all(map(_is_int, stamps))):
                raise InvalidInput("metric steps and timestamps must be integers")
            if not all(type(v) is float for v in values):
                if any(v is None or isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
                    raise InvalidInput(f"metric {key!r} values must be numbers")
                values = [float(v) for v in values]
            if not steps:
                continue
            checked.append((r, key, steps, stamps, values))
            n += len(steps)
            best = max(zip(steps, stamps, range(len(steps))))
            cur = latest.get((r, key))
            if cur is None or (best[0], best[1]) >= (cur[2], cur[3]):
                latest[(r, key)] = (r, key, best[0], best[1], values[best[2]])
    if not n:
        return {}
    _require_running(conn, set(run_ids.values()))
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy("COPY metrics (run_id, key, step, timestamp, value) FROM STDIN") as copy:
                write = copy.write_row
                for r, key, steps, stamps, values in checked:
                    for st, ts, v in zip(steps, stamps, values):
                        write((r, key, st, ts, None if v != v else v))
        rows = list(latest.values())
        conn.exec_driver_sql(
            'INSERT INTO latest_metrics (run_id, key, step, "timestamp", value) '
            "SELECT * FROM unnest(%(r)s::varchar[], %(k)s::varchar[], %(s)s::bigint[], %(t)s::bigint[], "
            "%(v)s::float8[]) ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, "
            '"timestamp" = excluded."timestamp", value = excluded.value '
            "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
            'AND excluded."timestamp" >= latest_metrics."timestamp")',
            {"r": [x[0] for x in rows], "k": [x[1] for x in rows], "s": [x[2] for x in rows],
             "t": [x[3] for x in rows], "v": [None if x[4] != x[4] else x[4] for x in rows]})
    else:
        conn.exec_driver_sql(mt._INSERT[conn.dialect.name], [
            (r, key, st, ts, None if v != v else v)
            for r, key, steps, stamps, values in checked for st, ts, v in zip(steps, stamps, values)])
        mt._upsert_latest(conn, conn.dialect.name, list(latest.values()))
    return {}


def _end_runs(conn, store, group):
    ends = []
    for e in group:
        kw = e["kwargs"]
        rid = _id(kw.get("run_id"), "run id")
        status = kw.get("status") or FINISHED
        if status not in RUN_STATUSES or status == RUNNING:
            raise InvalidInput(f"a run ends FINISHED, FAILED or KILLED, not {status!r}")
        ends.append((rid, status, kw))
    current = _statuses(conn, {r for r, _, _ in ends})
    rows = []
    ts = now_ms()
    for rid, status, kw in ends:
        cur = current.get(rid)
        if cur is None:
            raise NotFound(f"no run with id {rid}")
        if cur == RUNNING:
            msg = kw.get("error_message")
            rows.append({"rid": rid, "st": status, "et": _int(kw.get("end_time"), "end_time", ts), "ts": ts,
                         "etype": _text(kw.get("error_type"), "error type", 255, None),
                         "emsg": msg[:10_000] if isinstance(msg, str) and msg else None})
            current[rid] = status
        elif cur != status:
            raise Conflict(f"run {rid[:8]} already ended {cur}")
    if rows and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE runs SET status = v.st, end_time = v.et, updated_at = %(ts)s, error_type = v.etype, "
            "error_message = v.emsg FROM unnest(%(rid)s::varchar[], %(st)s::varchar[], %(et)s::bigint[], "
            "%(etype)s::varchar[], %(emsg)s::text[]) AS v(rid, st, et, etype, emsg) "
            "WHERE runs.id = v.rid AND runs.status = 'RUNNING'",
            {"ts": ts, **{k: [r[k] for r in rows] for k in ("rid", "st", "et", "etype", "emsg")}})
    elif rows:
        R = s.runs
        conn.execute(R.update().where(R.c.id == sa.bindparam("rid"), R.c.status == RUNNING).values(
            status=sa.bindparam("st"), end_time=sa.bindparam("et"), updated_at=sa.bindparam("ts"),
            error_type=sa.bindparam("etype"), error_message=sa.bindparam("emsg")), rows)
    return {}


# --------------------------------------------------------------------------- registry


def _version_by_id(conn, version_id) -> tuple[str, int]:
    V, M = s.model_versions, s.registered_models
    vid = _id(version_id, "version id")
    row = conn.execute(sa.select(M.c.name, V.c.version).join(M, M.c.id == V.c.model_id).where(V.c.id == vid)).first()
    if row is None:
        raise NotFound(f"no model version with id {vid} in the registry")
    return row.name, row.version


def _registry(conn, store, group):
    from ..registry import models
    from ..registry.validation import check_model_name

    M = s.registered_models
    out = {}
    for e in group:
        op, kw = e["op"], dict(e["kwargs"])
        if op == "create_model":
            name = check_model_name(kw.get("name"))
            row = conn.execute(sa.select(M.c.id).where(M.c.name == name)).first()
            if row is None:
                kwargs = {"name": name, "kind": kw.get("kind") or "ml", "description": kw.get("description") or "",
                          "owner": _actor(store, kw.get("owner")), "tags": kw.get("tags"), "id": kw.get("id")}
                result = models.create_model(store, **kwargs)
                _hooks(conn, store, op, kwargs, result)
                model_id = result.id
            else:
                model_id = row.id  # models match by name: the registry's record stays
            out[e["id"]] = {"model_id": model_id}
        elif op == "update_model":
            kwargs = {"name": kw.get("name"), "description": kw.get("description"), "tags": kw.get("tags")}
            result = models.update_model(store, **kwargs)
            _hooks(conn, store, op, kwargs, result)
        elif op == "create_version":
            name = check_model_name(kw.get("name"))
            if conn.execute(sa.select(M.c.id).where(M.c.name == name)).first() is None and kw.get("model_id"):
                mk = {"name": name, "kind": kw.get("kind") or "ml", "owner": _actor(store, kw.get("user")),
                      "id": kw["model_id"]}
                _hooks(conn, store, "create_model", mk, models.create_model(store, **mk))
            kwargs = {k: kw.get(k) for k in ("name", "flavor", "manifest_digest", "run_id", "signature", "lineage",
                                             "tags", "kind", "id", "user")}
            kwargs["description"] = kw.get("description") or ""
            kwargs["trusted"] = bool(kw.get("trusted"))
            kwargs["user"] = _actor(store, kw.get("user"))
            result = models.create_version(store, **kwargs)
            _hooks(conn, store, op, kwargs, result)
            out[e["id"]] = {"version": result.version, "model_id": result.model_id}
        elif op == "update_version":
            name, number = _version_by_id(conn, kw.get("version_id"))
            kwargs = {"name": name, "version": number, "description": kw.get("description"), "tags": kw.get("tags")}
            result = models.update_version(store, **kwargs)
            _hooks(conn, store, op, kwargs, result)
        elif op == "set_alias":
            name, number = _version_by_id(conn, kw.get("version_id"))
            kwargs = {"name": name, "alias": kw.get("alias"), "version": number, "user": _actor(store, kw.get("user"))}
            result = models.set_alias(store, **kwargs)
            _hooks(conn, store, op, kwargs, result)
            out[e["id"]] = {"version": number}
        elif op == "delete_alias":
            kwargs = {"name": kw.get("name"), "alias": kw.get("alias"), "user": _actor(store, kw.get("user"))}
            try:
                models.delete_alias(store, **kwargs)
            except NotFound:
                continue  # no such alias on the registry: nothing to delete
            _hooks(conn, store, op, kwargs, None)
    return out


HANDLERS = {
    "create_experiment": _create_experiments, "create_run": _create_runs, "log_params": _log_params,
    "set_tags": _tags, "delete_tag": _tags, "log_dataset": _datasets, "record_artifact": _artifacts,
    "log_metric_points": _metric_points, "end_run": _end_runs,
    **{op: _registry for op in REGISTRY_OPS},
}
