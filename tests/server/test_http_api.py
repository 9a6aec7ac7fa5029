"""The REST API on the wire: bodies, errors, limits, paths, streaming, and the transport."""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket

import httpx
import pytest

from jupyter_modelops import services
from jupyter_modelops.client import Client
from jupyter_modelops.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, StoreUnavailable
from jupyter_modelops.server import API_PREFIX, api


def _error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert set(err) == {"type", "message", "details"}
    return err


def _run(api) -> str:
    resp = api.post("/runs", json={"experiment": "e", "name": "r"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


# --------------------------------------------------------------------------- coverage


def test_every_service_operation_has_an_endpoint():
    assert set(api.by_op()) == set(services.OPS)
    for op, endpoints in api.by_op().items():
        for ep in endpoints:
            assert ep.result in api.CODECS, op


# --------------------------------------------------------------------------- bodies


def test_malformed_json_is_400(api):
    for body, why in [(b'{"name": "x"', "not valid JSON"), (b"\xff\xfe", "not UTF-8"),
                      (b'{"name": NaN}', "NaN is not valid JSON"), (b"[1, 2]", "must be a JSON object"),
                      (b"", "needs a JSON body"), (b'"churn"', "must be a JSON object")]:
        err = _error(api.post("/experiments", content=body, headers={"Content-Type": "application/json"}), 400)
        assert err["type"] == "InvalidInput" and why in err["message"], (body, err)
    assert api.get("/experiments").json() == []


def test_unknown_and_missing_fields_are_400_naming_them(api):
    err = _error(api.post("/experiments", json={"name": "x", "colour": "red", "size": 3}), 400)
    assert "unknown field 'colour', 'size'" in err["message"] and err["details"]["unknown"] == ["colour", "size"]
    assert "allowed: name, description, tags, id" in err["message"]
    err = _error(api.post("/experiments", json={"description": "no name"}), 400)
    assert "lacks required field 'name'" in err["message"]
    err = _error(api.post("/experiments", json={"name": ["not", "a", "string"]}), 400)
    assert "body field 'name'" in err["message"] and "string" in err["message"]
    err = _error(api.get("/runs", params={"filtr": "x"}), 400)
    assert "unknown query parameter 'filtr'" in err["message"] and "filter" in err["message"]
    err = _error(api.get("/runs", params={"limit": "ten"}), 400)
    assert "limit must be an integer" in err["message"]
    err = _error(api.post(f"/runs/{_run(api)}/params", json={"params": {"C": 1}, "extra": 1}), 400)
    assert "'extra'" in err["message"]
    assert api.get("/experiments").json()[0]["name"] == "e"


def test_service_errors_keep_their_status_and_type(api):
    err = _error(api.get("/experiments/nope"), 404)
    assert err == {"type": "NotFound", "message": "no experiment named or with id 'nope'", "details": {}}
    api.post("/experiments", json={"name": "dup"})
    assert _error(api.post("/experiments", json={"name": "dup"}), 409)["type"] == "Conflict"
    rid = _run(api)
    api.post(f"/runs/{rid}/params", json={"params": {"C": 1}})
    err = _error(api.post(f"/runs/{rid}/params", json={"params": {"C": 2}}), 409)
    assert err["details"] == {"key": "C", "old": "1", "new": "2"}
    assert _error(api.get("/runs/not-an-id"), 400)["type"] == "InvalidInput"


def test_unknown_routes_and_methods(api):
    err = _error(api.get("/nope"), 404)
    assert err["type"] == "NotFound" and "no API route GET" in err["message"]
    resp = api.delete("/experiments")
    assert _error(resp, 405)["type"] == "MethodNotAllowed"
    assert resp.headers["allow"] == "GET, POST"


def test_oversize_bodies_are_413_before_being_read(server, raw):
    for method, path, limit in [("POST", "experiments", 8 << 20), ("PUT", "blobs/" + "0" * 64, 64 << 20)]:
        # Only the headers: the server must answer without waiting for the body.
        status, _, body = raw(method, path, headers={"Content-Length": str(limit + 1),
                                                     "Content-Type": "application/json"})
        err = json.loads(body)["error"]
        assert status == 413 and err["type"] == "PayloadTooLarge" and str(limit) in err["message"]


def test_oversize_bodies_sent_in_full_or_chunked_are_413(api):
    resp = api.post("/experiments", content=b'{"name": "' + b"x" * (8 << 20) + b'"}',
                    headers={"Content-Type": "application/json"})
    assert _error(resp, 413)["type"] == "PayloadTooLarge"

    def chunks():
        for _ in range(65):
            yield b"y" * (1 << 20)

    assert _error(api.put("/blobs/" + "0" * 64, content=chunks()), 413)["type"] == "PayloadTooLarge"
    assert api.get("/whoami").status_code == 200


# --------------------------------------------------------------------------- artifact paths

TRAVERSALS = [
    "../../../../etc/passwd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd", "/etc/passwd", "a/%2e%2e/%2e%2e/b", "nul%00.txt", "..", "%2e%2e", "a\\..\\b",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_never_escapes_the_store(server, api, raw, path):
    rid = _run(api)
    payload = b"evil-" + os.urandom(8).hex().encode()
    status, _, body = raw("PUT", f"{API_PREFIX}/runs/{rid}/artifacts/{path}", body=payload,
                          headers={"Content-Type": "application/octet-stream"})
    assert status in (400, 404), (status, body)
    assert json.loads(body)["error"]["type"] in ("InvalidInput", "NotFound")
    status, headers, body = raw("GET", f"{API_PREFIX}/runs/{rid}/artifacts/{path}")
    assert status in (400, 404), (status, body)
    assert b"root:" not in body
    assert api.get(f"/runs/{rid}/artifacts").json() == []
    # The bytes were written nowhere: not in the blob store, not next to it, not above it.
    root = server.home.parent.parent
    written = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()
               and p.stat().st_size == len(payload) and p.read_bytes() == payload]
    assert written == []


def test_artifact_names_with_slashes_spaces_and_unicode(api):
    rid = _run(api)
    for name in ["a/b/c.txt", "with space.txt", "ünïcödé/日本.json", "dots.in.name..txt"]:
        quoted = "/".join(httpx.URL("http://x/" + part).raw_path.decode()[1:] for part in name.split("/"))
        assert api.put(f"/runs/{rid}/artifacts/{quoted}", content=name.encode()).status_code == 201
        assert api.get(f"/runs/{rid}/artifacts/{quoted}").content == name.encode()
    assert sorted(a["path"] for a in api.get(f"/runs/{rid}/artifacts").json()) == sorted(
        ["a/b/c.txt", "with space.txt", "ünïcödé/日本.json", "dots.in.name..txt"])
    info = api.get(f"/runs/{rid}/artifact-info/a/b/c.txt").json()
    assert info["path"] == "a/b/c.txt" and info["media_type"] == "text/plain"


# --------------------------------------------------------------------------- streaming


def test_multi_megabyte_artifact_streams_in_chunks(server, api):
    rid = _run(api)
    data = os.urandom(5 << 20) + b"tail"
    resp = api.put(f"/runs/{rid}/artifacts/weights/model.bin", content=data,
                   headers={"Content-Type": "application/x-model"})
    assert resp.status_code == 201
    art = resp.json()
    assert art["size"] == len(data) and art["digest"] == hashlib.sha256(data).hexdigest()
    assert art["media_type"] == "application/x-model"
    chunks = []
    with api.stream("GET", f"/runs/{rid}/artifacts/weights/model.bin") as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/x-model"
        assert r.headers["content-length"] == str(len(data))
        assert r.headers["etag"] == f'"{art["digest"]}"' == f'"{r.headers["x-content-sha256"]}"'
        assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''model.bin"
        for chunk in r.iter_raw():
            chunks.append(chunk)
    assert b"".join(chunks) == data
    assert len(chunks) > 1  # it arrived in pieces, not as one buffered body
    c = Client(url=server.url, token=server.token)
    try:
        assert c.read_artifact(rid, "weights/model.bin") == data
    finally:
        c.close()


@pytest.mark.parametrize("size", [3000, 3 << 20], ids=["one-chunk", "multi-chunk"])
def test_tampered_blob_is_never_served_complete(server, api, size):
    rid = _run(api)
    art = api.put(f"/runs/{rid}/artifacts/f.bin", content=b"x" * size).json()
    path = server.home / "artifacts" / "sha256" / art["digest"][:2] / art["digest"]
    os.chmod(path, 0o644)
    path.write_bytes(b"y" * size)
    if size < 1 << 20:  # detected before anything was sent: an ordinary error response
        err = _error(api.get(f"/runs/{rid}/artifacts/f.bin"), 500)
        assert err["type"] == "IntegrityFailure" and "failed verification" in err["message"]
    else:  # detected after the headers: the body is cut short of its Content-Length
        with pytest.raises(httpx.RemoteProtocolError):
            with api.stream("GET", f"/runs/{rid}/artifacts/f.bin") as r:
                assert r.headers["content-length"] == str(size)
                for _ in r.iter_raw():
                    pass
    c = Client(url=server.url, token=server.token)
    try:
        c.log_text(rid, "fine", "good.txt")
        for _ in range(3):  # and the client's kept-alive connections stay usable
            with pytest.raises(IntegrityFailure, match="failed verification"):
                c.read_artifact(rid, "f.bin")
            with pytest.raises(IntegrityFailure, match="failed verification"):
                c.transport.call("get_blob", digest=art["digest"])
            assert c.read_artifact(rid, "good.txt") == b"fine"
    finally:
        c.close()
    assert "Traceback" not in server.log.read_text()


def test_blobs_by_digest(api):
    data = b"blob bytes"
    digest = hashlib.sha256(data).hexdigest()
    resp = api.put(f"/blobs/{digest}", content=data)
    assert resp.status_code == 201 and resp.json() == {"digest": digest, "size": len(data)}
    assert api.get(f"/blobs/{digest}").content == data
    err = _error(api.put(f"/blobs/{'0' * 64}", content=data), 400)
    assert "sha256" in err["message"] and err["details"]["actual"] == digest
    assert _error(api.get(f"/blobs/{'1' * 64}"), 404)["type"] == "NotFound"
    assert _error(api.get("/blobs/not-a-digest"), 400)["type"] == "InvalidInput"


# --------------------------------------------------------------------------- metrics on the wire


def test_metric_batches_are_json_arrays_and_keep_nan_and_inf(api):
    rid = _run(api)
    points = [[rid, "loss", 0, 1000, 0.5], [rid, "loss", 1, 1001, "NaN"], [rid, "loss", 2, 1002, "Infinity"],
              [rid, "loss", 3, 1003, "-Infinity"]]
    assert api.post("/metrics", json=points).json() == {"count": 4}
    history = api.get(f"/runs/{rid}/metrics/loss").json()
    assert [m["value"] for m in history] == [0.5, "NaN", "Infinity", "-Infinity"]
    assert api.get(f"/runs/{rid}").json()["metrics"] == {"loss": "-Infinity"}
    err = _error(api.post("/metrics", json=[[rid, "loss", 0, 1000]]), 400)
    assert "[run_id, key, step, timestamp, value]" in err["message"]
    err = _error(api.post("/metrics", json={"points": []}), 400)
    assert "JSON array" in err["message"]
    err = _error(api.post("/metrics", json=[[rid, "loss", 10**20, 1, 1.0]]), 400)
    assert "64 bits" in err["message"]
    sampled = api.get(f"/runs/{rid}/metrics/loss", params={"max_points": 2}).json()
    assert [m["step"] for m in sampled] == [0, 3]


def test_client_roundtrips_nan_and_inf_and_free_form_nan(server):
    c = Client(url=server.url, token=server.token)
    try:
        run = c.create_run("e", provenance={"odd": float("nan")})
        c.log_metrics(run.id, {"a": float("nan"), "b": float("inf"), "c": float("-inf"), "d": 1.25})
        c.flush()
        got = c.get_run(run.id).metrics
        assert math.isnan(got["a"]) and got["b"] == math.inf and got["c"] == -math.inf and got["d"] == 1.25
        [m] = c.get_metric_history(run.id, "a")
        assert math.isnan(m.value)
        assert c.get_run(run.id).provenance["odd"] == "NaN"  # strict JSON on the wire
    finally:
        c.close()


def test_search_pages_through_query_parameters(api):
    for i in range(5):
        rid = api.post("/runs", json={"experiment": "e", "name": f"r{i}"}).json()["id"]
        api.post(f"/runs/{rid}/params", json={"params": {"i": i}})
    seen, token = [], None
    while True:
        params = {"limit": 2, "order_by": "params.i", "experiment_name": "e"}
        if token:
            params["page_token"] = token
        page = api.get("/runs", params=params).json()
        seen += [r["name"] for r in page["runs"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == ["r0", "r1", "r2", "r3", "r4"]
    assert api.get("/runs/count", params={"filter": "params.i in ('3', '4')"}).json() == {"count": 2}


# --------------------------------------------------------------------------- the transport


def test_compare_frames_are_identical_over_both_transports(server):
    remote = Client(url=server.url, token=server.token)
    local = Client(home=str(server.home))
    try:
        ids = []
        for c_val, acc in [(1, 0.9), (2, float("nan"))]:
            with remote.start_run("e") as run:
                run.log_params({"C": c_val, "kernel": "rbf"})
                run.log_metric("acc", acc)
                ids.append(run.id)
        a, b = remote.compare_runs(ids), local.compare_runs(ids)
        assert list(a.columns) == list(b.columns) and list(a.dtypes) == list(b.dtypes)
        assert a.astype(str).equals(b.astype(str))
        nan_row = a[a.key == "acc"].iloc[0]
        assert math.isnan(nan_row.iloc[3]) and nan_row.iloc[2] == 0.9
        assert a[a.differs].key.tolist() == b[b.differs].key.tolist()
    finally:
        remote.close()
        local.close()


def test_transport_errors_are_the_same_exception_types(server):
    c = Client(url=server.url, token=server.token)
    try:
        with pytest.raises(NotFound, match="no experiment named or with id 'nope'"):
            c.get_experiment("nope")
        c.create_experiment("x")
        with pytest.raises(Conflict, match="already exists"):
            c.create_experiment("x")
        with pytest.raises(InvalidInput, match="unknown operation"):
            c.transport.call("drop_everything")
        with pytest.raises(InvalidInput, match="unexpected argument 'bogus'"):
            c.transport.call("list_experiments", bogus=1)
        assert c.transport.describe() == f"server {server.url}"
        assert repr(c) == f"<Client server {server.url} user='alice'>"
    finally:
        c.close()


def test_unreachable_server_is_one_line_store_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = Client(url=f"http://127.0.0.1:{port}", token="x")
    try:
        with pytest.raises(StoreUnavailable) as info:
            c.list_experiments()
        assert str(info.value) == f"cannot reach the ModelOps server at http://127.0.0.1:{port}: connection refused"
    finally:
        c.close()
    with pytest.raises(InvalidInput, match="http:// or https://"):
        Client(url="ftp://example.org")
