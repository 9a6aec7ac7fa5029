"""Faults during sync (loopback only, bounded): the registry killed mid-push, two machines
pushing at once, PostgreSQL restarted under a running sync."""

from __future__ import annotations

import json
import random
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa

from jupyter_modelops.errors import ModelOpsError
from jupyter_modelops.store import schema as s
from jupyter_modelops.sync import outbox

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# What must be identical, row for row (duplicates included), on both sides.
COMPARED = {
    "runs": ("id", "name", "status", "user", "start_time", "end_time"),
    "params": ("run_id", "key", "value"),
    "tags": ("run_id", "key", "value"),
    "metrics": ("run_id", "key", "step", "timestamp", "value"),
    "latest_metrics": ("run_id", "key", "step", "timestamp", "value"),
    "artifacts": ("run_id", "path", "digest", "size"),
    "experiments": ("name",),
}


def rows(store, table: str) -> list[tuple]:
    t = s.metadata.tables[table]
    q = sa.select(*[t.c[c] for c in COMPARED[table]])
    if table == "runs":  # experiments match by name across stores
        q = q.add_columns(s.experiments.c.name).join(s.experiments, s.experiments.c.id == t.c.experiment_id)
    with store.db.read() as conn:
        return sorted(tuple(r) for r in conn.execute(q))


def assert_converged(local_stores, registry) -> None:
    remote = registry.open_store()
    try:
        for table in COMPARED:
            want = sorted(r for st in local_stores for r in rows(st, table))
            if table == "experiments":
                want = sorted(set(want))
            assert rows(remote, table) == want, f"{table} differs between the machines and the registry"
    finally:
        remote.close()


def work(client, i: int, points: int = 40) -> str:
    """One training run: params, metric points, an artifact, a tag."""
    with client.start_run("faults", f"run-{i}") as run:
        client.log_params(run.id, {"i": i, "lr": 0.1 * (i % 5)})
        client.log_batch(run.id, [("loss", 1.0 / (s + 1 + i), s) for s in range(points)])
        client.log_text(run.id, f"notes of run {i}", "notes.txt")
        client.set_tag(run.id, "fold", str(i % 3))
    return run.id


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_registry_killed_in_the_middle_of_a_push(machines, registry):
    """SIGKILL while the registry is inside a batch's transaction; restart: every record
    exists exactly once and nothing local is lost."""
    m = machines()
    ids = [work(m.client, i) for i in range(24)]
    m.client.flush()
    entries = outbox.pending_count(m.store)[0]
    local_before = {t: rows(m.store, t) for t in COMPARED}
    syncer = m.syncer(batch_entries=25)

    # Hold a lock the batch's COPY of metric points needs: the registry's transaction stops
    # in the middle (claims, runs and params written, not committed).
    blocker = psycopg.connect(registry.db_url, autocommit=False)
    blocker.execute("LOCK TABLE metrics IN SHARE MODE")
    errors = []

    def push():
        try:
            syncer.sync()
        except ModelOpsError as exc:
            errors.append(exc)

    thread = threading.Thread(target=push)
    thread.start()
    with psycopg.connect(registry.db_url, autocommit=True) as watch:
        wait_for(lambda: watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'").fetchone()[0], what="the push to wait on the lock")
    registry.kill()
    thread.join(30)
    assert errors and "cannot reach" in errors[0].message
    blocker.rollback()  # the orphaned transaction now fails and rolls back
    blocker.close()

    assert outbox.pending_count(m.store)[0] == entries  # nothing was acknowledged
    registry.start()
    report = m.sync()
    assert report.rejected == 0
    assert outbox.pending_count(m.store) == (0, 0, 0)
    assert {t: rows(m.store, t) for t in COMPARED} == local_before  # nothing local lost or changed
    assert_converged([m.store], registry)
    with _Remote(registry) as remote, remote.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.sync_applied)).scalar() == entries
    assert len(ids) == 24


class _Remote:
    def __init__(self, registry):
        self.store = registry.open_store()

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        self.store.close()


def test_registry_killed_at_random_moments_while_pushing(machines, registry):
    """Kills at arbitrary points of a stream of batches (before, inside or after a commit,
    before the answer arrives): the invariant holds after every restart."""
    m = machines()
    for i in range(40):
        work(m.client, i, points=20)
    m.client.flush()
    local_before = {t: rows(m.store, t) for t in COMPARED}
    total = outbox.pending_count(m.store)[0]
    rng = random.Random(4)
    left = []
    for attempt in range(3):
        syncer = m.syncer(batch_entries=5)
        thread = threading.Thread(target=lambda: _quietly(syncer.sync))
        thread.start()
        time.sleep(rng.uniform(0.05, 0.3))
        registry.kill()
        thread.join(30)
        left.append(outbox.pending_count(m.store)[0])
        registry.start()
    assert any(0 < n < total for n in left), (left, total)  # killed in the middle of the stream
    m.sync()
    assert outbox.pending_count(m.store) == (0, 0, 0)
    assert {t: rows(m.store, t) for t in COMPARED} == local_before
    assert_converged([m.store], registry)


def _quietly(fn):
    try:
        fn()
    except ModelOpsError:
        pass


def _quick_version(client, name: str, i: int):
    """A version whose package is a tiny manifest (no training, no pickle)."""
    manifest = json.dumps({"format": 1, "flavor": "external", "files": {}, "i": i}).encode()
    blob = client._call("put_blob", data=manifest)
    return client._call("create_version", name=name, flavor="external", manifest_digest=blob["digest"])


def test_two_machines_syncing_concurrently_never_collide(machines, registry):
    a, b = machines("a", "alice"), machines("b", "bob")
    made: dict[str, list] = {"a": [], "b": []}
    failures = []

    def machine(m, key: str, seed: int):
        rng = random.Random(seed)
        try:
            for i in range(8):
                made[key].append(_quick_version(m.client, "shared", i).id)
                work(m.client, seed * 100 + i, points=10)
                if rng.random() < 0.7:
                    m.sync()
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=machine, args=(a, "a", 1)), threading.Thread(target=machine, args=(b, "b", 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    for _ in range(2):  # push what is left, then let each learn the other's versions
        a.sync()
        b.sync()
    remote = registry.open_store()
    try:
        with remote.db.read() as conn:
            on_registry = dict(conn.execute(sa.select(s.model_versions.c.id, s.model_versions.c.version)).all())
    finally:
        remote.close()
    assert sorted(on_registry.values()) == list(range(1, 17))  # 16 versions, no number twice
    assert set(on_registry) == set(made["a"]) | set(made["b"])
    for m in (a, b):
        local = {v.id: v.version for v in m.client.list_versions("shared")}
        assert local == on_registry
    assert a.client.get_model("shared").id == b.client.get_model("shared").id
    assert_converged([a.store, b.store], registry)


def test_postgres_restarted_during_sync_recovers_by_itself(machines, registry, pg_cluster):
    """PostgreSQL restarts while the background worker's push is inside a transaction: the
    worker backs off, retries and converges without anyone doing anything."""
    from jupyter_modelops.sync.worker import SyncWorker

    m = machines()
    for i in range(6):
        work(m.client, i, points=30)
    m.client.flush()
    blocker = psycopg.connect(registry.db_url, autocommit=False)
    blocker.execute("LOCK TABLE metrics IN SHARE MODE")  # the first push stops mid-transaction
    worker = SyncWorker(m.store, registry.url, registry.token, interval=0.2, first_delay=0.0,
                        batch_entries=10).start()
    try:
        with psycopg.connect(registry.db_url, autocommit=True) as watch:
            wait_for(lambda: watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'").fetchone()[0], what="the push to wait on the lock")
        pg_cluster.restart()  # terminates every connection and aborts the open transaction
        blocker.close()
        restarted_at = int(time.time() * 1000)
        for i in range(6, 10):  # work goes on meanwhile
            work(m.client, i, points=30)
        m.client.flush()
        wait_for(lambda: outbox.pending_count(m.store)[0] == 0
                 and (m.status()["last_success"] or 0) > restarted_at, timeout=60,
                 what="the worker to push everything after the restart")
    finally:
        worker.stop()
    st = m.status()
    assert st["last_error"] is None and st["failures"] == 0
    assert_converged([m.store], registry)
