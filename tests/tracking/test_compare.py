"""compare_runs: one row per key, one column per run, and which keys differ."""

from __future__ import annotations

import math

import pytest

from jupyter_modelops.errors import InvalidInput, NotFound
from jupyter_modelops.tracking.compare import compare_runs
from jupyter_modelops.tracking.metrics import write_points
from jupyter_modelops.tracking.runs import create_run, end_run, log_params

NAN = float("nan")


def run(store, name, params=None, metrics=None, finish=True):
    r = create_run(store, "exp", name)
    if params:
        log_params(store, r.id, params)
    if metrics:
        write_points(store, [(r.id, k, 0, 1, v) for k, v in metrics.items()])
    if finish:
        end_run(store, r.id)
    return r.id


def row(frame, kind, key):
    match = frame[(frame["kind"] == kind) & (frame["key"] == key)]
    assert len(match) == 1, (kind, key)
    return match.iloc[0]


def test_table_shape_values_and_differences(store):
    a = run(store, "a", {"C": 1.0, "solver": "lbfgs", "only_a": 1}, {"acc": 0.9, "loss": NAN, "f1": NAN})
    b = run(store, "b", {"C": 1.0, "solver": "saga"}, {"acc": 0.8, "loss": NAN, "f1": 0.5}, finish=False)
    frame = compare_runs(store, [a, b])
    assert list(frame.columns) == ["kind", "key", "a", "b", "differs"]
    assert list(zip(frame["kind"], frame["key"])) == [
        ("attribute", "status"), ("attribute", "duration"), ("param", "C"), ("param", "only_a"),
        ("param", "solver"), ("metric", "acc"), ("metric", "f1"), ("metric", "loss"),
    ]
    assert frame["differs"].dtype == bool
    assert not row(frame, "param", "C")["differs"] and row(frame, "param", "C")["a"] == "1.0"
    assert row(frame, "param", "solver")["differs"]
    only_a = row(frame, "param", "only_a")
    assert only_a["differs"] and only_a["a"] == "1" and only_a["b"] is None  # missing vs present
    assert row(frame, "metric", "acc")["differs"]
    loss = row(frame, "metric", "loss")
    assert not loss["differs"] and math.isnan(loss["a"]) and math.isnan(loss["b"])  # NaN == NaN
    assert row(frame, "metric", "f1")["differs"]  # NaN vs a number
    status = row(frame, "attribute", "status")
    assert (status["a"], status["b"], status["differs"]) == ("FINISHED", "RUNNING", True)
    duration = row(frame, "attribute", "duration")
    assert duration["a"] >= 0 and duration["b"] is None and duration["differs"]
    assert list(frame[frame.differs]["key"]) == ["status", "duration", "only_a", "solver", "acc", "f1"]


def test_identical_runs_differ_nowhere_but_duration_may(store):
    ids = [run(store, f"r{i}", {"C": "1"}, {"acc": 0.5}) for i in range(3)]
    frame = compare_runs(store, ids)
    assert list(frame.columns) == ["kind", "key", "r0", "r1", "r2", "differs"]
    assert not frame[frame["kind"] != "attribute"]["differs"].any()
    assert not row(frame, "attribute", "status")["differs"]


def test_runs_keep_the_given_order_and_accept_prefixes(store):
    a, b = run(store, "a"), run(store, "b")
    frame = compare_runs(store, [b[:8], a])
    assert list(frame.columns)[2:4] == ["b", "a"]


def test_colliding_names_get_an_id_prefix(store):
    a, b, c = run(store, "same"), run(store, "same"), run(store, "differs")
    frame = compare_runs(store, [a, b, c])
    assert list(frame.columns) == ["kind", "key", f"same ({a[:8]})", f"same ({b[:8]})",
                                   f"differs ({c[:8]})", "differs"]


def test_errors(store):
    a = run(store, "a")
    with pytest.raises(InvalidInput, match="at least two"):
        compare_runs(store, [a])
    with pytest.raises(InvalidInput, match="at least two"):
        compare_runs(store, [a, a])
    with pytest.raises(InvalidInput):
        compare_runs(store, a)
    with pytest.raises(NotFound):
        compare_runs(store, [a, "0" * 32])
    with pytest.raises(NotFound):
        compare_runs(store, [a, "abcdef12"])
    with pytest.raises(InvalidInput):
        compare_runs(store, [a, "nope"])


def test_pandas_is_not_imported_by_the_package():
    import subprocess
    import sys

    code = "import jupyter_modelops.tracking.compare, jupyter_modelops.tracking.search, sys; " \
           "print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
