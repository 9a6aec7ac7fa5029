"""The background worker: periodic sync, exponential back-off while the registry is down."""

from __future__ import annotations

import time

import pytest

from jupyter_modelops.sync import outbox
from jupyter_modelops.sync.worker import SyncWorker, worker_for

pytestmark = pytest.mark.postgres


def test_back_off_doubles_up_to_the_cap(store):
    w = SyncWorker(store, "http://127.0.0.1:9", interval=30.0)
    assert w.delay() == 30.0
    delays = []
    for n in range(1, 9):
        w.failures = n
        delays.append(w.delay())
    bases = [5, 10, 20, 40, 80, 160, 300, 300]
    assert all(0.9 * b <= d <= 1.1 * b for d, b in zip(delays, bases)), delays


def test_worker_backs_off_while_the_registry_is_down_then_catches_up(machines, registry):
    m = machines()
    registry.kill()
    with m.client.start_run("w", "offline") as run:
        m.client.log_metric(run.id, "loss", 0.5)
    m.client.flush()
    worker = SyncWorker(m.store, registry.url, registry.token, interval=0.1, first_delay=0.0).start()
    try:
        assert worker_for(m.store) is worker
        deadline = time.monotonic() + 20
        while worker.failures < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        st = m.status()
        assert st["pending"] > 0 and "cannot reach" in st["last_error"]
        assert st["worker"]["failures"] >= 3 and st["worker"]["backoff"] > 0.1
        registry.start()
        while outbox.pending_count(m.store)[0] or worker.failures:
            assert time.monotonic() < deadline + 20, m.status()
            time.sleep(0.05)
    finally:
        worker.stop()
    assert worker_for(m.store) is None
    assert m.status()["last_error"] is None
