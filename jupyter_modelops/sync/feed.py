"""Pull: the registry's change feed, and the merge of what it returns into a local store.

The feed is table-driven. Each pulled table has a time column that every change of a row
moves forward (``updated_at``, or ``created_at``/``changed_at`` for append-only tables);
the client keeps one cursor ``(time, primary key)`` per table and asks for the rows after
it, ordered by that pair, a page at a time (``changes``). Each page also carries:

- ``refs``: the rows the page's rows point at through foreign keys (their model, version,
  request...), so a page can always be applied on its own;
- ``aliases``: the full alias set of every model whose ``alias_events`` are in the page
  (an alias move or deletion is an event; the set is replaced as a whole).

A row's time is set by the registry's clock when its transaction writes it, but it becomes
visible only at commit; a later pull therefore starts ``OVERLAP_MS`` before the newest
time seen, and applying a row twice changes nothing. Deletions are not in the feed
(nothing pulled is ever deleted on the registry, except aliases, handled above).

Merging (``apply_page``), in one local write transaction:

- models match by *name*: a local model whose id differs from the registry's (both sides
  created it offline) is re-keyed to the registry's id, with everything that points at it;
- versions match by id and take the registry's number; a local *provisional* version (not
  yet on the registry) whose number the registry gave to another version is renumbered to
  the next free local number — it gets its canonical number when it is pushed;
- everything else is upserted by primary key: the registry owns governance state.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import InvalidInput
from ..ids import now_ms
from ..store import schema as s

OVERLAP_MS = 5 * 60 * 1000
MAX_PAGE = 5000

# (table, time column), in the order the merge applies them.
FEED = (
    ("registered_models", "updated_at"),
    ("model_versions", "updated_at"),
    ("alias_events", "changed_at"),
    ("model_governance", "updated_at"),
    ("model_cards", "updated_at"),
    ("deployment_requests", "updated_at"),
    ("request_reviews", "created_at"),
    ("governance_evidence", "created_at"),
    ("lifecycle_events", "created_at"),
    # Tables of capabilities still being built join when their schema has them.
    ("deployments", "updated_at"),
    ("monitors", "updated_at"),
    ("monitor_events", "created_at"),
)
# Tables whose rows may be sent as references (never pulled rows of other kinds: runs stay local).
REF_TABLES = frozenset(t for t, _ in FEED)


def feed_tables() -> list[tuple[sa.Table, sa.Column]]:
    out = []
    for name, col in FEED:
        table = s.metadata.tables.get(name)
        if table is not None and col in table.c and len(table.primary_key.columns) == 1:
            out.append((table, table.c[col]))
    return out


def _pk(table: sa.Table) -> sa.Column:
    return list(table.primary_key.columns)[0]


def _plain(row) -> dict:
    return dict(row._mapping)


# --------------------------------------------------------------------------- registry side


def changes(store, cursors: dict | None = None, limit: int = 1000) -> dict:
    """One page of the change feed after ``cursors`` ({table: [time, key]})."""
    if cursors is not None and not isinstance(cursors, dict):
        raise InvalidInput("cursors must map table names to [time, key]")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_PAGE}")
    cursors = cursors or {}
    tables: dict[str, dict] = {}
    refs: dict[str, dict[str, dict]] = {}
    aliases: dict[str, list[dict]] = {}
    with store.db.read() as conn:
        for table, tcol in feed_tables():
            pk = _pk(table)
            cur = cursors.get(table.name) or [0, ""]
            if not (isinstance(cur, (list, tuple)) and len(cur) == 2 and isinstance(cur[0], int)):
                raise InvalidInput(f"cursor of {table.name} must be [time, key]")
            t, k = cur[0], str(cur[1])
            rows = conn.execute(
                sa.select(table).where(sa.or_(tcol > t, sa.and_(tcol == t, pk > k)))
                .order_by(tcol, pk).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = [_plain(r) for r in rows[:limit]]
            nxt = [rows[-1][tcol.name], str(rows[-1][pk.name])] if rows else [t, k]
            tables[table.name] = {"rows": rows, "cursor": nxt, "more": more}
            _collect_refs(conn, table, rows, refs)
        events = tables.get("alias_events", {}).get("rows", [])
        model_ids = sorted({e["model_id"] for e in events})
        if model_ids:
            A = s.model_aliases
            for mid in model_ids:
                aliases[mid] = []
            for row in conn.execute(sa.select(A).where(A.c.model_id.in_(model_ids))):
                aliases[row.model_id].append(_plain(row))
            _collect_refs(conn, A, [r for rs in aliases.values() for r in rs], refs)
    return {"tables": tables, "refs": {t: list(rows.values()) for t, rows in refs.items()},
            "aliases": aliases, "now": now_ms()}


def _collect_refs(conn, table: sa.Table, rows: list[dict], refs: dict, depth: int = 0) -> None:
    """Add the rows that ``rows`` point at (through foreign keys, recursively) to ``refs``."""
    if not rows or depth > 4:
        return
    for fk in table.foreign_keys:
        target = fk.column.table
        if target.name not in REF_TABLES or len(target.primary_key.columns) != 1:
            continue
        have = refs.setdefault(target.name, {})
        keys = sorted({r[fk.parent.name] for r in rows if r.get(fk.parent.name) is not None} - set(have))
        if not keys:
            continue
        new = []
        for i in range(0, len(keys), 500):
            for row in conn.execute(sa.select(target).where(fk.column.in_(keys[i:i + 500]))):
                d = _plain(row)
                have[str(d[_pk(target).name])] = d
                new.append(d)
        _collect_refs(conn, target, new, refs, depth + 1)


# --------------------------------------------------------------------------- local side: helpers


def model_reference_columns() -> list[sa.Column]:
    """Every column that holds a registered model's id (foreign keys and plain model_id)."""
    M = s.registered_models
    cols = []
    for table in s.metadata.sorted_tables:
        if table is M:
            continue
        for col in table.columns:
            if any(fk.column is M.c.id for fk in col.foreign_keys) or col.name == "model_id":
                cols.append(col)
    return cols


def rekey_model(conn, old_id: str, new_id: str, row: dict | None = None) -> None:
    """Give the local model ``old_id`` the registry's id ``new_id`` (same name)."""
    M = s.registered_models
    local = conn.execute(sa.select(M).where(M.c.id == old_id)).first()
    if local is None or old_id == new_id:
        return
    values = dict(local._mapping)
    if row:
        values.update({k: v for k, v in row.items() if k in M.c})
    values["id"] = new_id
    conn.execute(M.update().where(M.c.id == old_id).values(name=f"~rekey~{old_id}"))
    if conn.execute(sa.select(M.c.id).where(M.c.id == new_id)).first() is None:
        conn.execute(M.insert().values(**values))
    else:
        conn.execute(M.update().where(M.c.id == new_id).values(**{k: v for k, v in values.items() if k != "id"}))
    for col in model_reference_columns():
        conn.execute(col.table.update().where(col == old_id).values({col.name: new_id}))
    conn.execute(M.delete().where(M.c.id == old_id))


def place_versions(conn, model_id: str, canonical: dict[str, int]) -> list[str]:
    """Free the numbers ``canonical`` ({version id: number}) gives out and set them.

    Local versions in the way are moved aside; the provisional ones among them (not in
    ``canonical``) are returned for ``renumber_provisional``. Versions in ``canonical``
    that do not exist locally yet are left to the caller to insert."""
    V = s.model_versions
    local = dict(conn.execute(sa.select(V.c.id, V.c.version).where(V.c.model_id == model_id)).all())
    claimed = {num: vid for vid, num in canonical.items()}
    displaced = [vid for vid, num in local.items()
                 if (vid in canonical and canonical[vid] != num) or (vid not in canonical and num in claimed)]
    low = min([0, *local.values()])
    for i, vid in enumerate(displaced):
        conn.execute(V.update().where(V.c.id == vid).values(version=low - 1 - i))
    for vid in displaced:
        if vid in canonical:
            conn.execute(V.update().where(V.c.id == vid).values(version=canonical[vid]))
    return [vid for vid in displaced if vid not in canonical]


def renumber_provisional(conn, model_id: str, ids: list[str]) -> None:
    if not ids:
        return
    V = s.model_versions
    rows = conn.execute(sa.select(V.c.id).where(V.c.id.in_(ids)).order_by(V.c.created_at, V.c.id)).scalars().all()
    nxt = (conn.execute(sa.select(sa.func.max(V.c.version)).where(V.c.model_id == model_id)).scalar() or 0) + 1
    for vid in rows:
        conn.execute(V.update().where(V.c.id == vid).values(version=max(nxt, 1)))
        nxt = max(nxt, 1) + 1


def set_canonical_number(conn, version_id: str, number: int) -> None:
    V = s.model_versions
    mid = conn.execute(sa.select(V.c.model_id).where(V.c.id == version_id)).scalar()
    if mid is None:
        return
    renumber_provisional(conn, mid, place_versions(conn, mid, {version_id: number}))


# --------------------------------------------------------------------------- local side: merge


def _known(table: sa.Table, row: dict) -> dict:
    return {k: v for k, v in row.items() if k in table.c}


def _upsert(conn, table: sa.Table, rows: list[dict], keep: dict | None = None) -> int:
    """Insert or update by primary key; ``keep`` {key: columns} leaves those columns of
    existing rows as they are."""
    if not rows:
        return 0
    keep = keep or {}
    pk = _pk(table)
    keys = [r[pk.name] for r in rows]
    have = set()
    for i in range(0, len(keys), 500):
        have.update(conn.execute(sa.select(pk).where(pk.in_(keys[i:i + 500]))).scalars())
    inserts = [_known(table, r) for r in rows if r[pk.name] not in have]
    for r in rows:
        if r[pk.name] in have:
            skip = keep.get(r[pk.name], ())
            conn.execute(table.update().where(pk == r[pk.name]).values(
                **{k: v for k, v in _known(table, r).items() if k != pk.name and k not in skip}))
    seen = set()
    unique = []
    for r in inserts:
        if r[pk.name] not in seen:
            seen.add(r[pk.name])
            unique.append(r)
    if unique:
        conn.execute(table.insert(), unique)
    return len(rows)


def _pending_edits(conn) -> tuple[set[str], set[str]]:
    """Models (by name) and versions (by id) whose description or tags a queued local change
    edits: pull leaves those fields alone until the change has been pushed."""
    from .outbox import PENDING, loads

    O = s.sync_outbox
    models, versions = set(), set()
    for op, payload in conn.execute(sa.select(O.c.op, O.c.payload).where(
            O.c.status == PENDING, O.c.op.in_(("update_model", "update_version")))):
        args = loads(payload)
        if op == "update_model":
            models.add(args.get("name"))
        else:
            versions.add(args.get("version_id"))
    return models, versions


_EDITABLE = ("description", "tags")


def _merge_models(conn, rows: list[dict]) -> None:
    M = s.registered_models
    edited, _ = _pending_edits(conn)
    for row in {r["id"]: r for r in rows}.values():
        row = _known(M, row)
        if row.get("name") in edited:
            row = {k: v for k, v in row.items() if k not in _EDITABLE}
        if conn.execute(sa.select(M.c.id).where(M.c.id == row["id"])).first() is not None:
            clash = conn.execute(sa.select(M.c.id).where(M.c.name == row["name"], M.c.id != row["id"])).scalar()
            if clash:  # another local model holds the name: park it under a temporary name
                conn.execute(M.update().where(M.c.id == clash).values(name=f"~local~{clash}"))
            conn.execute(M.update().where(M.c.id == row["id"]).values(**{k: v for k, v in row.items() if k != "id"}))
            continue
        same_name = conn.execute(sa.select(M.c.id).where(M.c.name == row["name"])).scalar()
        if same_name:
            rekey_model(conn, same_name, row["id"], row)
        else:
            conn.execute(M.insert().values(**row))


def _merge_versions(conn, rows: list[dict]) -> None:
    V = s.model_versions
    _, edited = _pending_edits(conn)
    by_model: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_model.setdefault(r["model_id"], {})[r["id"]] = _known(V, r)
    for mid, incoming in by_model.items():
        provisional = place_versions(conn, mid, {vid: r["version"] for vid, r in incoming.items()})
        _upsert(conn, V, list(incoming.values()), keep={vid: _EDITABLE for vid in incoming if vid in edited})
        renumber_provisional(conn, mid, provisional)


def _pending_alias_models(conn) -> set[str]:
    from .outbox import PENDING, loads

    O = s.sync_outbox
    names = set()
    for payload in conn.execute(sa.select(O.c.payload).where(O.c.status == PENDING,
                                                              O.c.op.in_(("set_alias", "delete_alias")))).scalars():
        names.add(loads(payload).get("name"))
    if not names:
        return set()
    M = s.registered_models
    return set(conn.execute(sa.select(M.c.id).where(M.c.name.in_(sorted(n for n in names if n)))).scalars())


def _merge_aliases(conn, aliases: dict[str, list[dict]]) -> None:
    A, V = s.model_aliases, s.model_versions
    skip = _pending_alias_models(conn)
    for mid, rows in aliases.items():
        if mid in skip:
            continue  # a local alias change is on its way to the registry: keep it until then
        vids = {r["version_id"] for r in rows}
        if vids and len(set(conn.execute(sa.select(V.c.id).where(V.c.id.in_(sorted(vids)))).scalars())) != len(vids):
            continue
        conn.execute(A.delete().where(A.c.model_id == mid))
        if rows:
            conn.execute(A.insert(), [_known(A, r) for r in rows])


def versions_in(page: dict) -> list[dict]:
    rows = list(page.get("refs", {}).get("model_versions", []))
    rows += page.get("tables", {}).get("model_versions", {}).get("rows", [])
    return rows


def apply_page(store, page: dict) -> int:
    """Merge one page of ``changes`` into the local store (one write transaction)."""
    tables = page.get("tables", {})
    refs = page.get("refs", {})
    order = {name: i for i, name in enumerate(t.name for t in s.metadata.sorted_tables)}
    n = 0
    with store.db.write() as conn:
        models = refs.get("registered_models", []) + tables.get("registered_models", {}).get("rows", [])
        _merge_models(conn, models)
        _merge_versions(conn, versions_in(page))
        n += len(tables.get("registered_models", {}).get("rows", [])) + len(
            tables.get("model_versions", {}).get("rows", []))
        others = sorted((set(refs) | set(tables)) - {"registered_models", "model_versions"},
                        key=lambda name: order.get(name, 1 << 30))
        for name in others:
            table = s.metadata.tables.get(name)
            if table is None:
                continue  # the registry is newer than this package: skip what we cannot store
            rows = refs.get(name, []) + tables.get(name, {}).get("rows", [])
            _upsert(conn, table, rows)
            n += len(tables.get(name, {}).get("rows", []))
        _merge_aliases(conn, page.get("aliases", {}))
    return n
