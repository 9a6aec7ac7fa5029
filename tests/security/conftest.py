"""Fixtures and helpers for the security tests: a live registry, raw HTTP, markup checks."""

from __future__ import annotations

import http.client
from html.parser import HTMLParser
from pathlib import Path

import pytest

from jupyter_modelops.server import API_PREFIX

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert('pwned')</script>"
XSS = XSS_IMG + XSS_SCRIPT


@pytest.fixture
def registry(registry_servers):
    """A running ``jupyter modelops serve`` with user alice (admin, data_scientist)."""
    s = registry_servers.get()
    yield s
    s.stop()


def send_raw(port: int, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Send a request exactly as written (no URL normalisation or re-encoding)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"token {token}"
    try:
        conn.putrequest(method, path if path.startswith("/") else f"{API_PREFIX}/{path}",
                        skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def blob_files(root: Path) -> list[Path]:
    base = Path(root) / "sha256"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def live_markup(html: str) -> list[str]:
    """Elements and attributes in ``html`` that a browser would run or load: <script>,
    <img>, <iframe>, on* handlers, javascript: URLs."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    found = []
    for tag, attrs in parser.tags:
        if tag in ("script", "img", "iframe", "object", "embed"):
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                found.append(f"<{tag} {name}=...>")
    return found


@pytest.fixture
def raw():
    """``raw(port, method, path, token=, body=, headers=)`` -> (status, headers, body)."""
    return send_raw


@pytest.fixture
def markup():
    """``markup(html)``: the live elements/attributes found in ``html`` (empty is safe)."""
    return live_markup


@pytest.fixture
def xss():
    return XSS
