"""``HttpTransport``: the ``Client``'s service operations over the REST API.

Every operation of ``services.OPS`` is mapped onto its endpoint by the route table in
``server/api.py`` (the same table the server builds its handlers and OpenAPI document
from), and every answer is decoded into the records the local transport returns. Error
bodies become the same ``errors.py`` exceptions; an unreachable server is a
``StoreUnavailable`` with a one-line message.

Connections are kept alive (one ``httpx.Client`` per process). Downloads are streamed
and verified against the sha256 the server sends, like local reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.parse

from . import errors
from ._version import __version__
from .errors import IntegrityFailure, InvalidInput, ModelOpsError, StoreUnavailable
from .server import API_PREFIX, api

ENV_TOKEN = "JUPYTER_MODELOPS_TOKEN"
_STATUS_ERRORS = {400: InvalidInput, 401: errors.Unauthenticated, 403: errors.Forbidden, 404: errors.NotFound,
                  409: errors.Conflict, 413: InvalidInput, 422: errors.PolicyViolation,
                  503: StoreUnavailable}


def _segment(value) -> str:
    """One path segment, fully escaped ('/' too); '.' and '..' escaped so no client
    library folds them away as dot segments."""
    text = str(value)
    if text in (".", ".."):
        return text.replace(".", "%2E")
    return urllib.parse.quote(text, safe="")


_QUERY_TYPES = {"integer": (int, "an integer"), "boolean": (bool, "true or false"), "string": (str, "a string")}


def _scalar(f: api.Field, value) -> str:
    """A query value as text; a value of another type than the parameter's is refused
    here, since the query string could not carry the difference."""
    kind = f.schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    want, text = _QUERY_TYPES.get(kind, (object, ""))
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise InvalidInput(f"{f.kwarg} must be {text}, not {type(value).__name__} ({value!r:.40})")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dumps(value) -> bytes:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
    except ValueError:  # NaN/inf in a free-form field (e.g. a dataset profile)
        return json.dumps(api.sanitize(value), allow_nan=False, separators=(",", ":")).encode()


def _nullable(f: api.Field) -> bool:
    kind = f.schema.get("type")
    return (isinstance(kind, list) and "null" in kind) or any(
        s.get("type") == "null" for s in f.schema.get("anyOf", ()))


class HttpTransport:
    """Service operations against ``url`` (a Jupyter server running the extension, or a
    ``jupyter modelops serve`` registry). ``token`` defaults to ``$JUPYTER_MODELOPS_TOKEN``."""

    name = "http"

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0,
                 verify: bool | str = True) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInput(f"server URL must start with http:// or https://, not {url!r}")
        self.url = url.rstrip("/")
        self.base = self.url if self.url.endswith(API_PREFIX) else self.url + API_PREFIX
        self.token = token or os.environ.get(ENV_TOKEN) or None
        self.timeout = timeout
        self.verify = verify
        self._http = None
        self._pid = None
        self._lock = threading.Lock()
        self._me: dict | None = None

    # ------------------------------------------------------------------ identity
    @property
    def whoami(self) -> dict:
        if self._me is None:
            self._me = self._request("GET", "/whoami").json()
        return self._me

    @property
    def user(self) -> str:
        return self.whoami["username"]

    @property
    def roles(self) -> list[str]:
        return self.whoami["roles"]

    def describe(self) -> str:
        return f"server {self.url}"

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __repr__(self) -> str:
        return f"<HttpTransport {self.url}>"

    # ------------------------------------------------------------------ calls
    def call(self, op: str, /, **kwargs):
        endpoints = api.by_op().get(op)
        if not endpoints:
            raise InvalidInput(f"unknown operation {op!r}")
        ep = self._choose(endpoints, kwargs)
        kw = ep.to_wire(dict(kwargs)) if ep.to_wire else dict(kwargs)  # may add path values
        path = ep.path
        for f in ep.path_params:
            value = kw.pop(f.kwarg, None)
            if value is None:
                value = ep.path_defaults[f.name]
            if value == "":  # a URL path cannot carry an empty segment
                raise InvalidInput(f"{op}: {f.kwarg} must be a non-empty string")
            path = path.replace("{" + f.name + "}", _segment(value))
        params = []
        for f in ep.query:
            value = kw.pop(f.kwarg, None)
            if value is None:
                continue
            values = list(value) if f.many and not isinstance(value, str) else [value]
            params += [(f.name, _scalar(f, v)) for v in values]
        content, headers = None, {}
        if ep.body_kwargs:
            try:
                content = _dumps(api.encode_value(kw))
            except TypeError as exc:
                raise InvalidInput(f"{op}: {exc}") from None
            kw = {}
        elif ep.body_arg:
            content = _dumps(kw.pop(ep.body_arg))
        elif ep.body is not None:
            body = {}
            for f in ep.body:
                if f.kwarg in kw:
                    value = kw.pop(f.kwarg)
                    if value is not None or _nullable(f):
                        body[f.name] = value
            content = _dumps(body)
        elif ep.raw_arg:
            data = kw.pop(ep.raw_arg)
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise InvalidInput(f"{op}: data must be bytes, not {type(data).__name__}")
            content = bytes(data)
            headers["Content-Type"] = "application/octet-stream"
        if content is not None and ep.json_body:
            headers["Content-Type"] = "application/json"
        extra = sorted(k for k, v in kw.items() if v is not None)
        if extra:
            raise InvalidInput(f"{op}() got unexpected argument {', '.join(map(repr, extra))}")
        if ep.stream:
            return self._download(path, params)
        resp = self._request(ep.method, path, params=params, content=content, headers=headers)
        if resp.status_code == 204:
            return None
        return api.CODECS[ep.result].decode(resp.json())

    @staticmethod
    def _choose(endpoints: list[api.Endpoint], kwargs: dict) -> api.Endpoint:
        """The first endpoint whose path parameters the arguments supply (or default)."""
        for ep in endpoints:
            if ep.to_wire is not None or all(
                    kwargs.get(f.kwarg) is not None or f.name in ep.path_defaults for f in ep.path_params):
                return ep
        missing = [f.kwarg for f in endpoints[0].path_params if kwargs.get(f.kwarg) is None]
        raise InvalidInput(f"{endpoints[0].op}() needs {', '.join(missing)}")

    # ------------------------------------------------------------------ HTTP
    def _client(self):
        if self._http is None or self._pid != os.getpid():
            with self._lock:
                if self._http is None or self._pid != os.getpid():
                    import httpx

                    headers = {"User-Agent": f"jupyter-modelops/{__version__}",
                               "Accept": "application/json"}
                    if self.token:
                        headers["Authorization"] = f"token {self.token}"
                    self._http = httpx.Client(
                        headers=headers, verify=self.verify, follow_redirects=False,
                        timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
                        limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=30),
                    )
                    self._pid = os.getpid()
        return self._http

    def _unreachable(self, exc) -> StoreUnavailable:
        import httpx

        if isinstance(exc, httpx.ConnectError):
            why = "connection refused" if "refused" in str(exc).lower() else (str(exc) or "cannot connect")
        elif isinstance(exc, httpx.TimeoutException):
            why = f"no answer within {self.timeout:g} s"
        else:
            why = str(exc) or type(exc).__name__
        return StoreUnavailable(f"cannot reach the ModelOps server at {self.url}: {why}", url=self.url)

    def _send(self, method: str, path: str, *, stream: bool = False, **kw):
        """One request; a kept-alive connection the server closed meanwhile is retried once
        for GET and PUT (both idempotent here), never for other methods."""
        import httpx

        client = self._client()
        for attempt in (1, 2):
            try:
                if stream:
                    req = client.build_request(method, self.base + path, **kw)
                    return client.send(req, stream=True)
                return client.request(method, self.base + path, **kw)
            except httpx.RemoteProtocolError as exc:
                if attempt == 1 and method in ("GET", "PUT") and "without sending" in str(exc):
                    continue
                raise self._unreachable(exc) from None
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(self, method: str, path: str, **kw):
        resp = self._send(method, path, **kw)
        if resp.status_code >= 400:
            raise self._error(resp)
        return resp

    def _download(self, path: str, params) -> bytes:
        """Stream a download and check it against the sha256 the server names."""
        import httpx

        resp = self._send("GET", path, stream=True, params=params)
        h = hashlib.sha256()
        parts = []
        try:
            if resp.status_code >= 400:
                resp.read()
                raise self._error(resp)
            expected = resp.headers.get("X-Content-SHA256")
            try:
                for chunk in resp.iter_bytes():
                    h.update(chunk)
                    parts.append(chunk)
            except httpx.TransportError as exc:
                # The server stops a stream whose stored content fails verification.
                what = f"artifact blob {expected[:12]}…" if expected else f"download of {path}"
                raise IntegrityFailure(f"{what} failed verification: the server cut the download "
                                       f"off ({exc}); the stored content was changed or is incomplete",
                                       digest=expected) from None
        finally:
            resp.close()
        if expected and h.hexdigest() != expected:
            raise IntegrityFailure(
                f"artifact blob {expected[:12]}… failed verification: its content was changed",
                digest=expected)
        return b"".join(parts)

    def _error(self, resp) -> ModelOpsError:
        try:
            err = resp.json()["error"]
            type_name, message, details = err["type"], str(err["message"]), dict(err.get("details") or {})
        except Exception:
            type_name, details = None, {}
            message = f"HTTP {resp.status_code} from {self.url}: {resp.text[:200].strip()}"
        if resp.status_code == 401 and self.token:
            message = (f"{self.url} did not accept the token: check it, or make a new one with "
                       "`jupyter modelops users token NAME` on the registry")
        cls = getattr(errors, type_name, None) if type_name else None
        if not (isinstance(cls, type) and issubclass(cls, ModelOpsError)):
            cls = _STATUS_ERRORS.get(resp.status_code, ModelOpsError)
        exc = cls(message)
        exc.details = details
        return exc
