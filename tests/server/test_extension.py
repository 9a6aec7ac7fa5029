"""The API as a server extension inside a normal (single-user) Jupyter server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import RequestHandler

from jupyter_modelops.client import Client
from jupyter_modelops.server import API_PREFIX, api
from jupyter_modelops.server.handlers import ModelOpsHandler, NotFoundHandler
from jupyter_modelops.server.openapi import build
from jupyter_modelops.store.store import ROLES

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_modelops": True}}}


async def test_whoami_is_the_store_owner_with_every_role(jp_fetch, mo_home):
    body = json.loads((await jp_fetch("modelops", "api", "v1", "whoami")).body)
    assert body["mode"] == "embedded"
    assert body["username"] == "alice"  # the ModelOpsConfig user, as the notebook's mo.* records
    assert body["roles"] == list(ROLES)


async def test_writes_land_in_the_users_own_store_and_errors_are_json(jp_fetch, mo_home):
    resp = await jp_fetch("modelops", "api", "v1", "experiments", method="POST",
                          body=json.dumps({"name": "churn"}))
    assert resp.code == 201 and json.loads(resp.body)["name"] == "churn"
    local = Client(home=str(mo_home))
    try:
        assert [e.name for e in local.list_experiments()] == ["churn"]
    finally:
        local.close()
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("modelops", "api", "v1", "experiments", "nope")
    assert info.value.code == 404
    assert json.loads(info.value.response.body)["error"]["type"] == "NotFound"
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("modelops", "api", "v1", "experiments", method="POST", body="{oops")
    assert info.value.code == 400 and "not valid JSON" in json.loads(info.value.response.body)["error"]["message"]


async def test_openapi_names_the_server_under_the_base_url(jp_fetch, jp_base_url):
    doc = json.loads((await jp_fetch("modelops", "api", "v1", "openapi.json")).body)
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": jp_base_url + "modelops/api/v1"}]


def _routes(router, out):
    for rule in getattr(router, "rules", []):
        target = rule.target
        if isinstance(target, type) and issubclass(target, RequestHandler):
            out.append((rule.matcher.regex.pattern, target))
        elif hasattr(target, "rules"):
            _routes(target, out)
    return out


def test_every_routed_path_is_documented_and_every_documented_path_is_routed(jp_serverapp, jp_base_url):
    routed = {}
    for pattern, cls in _routes(jp_serverapp.web_app.default_router, []):
        if issubclass(cls, ModelOpsHandler) and cls is not NotFoundHandler:
            implemented = {m for m in METHODS if getattr(cls, m.lower()) is not getattr(RequestHandler, m.lower())}
            routed[pattern] = implemented
    doc = build()
    documented = {}
    for path, ops in doc["paths"].items():
        pattern = (jp_base_url + (API_PREFIX + api.route_pattern(path)).lstrip("/")) + "$"
        documented[pattern] = {m.upper() for m in ops}
    assert routed == documented
    assert len(routed) == len(api.paths())
    # the catch-all comes after every real route
    patterns = [p for p, cls in _routes(jp_serverapp.web_app.default_router, []) if issubclass(cls, ModelOpsHandler)]
    assert patterns[-1].endswith("modelops/api/v1(?:/.*)?$")


def test_each_handler_checks_its_auth_resource():
    for path, endpoints in api.paths().items():
        for ep in endpoints:
            assert ep.resource in api.RESOURCES
            assert build()["paths"][path][ep.method.lower()]["x-auth-resource"] == ep.resource


def test_extension_is_enabled_by_the_installed_config_file():
    import jupyter_modelops

    [point] = jupyter_modelops._jupyter_server_extension_points()
    assert point["module"] == "jupyter_modelops.server.app" and point["app"].name == "modelops"
    conf = json.loads((ROOT / "jupyter-config" / "jupyter_server_config.d" / "jupyter_modelops.json").read_text())
    assert conf == {"ServerApp": {"jpserver_extensions": {"jupyter_modelops": True}}}


async def test_an_unlinked_server_has_no_registry_view(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("modelops", "registry", "api", "v1", "whoami")
    assert info.value.code == 404
    assert "not linked" in json.loads(info.value.response.body)["error"]["message"]


async def test_jupyterlab_cache_buster_is_not_an_unknown_parameter(jp_fetch):
    # JupyterLab's ServerConnection turns GET /runs into GET /runs?1795457176720
    resp = await jp_fetch("modelops", "api", "v1", "runs", params={"1795457176720": ""})
    assert resp.code == 200
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("modelops", "api", "v1", "runs", params={"1795457176720": "x"})
    assert info.value.code == 400


async def test_relative_notebook_paths_start_at_the_servers_root(jp_fetch, jp_root_dir):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("total = sum(range(10))\nprint(total)")])
    (jp_root_dir / "work").mkdir()
    nbformat.write(nb, jp_root_dir / "work" / "sums.ipynb")
    resp = await jp_fetch("modelops", "api", "v1", "ops", "export_notebook", method="POST",
                          body=json.dumps({"notebook": "work/sums.ipynb", "target": "python",
                                           "output": "work/sums_pipeline"}))
    assert resp.code == 200
    assert (jp_root_dir / "work" / "sums_pipeline").is_dir()
    plan = json.loads((await jp_fetch("modelops", "api", "v1", "ops", "plan_pipeline", method="POST",
                                      body=json.dumps({"notebook": "work/sums.ipynb"}))).body)
    assert plan["result"]["steps"]
