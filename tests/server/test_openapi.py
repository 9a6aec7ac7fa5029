"""The OpenAPI document: well formed, complete, and true (schemathesis against a live server)."""

from __future__ import annotations

import time

import pytest

from jupyter_modelops.server import API_PREFIX, api
from jupyter_modelops.server.openapi import build


def test_document_shape():
    doc = build()
    assert doc["openapi"] == "3.1.0"
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == len(api.endpoints())
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == set(api.route_pattern(path).count("(?P<") * [""]) or params == {
                f.name for f in next(e for e in api.endpoints() if e.path == path).path_params}
            assert "default" in op["responses"]
    for name in ("Run", "Experiment", "Metric", "ModelVersion", "Error"):
        assert name in doc["components"]["schemas"]


def test_record_schemas_follow_the_dataclasses():
    import dataclasses

    from jupyter_modelops.server.openapi import RECORDS

    schemas = build()["components"]["schemas"]
    for name, cls in RECORDS.items():
        assert set(schemas[name]["properties"]) == {f.name for f in dataclasses.fields(cls)}


def test_served_document_equals_the_built_one(server, api):
    assert api.get("/openapi.json").json() == build(API_PREFIX)


def _seed(server) -> dict:
    """Real objects for generated requests to find: path values that exist."""
    import hashlib
    import json

    from jupyter_modelops.client import Client

    c = Client(url=server.url, token=server.token)
    try:
        with c.start_run("e", name="r") as run:
            run.log_metric("loss", 0.5)
            art = run.log_text("hello", "notes/a.txt")
        manifest = json.dumps({"format": 1, "flavor": "pyfunc", "files": {}}).encode()
        digest = c._call("put_blob", data=manifest)["digest"]
        assert digest == hashlib.sha256(manifest).hexdigest()
        c._call("create_version", name="m", flavor="pyfunc", manifest_digest=digest)
        c.set_alias("m", "champion", 1)
        return {"run_id": run.id, "ref": "e", "key": "loss", "path": "notes/a.txt",
                "digest": art.digest, "name": "m", "version": 1, "alias": "champion"}
    finally:
        c.close()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(server):
    """Every operation against a live registry: 25 generated requests each from the schema
    (half of them aimed at objects that exist), then 10 of malformed data. No 5xx, and
    every answer — malformed requests' errors included — matches the documented status
    codes, content types and schemas."""
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        positive_data_acceptance,
        response_schema_conformance,
        status_code_conformance,
    )

    known = _seed(server)
    auth = {"Authorization": f"token {server.token}"}
    base = server.url + API_PREFIX
    schema = schemathesis.openapi.from_url(base + "/openapi.json", headers=auth)
    session = requests.Session()
    session.headers.update(auth)

    def aim(pair):
        case, use_known = pair
        if use_known and case.path_parameters:
            for name in case.path_parameters:
                case.path_parameters[name] = known[name]
        return case

    failures: list[str] = []
    started = time.monotonic()
    # Malformed requests too must get a documented error body (not just "no 5xx").
    conformance = [not_a_server_error, response_schema_conformance, status_code_conformance,
                   content_type_conformance]
    runs = [(GenerationMode.POSITIVE, 25, {"excluded_checks": [positive_data_acceptance]}),
            (GenerationMode.NEGATIVE, 10, {"checks": conformance})]
    tested: set[str] = set()
    for mode, examples, check_args in runs:
        for result in schema.get_all_operations():
            op = result.ok()
            tested.add(op.label)

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(case=st.tuples(op.as_strategy(generation_mode=mode), st.booleans()).map(aim))
            def check(case):
                case.call_and_validate(base_url=base, session=session, headers=auth, **check_args)

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # collect them all, report at the end
                failures.append(f"{mode.value} {op.label}: {str(exc)[:2000]}")
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    # Every operation of the route table was exercised (schemathesis leaves out the route
    # it loaded the document from; test_served_document_equals_the_built_one covers it).
    routed = {f"{e.method} {e.path}" for e in api.endpoints()} - {"GET /openapi.json"}
    assert tested == routed, routed ^ tested
    assert elapsed < 90, f"schemathesis took {elapsed:.0f} s"
    assert "Traceback" not in server.log.read_text()
