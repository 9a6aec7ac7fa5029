"""metric_series: many runs' downsampled histories in one call (the sidebar's sparklines)."""

from __future__ import annotations

import math

import pytest

from jupyter_modelops.errors import InvalidInput


def _series(client, run_ids, keys, **kw):
    client.flush()
    return client._call("metric_series", run_ids=run_ids, keys=keys, **kw)


def test_several_runs_and_keys_in_one_call(client):
    a, b, c = client.create_run(), client.create_run(), client.create_run()
    for step in range(5):
        client.log_metric(a.id, "loss", 1.0 / (step + 1), step=step)
    client.log_metric(a.id, "acc", 0.5, step=0)
    client.log_metric(b.id, "acc", 0.7, step=3)
    client.log_metric(c.id, "other", 1.0)
    out = _series(client, [a.id, b.id, c.id], ["loss", "acc", "missing"])
    assert out == {
        a.id: {"loss": [(s, 1.0 / (s + 1)) for s in range(5)], "acc": [(0, 0.5)]},
        b.id: {"acc": [(3, 0.7)]},
    }


def test_long_histories_are_thinned_keeping_first_and_last(client):
    run = client.create_run()
    client.log_batch(run.id, metrics=[("m", float(s), s, 1_600_000_000_000 + s) for s in range(1000)])
    pts = _series(client, [run.id], ["m"], max_points=20)[run.id]["m"]
    steps = [s for s, _ in pts]
    assert steps[0] == 0 and steps[-1] == 999
    assert 2 <= len(pts) <= 20 and steps == sorted(steps)
    gaps = [b - a for a, b in zip(steps, steps[1:])]
    assert max(gaps) - min(gaps) <= 2  # evenly spaced
    assert all(v == float(s) for s, v in pts)
    assert _series(client, [run.id], ["m"], max_points=1)[run.id]["m"] == [(999, 999.0)]


def test_nan_and_infinity_survive_the_wire(client):
    run = client.create_run()
    for step, v in enumerate((1.0, math.nan, math.inf, -math.inf)):
        client.log_metric(run.id, "x", v, step=step)
    values = [v for _, v in _series(client, [run.id], ["x"])[run.id]["x"]]
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2:] == [math.inf, -math.inf]


@pytest.mark.parametrize("kw", [
    {"run_ids": ["not-an-id"], "keys": ["m"]},
    {"run_ids": [], "keys": ["m"], "max_points": 0},
    {"run_ids": [], "keys": ["m"], "max_points": 5000},
    {"run_ids": ["0" * 32] * 1, "keys": [f"k{i}" for i in range(21)]},
])
def test_bad_arguments_are_refused(client, kw):
    with pytest.raises(InvalidInput):
        client._call("metric_series", **kw)


def test_unknown_runs_are_absent_not_errors(client):
    assert _series(client, ["0" * 32], ["m"]) == {}
