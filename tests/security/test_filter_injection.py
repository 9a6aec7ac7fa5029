"""Run filters are user text: they may only ever be parsed, never pasted into SQL.

Three properties, each over generated input:

- any text (and grammar-shaped token soup) gives runs or ``InvalidInput``, nothing else;
- hostile values and keys (quotes, semicolons, SQL keywords, comment markers) reach the
  database only as bound parameters: every statement the search executes is captured
  with SQLAlchemy's ``before_cursor_execute`` and must not contain them;
- for generated valid filters, the runs found equal a plain Python evaluation of the
  same filter (a differential oracle built from the generator, not from the parser).
"""

from __future__ import annotations

import math
import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.store import schema as s
from jupyter_modelops.tracking.metrics import write_points
from jupyter_modelops.tracking.runs import create_run, end_run, log_params, set_tags
from jupyter_modelops.tracking.search import count_runs, search_runs

FIXTURE_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
CANARY = "Zq9"  # in every hostile value and key: it must never appear in SQL text
HOSTILE = [
    "O'Brien", "'; DROP TABLE runs; --", "1' OR '1'='1", '"quoted"', "a;b", "x\\y", "100%_off",
    "select * from users", "Robert'); DELETE FROM params;--", "`tick`", "/* c */", "line\nbreak",
    "UNION SELECT token_hash FROM api_tokens",
]
PARAM_VALUES = ["plain", "O'Brien", "a;b", "Upper", "100%_off", "x\\y", "upper", "DROP TABLE runs", "UPPER", ""]
NAN = float("nan")
STORED_KEY = f"k {CANARY} DROP TABLE"  # keys are restricted to word characters and spaces


def quote(text: str) -> str:
    """A filter string literal for ``text`` (backslash escapes and doubled quotes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n") + "'"


@pytest.fixture
def hostile_store(store):
    """Ten runs whose params, tags and names hold quotes, semicolons and SQL words."""
    for i in range(10):
        run = create_run(store, "exp", f"run-{i}" if i % 3 == 1 else PARAM_VALUES[(i * 3) % 10] or "blank")
        params = {"p": PARAM_VALUES[i % len(PARAM_VALUES)], STORED_KEY: HOSTILE[i % len(HOSTILE)] + CANARY}
        if i % 4 != 3:  # some runs lack p
            params["q"] = PARAM_VALUES[(i * 7) % len(PARAM_VALUES)]
        log_params(store, run.id, params)
        if i % 2 == 0:
            set_tags(store, run.id, {"t": PARAM_VALUES[(i * 5) % len(PARAM_VALUES)]})
        if i % 5 != 4:
            write_points(store, [(run.id, "m", 0, 1, [0.5, NAN, 1.0, -2.0, 0.25][i % 5])])
        end_run(store, run.id)
    return store


def _capture(store):
    statements: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(store.db.engine, "before_cursor_execute", listener)
    return statements, lambda: sa.event.remove(store.db.engine, "before_cursor_execute", listener)


# --------------------------------------------------------------------------- any text


SOUP = st.lists(st.sampled_from([
    "metrics.m", "params.p", "tags.t", "params.`a b`", "name", "status", "start_time", "dataset.name",
    "=", "!=", "<", ">=", "like", "ilike", "not", "in", "is", "null", "and", "or", "(", ")", ",",
    "'x'", "\"y\"", "1", "-2.5e3", "1e999", "true", "'", ";", "--", "/*", "DROP", "`", "\\", "%",
]), max_size=16).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(text=st.one_of(st.text(max_size=60), SOUP),
       order=st.one_of(st.none(), st.lists(st.one_of(st.text(max_size=20), SOUP), max_size=2)))
def test_any_filter_or_order_gives_runs_or_invalid_input(hostile_store, text, order):
    for call in (lambda: search_runs(hostile_store, text, order_by=order, limit=5),
                 lambda: count_runs(hostile_store, text)):
        try:
            call()
        except InvalidInput as exc:
            assert "\n" not in exc.message and exc.message.strip()


# --------------------------------------------------------------------------- bound parameters only

hostile_text = st.builds(lambda a, b: a + CANARY + b, st.sampled_from(HOSTILE),
                         st.sampled_from(["", ";", "'", " OR 1=1", "--", "\"", "%"]))


@st.composite
def hostile_filters(draw):
    """(filter, the user-written strings it carries: all contain CANARY)."""
    values = draw(st.lists(hostile_text, min_size=1, max_size=3))
    key = draw(st.sampled_from([STORED_KEY, f"k{CANARY}; DROP", f"{CANARY}' OR '1", f"x{CANARY}"]))
    field = draw(st.sampled_from([f"params.`{key}`", f"tags.`{key}`", "params.p", "name", "dataset.name"]))
    op = draw(st.sampled_from(["=", "!=", "like", "not ilike", "in", "not in"]))
    rhs = "(" + ", ".join(map(quote, values)) + ")" if op.endswith("in") else quote(values[0])
    text = f"{field} {op} {rhs}"
    if draw(st.booleans()):
        text = f"not ({text}) or metrics.`{key}` > 0.5"
    used = values + ([key] if key in text else [])
    return text, used


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURE_OK)
@given(case=hostile_filters(), order=st.sampled_from([None, ["params.p DESC"], ["metrics.m"]]))
def test_user_values_reach_sql_only_as_bound_parameters(hostile_store, case, order):
    text, used = case
    statements, stop = _capture(hostile_store)
    try:
        search_runs(hostile_store, text, order_by=order, limit=3)
        count_runs(hostile_store, text)
        count_runs(hostile_store, text, max_count=5)
    finally:
        stop()
    assert statements
    for sql, _ in statements:
        assert CANARY not in sql, f"user text inside SQL: {sql[:300]}"
        assert ";" not in sql and "DROP" not in sql.upper() and "--" not in sql
    bound = repr([p for _, p in statements])
    assert CANARY in bound  # the values did reach the database, as parameters
    with hostile_store.db.read() as conn:  # and nothing was changed by them
        assert conn.execute(sa.select(sa.func.count()).select_from(s.runs)).scalar_one() == 10
        assert conn.execute(sa.select(sa.func.count()).select_from(s.params)).scalar_one() == 10 + 10 + 8


def test_a_match_on_a_hostile_value_finds_exactly_its_run(hostile_store):
    """Quotes and semicolons in a value are data: equality finds the one run holding it."""
    key = STORED_KEY
    for i, value in enumerate(HOSTILE[:10]):
        runs = search_runs(hostile_store, f"params.`{key}` = {quote(value + CANARY)}")[0]
        assert len(runs) == 1 and runs[0].params[key] == value + CANARY


# --------------------------------------------------------------------------- differential oracle

ASCII_VALUES = PARAM_VALUES + ["uPPer", "zzz", "Plain"]


def _like(pattern: str, text: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.I if fold else 0)) is not None


def _text_atom(draw, field: str, get):
    op = draw(st.sampled_from(["=", "!=", "like", "ilike", "not like", "not ilike", "in", "not in",
                               "is null", "is not null"]))
    if op == "is null":
        return f"{field} is null", lambda r: get(r) is None
    if op == "is not null":
        return f"{field} is not null", lambda r: get(r) is not None
    if op.endswith("in"):
        vals = draw(st.lists(st.sampled_from(ASCII_VALUES), min_size=1, max_size=3))
        inside = op == "in"
        return (f"{field} {op} (" + ", ".join(map(quote, vals)) + ")",
                lambda r: get(r) is not None and ((get(r) in vals) == inside))
    value = draw(st.sampled_from(ASCII_VALUES))
    if "like" in op:
        core = draw(st.sampled_from([value, value[:3], value[1:]]))
        core = draw(st.sampled_from([core, core.upper(), core.lower()]))
        value = draw(st.sampled_from(["", "", "%", "_"])) + core + draw(st.sampled_from(["", "%", "_", "%f%"]))
        fold, negate = "ilike" in op, op.startswith("not")
        return (f"{field} {op} {quote(value)}",
                lambda r: get(r) is not None and (_like(value, get(r), fold) != negate))
    if op == "=":
        return f"{field} = {quote(value)}", lambda r: get(r) is not None and get(r) == value
    return f"{field} != {quote(value)}", lambda r: get(r) is not None and get(r) != value


@st.composite
def atoms(draw):
    kind = draw(st.sampled_from(["param", "param", "tag", "metric", "name"]))
    if kind == "param":
        key = draw(st.sampled_from(["p", "q"]))
        return _text_atom(draw, f"params.{key}", lambda r: r["params"].get(key))
    if kind == "tag":
        return _text_atom(draw, "tags.t", lambda r: r["tags"].get("t"))
    if kind == "name":
        return _text_atom(draw, "name", lambda r: r["name"])
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "is null", "is not null"]))
    if op == "is null":
        return "metrics.m is null", lambda r: r["m"] is None
    if op == "is not null":
        return "metrics.m is not null", lambda r: r["m"] is not None
    x = draw(st.sampled_from([-2.0, 0.25, 0.5, 1.0, 3.0]))
    fn = {"=": float.__eq__, "!=": float.__ne__, "<": float.__lt__, "<=": float.__le__,
          ">": float.__gt__, ">=": float.__ge__}[op]
    return f"metrics.m {op} {x}", lambda r: r["m"] is not None and fn(r["m"], x)


def _combine(children):
    both = st.tuples(children, st.sampled_from(["and", "or"]), children).map(
        lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})",
                   (lambda r, a=t[0][1], b=t[2][1]: a(r) and b(r)) if t[1] == "and"
                   else (lambda r, a=t[0][1], b=t[2][1]: a(r) or b(r))))
    neg = children.map(lambda c: (f"not ({c[0]})", lambda r, f=c[1]: not f(r)))
    return both | neg


filters = st.recursive(atoms(), _combine, max_leaves=5)


def _python_view(store) -> list[dict]:
    runs = search_runs(store, limit=100)[0]
    out = []
    for r in runs:
        m = r.metrics.get("m")
        out.append({"name": r.name, "params": r.params, "tags": r.tags,
                    "m": None if m is None or (isinstance(m, float) and math.isnan(m)) else m})
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(case=filters)
def test_search_agrees_with_a_python_evaluation_of_the_filter(hostile_store, case):
    text, holds = case
    view = _python_view(hostile_store)
    expected = sorted(r["name"] for r in view if holds(r))
    got = sorted(r.name for r in search_runs(hostile_store, text, limit=100)[0])
    assert got == expected, text
    assert count_runs(hostile_store, text) == len(expected), text
