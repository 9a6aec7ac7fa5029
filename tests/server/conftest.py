"""Fixtures for the REST API tests: a fresh registry server per test, users, raw HTTP."""

from __future__ import annotations

import http.client

import pytest

from jupyter_modelops.server import API_PREFIX


@pytest.fixture
def server(registry_servers):
    """A running ``jupyter modelops serve`` with user alice (admin, data_scientist)."""
    s = registry_servers.get()
    yield s
    s.stop()


@pytest.fixture
def add_user(server):
    """Add a user with roles to the server's store (the users service); returns a token."""
    from jupyter_modelops import users
    from jupyter_modelops.store.store import Store

    def add(name: str, *roles: str) -> str:
        store = Store(f"sqlite:///{server.home}/store.db", str(server.home / "artifacts"), user="setup")
        try:
            users.add_user(store, name, roles)
            return users.create_token(store, name)
        finally:
            store.close()

    return add


@pytest.fixture
def api(server):
    """An httpx client for the API, authenticated as alice."""
    import httpx

    with httpx.Client(base_url=server.url + API_PREFIX, timeout=30,
                      headers={"Authorization": f"token {server.token}"}) as c:
        yield c


@pytest.fixture
def raw(server):
    """Send a request exactly as written (no URL normalisation): (status, headers, body)."""

    def send(method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             token: str | None = "alice"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        hdrs = dict(headers or {})
        if token == "alice":
            hdrs["Authorization"] = f"token {server.token}"
        elif token:
            hdrs["Authorization"] = f"token {token}"
        try:
            conn.putrequest(method, path if path.startswith("/") else API_PREFIX + "/" + path,
                            skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            if body is not None and "Content-Length" not in hdrs:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    return send
