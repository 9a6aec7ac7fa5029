"""The sidebar's view of the team registry: ``/modelops/registry/api/v1`` on the Jupyter
server forwards to the linked registry with the configured token."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def bob_token(server, add_user):
    return add_user("bob", "approver")


@pytest.fixture
def jp_server_config(server, bob_token):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_modelops": True}},
        "ModelOpsConfig": {"registry_url": server.url, "registry_token": bob_token,
                           "sync_interval": 3600.0},
    }


async def _json(jp_fetch, *parts, **kw):
    resp = await jp_fetch("modelops", "registry", "api", "v1", *parts, **kw)
    return resp.code, json.loads(resp.body) if resp.body else None


async def test_the_registry_sees_the_linked_identity_not_the_notebook_owner(jp_fetch):
    code, body = await _json(jp_fetch, "whoami")
    assert code == 200
    assert body["username"] == "bob" and body["roles"] == ["approver"]
    # the notebook server's own API still answers as its owner
    local = json.loads((await jp_fetch("modelops", "api", "v1", "whoami")).body)
    assert local["username"] == "alice"


async def test_writes_reach_the_registry_and_its_refusals_come_back_unchanged(jp_fetch, api):
    # bob is an approver only: the registry refuses him a tracking write, with its own message
    with pytest.raises(HTTPClientError) as info:
        await _json(jp_fetch, "experiments", method="POST", body=json.dumps({"name": "x"}))
    assert info.value.code == 403
    assert json.loads(info.value.response.body)["error"]["type"] == "Forbidden"
    # reads with query strings pass through; a missing thing is the registry's 404
    api.post("/experiments", json={"name": "churn"}).raise_for_status()
    api.post("/runs", json={"experiment": "churn", "name": "r1"}).raise_for_status()
    api.post("/runs", json={"experiment": "churn", "name": "r2"}).raise_for_status()
    code, body = await _json(jp_fetch, "runs", params={"experiment_name": "churn", "limit": "1"})
    assert code == 200 and len(body["runs"]) == 1 and body["next_page_token"]
    with pytest.raises(HTTPClientError) as info:
        await _json(jp_fetch, "models", "nope")
    assert info.value.code == 404
    assert json.loads(info.value.response.body)["error"]["type"] == "NotFound"


async def test_capability_ops_go_through(jp_fetch):
    code, body = await _json(jp_fetch, "ops", "list_requests", method="POST", body="{}")
    assert code == 200 and body == {"result": []}


async def test_the_proxy_needs_the_jupyter_login(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("modelops", "registry", "api", "v1", "whoami", headers={"Authorization": ""})
    assert info.value.code in (401, 403)
