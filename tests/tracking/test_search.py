"""Run search against a real SQLite store: matching, ordering, NaN and missing keys,
paging, experiments, injection-looking input, and agreement with a Python reference
implementation of the filter semantics on randomised data and filters."""

from __future__ import annotations

import functools
import math
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_modelops.errors import InvalidInput, NotFound
from jupyter_modelops.ids import new_id
from jupyter_modelops.store import schema as s
from jupyter_modelops.tracking import search as search_mod
from jupyter_modelops.tracking.datasets import record_dataset
from jupyter_modelops.tracking.filter import And, Not, Or, parse_filter, parse_order_by
from jupyter_modelops.tracking.metrics import write_points
from jupyter_modelops.tracking.runs import create_run, end_run, get_or_create_experiment, log_params
from jupyter_modelops.tracking.search import count_runs, explain, search_runs

NAN = float("nan")


def make(store, name, *, start, params=None, metrics=None, tags=None, status="FINISHED",
         experiment="exp", duration=10, parent=None, dataset=None):
    run = create_run(store, experiment, name, tags=tags, parent_run_id=parent)
    if params:
        log_params(store, run.id, params)
    if metrics:
        write_points(store, [(run.id, k, 0, 1, v) for k, v in metrics.items()])
    if dataset:
        record_dataset(store, run.id, dataset, "d" * 64, context="training")
    if status != "RUNNING":
        end_run(store, run.id, status)
    end = None if status == "RUNNING" else start + duration * 1000
    with store.db.write() as conn:  # deterministic times, so that orders are known
        conn.execute(s.runs.update().where(s.runs.c.id == run.id).values(start_time=start, end_time=end))
    return run.id


@pytest.fixture
def runs(store):
    """Six runs; default order (newest first) is r6 r5 r4 r3 r2 r1."""
    make(store, "r1", start=1000, params={"C": "0.1", "model": "rf"}, duration=5,
         metrics={"acc": 0.91, "loss": 0.3}, tags={"team": "vision"}, dataset="iris")
    make(store, "r2", start=2000, params={"C": "1.0", "model": "rf"}, duration=50,
         metrics={"acc": 0.95, "loss": 0.2}, tags={"team": "nlp"})
    make(store, "r3", start=3000, params={"C": "1.0", "model": "svm"}, status="FAILED",
         metrics={"acc": NAN, "loss": 0.5}, tags={"team": "vision"}, dataset="wine")
    make(store, "r4", start=4000, params={"C": "10.0", "model": "RF"}, metrics={"acc": 0.80})
    make(store, "r5", start=5000, params={"model": "gbm"}, status="KILLED", duration=500,
         metrics={"acc": 0.99, "loss": 0.1}, tags={"team": "Vision"}, experiment="other")
    make(store, "r6", start=6000, params={"C": "1.0", "model": "rf_v2", "my key": "x y"},
         metrics={"loss": NAN}, status="RUNNING", tags={"note": "it's 'quoted'"})
    return store


def names(store, filter=None, **kw):
    found, _ = search_runs(store, filter, **kw)
    return [r.name for r in found]


# --------------------------------------------------------------------------- matching


def test_no_filter_returns_all_newest_first(runs):
    assert names(runs) == ["r6", "r5", "r4", "r3", "r2", "r1"]
    assert names(runs, "  ") == names(runs)


def test_runs_come_with_their_data(runs):
    (r2,) = search_runs(runs, "name = 'r2'")[0]
    assert r2.params == {"C": "1.0", "model": "rf"}
    assert r2.metrics == {"acc": 0.95, "loss": 0.2}
    assert r2.tags == {"team": "nlp"}
    assert r2.status == "FINISHED" and r2.experiment_id


def test_and_or_not(runs):
    assert names(runs, "metrics.acc > 0.9 and params.C = '1.0'") == ["r2"]
    assert names(runs, "metrics.acc > 0.9 or params.C = '1.0'") == ["r6", "r5", "r3", "r2", "r1"]
    assert names(runs, "metrics.acc > 0.9 and (params.C = '0.1' or tags.team = 'nlp')") == ["r2", "r1"]
    assert names(runs, "not params.model = 'rf'") == ["r6", "r5", "r4", "r3"]
    assert names(runs, "not (params.model = 'rf' or status = 'RUNNING')") == ["r5", "r4", "r3"]


def test_a_comparison_on_a_missing_key_is_false_and_not_makes_it_true(runs):
    assert names(runs, "params.C != '1.0'") == ["r4", "r1"]  # r5 has no C
    assert names(runs, "not params.C = '1.0'") == ["r5", "r4", "r1"]
    assert names(runs, "not metrics.acc > 0.9") == ["r6", "r4", "r3"]  # missing, 0.80, NaN


def test_numeric_literal_against_param_compares_its_text(runs):
    assert names(runs, "params.C = 1.0") == ["r6", "r3", "r2"]
    assert names(runs, "params.C = 1") == []


def test_is_null(runs):
    assert names(runs, "params.C is null") == ["r5"]
    assert names(runs, "params.C is not null") == ["r6", "r4", "r3", "r2", "r1"]
    assert names(runs, "metrics.acc is null") == ["r6", "r3"]  # missing or NaN
    assert names(runs, "metrics.acc is not null") == ["r5", "r4", "r2", "r1"]
    assert names(runs, "metrics.loss is null or params.C is null") == ["r6", "r5", "r4"]
    assert names(runs, "end_time is null") == ["r6"]
    assert names(runs, "parent_run_id is null") == names(runs)


def test_in_and_not_in(runs):
    assert names(runs, "params.model in ('rf', 'gbm')") == ["r5", "r2", "r1"]
    assert names(runs, "params.model not in ('rf', 'gbm')") == ["r6", "r4", "r3"]
    assert names(runs, "metrics.acc in (0.8, 0.95)") == ["r4", "r2"]
    assert names(runs, "status in ('failed', 'killed')") == ["r5", "r3"]


def test_like_is_case_sensitive_and_ilike_is_not(runs):
    assert names(runs, "params.model like 'rf%'") == ["r6", "r2", "r1"]
    assert names(runs, "params.model ilike 'rf%'") == ["r6", "r4", "r2", "r1"]
    assert names(runs, "params.model like 'r_'") == ["r2", "r1"]
    assert names(runs, "params.model not like 'rf%'") == ["r5", "r4", "r3"]
    assert names(runs, "tags.team ilike 'VISION'") == ["r5", "r3", "r1"]
    assert names(runs, "tags.team like 'vision'") == ["r3", "r1"]


def test_like_treats_glob_characters_literally(runs):
    for pattern in ("rf*", "rf?", "[r]f", "r[a-z]"):
        assert names(runs, f"params.model like '{pattern}'") == []
    assert names(runs, "params.model like '%\\_v2'") == []  # backslash is no escape
    assert names(runs, "params.model like '%_v2'") == ["r6"]


def test_tags_and_quoted_keys(runs):
    assert names(runs, "tags.team = 'vision'") == ["r3", "r1"]
    assert names(runs, "tag.note = 'it''s ''quoted'''") == ["r6"]
    assert names(runs, 'tags.note = "it\'s \'quoted\'"') == ["r6"]
    assert names(runs, "params.`my key` = 'x y'") == ["r6"]
    assert names(runs, 'params."my key" like \'x%\'') == ["r6"]


def test_attributes(runs):
    assert names(runs, "status = 'FINISHED'") == ["r4", "r2", "r1"]
    assert names(runs, "attributes.status != 'FINISHED'") == ["r6", "r5", "r3"]
    assert names(runs, "run_name = 'r3'") == ["r3"]
    assert names(runs, "name like 'r%' and user = 'alice'") == names(runs)
    assert names(runs, "start_time >= 3000 and start_time < 5000") == ["r4", "r3"]
    assert names(runs, "start_time > '1970-01-01T00:00:04'") == ["r6", "r5"]
    assert names(runs, "duration > 20") == ["r5", "r2"]
    assert names(runs, "duration <= 10") == ["r4", "r3", "r1"]
    r2 = search_runs(runs, "name = 'r2'")[0][0]
    assert names(runs, f"run_id = '{r2.id.upper()}'") == ["r2"]
    assert names(runs, f"id in ('{r2.id}', '{'0' * 32}')") == ["r2"]
    assert names(runs, f"experiment_id = '{r2.experiment_id}'") == ["r6", "r4", "r3", "r2", "r1"]


def test_datasets(runs):
    assert names(runs, "dataset.name = 'iris'") == ["r1"]
    assert names(runs, "dataset.name is not null") == ["r3", "r1"]
    assert names(runs, "dataset.name is null") == ["r6", "r5", "r4", "r2"]
    assert names(runs, "dataset.context = 'training' and not dataset.name = 'iris'") == ["r3"]


def test_nan_never_matches_an_order_comparison(runs):
    for op in (">", ">=", "<", "<=", "=", "!="):
        assert "r3" not in names(runs, f"metrics.acc {op} 0.5"), op
    assert names(runs, "metrics.loss < 1") == ["r5", "r3", "r2", "r1"]  # r6's loss is NaN


def test_injection_looking_strings_just_match_nothing(runs):
    assert names(runs, "params.x = '1'' OR 1=1 --'") == []
    assert names(runs, "params.model = 'rf\"; DROP TABLE runs; --'") == []
    assert names(runs, "params.`model = 'rf' or 1=1 --` = 'rf'") == []
    assert len(names(runs)) == 6


# --------------------------------------------------------------------------- ordering


def test_order_by_metric_puts_nan_and_missing_last_both_ways(runs):
    assert names(runs, order_by=["metrics.acc DESC"]) == ["r5", "r2", "r1", "r4", "r6", "r3"]
    assert names(runs, order_by=["metrics.acc"]) == ["r4", "r1", "r2", "r5", "r6", "r3"]
    assert names(runs, "metrics.acc > 0", order_by=["metrics.acc asc"]) == ["r4", "r1", "r2", "r5"]


def test_order_by_param_and_attributes(runs):
    assert names(runs, order_by=["params.C DESC"]) == ["r4", "r6", "r3", "r2", "r1", "r5"]
    assert names(runs, order_by=["params.C", "metrics.acc DESC"]) == ["r1", "r2", "r6", "r3", "r4", "r5"]
    assert names(runs, order_by=["name DESC"]) == ["r6", "r5", "r4", "r3", "r2", "r1"]
    assert names(runs, order_by=["start_time ASC"]) == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert names(runs, order_by=["duration DESC"]) == ["r5", "r2", "r4", "r3", "r1", "r6"]
    assert names(runs, order_by=["status", "name"]) == ["r3", "r1", "r2", "r4", "r5", "r6"]


def test_ties_break_on_start_time_then_id(store):
    ids = [make(store, f"t{i}", start=1000 * (i // 2), params={"p": "same"}) for i in range(6)]
    got = [r.id for r in search_runs(store, "params.p = 'same'")[0]]
    expected = sorted(ids, key=lambda i: (-(ids.index(i) // 2), i))
    assert got == expected
    assert [r.id for r in search_runs(store, order_by=["params.p"])[0]] == expected


# --------------------------------------------------------------------------- paging


def collect(store, filter=None, limit=2, **kw):
    out, token, pages = [], None, 0
    while True:
        page, token = search_runs(store, filter, limit=limit, page_token=token, **kw)
        out += [r.name for r in page]
        pages += 1
        assert pages < 100
        if token is None:
            return out


@pytest.mark.parametrize("order", [None, ["metrics.acc DESC"], ["params.C"], ["name"]])
def test_paging_returns_each_run_once_in_order(runs, order):
    whole = names(runs, order_by=order)
    for limit in (1, 2, 4, 6, 7):
        assert collect(runs, limit=limit, order_by=order) == whole
    assert collect(runs, "metrics.acc > 0.5", order_by=order, limit=1) == names(
        runs, "metrics.acc > 0.5", order_by=order)


def test_last_page_has_no_token(runs):
    page, token = search_runs(runs, limit=6)
    assert len(page) == 6 and token is None
    page, token = search_runs(runs, limit=5)
    assert len(page) == 5 and isinstance(token, str) and re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_page_token_belongs_to_its_query(runs):
    _, token = search_runs(runs, "metrics.acc > 0", limit=1)
    assert search_runs(runs, "metrics.acc  >  0", limit=2, page_token=token)[0]  # same query
    with pytest.raises(InvalidInput, match="different search"):
        search_runs(runs, "metrics.acc > 0.5", limit=1, page_token=token)
    with pytest.raises(InvalidInput, match="different search"):
        search_runs(runs, "metrics.acc > 0", order_by=["name"], limit=1, page_token=token)
    huge = search_mod._make_token(10**30, "x")
    for bad in ("garbage!", "e30", "bm90IGpzb24", "eyJvIjotMSwicSI6IngifQ", "x" * 500, huge):
        with pytest.raises(InvalidInput, match="page token"):
            search_runs(runs, limit=1, page_token=bad)


@pytest.mark.parametrize("limit", [0, -1, 10_001, 1.5, "10", True, None])
def test_limit_must_be_in_range(runs, limit):
    with pytest.raises(InvalidInput, match="limit must be an integer from 1 to 10000"):
        search_runs(runs, limit=limit)


# --------------------------------------------------------------------------- scoping


def test_experiment_filtering(runs):
    exp = get_or_create_experiment(runs, "exp")
    other = get_or_create_experiment(runs, "other")
    assert names(runs, experiment_ids=[exp.id]) == ["r6", "r4", "r3", "r2", "r1"]
    assert names(runs, experiment_ids=other.id) == ["r5"]
    assert names(runs, experiment_names=["other"]) == ["r5"]
    assert names(runs, experiment_ids=[exp.id], experiment_names="other") == names(runs)
    assert names(runs, "metrics.acc > 0.9", experiment_ids=[exp.id]) == ["r2", "r1"]
    assert count_runs(runs, "metrics.acc > 0.9", [exp.id]) == 2
    with pytest.raises(NotFound, match="no experiment named 'nope'"):
        search_runs(runs, experiment_names=["nope"])
    with pytest.raises(NotFound):
        search_runs(runs, experiment_ids=["0" * 32])
    with pytest.raises(InvalidInput):
        search_runs(runs, experiment_ids=["not-an-id"])
    assert names(runs, experiment_ids=[]) == []  # no experiment chosen, no runs
    assert count_runs(runs, None, []) == 0


def test_status_and_parent_arguments(runs):
    assert names(runs, status="FAILED") == ["r3"]
    assert names(runs, status=["finished", "KILLED"]) == ["r5", "r4", "r2", "r1"]
    with pytest.raises(InvalidInput, match="unknown status"):
        search_runs(runs, status="DONE")
    parent = search_runs(runs, "name = 'r6'")[0][0].id
    make(runs, "child", start=7000, parent=parent)
    assert names(runs, parent_run_id=parent) == ["child"]
    assert names(runs, f"parent_run_id = '{parent}'") == ["child"]


def test_count_runs(runs):
    assert count_runs(runs) == 6
    assert count_runs(runs, "metrics.acc > 0.9 or params.C = '1.0'") == 5
    assert count_runs(runs, "not metrics.acc > 0.9") == 3
    assert count_runs(runs, "metrics.acc > 0.9", max_count=2) == 2
    assert count_runs(runs, status="FAILED") == 1
    with pytest.raises(InvalidInput, match="bad filter at position 1"):
        count_runs(runs, "bogus > 1")


def test_bad_input_is_invalid_input(runs):
    with pytest.raises(InvalidInput, match="bad filter at position 12"):
        search_runs(runs, "metrics.a >")
    with pytest.raises(InvalidInput, match="bad order_by"):
        search_runs(runs, order_by=["metrics.a up"])
    with pytest.raises(InvalidInput, match="at most 40 different keys"):
        search_runs(runs, " or ".join(f"metrics.k{i} > 0" for i in range(41)))


_SOUP = st.lists(st.sampled_from([
    "metrics.acc", "params.C", "tags.`team`", "dataset.name", "status", "duration", "start_time", "and", "or",
    "not", "(", ")", "=", "!=", "<=", ">", "like", "ilike", "in", "is", "null", "0.9", "-1", "'1.0'",
    "'%'", "'x'' OR 1=1 --'", "'FINISHED'", ",", "true", "'2024-01-01'",
]), max_size=12).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=40), _SOUP))
def test_any_filter_text_gives_runs_or_invalid_input(runs, text):
    try:
        found, _ = search_runs(runs, text, limit=3)
        assert count_runs(runs, text) >= len(found)
    except InvalidInput:
        pass


def test_explain_shows_index_use(runs):
    plan = "\n".join(explain(runs, "metrics.acc > 0.9 and params.C = '1.0'", order_by=["metrics.acc DESC"]))
    assert "ix_latest_metrics_key_value" in plan
    plan = "\n".join(explain(runs, "params.C = '1.0'", order_by=["name"]))
    assert "ix_params_key_value" in plan


# --------------------------------------------------------------------------- against a reference


def _bulk_store(store, n=160, seed=3):
    """Runs with few distinct values (ties), NaN and missing metrics, shared start times."""
    rng = random.Random(seed)
    exps = [get_or_create_experiment(store, name).id for name in ("e1", "e2")]
    runs, params, metrics, tags = [], [], [], []
    for i in range(n):
        rid = new_id()
        start = 1_000_000 + (i // 3) * 1000
        status = rng.choice(["FINISHED", "FINISHED", "FAILED", "RUNNING", "KILLED"])
        end = None if status == "RUNNING" else start + rng.choice([1000, 5000, 20000])
        runs.append({"id": rid, "experiment_id": exps[i % 2], "parent_run_id": None, "name": f"r{i:03d}",
                     "status": status, "user": rng.choice(["alice", "bob"]), "host": "h", "pid": None,
                     "pid_start": None, "start_time": start, "end_time": end, "error_type": None,
                     "error_message": None, "source": "", "code_hash": "", "provenance": {},
                     "updated_at": start})
        for key, values in (("a", ["x", "y", "z", "Xq"]), ("b", ["1", "2", "10"])):
            if rng.random() < 0.85:
                params.append({"run_id": rid, "key": key, "value": rng.choice(values)})
        for key in ("m1", "m2"):
            roll = rng.random()
            if roll < 0.8:
                value = None if roll < 0.08 else round(rng.random(), 1)
                metrics.append({"run_id": rid, "key": key, "step": 0, "timestamp": 0, "value": value})
        if rng.random() < 0.6:
            tags.append({"run_id": rid, "key": "t", "value": rng.choice(["u", "v"])})
    with store.db.write() as conn:
        conn.execute(s.runs.insert(), runs)
        conn.execute(s.params.insert(), params)
        conn.execute(s.latest_metrics.insert(), metrics)
        conn.execute(s.tags.insert(), tags)


def _atoms(rng):
    v = round(rng.random(), 1)
    return rng.choice([
        f"metrics.m1 > {v}", f"metrics.m1 <= {v}", f"metrics.m2 = {v}", f"metrics.m2 != {v}",
        f"metrics.m1 in ({v}, 0.5)", "metrics.m2 is null", "metrics.m1 is not null",
        f"params.a = '{rng.choice('xyz')}'", "params.a != 'y'", "params.a like 'X%'",
        "params.a ilike 'x%'", "params.b in ('1', '10')", "params.b not in ('2')", "params.b is null",
        "tags.t = 'u'", "tags.t is null", "status = 'FINISHED'", "status in ('FAILED', 'KILLED')",
        "end_time is null", "duration > 2", "start_time > 1020000", "user = 'bob'", "name like 'r0_1'",
    ])


def _random_filter(rng, depth=0):
    roll = rng.random()
    if depth >= 3 or roll < 0.35:
        return _atoms(rng)
    if roll < 0.5:
        return f"not {_random_filter(rng, depth + 1)}"
    joiner = " and " if roll < 0.8 else " or "
    parts = [_random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    return "(" + joiner.join(parts) + ")"


_ORDERS = [None, ["metrics.m1 DESC"], ["metrics.m2"], ["params.a", "metrics.m1 DESC"], ["params.b DESC"],
           ["start_time"], ["name DESC"], ["tags.t"], ["end_time DESC"], ["duration", "params.a DESC"]]


def _value(run, field):
    if field.kind in ("metric", "param", "tag"):
        value = getattr(run, field.kind + "s").get(field.key)
        return None if isinstance(value, float) and math.isnan(value) else value
    if field.key == "run_id":
        return run.id
    if field.key == "duration":
        return None if run.end_time is None else run.end_time - run.start_time
    return getattr(run, field.key)


def _like(pattern, text, flags=0):
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags | re.DOTALL) is not None


def _holds(node, run) -> bool:
    """The documented semantics, in Python: missing and NaN match only 'is null'."""
    if isinstance(node, And):
        return all(_holds(n, run) for n in node.items)
    if isinstance(node, Or):
        return any(_holds(n, run) for n in node.items)
    if isinstance(node, Not):
        return not _holds(node.item, run)
    v, op, want = _value(run, node.field), node.op, node.value
    if node.field.key == "duration" and want is not None:
        want *= 1000
    if op == "is null":
        return v is None
    if op == "is not null" or v is None:
        return v is not None and op == "is not null"
    return {
        "=": lambda: v == want, "!=": lambda: v != want, "<": lambda: v < want,
        "<=": lambda: v <= want, ">": lambda: v > want, ">=": lambda: v >= want,
        "in": lambda: v in want, "not in": lambda: v not in want,
        "like": lambda: _like(want, v), "not like": lambda: not _like(want, v),
        "ilike": lambda: _like(want, v, re.I), "not ilike": lambda: not _like(want, v, re.I),
    }[op]()


def _reference(all_runs, filter, order_by):
    tree = parse_filter(filter)
    keys = parse_order_by(order_by) or parse_order_by(["start_time DESC"])
    given = {k.field for k in keys}
    keys += [k for k in parse_order_by(["start_time DESC", "run_id"]) if k.field not in given]

    def cmp(r1, r2):
        for key in keys:
            a, b = _value(r1, key.field), _value(r2, key.field)
            if a == b:
                continue
            if a is None or b is None:
                return 1 if a is None else -1  # NULLs last both ways
            return (1 if a < b else -1) if key.descending else (-1 if a < b else 1)
        return 0

    matching = [r for r in all_runs if tree is None or _holds(tree, r)]
    return [r.name for r in sorted(matching, key=functools.cmp_to_key(cmp))]


@pytest.mark.parametrize("sampling", ["default", "tiny"])
def test_random_filters_agree_with_reference(store, monkeypatch, sampling):
    """Both plans (sampling in sort order, full query) return the reference's runs in its
    order, across pages; 'tiny' forces many small samples and per-value groups."""
    if sampling == "tiny":
        monkeypatch.setattr(search_mod, "_MIN_SAMPLE", 3)
        monkeypatch.setattr(search_mod, "_FIRST_SAMPLE", 1)
        monkeypatch.setattr(search_mod, "MAX_PROBE", 400)
    _bulk_store(store)
    all_runs = search_runs(store, limit=10_000)[0]
    assert len(all_runs) == 160
    e1 = get_or_create_experiment(store, "e1").id
    in_e1 = [r for r in all_runs if r.experiment_id == e1]
    rng = random.Random(11)
    checked = 0
    for _ in range(30):
        flt = _random_filter(rng)
        for order in rng.sample(_ORDERS, 3):
            expected = _reference(all_runs, flt, order)
            assert collect(store, flt, limit=rng.choice([9, 30]), order_by=order) == expected, (flt, order)
            assert count_runs(store, flt) == len(expected)
            assert count_runs(store, flt, max_count=1000) == len(expected)  # the joined form
            checked += len(expected)
        # a small experiment is sorted whole (see SMALL_SCOPE)
        expected = _reference(in_e1, flt, order)
        assert collect(store, flt, limit=9, order_by=order, experiment_ids=[e1]) == expected, (flt, order)
        assert count_runs(store, flt, [e1]) == len(expected)
    assert checked > 600  # the filters are not all trivially empty


def test_a_large_page_comes_with_every_runs_data(store):
    # more runs than one batch of bound ids holds: each still carries its params, metrics, tags
    from jupyter_modelops.tracking import runs as runs_mod

    ids = []
    for i in range(runs_mod.SQLITE_IN_CHUNK + 57):
        run = create_run(store, "big", f"r{i}", tags={"i": str(i)})
        log_params(store, run.id, {"n": str(i)})
        ids.append(run.id)
    write_points(store, [(rid, "m", 0, 1, float(i)) for i, rid in enumerate(ids)])
    found, _ = search_runs(store, None, limit=len(ids))
    assert len(found) == len(ids)
    for r in found:
        i = int(r.name[1:])
        assert r.params == {"n": str(i)} and r.tags["i"] == str(i) and r.metrics == {"m": float(i)}
