"""Metrics: steps, special values, validation, downsampling, latest value, flushing."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from jupyter_modelops.errors import Conflict, InvalidInput


def _history(client, run_id, key, **kw):
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key, **kw)]


def test_steps_auto_increment_per_key_and_run(client):
    a = client.create_run()
    b = client.create_run()
    for v in (0.9, 0.8, 0.7):
        client.log_metric(a.id, "loss", v)
    client.log_metric(a.id, "acc", 0.5)
    client.log_metric(b.id, "loss", 1.5)
    client.log_metrics(a.id, {"acc": 0.6, "f1": 0.4})
    assert _history(client, a.id, "loss") == [(0, 0.9), (1, 0.8), (2, 0.7)]
    assert _history(client, a.id, "acc") == [(0, 0.5), (1, 0.6)]
    assert _history(client, a.id, "f1") == [(0, 0.4)]
    assert _history(client, b.id, "loss") == [(0, 1.5)]


def test_explicit_steps_and_timestamps_are_kept(client):
    run = client.create_run()
    client.log_metric(run.id, "m", 1.0, step=10, timestamp=1_600_000_000_000)
    client.log_metric(run.id, "m", 2.0)  # continues after the explicit step
    client.log_metric(run.id, "m", 3.0, step=np.int64(100))
    t0 = int(time.time() * 1000)
    client.log_metrics(run.id, {"m": 4.0}, step=200, timestamp=1_700_000_000_000)
    hist = client.get_metric_history(run.id, "m")
    assert [(m.step, m.value) for m in hist] == [(10, 1.0), (11, 2.0), (100, 3.0), (200, 4.0)]
    assert hist[0].timestamp == 1_600_000_000_000
    assert hist[3].timestamp == 1_700_000_000_000
    assert abs(hist[1].timestamp - t0) < 60_000  # defaulted to "now" in ms
    for bad in (1.5, "3", True):
        with pytest.raises(InvalidInput, match="step must be an integer"):
            client.log_metric(run.id, "m", 1.0, step=bad)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_special_values_round_trip(client, value):
    run = client.create_run()
    client.log_metric(run.id, "m", 0.0)
    client.log_metric(run.id, "m", value)
    last = client.get_metric_history(run.id, "m")[-1].value
    latest = client.get_run(run.id).metrics["m"]
    for got in (last, latest):
        if math.isnan(value):
            assert math.isnan(got)
        else:
            assert got == value


def test_numpy_scalars_are_accepted(client):
    run = client.create_run()
    client.log_metric(run.id, "f32", np.float32(0.25))
    client.log_metric(run.id, "f64", np.float64(0.5))
    client.log_metric(run.id, "i64", np.int64(7))
    client.log_metric(run.id, "int", 3)
    client.log_metric(run.id, "arr0d", np.array(1.25))
    client.log_metric(run.id, "nan32", np.float32("nan"))
    metrics = client.get_run(run.id).metrics
    assert {k: v for k, v in metrics.items() if k != "nan32"} == {
        "f32": 0.25, "f64": 0.5, "i64": 7.0, "int": 3.0, "arr0d": 1.25}
    assert math.isnan(metrics["nan32"])
    assert all(type(v) is float for v in metrics.values())


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, [1.0], {"a": 1}, 1 + 2j])
def test_non_numbers_are_rejected_naming_the_metric(client, value):
    run = client.create_run()
    with pytest.raises(InvalidInput, match="metric 'val_acc' must be a number"):
        client.log_metric(run.id, "val_acc", value)
    with pytest.raises(InvalidInput, match="val_acc"):
        client.log_batch(run.id, [("val_acc", value, 0)])
    client.flush()
    assert client.get_run(run.id).metrics == {}


@pytest.mark.parametrize("key", ["", " x", "x ", "a;b", "a\nb", "a/../b", "k" * 251, 5, None])
def test_bad_keys_are_rejected(client, key):
    run = client.create_run()
    with pytest.raises(InvalidInput, match="metric key"):
        client.log_metric(run.id, key, 1.0)
    client.flush()
    assert client.get_run(run.id).metrics == {}


def test_good_keys_are_accepted(client):
    run = client.create_run()
    keys = ["val/acc", "fold-1.auc", "a:b", "loss at t", "ünïcode_ok"]
    for k in keys:
        client.log_metric(run.id, k, 1.0)
    assert sorted(client.get_run(run.id).metrics) == sorted(keys)


def test_log_batch(client):
    run = client.create_run()
    client.log_batch(
        run.id,
        metrics=[("loss", 1.0, 0), ("loss", 0.5, 1, 1_650_000_000_000), ("acc", math.nan, 0)],
        params={"lr": 0.01},
        tags={"stage": "dev"},
    )
    stored = client.get_run(run.id)
    assert stored.params == {"lr": "0.01"} and stored.tags == {"stage": "dev"}
    assert stored.metrics["loss"] == 0.5 and math.isnan(stored.metrics["acc"])
    hist = client.get_metric_history(run.id, "loss")
    assert [(m.step, m.value) for m in hist] == [(0, 1.0), (1, 0.5)]
    assert hist[1].timestamp == 1_650_000_000_000
    for bad in ([("loss", 1.0)], ["loss"], [("loss", 1.0, 0, 0, 0)]):
        with pytest.raises(InvalidInput, match="key, value, step"):
            client.log_batch(run.id, bad)
    client.flush()
    assert len(client.get_metric_history(run.id, "loss")) == 2


def test_history_downsampling_keeps_first_and_last(client):
    run = client.create_run()
    client.log_batch(run.id, [("m", float(i), i) for i in range(1000)])
    full = client.get_metric_history(run.id, "m")
    assert [m.step for m in full] == list(range(1000))
    for n in (2, 10, 77, 999):
        sample = client.get_metric_history(run.id, "m", max_points=n)
        steps = [m.step for m in sample]
        assert len(steps) <= n and len(steps) >= n - 1
        assert steps[0] == 0 and steps[-1] == 999
        assert steps == sorted(set(steps))
        assert all(m.value == float(m.step) for m in sample)
    assert len(client.get_metric_history(run.id, "m", max_points=5000)) == 1000
    assert [m.step for m in client.get_metric_history(run.id, "m", max_points=1)] == [999]
    for bad in (0, -5, 2.5, "10", True):
        with pytest.raises(InvalidInput, match="max_points"):
            client.get_metric_history(run.id, "m", max_points=bad)


def test_latest_value_is_the_highest_step_not_the_last_logged(client):
    run = client.create_run()
    client.log_metric(run.id, "m", 10.0, step=10)
    client.log_metric(run.id, "m", 5.0, step=5)
    client.flush()
    client.log_metric(run.id, "m", 3.0, step=3)  # a later batch with an older step
    assert client.get_run(run.id).metrics["m"] == 10.0
    client.log_metric(run.id, "m", 11.0, step=11)
    assert client.get_run(run.id).metrics["m"] == 11.0
    # same step: the later timestamp wins
    client.log_metric(run.id, "m", 12.0, step=11, timestamp=int(time.time() * 1000) + 10_000)
    assert client.get_run(run.id).metrics["m"] == 12.0


def test_background_flush_without_explicit_flush(mo_home):
    from jupyter_modelops.client import Client

    writer = Client(home=str(mo_home), flush_interval=0.2)
    reader = Client(home=str(mo_home))
    try:
        run = writer.create_run()
        for i in range(50):
            writer.log_metric(run.id, "m", float(i))
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            seen = reader.get_metric_history(run.id, "m")
            if len(seen) == 50:
                break
            time.sleep(0.1)
        assert [m.value for m in seen] == [float(i) for i in range(50)]
        assert reader.get_run(run.id).metrics == {"m": 49.0}
    finally:
        writer.close()
        reader.close()


def test_flush_reraises_a_background_failure(mo_home):
    from jupyter_modelops.client import Client

    writer = Client(home=str(mo_home), flush_interval=0.1)
    other = Client(home=str(mo_home))
    try:
        run = writer.create_run()
        writer.log_metric(run.id, "m", 1.0)
        writer.flush()
        other.end_run(run.id)  # ended elsewhere; the writer does not know yet
        writer.log_metric(run.id, "m", 2.0)  # accepted into the buffer
        deadline = time.monotonic() + 10
        while writer._buffer.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer._buffer.pending == 0  # the background thread tried and failed
        with pytest.raises(Conflict, match=f"run {run.id[:8]} is FINISHED; metrics go only to running runs"):
            writer.flush()
        writer.flush()  # reported once
        assert [m.value for m in other.get_metric_history(run.id, "m")] == [1.0]
    finally:
        writer.close()
        other.close()


def test_end_run_flushes_and_reports_lost_points(mo_home):
    from jupyter_modelops.client import Client

    writer = Client(home=str(mo_home), flush_interval=60)
    other = Client(home=str(mo_home))
    try:
        run = writer.create_run()
        other.end_run(run.id, "KILLED")
        writer.log_metric(run.id, "m", 1.0)  # buffered; the run is already over
        with pytest.raises(Conflict):
            writer.end_run(run.id)
        assert other.get_run(run.id).status == "KILLED"
        assert other.get_metric_history(run.id, "m") == []
    finally:
        writer.close()
        other.close()


def test_a_read_does_not_swallow_a_failed_write(mo_home):
    from jupyter_modelops.client import Client

    writer = Client(home=str(mo_home), flush_interval=60)
    other = Client(home=str(mo_home))
    try:
        run = writer.create_run()
        writer.log_metric(run.id, "m", 1.0)
        other.end_run(run.id)
        # Reads flush pending points first; that write fails, the read still answers...
        assert writer.get_run(run.id).status == "FINISHED"
        assert writer.get_metric_history(run.id, "m") == []
        # ...and the loss is reported by the next flush.
        with pytest.raises(Conflict, match="metrics go only to running runs"):
            writer.flush()
    finally:
        writer.close()
        other.close()


def test_an_ended_run_does_not_cost_another_run_its_points(store):
    from jupyter_modelops.errors import Conflict
    from jupyter_modelops.tracking import metrics, runs

    live = runs.create_run(store, "e")
    done = runs.create_run(store, "e")
    runs.end_run(store, done.id)
    with pytest.raises(Conflict, match="other runs' points were stored"):
        metrics.write_points(store, [(live.id, "loss", 0, 1, 0.5), (done.id, "loss", 0, 1, 0.7)])
    assert [m.value for m in metrics.metric_history(store, live.id, "loss")] == [0.5]
    assert metrics.metric_history(store, done.id, "loss") == []
