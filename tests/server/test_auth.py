"""Authentication (API tokens) and authorization (roles) of the shared registry."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from jupyter_modelops.client import Client
from jupyter_modelops.errors import Forbidden
from jupyter_modelops.server import API_PREFIX


def _error(resp) -> dict:
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}
    return body["error"]


def test_no_token_is_401_with_our_error_body(server):
    for method, path in [("GET", "/whoami"), ("GET", "/runs"), ("POST", "/experiments"),
                         ("GET", "/openapi.json"), ("GET", "/no/such/route")]:
        resp = httpx.request(method, server.url + API_PREFIX + path, json={"name": "x"})
        assert resp.status_code == 401, (method, path)
        err = _error(resp)
        assert err["type"] == "Unauthenticated" and "Authorization: token" in err["message"]
        assert resp.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    "token mo_0123456789abcdef_" + "A" * 43,  # well formed, unknown id
    "token nonsense",
    "Basic YWxpY2U6cGFzcw==",
    "token",
])
def test_bad_tokens_are_401(server, header):
    resp = httpx.get(server.url + API_PREFIX + "/whoami", headers={"Authorization": header})
    assert resp.status_code == 401
    assert _error(resp)["type"] == "Unauthenticated"


def test_right_id_wrong_secret_is_401_and_token_in_url_is_ignored(server):
    token = server.token
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    resp = httpx.get(server.url + API_PREFIX + "/whoami", headers={"Authorization": f"token {forged}"})
    assert resp.status_code == 401
    resp = httpx.get(server.url + API_PREFIX + "/whoami", params={"token": token})
    assert resp.status_code == 401  # tokens travel in headers only, never in logged URLs
    assert token not in server.log.read_text()


def test_token_and_bearer_both_work(server):
    for scheme in ("token", "Bearer", "bearer"):
        resp = httpx.get(server.url + API_PREFIX + "/whoami",
                         headers={"Authorization": f"{scheme} {server.token}"})
        assert resp.status_code == 200
        assert resp.json() == {"username": "alice", "display_name": "alice",
                               "roles": ["data_scientist", "admin"], "mode": "registry",
                               "version": resp.json()["version"]}


def test_viewer_reads_but_cannot_write(server, api, add_user):
    api.post("/experiments", json={"name": "churn"}).raise_for_status()
    viewer = httpx.Client(base_url=server.url + API_PREFIX,
                          headers={"Authorization": f"token {add_user('vic', 'viewer')}"})
    assert [e["name"] for e in viewer.get("/experiments").json()] == ["churn"]
    assert viewer.get("/whoami").json()["roles"] == ["viewer"]
    for method, path, body in [("POST", "/experiments", {"name": "x"}), ("POST", "/runs", {}),
                               ("PUT", "/blobs/" + "0" * 64, None)]:
        resp = viewer.request(method, path, json=body)
        assert resp.status_code == 403, (method, path)
        err = _error(resp)
        assert err["type"] == "Forbidden"
    assert [e["name"] for e in api.get("/experiments").json()] == ["churn"]


def test_roles_beyond_viewer_are_checked_by_the_services(server, add_user):
    """A validator passes the coarse authorizer; the service layer refuses tracking writes."""
    c = Client(url=server.url, token=add_user("val", "validator"))
    try:
        assert c.user == "val" and c.transport.roles == ["validator"]
        with pytest.raises(Forbidden, match="val may not create experiment.*data_scientist"):
            c.create_experiment("x")
        assert c.list_experiments() == []
    finally:
        c.close()


def test_viewer_client_raises_forbidden(server, add_user):
    c = Client(url=server.url, token=add_user("vic", "viewer"))
    try:
        with pytest.raises(Forbidden):
            c.create_experiment("x")
        assert c.list_experiments() == []
    finally:
        c.close()


def test_role_changes_and_revocation_apply_at_once(server, add_user):
    from jupyter_modelops import users
    from jupyter_modelops.store.store import Store

    token = add_user("bob", "viewer")
    headers = {"Authorization": f"token {token}"}
    url = server.url + API_PREFIX
    assert httpx.post(url + "/experiments", json={"name": "e"}, headers=headers).status_code == 403
    store = Store(f"sqlite:///{server.home}/store.db", str(server.home / "artifacts"), user="admin")
    try:
        users.set_roles(store, "bob", "data_scientist")
        assert httpx.post(url + "/experiments", json={"name": "e"}, headers=headers).status_code == 201
        [tok] = users.get_user(store, "bob").tokens
        users.revoke_token(store, "bob", tok["id"])
    finally:
        store.close()
    assert httpx.get(url + "/whoami", headers=headers).status_code == 401


def test_tokens_are_stored_hashed(server):
    import sqlite3

    token = server.token
    secret = token.split("_", 2)[2]
    raw = b"".join(p.read_bytes() for p in server.home.glob("store.db*"))
    assert token.encode() not in raw and secret.encode() not in raw
    with sqlite3.connect(server.home / "store.db") as conn:
        rows = conn.execute("SELECT id, token_hash FROM api_tokens").fetchall()
    assert rows == [(token.split("_")[1], hashlib.sha256(token.encode()).hexdigest())]


def test_registry_serves_nothing_but_the_modelops_api(server):
    headers = {"Authorization": f"token {server.token}"}
    for path in ("/api/contents", "/api/kernels", "/api/sessions", "/api/terminals"):
        resp = httpx.get(server.url + path, headers=headers)
        assert resp.status_code in (403, 404), path
    assert httpx.get(server.url + "/lab", headers=headers).status_code == 404
    assert httpx.post(server.url + "/api/kernels", headers=headers).status_code in (403, 404)


def test_cors_is_not_opened(server):
    resp = httpx.get(server.url + API_PREFIX + "/whoami",
                     headers={"Authorization": f"token {server.token}", "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in resp.headers
    pre = httpx.options(server.url + API_PREFIX + "/experiments",
                        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers


def test_users_cli(tmp_path):
    import subprocess
    import sys

    def jm(*args, check=True):
        proc = subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", *args, f"--home={tmp_path}"],
                              capture_output=True, text=True, timeout=120)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    assert "added carol with roles data_scientist, approver" in jm(
        "users", "add", "carol", "--role", "approver", "--role", "data_scientist").stdout
    token = jm("users", "token", "carol", "--label=ci").stdout.strip()
    assert token.startswith("mo_") and len(token) == 3 + 16 + 1 + 43
    assert "carol now has roles viewer" in jm("users", "roles", "carol", "--set", "viewer").stdout
    listed = json.loads(jm("users", "list", "--json").stdout)
    assert [(u["name"], u["roles"], [t["label"] for t in u["tokens"]]) for u in listed] == [
        ("carol", ["viewer"], ["ci"])]
    assert token not in json.dumps(listed)
    bad = jm("users", "add", "dave", "--role", "superuser", check=False)
    assert bad.returncode == 1 and "unknown role 'superuser'" in bad.stderr and "Traceback" not in bad.stderr
    dup = jm("users", "add", "carol", "--role", "viewer", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    from jupyter_modelops.store.db import HEAD_REVISION

    assert f"revision {HEAD_REVISION} (up to date)" in jm("db", "current").stdout
