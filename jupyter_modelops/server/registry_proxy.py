"""``/modelops/registry/api/v1/...``: the team's shared registry, seen through this server.

Inside ``jupyter lab`` the sidebar shows models, approval requests, deployments and the
inventory of the shared registry the server is linked to (``ModelOpsConfig.registry_url``).
The browser never holds the registry token: it talks to its own Jupyter server (Jupyter's
auth and XSRF apply, as for every route), and this handler forwards the call with the
configured token, so the registry sees the linked identity and enforces its roles —
approve buttons work exactly when that identity may approve. The answer (status, JSON
body, errors) is passed back unchanged. A server that is not linked answers 404 here.
"""

from __future__ import annotations

import json
import urllib.parse

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httpclient, web

from . import API_PREFIX
from .handlers import SameOriginOnly, error_response

PROXY_PREFIX = "/modelops/registry" + API_PREFIX[len("/modelops"):]
FORWARDED_QUERY_DROP = frozenset({"token", "_xsrf"})  # this server's credentials stay here
TIMEOUT = 30.0


class RegistryProxyHandler(SameOriginOnly, ExtensionHandlerMixin, APIHandler):
    """Forwards one API call to the linked registry with the configured token."""

    auth_resource = "modelops:registry"

    def _target(self, path: str) -> tuple[str, str]:
        conf = self.extensionapp.modelops_config()
        url, token = conf.resolved_registry()
        if not url or getattr(self.extensionapp, "registry", False):
            raise web.HTTPError(404, "this server is not linked to a shared registry "
                                     "(set ModelOpsConfig.registry_url)")
        if ".." in path.split("/") or "\x00" in path:
            raise web.HTTPError(400, "invalid path")
        query = [(k, v) for k, v in urllib.parse.parse_qsl(self.request.query, keep_blank_values=True)
                 if k not in FORWARDED_QUERY_DROP]
        target = url.rstrip("/") + API_PREFIX + "/" + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        return target, token

    async def _forward(self, path: str) -> None:
        target, token = self._target(path)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        body = self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None
        if body is not None:
            headers["Content-Type"] = self.request.headers.get("Content-Type", "application/json")
        request = httpclient.HTTPRequest(
            target, method=self.request.method, headers=headers, body=body,
            allow_nonstandard_methods=True, request_timeout=TIMEOUT, follow_redirects=False)
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:
            raise web.HTTPError(502, f"the shared registry at {target.split('?')[0]} "
                                     f"cannot be reached: {exc}") from None
        if response.code == 599:
            raise web.HTTPError(502, f"the shared registry cannot be reached: {response.error}")
        self.set_status(response.code)
        content_type = response.headers.get("Content-Type", "application/json")
        self.set_header("Content-Type", content_type)
        if response.code != 204 and response.body:
            self.finish(response.body)
        else:
            self.finish()

    def write_error(self, status_code: int, **kwargs) -> None:
        status, body = error_response(kwargs.get("exc_info", (None, None))[1], status_code)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self._forward(path)


def make_proxy_handlers() -> list[tuple[str, type]]:
    return [(PROXY_PREFIX + r"/(.*)", RegistryProxyHandler)]
