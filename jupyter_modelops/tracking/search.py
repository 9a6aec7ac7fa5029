"""Run search: compile a parsed filter (``filter.py``) to SQLAlchemy Core and pick a plan.

The run table of the sidebar calls this for every page, so it must stay fast on stores of
100k runs with an entity-attribute-value layout (one row per run and key). How:

- every metric, param or tag key the filter or sort mentions gets its own alias of
  ``latest_metrics`` / ``params`` / ``tags``, joined on the primary key ``(run_id, key)``:
  INNER when a top-level ``and`` term needs the key, else LEFT so that ``or``, ``not``
  and ``is null`` see runs without it. Inside ``or``, key comparisons become
  ``runs.id IN (SELECT run_id ...)`` so SQLite can union index lookups instead of
  scanning every run. Under ``not``, comparisons are guarded with ``IS NOT NULL``: a
  comparison on a missing key is false, never unknown.
- Plans (``_page_ids``): a search scoped to a few thousand runs (a small experiment, a
  parent's children) sorts them all; a search sorted by a metric, param, tag or start
  time walks that key's index in samples and stops as soon as the page is certain
  (``_top_ids``); anything else runs as one query and lets SQLite choose. The walk and the
  scope fix their join order with ``CROSS JOIN`` because SQLite, without statistics,
  believes any equality on an index is selective and would start from it.
- Sorting puts NULLs (missing keys, NaN metrics) last in both directions and breaks ties
  on ``start_time DESC, id``, so every plan yields the same total order and pages are
  stable. The page is chosen on ids only; its rows, params, metrics and tags are then
  read with a few ``IN`` queries.
- Page tokens are opaque offsets bound to a fingerprint of the query, so a token reused
  with another filter or order is refused instead of silently skipping runs.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import itertools
import json

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from ..errors import InvalidInput, NotFound
from ..store import schema as s
from ..store.store import Store
from .filter import (
    NULL_OPS,
    And,
    Compare,
    Field,
    Node,
    Not,
    Or,
    OrderKey,
    fields_of,
    parse_filter,
    parse_order_by,
)
from .records import RUN_STATUSES, Run

MAX_LIMIT = 10_000
MAX_JOINED_KEYS = 40  # SQLite joins at most 64 tables
_KEY_TABLES = {"metric": s.latest_metrics, "param": s.params, "tag": s.tags}
_DEFAULT_ORDER = [OrderKey(Field("attribute", "start_time"), descending=True)]


def search_runs(store: Store, filter: str | None = None, *, experiment_ids=None,
                experiment_names=None, order_by: list[str] | None = None, limit: int = 100,
                page_token: str | None = None, status=None,
                parent_run_id: str | None = None) -> tuple[list[Run], str | None]:
    """Runs matching ``filter`` (see ``filter.py``), best first, one page at a time.

    ``experiment_ids`` / ``experiment_names`` / ``status`` take one value or a list.
    Returns ``(runs, next_page_token)``; the token is None on the last page. Runs carry
    their params, latest metrics and tags.
    """
    from .runs import _run_from_row, load_run_data

    limit = _check_limit(limit)
    query = _Query(store, filter, experiment_ids, experiment_names, order_by, status, parent_run_id)
    offset = _read_token(page_token, query.fingerprint)
    with store.db.read() as conn:
        ids = _page_ids(conn, query, offset, limit + 1)
        more = len(ids) > limit
        ids = ids[:limit]
        rows = {r.id: r for r in conn.execute(sa.select(s.runs).where(s.runs.c.id.in_(ids)))} if ids else {}
        data = load_run_data(conn, ids)
    runs = [_run_from_row(rows[i], *data[i]) for i in ids if i in rows]
    return runs, (_make_token(offset + limit, query.fingerprint) if more else None)


def count_runs(store: Store, filter: str | None = None, experiment_ids=None, *,
               experiment_names=None, status=None, parent_run_id: str | None = None,
               max_count: int | None = None) -> int:
    """How many runs ``search_runs`` would return across all pages.

    Counting touches every match; ``max_count`` stops early (the UI shows "1000+").
    An exact count intersects index ranges (``IN`` subqueries); a capped one joins, so
    that it can stop at the cap.
    """
    query = _Query(store, filter, experiment_ids, experiment_names, None, status, parent_run_id)
    with store.db.read() as conn:
        scope = _small_scope(conn, query, counting=True)
        sql = _Sql(query, top=scope, sample=False, counting=scope is None and max_count is None)
        src = sql.from_(s.runs if scope is None else scope, filter_only=True)
        stmt = sa.select(sa.literal(1)).select_from(src).where(*sql.where)
        if max_count is not None:
            stmt = stmt.limit(_check_limit(max_count, "max_count", 10**9))
        return conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()


def explain(store: Store, filter: str | None = None, *, limit: int = 100, **kwargs) -> list[str]:
    """The plan of each statement a search runs (SQLite ``EXPLAIN QUERY PLAN``), for
    benchmarks and debugging."""
    query = _Query(store, filter, kwargs.get("experiment_ids"), kwargs.get("experiment_names"),
                   kwargs.get("order_by"), kwargs.get("status"), kwargs.get("parent_run_id"))
    lines: list[str] = []
    with store.db.read() as conn:
        scope = _small_scope(conn, query)
        if scope is not None:
            lines.append(f"all runs of the experiments (at most {SMALL_SCOPE}):")
            lines += _plan(conn, _Sql(query, top=scope, sample=False).select_ids().limit(limit + 1))
        elif _top_ids(conn, query, limit + 1, trace=lines) is None:
            lines.append("full query:")
            lines += _plan(conn, _Sql(query).select_ids().limit(limit + 1))
    return lines


def _plan(conn, stmt) -> list[str]:
    if conn.dialect.name != "sqlite":
        return []
    compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    return ["    " + r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)]


# --------------------------------------------------------------------------- planning

MAX_PROBE = 8_000  # runs a search may sample in sort order before the full query is cheaper
SMALL_SCOPE = 3_000  # runs of the chosen experiments that one sort handles quickly
_FIRST_SAMPLE = 8  # x rows wanted: a filter that keeps 1 run in 8 needs one sample
_MIN_SAMPLE = 800
_START = Field("attribute", "start_time")


def _page_ids(conn, query: "_Query", offset: int, count: int) -> list[str]:
    """Ids of runs ``offset .. offset+count`` in search order."""
    scope = _small_scope(conn, query)
    if scope is None:
        ids = _top_ids(conn, query, offset + count)
        if ids is not None:
            return ids[offset:]
    stmt = _Sql(query, top=scope, sample=False).select_ids().limit(count).offset(offset)
    return list(conn.execute(stmt).scalars())


def _small_scope(conn, query: "_Query", counting: bool = False):
    """The runs of the chosen experiments (or parent) as a subquery to drive from, when
    there are at most ``SMALL_SCOPE`` of them; else None.

    Sorting a few thousand runs beats walking a key shared with the rest of the store,
    and SQLite, lacking statistics, would often start from a filter's index instead.
    Searches in start-time order keep walking the (experiment, start_time) index.
    """
    if query.exp_ids is None and query.parent is None:
        return None
    if not counting and query.order[0].field == _START:
        return None
    rt = s.runs.alias("rt")
    where = query.run_conditions(rt, with_status=False)
    probe = sa.select(sa.literal(1)).select_from(rt).where(*where).limit(SMALL_SCOPE + 1).subquery()
    if conn.execute(sa.select(sa.func.count()).select_from(probe)).scalar_one() > SMALL_SCOPE:
        return None
    return sa.select(rt.c.id.label("id")).where(*where).subquery("top")


def _top_ids(conn, query: "_Query", need: int, trace: list | None = None,
             budget: list | None = None) -> list[str] | None:
    """The first ``need`` ids in search order, found by walking the first sort key; or None.

    The full query collects and sorts every match, which costs a few microseconds per
    match; but a page of a filtered search sorted by a metric, param, tag or start time
    is usually among the first few hundred runs in that order. So take the next ``m``
    runs by the first sort key alone (an index range), filter and sort only those, and
    keep the matches that sort strictly before the m-th key value: no run outside the
    sample can precede them. Repeat from that value with ``m`` sized by the hit rate so
    far. When one key value fills a whole sample (a param with few values), that group
    is ordered by the next sort keys the same way. Past ``MAX_PROBE`` sampled runs the
    filter is selective and the full query is the better plan: return None.
    """
    key = query.order[0]
    if key.field == _START and query.tree is None and not query.statuses:
        return None  # the full query streams the start-time index already
    if not _drivable(key.field) or need * 4 > MAX_PROBE:
        return None
    budget = budget if budget is not None else [MAX_PROBE]
    ids: list[str] = []
    edge = None
    m = max(_FIRST_SAMPLE * need, _MIN_SAMPLE)
    while len(ids) < need:
        want = need - len(ids)
        m = min(m, budget[0])
        if m < want:
            return None
        budget[0] -= m
        top, bounds = query.sample(m, edge)
        stmt = _Sql(query, top=top).select_ids(with_key=True).limit(want)
        if trace is not None:
            start = "" if edge is None else f" from {edge[0]!r}"
            trace.append(f"sample of {m} runs by {key.field}{start}:")
            trace.extend(_plan(conn, stmt))
        rows = conn.execute(stmt).all()
        first, last = conn.execute(bounds).one()
        if last is None:  # the sample reached the last run that has the key
            ids += [r.id for r in rows]
            return ids[:need] if len(ids) >= need or query.key_required(key.field) else None
        if first == last:  # one value fills the sample: order its group by the next keys
            ids += _group_ids(conn, query, last, want, trace, budget)
            edge = (last, False)
            continue
        better = [r.id for r in rows if (r.v > last if key.descending else r.v < last)]
        if not better:
            return None
        ids += better
        edge = (last, True)
        m = max(m, -(-13 * m * (need - len(ids)) // (10 * len(better))))
    return ids[:need]


def _group_ids(conn, query: "_Query", value, want: int, trace, budget) -> list[str]:
    """The first ``want`` matches among runs whose first sort key equals ``value``."""
    sub = query.group(value)
    ids = _top_ids(conn, sub, want, trace, budget)
    if ids is None:
        stmt = _Sql(sub).select_ids().limit(want)
        if trace is not None:
            trace.append(f"group {value!r} by the full query:")
            trace.extend(_plan(conn, stmt))
        ids = list(conn.execute(stmt).scalars())
    return ids


def _drivable(field: Field) -> bool:
    return field.kind in _KEY_TABLES or field == _START


# --------------------------------------------------------------------------- the query


class _Query:
    """A search's validated arguments: filter tree, sort keys and run-level conditions."""

    def __init__(self, store, filter, experiment_ids, experiment_names, order_by, status,
                 parent_run_id) -> None:
        self.dialect = store.db.dialect
        self.exp_ids = _experiment_ids(store, experiment_ids, experiment_names)
        self.statuses = _statuses(status)
        self.parent = _one_id(parent_run_id, "parent_run_id") if parent_run_id is not None else None
        self._set(parse_filter(filter), parse_order_by(order_by) or list(_DEFAULT_ORDER))
        fields = set(fields_of(self.tree)) | {o.field for o in self.order}
        if sum(1 for f in fields if f.kind in _KEY_TABLES) > MAX_JOINED_KEYS:
            raise InvalidInput(f"a search may mention at most {MAX_JOINED_KEYS} different keys")
        self.fingerprint = hashlib.sha256(
            repr((self.tree, self.order, self.exp_ids, self.statuses, self.parent)).encode()
        ).hexdigest()[:16]

    def _set(self, tree: Node | None, order: list[OrderKey]) -> None:
        self.tree = tree
        self.order = order
        self.conjuncts = tree.items if isinstance(tree, And) else (tree,) if tree is not None else ()
        # Keys a top-level term needs present and non-NULL: INNER-joined.
        self.required = {
            (t.field.kind, t.field.key) for t in self.conjuncts
            if isinstance(t, Compare) and t.field.kind in _KEY_TABLES and t.op != "is null"
        }

    def group(self, value) -> "_Query":
        """This search restricted to runs whose first sort key equals ``value``."""
        field = self.order[0].field
        sub = copy.copy(self)
        rest = [k for k in self.order[1:] + _DEFAULT_ORDER if k.field != field]
        sub._set(And(self.conjuncts + (Compare(field, "=", value),)), rest or [OrderKey(_RUN_ID)])
        return sub

    def key_required(self, field: Field) -> bool:
        return field == _START or (field.kind, field.key) in self.required

    def run_conditions(self, runs, with_status: bool = True) -> list:
        out = []
        if self.exp_ids is not None:
            c = runs.c.experiment_id
            out.append(c == self.exp_ids[0] if len(self.exp_ids) == 1 else c.in_(self.exp_ids))
        if self.statuses and with_status:
            c = runs.c.status
            out.append(c == self.statuses[0] if len(self.statuses) == 1 else c.in_(self.statuses))
        if self.parent is not None:
            out.append(runs.c.parent_run_id == self.parent)
        return out

    def sample(self, m: int, edge: tuple | None):
        """The next ``m`` runs by the first sort key, from ``edge`` = (value, inclusive);
        and a statement returning the first and the m-th key value of that range."""
        key = self.order[0]
        if key.field == _START:
            rt = s.runs.alias("rt")
            col = rt.c.start_time
            # Status stays outside: its index would make SQLite sort the whole table.
            where = self.run_conditions(rt, with_status=False)
            base = sa.select(rt.c.id.label("id"), col.label("v"))
        else:
            t = _KEY_TABLES[key.field.kind]
            col = t.c.value
            where = [t.c.key == key.field.key, col.is_not(None)]
            base = sa.select(t.c.run_id.label("id"), col.label("v"))
        where += [_condition(col, c.op, c.value, self.dialect) for c in self.conjuncts
                  if isinstance(c, Compare) and c.field == key.field and c.op not in NULL_OPS]
        if edge is not None:
            value, inclusive = edge
            if key.descending:
                where.append(col <= value if inclusive else col < value)
            else:
                where.append(col >= value if inclusive else col > value)
        ordered = col.desc() if key.descending else col.asc()
        top = base.where(*where).order_by(ordered).limit(m).subquery("top")
        first = sa.select(col).where(*where).order_by(ordered).limit(1)
        last = sa.select(col).where(*where).order_by(ordered).limit(1).offset(m - 1)
        return top, sa.select(first.scalar_subquery(), last.scalar_subquery())


_RUN_ID = Field("attribute", "run_id")


class _Sql:
    """One compilation of a search: key aliases to join, WHERE terms and ORDER BY terms.

    Without ``top`` it is the full query and SQLite picks the plan: top-level terms are
    INNER joins it can drive from, and key comparisons inside ``or`` (all of them when
    ``counting``) become ``runs.id IN (SELECT run_id ...)``, which SQLite can answer from
    index ranges. With ``top`` (a sample from ``_Query.sample`` or a small scope) the
    join order is fixed: ``top``, runs, then one primary-key probe per key.
    """

    def __init__(self, query: _Query, top=None, sample: bool = True, counting: bool = False) -> None:
        self.q = query
        self.top = top
        self.sample = top is not None and sample  # top carries the first sort key as v
        self.counting = counting  # no sort: every key test can be a set membership
        self.aliases: dict[tuple[str, str], sa.Alias] = {}
        self.filter_slots: set[tuple[str, str]] = set()
        self.where = query.run_conditions(s.runs)
        if query.tree is not None:
            self.where.append(self._compile(query.tree, negated=False, in_or=False))

    # -- FROM
    def _alias(self, field: Field):
        slot = (field.kind, field.key)
        if slot not in self.aliases:
            self.aliases[slot] = _KEY_TABLES[field.kind].alias(f"{field.kind[0]}{len(self.aliases)}")
        return self.aliases[slot]

    def from_(self, base, filter_only: bool = False):
        runs = s.runs
        src = base
        cross = self.q.dialect == "sqlite" and self.top is not None
        if base is not runs:
            src = (_CrossJoin if cross else sa.sql.expression.Join)(base, runs, runs.c.id == base.c.id)
        for slot, a in self.aliases.items():
            if filter_only and slot not in self.filter_slots:
                continue
            on = sa.and_(a.c.run_id == runs.c.id, a.c.key == slot[1])
            if slot not in self.q.required:
                src = src.outerjoin(a, on)
            else:
                src = _CrossJoin(src, a, on) if cross else src.join(a, on)
        return src

    # -- WHERE
    def _column(self, field: Field, *, filtering: bool = False):
        if self.sample and field == self.q.order[0].field and field.kind in _KEY_TABLES:
            return self.top.c.v
        if field.kind in _KEY_TABLES:
            if filtering:
                self.filter_slots.add((field.kind, field.key))
            return self._alias(field).c.value
        if field.key == "run_id":
            return s.runs.c.id
        if field.key == "duration":
            return s.runs.c.end_time - s.runs.c.start_time
        return s.runs.c[field.key]

    def _compile(self, node: Node, negated: bool, in_or: bool):
        if isinstance(node, And):
            return sa.and_(*(self._compile(n, negated, in_or) for n in node.items))
        if isinstance(node, Or):
            return sa.or_(*(self._compile(n, negated, True) for n in node.items))
        if isinstance(node, Not):
            return sa.not_(self._compile(node.item, True, in_or))
        field, value = node.field, node.value
        if field.kind == "dataset":
            return self._dataset(node)
        if field.kind == "attribute" and field.key == "duration" and value is not None:
            value = value * 1000.0
        if field.kind in _KEY_TABLES and (self.counting or (in_or and not negated and self.top is None)):
            return self._member(node)
        col = self._column(field, filtering=True)
        cond = _condition(col, node.op, value, self.q.dialect)
        if negated and node.op not in NULL_OPS:
            # Make "missing" false rather than unknown, so NOT turns it into true.
            cond = sa.and_(col.is_not(None), cond)
        return cond

    def _member(self, node: Compare):
        """``runs.id [NOT] IN (SELECT run_id FROM <key table> WHERE key = ? AND ...)``."""
        t = _KEY_TABLES[node.field.kind]
        if node.op == "is null":
            sub = sa.select(t.c.run_id).where(t.c.key == node.field.key, t.c.value.is_not(None))
            return s.runs.c.id.not_in(sub)
        cond = _condition(t.c.value, node.op, node.value, self.q.dialect)
        sub = sa.select(t.c.run_id).where(t.c.key == node.field.key, cond)
        return s.runs.c.id.in_(sub)

    def _dataset(self, node: Compare):
        d = s.datasets
        linked = d.c.run_id == s.runs.c.id
        if node.op == "is null":
            return ~sa.exists().where(linked)
        if node.op == "is not null":
            return sa.exists().where(linked)
        return sa.exists().where(linked, _condition(d.c[node.field.key], node.op, node.value, self.q.dialect))

    # -- ORDER BY and the statement
    def select_ids(self, with_key: bool = False):
        runs = s.runs
        order, seen = [], set()
        for key in self.q.order + _DEFAULT_ORDER:
            if key.field not in seen:
                seen.add(key.field)
                order.append(self._sort(key))
        if _RUN_ID not in seen:
            order.append(runs.c.id.asc())
        cols = [runs.c.id] + ([self.top.c.v] if with_key else [])
        stmt = sa.select(*cols).select_from(self.from_(self.top if self.top is not None else runs))
        return stmt.where(*self.where).order_by(*order)

    def _sort(self, key: OrderKey):
        if self.sample and key is self.q.order[0]:
            col = self.top.c.v
            return col.desc() if key.descending else col.asc()
        col = self._column(key.field)
        term = col.desc() if key.descending else col.asc()
        if not _may_be_null(key.field, self.q.required):
            return term
        # SQLite sorts NULL first ascending, PostgreSQL sorts it first descending.
        nulls_last_by_default = key.descending if self.q.dialect == "sqlite" else not key.descending
        return term if nulls_last_by_default else term.nulls_last()


class _CrossJoin(sa.sql.expression.Join):
    """An inner join that SQLite must run in the written order (``CROSS JOIN ... ON``)."""

    inherit_cache = True


@compiles(_CrossJoin, "sqlite")
def _compile_cross_join(join, compiler, asfrom=False, from_linter=None, **kw):
    if from_linter:
        from_linter.edges.update(itertools.product(join.left._from_objects, join.right._from_objects))
    left = join.left._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw)
    right = join.right._compiler_dispatch(compiler, asfrom=True, from_linter=from_linter, **kw)
    on = join.onclause._compiler_dispatch(compiler, from_linter=from_linter, **kw)
    return f"{left} CROSS JOIN {right} ON {on}"


def _condition(col, op: str, value, dialect: str):
    if op == "=":
        return col == value
    if op == "!=":
        return col != value
    if op == "<":
        return col < value
    if op == "<=":
        return col <= value
    if op == ">":
        return col > value
    if op == ">=":
        return col >= value
    if op == "in":
        return col.in_(list(value))
    if op == "not in":
        return col.not_in(list(value))
    if op == "is null":
        return col.is_(None)
    if op == "is not null":
        return col.is_not(None)
    if op in ("like", "not like"):
        cond = _like(col, value, dialect)
    elif op in ("ilike", "not ilike"):
        cond = col.ilike(_escape_backslash(value) if dialect == "postgresql" else value)
    else:  # pragma: no cover - the parser admits no other operator
        raise InvalidInput(f"unsupported operator {op!r}")
    return sa.not_(cond) if op.startswith("not ") else cond


def _like(col, pattern: str, dialect: str):
    """Case-sensitive LIKE everywhere (SQLite's LIKE ignores ASCII case: use GLOB)."""
    if dialect != "sqlite":
        return col.like(_escape_backslash(pattern) if dialect == "postgresql" else pattern)
    glob = "".join({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(c, c) for c in pattern)
    return col.op("GLOB", is_comparison=True)(glob)


def _escape_backslash(pattern: str) -> str:
    # PostgreSQL's LIKE treats backslash as an escape; ours has no escape character.
    return pattern.replace("\\", "\\\\")


def _may_be_null(field: Field, required: set) -> bool:
    if field.kind in _KEY_TABLES:
        return (field.kind, field.key) not in required
    return field.key in ("end_time", "duration", "parent_run_id", "error_type")


# --------------------------------------------------------------------------- arguments


def _check_limit(limit, what: str = "limit", most: int = MAX_LIMIT) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInput(f"{what} must be an integer from 1 to {most}, not {limit!r}")
    return limit


def _listify(value, what: str) -> list | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidInput(f"{what} must be a string or a list of strings")
    return list(value)


def _one_id(value, what: str) -> str:
    from ..ids import normalize_id

    return normalize_id(value, what)


def _experiment_ids(store: Store, ids, names) -> list[str] | None:
    """Union of the experiments given by id and by name; unknown ones are NotFound."""
    ids, names = _listify(ids, "experiment_ids"), _listify(names, "experiment_names")
    if ids is None and names is None:
        return None
    wanted = [_one_id(i, "experiment id") for i in ids or []]
    e = s.experiments
    with store.db.read() as conn:
        if wanted:
            known = set(conn.execute(sa.select(e.c.id).where(e.c.id.in_(wanted))).scalars())
            missing = [i for i in wanted if i not in known]
            if missing:
                raise NotFound(f"no experiment with id {missing[0]}", experiment_id=missing[0])
        if names:
            found = dict(conn.execute(sa.select(e.c.name, e.c.id).where(e.c.name.in_(names))).all())
            missing = [n for n in names if n not in found]
            if missing:
                raise NotFound(f"no experiment named {missing[0]!r}", experiment_name=missing[0])
            wanted += [found[n] for n in names]
    return sorted(set(wanted))


def _statuses(status) -> list[str] | None:
    values = _listify(status, "status")
    if not values:
        return None
    out = []
    for v in values:
        if not isinstance(v, str) or v.upper() not in RUN_STATUSES:
            raise InvalidInput(f"unknown status {v!r}; valid: {', '.join(RUN_STATUSES)}")
        out.append(v.upper())
    return sorted(set(out))


# --------------------------------------------------------------------------- page tokens


def _make_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str | None, fingerprint: str) -> int:
    if token is None or token == "":
        return 0
    bad = InvalidInput("invalid page token; start again without one")
    if not isinstance(token, str) or len(token) > 200:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    offset = data.get("o") if isinstance(data, dict) else None
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 10**9:
        raise bad
    if data.get("q") != fingerprint:
        raise InvalidInput(
            "this page token belongs to a different search (filter, order or experiments "
            "changed); start again without a page token"
        )
    return offset
