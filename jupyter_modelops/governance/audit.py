"""The audit log: append-only, each entry chained to the previous one by its hash.

An entry's ``hash`` is the sha256 of its canonical JSON form — sequence number, id, time,
actor, action, subject and details (stored as the exact JSON text that was hashed) — and
the ``prev_hash`` of the entry before it. Editing an entry breaks its own hash; removing
one leaves a gap in the sequence and a dangling ``prev_hash``; inserting one means
renumbering the entries after it, which breaks theirs. ``verify`` walks the chain and
names the first bad entry.

``append`` must run inside the write transaction of the change it records
(``with store.db.write() as conn: ...change...; append(conn, store, ...)``), so the change
and its entry commit or roll back together. Appenders serialise on the write lock: SQLite's
``BEGIN IMMEDIATE`` and, on PostgreSQL, a transaction-level advisory lock taken before the
previous hash is read.

What the chain cannot prove on its own: that nobody with write access to the database
removed entries from the *end*, or appended well-formed forgeries there. Keep the head
(``verify(...).head_seq`` / ``head_hash``, or an exported file) somewhere else and compare
it with ``verify(store, anchor=(seq, hash))``.
"""

from __future__ import annotations

from operator import itemgetter

import hashlib
import json
import math
import threading
from typing import IO, Iterable, Iterator

import sqlalchemy as sa

from ..errors import InvalidInput
from ..ids import new_id, now_ms
from ..store import schema as s
from .records import AuditEntry, AuditReport

GENESIS = "0" * 64
ADVISORY_LOCK = 727_275          # pg_advisory_xact_lock key of the audit chain
MAX_TEXT = 300                    # longer strings in details are cut
MAX_ITEMS = 50                    # longer lists in details are cut (with a count)
A = s.audit_log


# --------------------------------------------------------------------------- hashing


def _plain(value, depth: int = 0):
    """Details as small, plain, finite JSON: no bytes, no NaN, bounded strings and lists."""
    if depth > 6:
        return "…"
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"… ({len(value)} chars)"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": len(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        out = [_plain(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            out.append(f"… {len(items) - MAX_ITEMS} more")
        return out
    if hasattr(value, "item"):  # numpy scalars
        try:
            return _plain(value.item(), depth)
        except Exception:  # noqa: BLE001
            pass
    return str(value)[:MAX_TEXT]


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(seq: int, id: str, at: int, actor: str, action: str, subject_type: str,
               subject_id: str, details: str, prev_hash: str) -> str:
    payload = canonical([int(seq), id, int(at), actor, action, subject_type, subject_id, details, prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _row_hash(row) -> str:
    m = row if isinstance(row, dict) else row._mapping
    return entry_hash(m["seq"], m["id"], m["at"], m["actor"], m["action"], m["subject_type"],
                      m["subject_id"], m["details"], m["prev_hash"])


def _entry(row) -> AuditEntry:
    m = row._mapping
    try:
        details = json.loads(m["details"])
    except (TypeError, ValueError):
        details = {"unreadable": str(m["details"])[:MAX_TEXT]}
    return AuditEntry(seq=m["seq"], id=m["id"], at=m["at"], actor=m["actor"], action=m["action"],
                      subject_type=m["subject_type"], subject_id=m["subject_id"], details=details,
                      prev_hash=m["prev_hash"], hash=m["hash"])


# --------------------------------------------------------------------------- writing


def _check_write_transaction(conn) -> None:
    if conn.dialect.name == "sqlite" and not conn.get_execution_options().get("modelops_write"):
        raise RuntimeError("audit.append must run inside store.db.write(), the transaction of "
                           "the change it records")
    if not conn.in_transaction():
        raise RuntimeError("audit.append must run inside a transaction")


def append(conn, store, action: str, subject_type: str, subject_id: str, details: dict | None = None,
           *, actor: str | None = None, id: str | None = None) -> AuditEntry:
    """Add an entry for ``action`` on ``subject_type``/``subject_id``, in ``conn``'s write
    transaction. ``actor`` defaults to ``store.user``. Details are kept small."""
    _check_write_transaction(conn)
    if not action or not subject_type:
        raise InvalidInput("an audit entry needs an action and a subject type")
    _chain_lock(conn)
    _flush_pending(conn, store)
    return _insert(conn, store, action, subject_type, subject_id, details, actor=actor, id=id)


def _chain_lock(conn) -> None:
    """Serialise appenders: SQLite's write transactions already are (BEGIN IMMEDIATE); on
    PostgreSQL a transaction-level advisory lock is taken before the previous hash is read."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")


def _insert(conn, store, action, subject_type, subject_id, details, *, actor=None, id=None) -> AuditEntry:
    last = conn.execute(sa.select(A.c.seq, A.c.hash, A.c.at).order_by(A.c.seq.desc()).limit(1)).first()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at = now_ms() if last is None else max(now_ms(), last.at)  # one order, even across clock steps
    rec = {"seq": seq, "id": id or new_id(), "at": at, "actor": str(actor or store.user)[:255],
           "action": str(action)[:64], "subject_type": str(subject_type)[:32],
           "subject_id": str(subject_id if subject_id is not None else "")[:255],
           "details": canonical(_plain(details or {})), "prev_hash": prev}
    rec["hash"] = _row_hash(rec)
    conn.execute(A.insert().values(**rec))
    return AuditEntry(**{**rec, "details": json.loads(rec["details"])})


def append_now(store, action: str, subject_type: str, subject_id: str, details: dict | None = None,
               *, actor: str | None = None) -> AuditEntry:
    """``append`` in a transaction of its own (or the enclosing one, if any)."""
    with store.db.write() as conn:
        return append(conn, store, action, subject_type, subject_id, details, actor=actor)


# --------------------------------------------------------------------------- entries that outlive a rollback
#
# A refused attempt rolls its transaction back, and when it ran inside an enclosing write
# transaction (``services.call`` wraps every write op in one), an entry appended there would
# roll back with it. ``append_after`` therefore keeps the entry pending: the next ``append``
# of this process writes it first (so it lands before whatever this process does next), and
# a helper thread writes it as soon as the enclosing transaction has let go of the write
# lock, whichever comes first. Both look the entry up by its id, so it is written once.

_pending: dict[str, dict] = {}        # entry id -> the entry still to write
_threads: list[threading.Thread] = []
_pending_lock = threading.Lock()


def _outside_transaction(store) -> bool:
    local = getattr(store.db, "_local", None)
    return not getattr(store.db, "in_write", False) and getattr(local, "conn", None) is None


def _write_pending(conn, store, item: dict) -> None:
    if conn.execute(sa.select(A.c.seq).where(A.c.id == item["id"])).first() is None:
        _insert(conn, store, item["action"], item["subject_type"], item["subject_id"], item["details"],
                actor=item["actor"], id=item["id"])


def _flush_pending(conn, store) -> None:
    if not _pending:
        return
    with _pending_lock:
        items = [i for i in _pending.values() if i["url"] == store.db.url]
    for item in sorted(items, key=lambda i: i["order"]):
        _write_pending(conn, store, item)


def append_after(store, action: str, subject_type: str, subject_id: str, details: dict | None = None,
                 *, actor: str | None = None) -> None:
    """Append in a transaction of its own, even from inside a transaction that is about to
    roll back (a refused attempt)."""
    item = {"id": new_id(), "action": action, "subject_type": subject_type, "subject_id": subject_id,
            "details": {**(details or {}), "attempted_at": now_ms()}, "actor": actor or store.user,
            "url": store.db.url, "order": now_ms()}
    if _outside_transaction(store):
        try:
            with store.db.write() as conn:
                _chain_lock(conn)
                _flush_pending(conn, store)
                _write_pending(conn, store, item)
        except Exception:  # noqa: BLE001 - never hide the refusal behind an audit failure
            pass
        return

    def write():
        try:
            with store.db.write() as conn:
                _chain_lock(conn)
                _write_pending(conn, store, item)
        except Exception:  # noqa: BLE001
            pass
        finally:
            with _pending_lock:
                _pending.pop(item["id"], None)

    thread = threading.Thread(target=write, name="modelops-audit-refusal")  # not daemon: exit waits
    with _pending_lock:
        _pending[item["id"]] = item
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()


def drain(timeout: float = 30.0) -> None:
    """Wait until the entries ``append_after`` keeps pending are written (call it outside
    any transaction: the helper threads need the write lock)."""
    with _pending_lock:
        threads = list(_threads)
    for t in threads:
        t.join(timeout)


# --------------------------------------------------------------------------- the generic hook


def _ids(values, limit: int = 10) -> list:
    """The first ``limit`` distinct values, in order (one pass at C speed: a metric batch
    holds tens of thousands of points of a handful of runs and keys)."""
    return list(dict.fromkeys(values))[:limit]


def _version_subject(kwargs, result) -> str:
    name = kwargs.get("name") or getattr(result, "name", "")
    number = getattr(result, "version", None) or kwargs.get("version")
    return f"{name}/{number}" if number is not None else str(name)


def describe_op(op: str, kwargs: dict, result=None) -> tuple[str, str, dict]:
    """(subject type, subject id, small details) for a write operation of the service table.

    Never blob bytes or metric arrays: counts and ids instead."""
    kw = dict(kwargs or {})
    rid = kw.get("run_id")
    if op == "create_experiment":
        return "experiment", getattr(result, "id", "") or kw.get("name", ""), {"name": kw.get("name")}
    if op == "create_run":
        return "run", getattr(result, "id", "") or "", {
            "experiment_id": getattr(result, "experiment_id", None), "name": getattr(result, "name", kw.get("name")),
            "parent_run_id": kw.get("parent_run_id")}
    if op == "end_run":
        return "run", rid or "", {"status": kw.get("status"), "error_type": kw.get("error_type")}
    if op == "log_params":
        params = kw.get("params") or {}
        return "run", rid or "", {"params": len(params), "keys": sorted(map(str, params))[:20]}
    if op == "set_tags":
        tags = kw.get("tags") or {}
        return "run", rid or "", {"tags": len(tags), "keys": sorted(map(str, tags))[:20]}
    if op == "delete_tag":
        return "run", rid or "", {"key": kw.get("key")}
    if op == "log_metric_points":
        points = list(kw.get("points") or [])
        runs = _ids(map(itemgetter(0), points))
        return "run", runs[0] if len(runs) == 1 else "*", {
            "points": len(points), "runs": runs, "keys": _ids(map(itemgetter(1), points), 20)}
    if op in ("put_artifact", "record_artifact"):
        return "run", rid or "", {"artifact": kw.get("name"), "digest": getattr(result, "digest", kw.get("digest")),
                                  "size": getattr(result, "size", kw.get("size"))}
    if op == "put_blob":
        res = result if isinstance(result, dict) else {}
        return "blob", res.get("digest", ""), {"size": res.get("size")}
    if op == "log_dataset":
        return "run", rid or "", {"dataset": kw.get("name"), "digest": kw.get("digest"),
                                  "context": kw.get("context", "training"), "rows": kw.get("num_rows")}
    if op in ("create_model", "update_model"):
        return "model", kw.get("name", ""), {"kind": kw.get("kind"), "owner": kw.get("owner"),
                                             "description_changed": kw.get("description") is not None,
                                             "tags": sorted(map(str, kw.get("tags") or {}))[:20]}
    if op == "create_version":
        return "model_version", _version_subject(kw, result), {
            "version_id": getattr(result, "id", None), "flavor": kw.get("flavor"),
            "manifest_digest": kw.get("manifest_digest"), "run_id": kw.get("run_id"),
            "trusted": kw.get("trusted"), "kind": kw.get("kind")}
    if op == "update_version":
        return "model_version", _version_subject(kw, result), {
            "description_changed": kw.get("description") is not None,
            "tags": sorted(map(str, kw.get("tags") or {}))[:20]}
    if op in ("set_alias", "delete_alias"):
        return "model", kw.get("name", ""), {"alias": kw.get("alias"),
                                             "version": kw.get("version") if op == "set_alias" else None}
    # Anything else: the argument names, with scalar values only.
    small = {k: v for k, v in kw.items() if isinstance(v, (str, int, float, bool)) or v is None}
    return "op", op, {"args": sorted(kw), **{k: small[k] for k in list(small)[:10]}}


def record_op(conn, store, op: str, kwargs: dict, result=None) -> AuditEntry:
    """Record a write operation of the service table (``services.call`` calls this for the
    tracking and registry writes), in ``conn``'s write transaction."""
    subject_type, subject_id, details = describe_op(op, kwargs, result)
    return append(conn, store, op, subject_type, subject_id, details)


# --------------------------------------------------------------------------- reading


def entries(store, *, subject_type: str | None = None, subject_id: str | None = None,
            action: str | None = None, actor: str | None = None, after: int = 0,
            limit: int = 1000, newest_first: bool = False) -> list[AuditEntry]:
    """Entries in chain order (``after`` a sequence number), optionally filtered."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
        raise InvalidInput("limit must be an integer from 1 to 100000")
    q = sa.select(A)
    if subject_type:
        q = q.where(A.c.subject_type == subject_type)
    if subject_id:
        q = q.where(A.c.subject_id == subject_id)
    if action:
        q = q.where(A.c.action == action) if not action.endswith("*") else q.where(
            A.c.action.startswith(action[:-1], autoescape=True))
    if actor:
        q = q.where(A.c.actor == actor)
    if after:
        q = q.where(A.c.seq > int(after))
    q = q.order_by(A.c.seq.desc() if newest_first else A.c.seq).limit(limit)
    _drain_outside(store)
    with store.db.read() as conn:
        return [_entry(r) for r in conn.execute(q)]


def _drain_outside(store) -> None:
    if _threads and not getattr(store.db, "in_write", False):
        drain()


def iter_rows(store, batch: int = 5000) -> Iterator[dict]:
    """Every entry as stored (a dict per row), in sequence order, read in batches."""
    _drain_outside(store)
    after = None
    while True:
        q = sa.select(A).order_by(A.c.seq).limit(batch)
        if after is not None:
            q = q.where(A.c.seq > after)
        with store.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        if not rows:
            return
        yield from rows
        after = rows[-1]["seq"]


def export(store, fh: IO[str], *, after: int = 0) -> int:
    """Write the log as JSON Lines (one stored entry per line, details as stored text, so
    the file can be verified on its own with ``verify_rows``). Returns the count."""
    n = 0
    for row in iter_rows(store):
        if row["seq"] <= after:
            continue
        fh.write(canonical(row) + "\n")
        n += 1
    return n


def read_export(lines: Iterable[str]) -> Iterator[dict]:
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InvalidInput(f"line {i} of the audit export is not JSON") from None
        if not isinstance(row, dict):
            raise InvalidInput(f"line {i} of the audit export is not an entry")
        yield row


# --------------------------------------------------------------------------- verifying


_FIELDS = ("seq", "id", "at", "actor", "action", "subject_type", "subject_id", "details",
           "prev_hash", "hash")
_WINDOW = 4096  # how far back a dangling link is looked up to tell an insertion from an edit


def verify_rows(rows: Iterable[dict], anchor: tuple[int, str] | None = None) -> AuditReport:
    """Check a chain of stored entries (from the database or an export)."""
    problems: list[dict] = []
    prev_seq, prev_hash, prev_id = 0, GENESIS, None
    recent: dict[str, tuple[int, str]] = {}  # stored hash -> (seq, id), for the last entries
    count = 0
    anchor_seen = False

    def bad(seq, id_, problem):
        problems.append({"seq": seq, "id": id_, "problem": problem})

    for row in rows:
        count += 1
        missing = [f for f in _FIELDS if f not in row]
        if missing:
            bad(row.get("seq"), row.get("id"), f"malformed entry (lacks {', '.join(missing)})")
            continue
        seq, id_ = row["seq"], row["id"]
        if seq != prev_seq + 1:
            if seq <= prev_seq:
                bad(seq, id_, f"entry #{seq} is out of order (after #{prev_seq})")
            else:
                gap = f"#{prev_seq + 1}" if seq == prev_seq + 2 else f"#{prev_seq + 1}–#{seq - 1}"
                bad(prev_seq + 1, None, f"entry {gap} was removed (entry #{seq} follows #{prev_seq})")
        actual = _row_hash(row)
        if row["prev_hash"] != prev_hash and seq == prev_seq + 1:
            if row["prev_hash"] in recent:
                linked = recent[row["prev_hash"]][0]
                first = linked + 1
                inserted = f"#{first}" + (f"–#{prev_seq}" if prev_seq > first else "")
                first_id = next((i for h, (n, i) in recent.items() if n == first), None)
                bad(first, first_id, f"entry {inserted} was inserted: entry #{seq} links to #{linked}")
            else:
                bad(prev_seq, prev_id, f"entry #{prev_seq} was changed and re-hashed, or entries after it "
                                       f"were removed: entry #{seq} does not link to it")
        if actual != row["hash"]:
            bad(seq, id_, f"entry #{seq} was edited: its content no longer matches its hash")
        try:
            json.loads(row["details"])
        except (TypeError, ValueError):
            bad(seq, id_, f"entry #{seq} has unreadable details")
        if anchor is not None and seq == anchor[0]:
            anchor_seen = True
            if row["hash"] != anchor[1]:
                bad(seq, id_, f"entry #{seq} is not the anchored entry (hash {row['hash'][:12]}…, "
                              f"anchor {anchor[1][:12]}…)")
        recent[row["hash"]] = (seq, id_)
        if len(recent) > _WINDOW:
            recent.pop(next(iter(recent)))
        prev_seq, prev_hash, prev_id = seq, row["hash"], id_
    if anchor is not None and not anchor_seen:
        bad(anchor[0], None, f"anchored entry #{anchor[0]} is gone (the log has {prev_seq} entries): "
                             "entries were removed from the end")
    # The insertion diagnosis above names the inserted entry; an "edited" finding on the
    # renumbered entries after it is a consequence, reported but not first.
    problems.sort(key=lambda p: (p["seq"] if isinstance(p["seq"], int) else 0))
    return AuditReport(ok=not problems, entries=count, head_seq=prev_seq or None,
                       head_hash=prev_hash if prev_seq else "",
                       first_bad=problems[0] if problems else None, problems=problems[:100])


def verify(store, anchor: tuple[int, str] | None = None) -> AuditReport:
    """Walk the stored chain; ``ok`` is False when any entry was edited, inserted or removed."""
    return verify_rows(iter_rows(store), anchor=anchor)
