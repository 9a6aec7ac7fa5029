"""Capability operations (governance, ...) without a REST resource of their own: typed
``POST /ops/<op>`` calls, so every service operation works over HTTP."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import httpx
import pytest

from jupyter_modelops import services
from jupyter_modelops.client import Client
from jupyter_modelops.errors import Forbidden, InvalidInput, NotFound
from jupyter_modelops.server import API_PREFIX, api
from jupyter_modelops.tracking.records import Metric, Run


@dataclass
class _Inner:
    x: float
    tags: dict = field(default_factory=dict)


def test_typed_values_round_trip():
    run = Run("a" * 32, "b" * 32, "r", "RUNNING", "u", "h", 1, metrics={"m": math.nan})
    value = {"run": run, "pair": (1, "x"), "raw": b"\x00\xff", "inf": -math.inf, "$odd": {"$float": 1},
             "points": [Metric("k", math.inf, 0, 1)], 3: "int key", "none": None}
    back = api.decode_value(api.encode_value(value))
    assert back["pair"] == (1, "x") and back["raw"] == b"\x00\xff" and back["inf"] == -math.inf
    assert back["$odd"] == {"$float": 1} and back[3] == "int key" and back["none"] is None
    assert isinstance(back["run"], Run) and math.isnan(back["run"].metrics["m"])
    assert back["points"][0] == Metric("k", math.inf, 0, 1)
    # servers accept plain values only: no classes are imported from what a client sends
    with pytest.raises(InvalidInput):
        api.decode_value(api.encode_value(run), records=False)
    # and clients rebuild only this package's dataclasses
    with pytest.raises(InvalidInput):
        api.decode_value({"$record": "os:system", "fields": {}})
    with pytest.raises(TypeError, match="cannot send a object"):
        api.encode_value(object())


def test_every_capability_op_is_routed_with_its_access():
    for op in services.OPS:
        [*_, ep] = api.by_op()[op]
        if ep.body_kwargs:
            assert ep.method == "POST" and ep.path == f"/ops/{op}"
            assert ep.action == ("read" if op in services.READ_ONLY else "write")
            assert ep.resource.startswith("modelops:")


@pytest.mark.skipif("get_policy" not in services.OPS, reason="governance is not installed")
def test_governance_over_http_returns_the_local_records(server, add_user):
    c = Client(url=server.url, token=server.token)
    local = Client(home=str(server.home))
    try:
        import json

        digest = c._call("put_blob", data=json.dumps({"format": 1, "flavor": "pyfunc", "files": {}}).encode())["digest"]
        c._call("create_version", name="m", flavor="pyfunc", manifest_digest=digest)
        assert c._call("get_policy") == local._call("get_policy")
        entry = c._call("set_model_info", name="m", owner="alice", purpose="tests", risk_tier="low")
        assert type(entry).__name__ == "InventoryEntry" and entry.purpose == "tests"
        assert c._call("inventory") == local._call("inventory")
        assert c._call("check_evidence", name="m", version=1) == local._call("check_evidence", name="m", version=1)
        assert c._call("audit_verify").ok is True
        assert c._call("list_requests") == []
        with pytest.raises(NotFound, match="no deployment request"):
            c._call("get_request", request_id="0" * 32)
        with pytest.raises(InvalidInput, match="unexpected keyword argument 'bogus'"):
            c._call("inventory", bogus=1)
        viewer = Client(url=server.url, token=add_user("vic", "viewer"))
        try:
            assert viewer._call("inventory") == c._call("inventory")  # a read, though a POST
            with pytest.raises(Forbidden):
                viewer._call("set_model_info", name="m", purpose="hijack")
        finally:
            viewer.close()
    finally:
        c.close()
        local.close()


def test_operation_call_bodies_are_checked(api):
    if "inventory" not in services.OPS:
        pytest.skip("governance is not installed")
    for body, why in [(b"[]", "JSON object of keyword arguments"), (b"{", "not valid JSON"),
                      (b'{"kind": {"$float": "big"}}', "malformed $float")]:
        resp = api.post("/ops/inventory", content=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and why in resp.json()["error"]["message"], resp.text
    resp = httpx.post(api.base_url.join(API_PREFIX + "/ops/inventory"), json={})
    assert resp.status_code == 401
