"""Governance over the REST API: the same rules hold for remote users with real roles."""

from __future__ import annotations

import pytest

from jupyter_modelops.errors import Forbidden, PolicyViolation

from jupyter_modelops.client import Client


@pytest.fixture
def server(registry_servers, mo_home):
    srv = registry_servers.get(home=mo_home)
    yield srv
    srv.stop()


def _person(srv, name: str, roles: tuple[str, ...]) -> Client:
    from jupyter_modelops import users
    from jupyter_modelops.store.store import Store

    store = Store(f"sqlite:///{srv.home}/store.db", str(srv.home / "artifacts"), user="setup")
    try:
        users.add_user(store, name, roles)
        token = users.create_token(store, name, label="tests")
    finally:
        store.close()
    return Client(url=srv.url, token=token)


def test_request_and_review_over_http(server, cancer_split, cancer_fit):
    Xtr, Xte, ytr, yte = cancer_split
    alice = Client(url=server.url, token=server.tokens["alice"])  # admin, data_scientist
    bob = _person(server, "bob", ("approver",))
    vic = _person(server, "vic", ("viewer",))
    try:
        alice.register_model(cancer_fit, "cancer", input_example=Xtr.head(3))
        alice.set_model_info("cancer", purpose="Second reading of biopsies", risk_tier="high")
        with pytest.raises(Forbidden):
            bob.request_deployment("cancer", 1, target="local")
        req = alice.request_deployment("cancer", 1, target="local", validation_data=(Xte, yte))
        assert req.requested_by == "alice" and req.validation["status"] == "passed"
        assert req.state == "VALIDATED"
        with pytest.raises(PolicyViolation, match="separation of duties"):
            alice.approve_request(req.id)  # an admin, but the requester
        with pytest.raises(Forbidden):
            vic.approve_request(req.id)
        assert [r.id for r in vic.list_requests()] == [req.id]  # anyone may read
        done = bob.approve_request(req.id, "fine")
        assert done.status == "APPROVED" and done.decided_by == "bob"
        card = vic.get_model_card("cancer", 1)
        assert card.facts["approvals"][0]["by"] == "bob" and "Second reading" in card.markdown
        (row,) = vic.inventory()
        assert (row.state, row.approved_by) == ("APPROVED", "bob")
        actions = [(e.actor, e.action) for e in vic.audit_entries(subject_id=req.id)]
        assert actions == [("alice", "request.create"), ("modelops:validation", "validation.run"),
                           ("alice", "request.approve.refused"), ("bob", "request.approve")]
        assert vic.audit_verify().ok
    finally:
        for c in (alice, bob, vic):
            c.close()
