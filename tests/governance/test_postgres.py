"""Governance on PostgreSQL (the shared registry): the audit chain under concurrent writers
(transaction-level advisory lock), and a request approved by a second person."""

from __future__ import annotations

import threading

import pg  # tests/pg.py, put on the path by the root conftest
import pytest

from jupyter_modelops.governance import audit
from jupyter_modelops.store.store import Store


@pytest.fixture
def pg_url():
    cluster = pg.get_cluster()
    url = cluster.new_database("gov")
    yield url
    cluster.drop_database(url)


def test_audit_chain_with_concurrent_writers_on_postgres(pg_url, tmp_path):
    stores = [Store(pg_url, str(tmp_path / "artifacts"), user=f"user{i}") for i in range(6)]
    errors = []

    def work(st):
        try:
            for j in range(20):
                with st.db.write() as conn:
                    audit.append(conn, st, "test.concurrent", "thing", str(j), {"j": j, "x": 0.1})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    report = audit.verify(stores[0])
    assert report.ok, report.message
    assert report.entries == 120
    with stores[0].db.write() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 42")
    assert audit.verify(stores[0]).first_bad["seq"] == 42
    for st in stores:
        st.close()


def test_request_and_approval_on_postgres(pg_url, tmp_path, cancer_split, cancer_fit):
    from jupyter_modelops.transport import LocalTransport

    from jupyter_modelops.client import Client

    base = Store(pg_url, str(tmp_path / "artifacts"), user="alice")
    alice = Client(transport=LocalTransport(base))
    bob = Client(transport=LocalTransport(Store(pg_url, str(tmp_path / "artifacts"), user="bob")))
    try:
        Xtr, Xte, ytr, yte = cancer_split
        alice.register_model(cancer_fit, "cancer", input_example=Xtr.head(3))
        alice.set_model_info("cancer", purpose="Second reading of biopsies", risk_tier="high")
        req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
        assert req.validation["status"] == "passed" and req.state == "VALIDATED"
        with pytest.raises(Exception, match="separation of duties"):
            alice.approve_request(req.id)
        assert bob.approve_request(req.id).state == "APPROVED"
        assert [a.action for a in alice.audit_entries(subject_id=req.id)] == [
            "request.create", "validation.run", "request.approve.refused", "request.approve"]
        assert alice.audit_verify().ok
        (row,) = alice.inventory()
        assert row.approved_by == "bob" and row.state == "APPROVED"
    finally:
        alice.close()
        bob.close()
