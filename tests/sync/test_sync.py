"""Push and pull between local stores and a registry on PostgreSQL."""

from __future__ import annotations

import math
import os

import pytest
import sqlalchemy as sa

from jupyter_modelops.client import Client
from jupyter_modelops.errors import StoreUnavailable
from jupyter_modelops.store import schema as s
from jupyter_modelops.sync import outbox

pytestmark = pytest.mark.postgres


def _remote(registry, user="alice"):
    return Client(url=registry.url, token=registry.tokens[user])


def _train(client, name="run", params=None, metrics=5, experiment="exp"):
    with client.start_run(experiment, name) as run:
        client.log_params(run.id, params or {"C": 1.0, "kernel": "rbf"})
        for i in range(metrics):
            client.log_metric(run.id, "loss", 1.0 / (i + 1), step=i)
        client.log_metric(run.id, "odd", math.nan, step=0)
        client.log_text(run.id, "hello", "notes/readme.txt")
        client.set_tag(run.id, "team", "risk")
    return run.id


def test_unlinked_store_queues_nothing(mo_home):
    c = Client(home=str(mo_home))
    try:
        outbox.set_linked(c.store, None)
        assert not outbox.is_linked(c.store)
        _train(c)
        assert outbox.pending_count(c.store) == (0, 0, 0)
    finally:
        c.close()


def test_changes_are_queued_in_the_transaction_of_the_change(machines):
    m = machines()
    rid = _train(m.client)
    with m.store.db.read() as conn:
        ops = [r.op for r in conn.execute(sa.select(s.sync_outbox).order_by(s.sync_outbox.c.seq))]
    assert ops[:2] == ["create_run", "log_params"]  # the experiment is made by name with the run
    assert {"log_metric_points", "record_artifact", "set_tags", "end_run"} <= set(ops)
    # A refused change leaves no entry.
    before = outbox.pending_count(m.store)[0]
    with pytest.raises(Exception):
        m.client.log_params(rid, {"C": 2.0})
    assert outbox.pending_count(m.store)[0] == before


def test_push_then_registry_has_everything_once(machines, registry):
    m = machines()
    rid = _train(m.client, params={"C": 0.5, "depth": 3})
    report = m.sync()
    assert report.pushed > 0 and report.rejected == 0
    assert m.status()["pending"] == 0 and m.status()["last_error"] is None
    remote = _remote(registry)
    try:
        run = remote.get_run(rid)
        local = m.client.get_run(rid)
        assert (run.name, run.status, run.params, run.tags["team"]) == (local.name, "FINISHED", local.params, "risk")
        assert run.start_time == local.start_time and run.end_time == local.end_time
        assert [p.value for p in remote.get_metric_history(rid, "loss")] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
        assert math.isnan(remote.get_metric_history(rid, "odd")[0].value)
        assert remote.read_artifact(rid, "notes/readme.txt") == b"hello"
    finally:
        remote.close()
    # Pushing again sends nothing; the registry keeps one copy.
    assert m.sync().pushed == 0
    with _store(registry) as store:
        with store.db.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(s.runs)).scalar() == 1
            assert conn.execute(sa.select(sa.func.count()).select_from(s.metrics)).scalar() == 6


class _store:
    def __init__(self, registry):
        self.store = registry.open_store()

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        self.store.close()


def test_a_resent_batch_is_applied_once(machines, registry):
    """The answer to a push is lost: the same entries go again and change nothing."""
    m = machines()
    _train(m.client)
    m.client.flush()
    batch = outbox.read_batch(m.store, max_bytes=1 << 30, max_entries=10_000)
    syncer = m.syncer()
    real_ack = syncer._acknowledge
    calls = []

    def lose_answer(batch, answer, report):
        calls.append(answer)
        if len(calls) == 1:
            raise StoreUnavailable("connection reset while reading the answer")
        return real_ack(batch, answer, report)

    syncer._acknowledge = lose_answer
    with pytest.raises(StoreUnavailable):
        syncer.sync()
    assert m.status()["pending"] == len(batch)
    assert "connection reset" in m.status()["last_error"]
    report = syncer.sync()
    assert report.duplicates == len(batch) and report.pushed == len(batch)
    with _store(registry) as store, store.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.metrics)).scalar() == 6
        assert conn.execute(sa.select(sa.func.count()).select_from(s.sync_applied)).scalar() == len(batch)


def test_conflicting_entry_is_rejected_and_kept_the_rest_applied(machines, registry):
    m = machines()
    rid = _train(m.client)
    m.sync()
    # The registry ended the run differently meanwhile (an admin's fix): the local end differs.
    with m.client.start_run("exp", "second") as r2:
        m.client.log_param(r2.id, "x", 1)
    with _store(registry) as store, store.db.write() as conn:
        conn.execute(s.params.insert().values(run_id=rid, key="late", value="registry"))
    # A param logged locally into a run the registry holds FINISHED: refused, the rest applied.
    with m.store.db.write() as conn:
        outbox.enqueue(conn, "log_params", {"run_id": rid, "params": {"late": "local"}})
    report = m.sync()
    assert report.rejected == 1
    st = m.status()
    assert st["pending"] == 0 and st["rejected"] == 1
    [entry] = outbox.rejected(m.store)
    assert entry["op"] == "log_params" and "finished runs are immutable" in entry["error"]
    remote = _remote(registry)
    try:
        assert remote.get_run(r2.id).params == {"x": "1"}
    finally:
        remote.close()


def _register(client, name, run_id=None):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    return client.register_model(model, name, run_id=run_id)


def test_versions_get_canonical_numbers_and_provisional_ones_are_renumbered(machines, registry):
    a, b = machines("a", "alice"), machines("b", "bob")
    va1 = _register(a.client, "churn")
    vb1 = _register(b.client, "churn")
    vb2 = _register(b.client, "churn")
    assert (va1.version, vb1.version, vb2.version) == (1, 1, 2)  # provisional, local
    a.sync()
    b.sync()
    # b's versions came second: they are 2 and 3 on the registry and now locally too.
    assert [v.version for v in b.client.list_versions("churn")] == [1, 2, 3]
    assert {v.id: v.version for v in b.client.list_versions("churn")} == {va1.id: 1, vb1.id: 2, vb2.id: 3}
    # a learns about b's versions (a teammate's models come back with their files).
    a.sync()
    assert {v.id: v.version for v in a.client.list_versions("churn")} == {va1.id: 1, vb1.id: 2, vb2.id: 3}
    # The model ids converged on the registry's, and the pulled version loads.
    assert a.client.get_model("churn").id == b.client.get_model("churn").id
    assert list(a.client.load_model("churn", 3).predict([[0.0], [3.0]])) == [0, 1]
    # A new local version while a teammate registered one: provisional 4 collides, gets renumbered.
    va4 = _register(a.client, "churn")
    vb4 = _register(b.client, "churn")
    assert va4.version == vb4.version == 4
    b.sync()
    a.sync()
    numbers = {v.id: v.version for v in a.client.list_versions("churn")}
    assert numbers[vb4.id] == 4 and numbers[va4.id] == 5
    remote = _remote(registry)
    try:
        assert {v.id: v.version for v in remote.list_versions("churn")} == numbers
    finally:
        remote.close()


def test_aliases_and_governance_come_back_from_the_registry(machines, registry):
    a = machines("a", "alice")
    v1 = _register(a.client, "fraud")
    _register(a.client, "fraud")
    a.client.set_alias("fraud", "champion", 1)
    a.sync()
    remote = _remote(registry)
    try:
        assert remote.get_model("fraud").aliases == {"champion": 1}
        # The registry moves the alias (registry-owned); the local store follows on pull.
        remote._call("set_alias", name="fraud", alias="champion", version=2)
        remote._call("set_alias", name="fraud", alias="staging", version=1)
        remote._call("delete_alias", name="fraud", alias="staging")
        remote._call("update_version", name="fraud", version=1, description="reviewed")
    finally:
        remote.close()
    a.sync()
    assert a.client.get_model("fraud").aliases == {"champion": 2}
    assert a.client.get_model_version("fraud", 1).description == "reviewed"
    assert a.client.get_model_version("fraud", 1).id == v1.id


def test_registry_down_keeps_local_work_then_converges(machines, registry):
    m = machines()
    rid = _train(m.client)
    registry.kill()
    with pytest.raises(StoreUnavailable):
        m.sync()
    rid2 = _train(m.client, "offline-run")  # work goes on while the registry is down
    st = m.status()
    assert st["pending"] > 0 and "cannot reach" in st["last_error"] and st["failures"] >= 1
    registry.start()
    m.sync()
    assert m.status()["pending"] == 0 and m.status()["last_success"]
    remote = _remote(registry)
    try:
        assert remote.get_run(rid).status == remote.get_run(rid2).status == "FINISHED"
    finally:
        remote.close()


def test_approvals_and_life_cycle_come_back(machines, registry):
    """A version pushed from a laptop is requested and approved on the registry by two other
    people; the laptop's store then shows the decision, the evidence and the new state."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    a = machines("a", "alice")
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    model = LogisticRegression().fit(X, [0, 0, 0, 1, 1, 1])
    v = a.client.register_model(model, "scoring", input_example=X.head(3))
    a.sync()
    alice, vera = _remote(registry, "alice"), _remote(registry, "vera")
    try:
        alice.set_model_info("scoring", purpose="Score loan applications", risk_tier="medium")
        req = alice.request_deployment("scoring", 1, target="local")
        assert req.state == "VALIDATED", req.validation
        approved = vera.approve_request(req.id, "looks right")
        assert approved.state == "APPROVED"
    finally:
        alice.close()
        vera.close()
    a.sync()
    local = a.client.get_model_version("scoring", 1)
    assert (local.id, local.state) == (v.id, "APPROVED")
    got = a.client.get_request(req.id)
    assert got.status == "APPROVED" and got.decided_by == "vera"
    assert [e.to_state for e in a.client.lifecycle_history("scoring", 1)][-1] == "APPROVED"
    (row,) = a.client.inventory()
    assert (row.purpose, row.risk_tier, row.approved_by) == ("Score loan applications", "medium", "vera")


def test_requests_too_big_for_the_registry_are_split_or_refused(machines, registry):
    """The registry refuses large bodies (413): batches shrink; one entry that alone is too
    big is refused and kept locally, and the queue moves on."""
    registry.kill()
    registry.extra_args = ["--ModelOpsExtension.max_json_body_size=6000"]
    registry.start()
    m = machines()
    ids = [_train(m.client, f"r{i}", metrics=20) for i in range(4)]
    with m.client.start_run("exp", "huge") as big:
        m.client.log_param(big.id, "blob", "x" * 400)
        m.client.set_tags(big.id, {f"t{i}": os.urandom(3000).hex() for i in range(3)})  # incompressible
    report = m.sync()  # refused with a 413, or cut off while sending: either way smaller batches
    assert report.pushed > 0 and report.batches > 1 and report.rejected == 1
    st = m.status()
    assert st["pending"] == 0 and st["rejected"] == 1
    [refused] = outbox.rejected(m.store)
    assert refused["op"] == "set_tags" and "larger than" in refused["error"]
    remote = _remote(registry)
    try:
        assert all(remote.get_run(rid).status == "FINISHED" for rid in ids)
    finally:
        remote.close()


def test_runs_reaped_locally_end_on_the_registry_too(machines, registry):
    import subprocess
    import sys

    from jupyter_modelops import services
    from jupyter_modelops.tracking.runs import reap_dead_runs

    m = machines()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = services.call(m.store, "create_run", experiment="exp", name="crashed", pid=dead.pid, host=m.store.host)
    m.sync()
    assert reap_dead_runs(m.store) == [run.id]  # marks it KILLED without a service op
    m.sync()
    remote = _remote(registry)
    try:
        got = remote.get_run(run.id)
        assert (got.status, got.error_type) == ("KILLED", "ProcessDied")
    finally:
        remote.close()


def test_a_local_alias_move_is_not_undone_by_a_pull_before_it_is_pushed(machines, registry):
    from jupyter_modelops.sync.engine import SyncReport

    a = machines("a", "alice")
    _register(a.client, "m")
    _register(a.client, "m")
    a.client.set_alias("m", "prod", 1)
    a.sync()
    a.client.set_alias("m", "prod", 2)  # queued, not pushed yet
    a.client._call("update_model", name="m", description="from the laptop")
    remote = _remote(registry)
    try:
        remote.set_alias("m", "prod", 1)  # the registry's own move comes back on pull ...
        remote.set_alias("m", "staging", 1)
        remote._call("update_model", name="m", description="from the registry", tags={"team": "risk"})
    finally:
        remote.close()
    a.syncer().pull(SyncReport())  # ... but what queued changes edit stays as it is locally
    assert a.client.get_model("m").aliases == {"prod": 2}
    assert a.client.get_model("m").description == "from the laptop"
    a.sync()  # pushed, then pulled: the registry and the laptop agree
    model = a.client.get_model("m")
    assert model.aliases == {"prod": 2, "staging": 1}
    assert (model.description, model.tags) == ("from the laptop", {"team": "risk"})
