"""Tornado handlers: translate HTTP to ``services.call`` and back, nothing else.

One handler class per path is generated from the route table (``api.endpoints()``); each
HTTP method of it parses the path, query and body the table declares, calls
``services.call(store.as_actor(user, roles), op, **kwargs)`` on a worker thread and
serialises the result with the endpoint's codec. No business rule lives here.

``ModelOpsHandler.write_error`` is the one place where errors become HTTP responses:
``errors.py`` exceptions keep their ``http_status``, tornado/jupyter ``HTTPError``s keep
theirs, anything else is a 500 without internals; the body is always
``{"error": {"type", "message", "details"}}``.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from .. import services
from ..errors import InvalidInput, ModelOpsError, NotFound
from ..store.artifacts import check_digest
from . import API_PREFIX, api
from .api import sanitize as _sanitize

# Error "type" for statuses raised by tornado or jupyter_server rather than by our services.
HTTP_ERROR_TYPES = {
    400: "InvalidInput", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 413: "PayloadTooLarge", 422: "PolicyViolation",
    502: "StoreUnavailable",  # a store behind this server (the linked registry) cannot be reached
}


def error_response(exc: BaseException | None, status: int) -> tuple[int, dict]:
    """``(status, body)`` for an exception: THE mapping from errors to HTTP."""
    if isinstance(exc, ModelOpsError):
        return exc.http_status, {"error": _jsonable(exc.to_dict())}
    if isinstance(exc, web.HTTPError):
        status = exc.status_code
        try:
            message = exc.log_message % exc.args if exc.log_message else ""
        except (TypeError, ValueError):
            message = exc.log_message or ""
        message = message or exc.reason or web.httputil.responses.get(status, "error")
        return status, {"error": {"type": HTTP_ERROR_TYPES.get(status, "HTTPError"),
                                  "message": message, "details": {}}}
    if status < 500:  # tornado's own send_error(4xx) without an exception
        return status, {"error": {"type": HTTP_ERROR_TYPES.get(status, "HTTPError"),
                                  "message": web.httputil.responses.get(status, "error"), "details": {}}}
    return 500, {"error": {"type": "InternalError",
                           "message": "internal server error; the server log has the details",
                           "details": {}}}


_ARGUMENT_ERROR = re.compile(r"unexpected keyword argument|missing \d+ required|takes \d+ positional|"
                             r"multiple values for argument")


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON (send NaN and ±inf as the strings \"NaN\", "
                     f"\"Infinity\", \"-Infinity\")")


def _jsonable(value):
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (ValueError, TypeError):
        return json.loads(json.dumps(_sanitize(value), default=str, allow_nan=False))


def dumps(value) -> str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_sanitize(value), allow_nan=False, separators=(",", ":"))


@functools.lru_cache(maxsize=None)
def _validator(schema_json: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_json))


def _check(value, schema: dict, where: str) -> None:
    errors = sorted(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value),
                    key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = "".join(f"[{p!r}]" for p in err.absolute_path)
        raise InvalidInput(f"{where}{path}: {err.message}")


def _scalar(f: api.Field, text: str, where: str):
    """A path or query value converted to the type its schema names."""
    kind = f.schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer":
        try:
            value: Any = int(text)
        except ValueError:
            raise InvalidInput(f"{where} {f.name} must be an integer, not {text[:40]!r}") from None
    elif kind == "boolean":
        if text.lower() in ("true", "1", "yes"):
            value = True
        elif text.lower() in ("false", "0", "no"):
            value = False
        else:
            raise InvalidInput(f"{where} {f.name} must be true or false, not {text[:40]!r}")
    else:
        value = text
    _check(value, f.schema, f"{where} {f.name}")
    return value


class SameOriginOnly:
    """Jupyter echoes any Origin back to token-authenticated requests; ModelOps routes
    answer cross-origin only where ServerApp.allow_origin(_pat) says so."""

    def set_cors_headers(self) -> None:
        if self.allow_origin or self.allow_origin_pat:
            super().set_cors_headers()


@web.stream_request_body
class ModelOpsHandler(SameOriginOnly, ExtensionHandlerMixin, APIHandler):
    """Base of every ModelOps API handler (subclasses are made by ``make_handlers``)."""

    endpoints: dict[str, api.Endpoint] = {}
    auth_resource = api.R_API

    def initialize(self, name: str, *args, **kwargs) -> None:
        super().initialize(name, *args, **kwargs)
        self._body = bytearray()
        self._limit = 0
        self._too_big = False

    # ------------------------------------------------------------------ plumbing
    @property
    def app(self):
        return self.extensionapp

    async def prepare(self) -> None:
        await super().prepare()
        ep = self.endpoints.get(self.request.method or "")
        self._limit = self.app.max_upload_size if ep is not None and ep.raw_arg else self.app.max_json_body_size
        length = self.request.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self._limit:
            raise web.HTTPError(413, f"request body of {int(length)} bytes is larger than the "
                                     f"{self._limit} bytes this route accepts")

    def data_received(self, chunk: bytes) -> None:
        if self._too_big:
            return
        if len(self._body) + len(chunk) > self._limit:
            self._too_big, self._body = True, bytearray()
            return
        self._body += chunk

    async def run(self, fn, *args, **kwargs):
        """Run blocking store work on the extension's worker threads."""
        return await IOLoop.current().run_in_executor(
            self.app.executor, functools.partial(fn, *args, **kwargs))

    async def actor(self):
        """The store as the authenticated user: registry users carry roles; inside a
        single-user Jupyter server the store acts as its owner with every role."""
        store = self.app._store or await self.run(lambda: self.app.store)  # opened on first use
        roles = getattr(self.current_user, "roles", None)
        if roles is None:
            return store
        return store.as_actor(self.current_user.username, roles)

    def _request_summary(self) -> str:
        # tornado logs refused requests with the raw URL: never a ``?token=`` with it
        from .auth import scrub

        return scrub(super()._request_summary())

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, ModelOpsError):  # expected outcomes: one line, no traceback
            log = self.log.info if value.http_status < 500 else self.log.error
            log("%s %s: %s: %s", self.request.method, self.request.path, type(value).__name__,
                value.message)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        status, body = error_response(exc, status_code)
        if status in (401, 403) and not self.current_user:
            status, body = 401, {"error": {
                "type": "Unauthenticated", "details": {},
                "message": "authentication required: send 'Authorization: token <token>'"}}
            self.set_header("WWW-Authenticate", 'Bearer realm="modelops"')
        if status == 405:
            self.set_header("Allow", ", ".join(sorted(self.endpoints)))
        self.set_status(status)
        self.finish(dumps(body))

    def reply(self, status: int, payload) -> None:
        self.set_status(status)
        if status == 204:
            self.finish()
        else:
            self.finish(dumps(payload))

    # ------------------------------------------------------------------ parsing
    def _query(self, ep: api.Endpoint) -> dict:
        known = {f.name: f for f in ep.query}
        unknown = sorted(k for k in set(self.request.query_arguments) - set(known) - api.JUPYTER_QUERY_PARAMS
                         if not api.is_cache_buster(k, self.request.query_arguments[k]))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise InvalidInput(f"unknown query parameter {', '.join(map(repr, unknown))} "
                               f"(this route takes: {allowed})", unknown=unknown)
        out = {}
        for f in ep.query:
            raw = self.request.query_arguments.get(f.name, [])
            try:
                values = [v.decode("utf-8") for v in raw]
            except UnicodeDecodeError:
                raise InvalidInput(f"query parameter {f.name} is not valid UTF-8") from None
            if not values:
                if f.required:
                    raise InvalidInput(f"query parameter {f.name} is required")
                continue
            if not f.many and len(values) > 1:
                raise InvalidInput(f"query parameter {f.name} is given {len(values)} times")
            converted = [_scalar(f, v, "query parameter") for v in values]
            out[f.kwarg] = converted if f.many else converted[0]
        return out

    def _json(self, ep: api.Endpoint) -> dict:
        raw = bytes(self._body)
        if not raw.strip():
            raise InvalidInput("this route needs a JSON body")
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except UnicodeDecodeError:
            raise InvalidInput("request body is not UTF-8 encoded JSON") from None
        except ValueError as exc:
            raise InvalidInput(f"request body is not valid JSON: {exc}") from None
        if ep.body_kwargs:  # a capability operation call: every keyword, typed values
            if not isinstance(data, dict):
                raise InvalidInput(f"request body must be a JSON object of keyword arguments, "
                                   f"not {type(data).__name__}")
            return {k: api.decode_value(v, records=False) for k, v in data.items()}
        if ep.body_arg:
            schema = ep.body_schema or {}
            if schema.get("type") == "array":
                # Items are checked by the endpoint's from_wire (fast for 100k metric points).
                if not isinstance(data, list):
                    raise InvalidInput(f"request body must be a JSON array, not {type(data).__name__}")
            else:
                _check(data, schema, "body")
            return {ep.body_arg: data}
        if not isinstance(data, dict):
            raise InvalidInput(f"request body must be a JSON object, not {type(data).__name__}")
        fields = {f.name: f for f in ep.body or ()}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InvalidInput(f"unknown field {', '.join(map(repr, unknown))} in request body "
                               f"(allowed: {', '.join(fields) or 'none'})", unknown=unknown)
        missing = [name for name, f in fields.items() if f.required and name not in data]
        if missing:
            raise InvalidInput(f"request body lacks required field {', '.join(map(repr, missing))}",
                               missing=missing)
        for name, value in data.items():
            _check(value, fields[name].schema, f"body field {name!r}")
        return {fields[name].kwarg: value for name, value in data.items()}

    def _arguments(self, ep: api.Endpoint, path_args: dict) -> dict:
        if self._too_big:
            raise web.HTTPError(413, f"request body is larger than the {self._limit} bytes this "
                                     "route accepts")
        kwargs = {f.kwarg: _scalar(f, path_args[f.name], "path parameter") for f in ep.path_params}
        kwargs.update(self._query(ep))
        if ep.json_body:
            kwargs.update(self._json(ep))
        elif ep.raw_arg:
            kwargs[ep.raw_arg] = bytes(self._body)
            if "media_type" in {f.name for f in ep.query} and not kwargs.get("media_type"):
                kwargs["media_type"] = self._media_type()
        elif self._body.strip():
            raise InvalidInput(f"{ep.method} {ep.path} takes no request body")
        if ep.from_wire:
            kwargs = ep.from_wire(kwargs)
        return kwargs

    def _media_type(self) -> str | None:
        value = self.request.headers.get("Content-Type", "").strip()
        generic = ("", "application/octet-stream", "application/x-www-form-urlencoded")
        return None if value.split(";")[0].strip().lower() in generic else value[:128]

    # ------------------------------------------------------------------ dispatch
    async def dispatch(self, method: str, path_args: dict) -> None:
        ep = self.endpoints[method]
        kwargs = self._arguments(ep, path_args)
        if ep.op is None:
            return await getattr(self, "answer_" + ep.operation_id.replace(".", "_"))(ep)
        actor = await self.actor()
        if ep.stream:
            return await self.stream(ep, actor, kwargs)
        try:
            result = await self.run(services.call, actor, ep.op, **kwargs)
        except TypeError as exc:
            if ep.body_kwargs and _ARGUMENT_ERROR.search(str(exc)):  # keywords the op does not take
                raise InvalidInput(f"{ep.op}: {str(exc).split('() ', 1)[-1]}") from None
            raise
        self.reply(ep.status, api.CODECS[ep.result].encode(result))

    async def stream(self, ep: api.Endpoint, actor, kwargs: dict) -> None:
        """Raw bytes from the blob store in chunks; never the whole file in memory."""
        name = None
        if ep.stream == "artifact":
            art = await self.run(services.call, actor, "get_artifact", run_id=kwargs["run_id"],
                                 name=kwargs["name"])
            digest, size, media_type, name = art.digest, art.size, art.media_type, art.path
        else:
            await self.run(services.authorize, actor, ep.op)
            digest, size, media_type = check_digest(kwargs["digest"]), None, "application/octet-stream"
        chunks = actor.artifacts.iter_chunks(digest)
        first = await self.run(next, chunks, None)  # a missing blob raises NotFound here: 404
        self.set_status(200)
        self.set_header("Content-Type", media_type)
        self.set_header("ETag", f'"{digest}"')
        self.set_header("X-Content-SHA256", digest)
        if size is not None:
            self.set_header("Content-Length", str(size))
        if name:
            quoted = urllib.parse.quote(name.rsplit("/", 1)[-1], safe="")
            self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quoted}")
        # One chunk of look-ahead: the blob store verifies the sha256 when it reads past the
        # end, so the last chunk is sent only once the whole content is known to be intact.
        # A blob that fails has its response cut short (or, when it fits in one chunk, never
        # started): no client ever receives a complete response with changed content.
        chunk = first
        try:
            while chunk is not None:
                following = await self.run(next, chunks, None)
                self.write(chunk)
                await self.flush()
                chunk = following
        except Exception as exc:
            if not self._headers_written:
                raise  # nothing sent yet: an ordinary error response (IntegrityFailure: 500)
            self.log.error("streaming %s stopped: %s", digest[:12], exc)
            if self.request.connection and getattr(self.request.connection, "stream", None):
                self.request.connection.stream.close()
            return
        self.finish(set_content_type=media_type)

    # ------------------------------------------------------------------ endpoints without an op
    async def answer_whoami(self, ep: api.Endpoint) -> None:
        from .._version import __version__
        from ..store.store import ROLES

        actor = await self.actor()
        user = self.current_user
        registry = getattr(user, "roles", None) is not None
        self.reply(200, {
            "username": actor.user,
            "display_name": (user.display_name if registry else actor.user) or actor.user,
            "roles": [r for r in ROLES if r in actor.roles],
            "mode": "registry" if registry else "embedded",
            "version": __version__,
        })

    async def answer_openapi_json(self, ep: api.Endpoint) -> None:
        from .openapi import build

        self.reply(200, build(url_path_join(self.base_url, API_PREFIX)))


class NotFoundHandler(ModelOpsHandler):
    """Any other path under the API prefix: a JSON 404 (after authentication)."""

    def _missing(self, *args, **kwargs):
        raise NotFound(f"no API route {self.request.method} {self.request.path}")

    get = post = put = patch = delete = web.authenticated(_missing)


def _method(ep: api.Endpoint):
    async def method(self, **path_args):
        await self.dispatch(ep.method, path_args)

    method.__name__ = ep.method.lower()
    method.__doc__ = ep.summary
    action = ep.action or HTTP_METHOD_TO_AUTH_ACTION[ep.method]
    message = (f"your roles do not allow {action} access to {ep.resource} "
               "(the viewer role is read-only)")
    return web.authenticated(authorized(action=action, resource=ep.resource, message=message)(method))


def make_handlers() -> list[tuple[str, type]]:
    """``(pattern, handler class)`` for every path of the route table, in routing order."""
    handlers = []
    for path, endpoints in api.paths().items():
        attrs = {
            "endpoints": {ep.method: ep for ep in endpoints},
            "auth_resource": endpoints[0].resource,
            "__doc__": "; ".join(f"{ep.method}: {ep.summary}" for ep in endpoints),
        }
        for ep in endpoints:
            attrs[ep.method.lower()] = _method(ep)
        words = [w for w in path.replace("{", "").replace("}", "").replace("-", "_")
                 .replace(".", "_").split("/") if w]
        cls = type("".join(w.title().replace("_", "") for w in words) + "Handler", (ModelOpsHandler,), attrs)
        handlers.append((API_PREFIX + api.route_pattern(path), cls))
    handlers.append((API_PREFIX + "(?:/.*)?", NotFoundHandler))
    return handlers
