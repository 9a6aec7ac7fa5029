"""API tokens and cross-origin requests.

- tokens are stored as sha256 hashes only: neither the token nor its secret part is
  anywhere in the database files (users, tokens, audit log and all);
- checking a token looks its row up by the public id and compares hashes with
  ``hmac.compare_digest`` (read from the code: no ``==`` on secrets);
- a registry logging at DEBUG never writes a token to its log — not for good, bad or
  revoked tokens, failing requests, or a ``?token=`` query (the access log scrubs it);
- CORS stays closed by default, on the standalone registry and inside Jupyter: a request
  from ``Origin: http://evil.example`` gets no ``Access-Control-Allow-Origin`` and a
  preflight gives a browser nothing that lets the cross-origin call through.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import textwrap

import httpx
import pytest

from jupyter_modelops.server import API_PREFIX

EVIL = "http://evil.example"


def _db_bytes(home) -> bytes:
    """The database as stored (main file, WAL, journal) plus its text dump."""
    import sqlite3

    raw = b"".join(p.read_bytes() for p in sorted(home.glob("store.db*")))
    with sqlite3.connect(home / "store.db") as conn:
        dump = "\n".join(conn.iterdump()).encode()
    return raw + dump


def test_tokens_are_stored_only_as_hashes(store, mo_home):
    from jupyter_modelops import users

    users.add_user(store, "dana", ["viewer"])
    token = users.create_token(store, "dana", label="ci")
    token_id, secret = token.split("_")[1], token.split("_", 2)[2]
    assert users.authenticate(store, token).name == "dana"
    data = _db_bytes(mo_home)
    assert token.encode() not in data and secret.encode() not in data
    assert hashlib.sha256(token.encode()).hexdigest().encode() in data
    listed = users.get_user(store, "dana").tokens
    assert listed[0]["id"] == token_id and secret not in json.dumps(listed)


def test_token_check_is_a_lookup_by_id_and_a_constant_time_comparison():
    from jupyter_modelops import users

    source = textwrap.dedent(inspect.getsource(users.authenticate))
    tree = ast.parse(source)
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert "hmac.compare_digest" in calls
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            text = ast.unparse(node)
            assert "hash" not in text and "token" not in text.replace("t.c.id", ""), text
    assert "t.c.id ==" in source  # the row is found by the public id, never by the secret


def test_a_token_with_a_known_id_and_a_wrong_secret_is_refused(store):
    from jupyter_modelops import users

    users.add_user(store, "erin", ["viewer"])
    token = users.create_token(store, "erin")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert users.authenticate(store, forged) is None
    assert users.authenticate(store, token + "x") is None


@pytest.fixture
def debug_registry(tmp_path):
    """A registry server logging at DEBUG level (to its server.log)."""
    from jupyter_modelops.server.testing import RegistryFactory

    factory = RegistryFactory(tmp_path / "debug", spares=0, server_args=("--log-level=DEBUG",))
    server = factory.start()
    yield server
    factory.close()


def test_tokens_never_reach_the_log_or_the_audit_trail(debug_registry, raw):
    from jupyter_modelops import users
    from jupyter_modelops.store.store import Store

    server = debug_registry
    token, port = server.token, server.port
    secret = token.split("_", 2)[2]
    store = Store(f"sqlite:///{server.home}/store.db", str(server.home / "artifacts"), user="setup")
    try:
        users.add_user(store, "frank", ["viewer"])
        revoked = users.create_token(store, "frank")
        users.revoke_token(store, "frank", revoked.split("_")[1])
    finally:
        store.close()
    wrong = token[:-6] + "ZZZZZZ"
    requests = [
        ("GET", f"{API_PREFIX}/whoami", token, None),                          # 200
        ("POST", f"{API_PREFIX}/experiments", token, b'{"name": "e"}'),         # 201, audited
        ("POST", f"{API_PREFIX}/experiments", token, b'{"name": "e"}'),         # 409
        ("GET", f"{API_PREFIX}/experiments/nope", token, None),                 # 404
        ("POST", f"{API_PREFIX}/experiments", token, b"{oops"),                 # 400
        ("GET", f"{API_PREFIX}/whoami", wrong, None),                           # 401
        ("GET", f"{API_PREFIX}/whoami", revoked, None),                         # 401
        ("GET", f"{API_PREFIX}/whoami?token={token}", None, None),              # 401, token in URL
        ("GET", f"{API_PREFIX}/experiments?token={token}", token, None),        # query scrubbed
        ("GET", f"/api/contents?token={token}", token, None),                   # not ModelOps: refused
    ]
    statuses = []
    for method, path, tok, body in requests:
        status, _, _ = raw(port, method, path, token=tok, body=body,
                           headers={"Content-Type": "application/json"} if body else None)
        statuses.append(status)
    assert statuses[:8] == [200, 201, 409, 404, 400, 401, 401, 401], statuses
    log = server.log.read_text(errors="replace")
    assert " DEBUG " in log or "[D " in log, "the server was not logging at DEBUG"
    assert "whoami" in log  # requests are in the access log ...
    for value in (token, secret, revoked, revoked.split("_", 2)[2], wrong.split("_", 2)[2]):
        assert value not in log  # ... but never a token
    db = _db_bytes(server.home)  # the audit log lives in the store, with everything else
    for value in (token, secret, revoked, wrong):
        assert value.encode() not in db


def test_registry_does_not_open_cors(registry, raw):
    port, token = registry.port, registry.token
    for method, path, body in (("GET", "whoami", None), ("POST", "experiments", b'{"name": "x"}'),
                               ("GET", "openapi.json", None)):
        status, headers, _ = raw(port, method, f"{API_PREFIX}/{path}", token=token, body=body,
                                 headers={"Origin": EVIL, **({"Content-Type": "application/json"} if body else {})})
        assert "access-control-allow-origin" not in headers, (path, headers)
        assert "access-control-allow-credentials" not in headers
    for path in ("experiments", "whoami", "runs/x/artifacts/a.txt"):
        status, headers, _ = raw(port, "OPTIONS", f"{API_PREFIX}/{path}", headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert "access-control-allow-origin" not in headers, (path, status, headers)
    assert httpx.get(f"{registry.url}{API_PREFIX}/whoami", headers={"Origin": EVIL}).status_code in (401, 403, 404)


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_modelops": True}}}


async def test_extension_inside_jupyter_does_not_open_cors(jp_fetch, mo_home):
    from tornado.httpclient import HTTPClientError

    resp = await jp_fetch("modelops", "api", "v1", "whoami", headers={"Origin": EVIL})
    assert resp.code == 200 and "Access-Control-Allow-Origin" not in resp.headers
    try:
        resp = await jp_fetch("modelops", "api", "v1", "experiments", method="OPTIONS",
                              headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "authorization"})
        headers = resp.headers
    except HTTPClientError as err:  # refusing the preflight outright is fine too
        headers = err.response.headers
    assert "Access-Control-Allow-Origin" not in headers
    # a page on another origin has no token: its request is refused
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("modelops", "api", "v1", "experiments", method="POST", body='{"name": "x"}',
                       headers={"Origin": EVIL, "Authorization": ""})
    assert err.value.code in (401, 403, 404)  # jupyter_server answers a bad origin with 404
