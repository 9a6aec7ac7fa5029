"""The local model server over real HTTP: request formats, errors in the OIP format,
metrics, a full prediction log that never blocks serving, crash restarts, graceful stop."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import httpx
import pytest

from _modelops_deploy_test_fixtures import oip, wait_for
from jupyter_modelops.deploy import loadgen


def test_request_formats_and_errors(alice, approved, cancer_split, cancer_models):
    _, Xte, _, _ = cancer_split
    cols = list(Xte.columns)
    approved(1)
    dep = alice.deploy("cancer", 1, config={"sample_rate": 1.0})
    expected = cancer_models[0].predict(Xte.head(3)).tolist()
    with httpx.Client(base_url=dep.endpoint, timeout=10) as http:
        # OIP: one tensor [rows, columns], or one tensor per column
        r = http.post("/v2/models/cancer/infer", json=oip(cols, Xte.head(3).values.tolist()))
        assert r.status_code == 200 and r.json()["outputs"][0]["data"] == expected
        per_column = {"inputs": [{"name": c, "shape": [3], "datatype": "FP64", "data": Xte[c].head(3).tolist()}
                                 for c in reversed(cols)]}
        assert http.post("/v2/models/cancer/versions/1/infer", json=per_column).json()["outputs"][0]["data"] == expected
        # MLflow: split, records, instances, CSV (with Expect: 100-continue, as curl sends it)
        split = {"dataframe_split": {"columns": cols, "data": Xte.head(3).values.tolist()}}
        assert http.post("/invocations", json=split).json() == {"predictions": expected}
        records = {"dataframe_records": Xte.head(3).to_dict("records")}
        assert http.post("/invocations", json=records).json() == {"predictions": expected}
        assert http.post("/invocations", json={"instances": Xte.head(3).values.tolist()}).json() == {
            "predictions": expected}
        csv = Xte.head(3).to_csv(index=False).encode()
        r = http.post("/invocations", content=csv, headers={"Content-Type": "text/csv", "Expect": "100-continue"})
        assert r.status_code == 200 and r.json() == {"predictions": expected}

        # wrong input shape: 400 in the OIP error format
        bad = oip(cols[:7], Xte[cols[:7]].head(1).values.tolist())
        r = http.post("/v2/models/cancer/infer", json=bad)
        assert r.status_code == 400
        assert set(r.json()) == {"error"} and "has 7 columns" in r.json()["error"] and "expects 8" in r.json()["error"]
        r = http.post("/v2/models/cancer/infer", json={"inputs": [{"name": "x", "shape": [2, 8], "datatype": "FP64",
                                                                    "data": [1.0] * 8}]})
        assert r.status_code == 400 and "shape [2, 8] needs 16" in r.json()["error"]
        r = http.post("/v2/models/cancer/infer", json={"inputs": [{"name": "x", "shape": [1, 8], "datatype": "BYTES",
                                                                    "data": ["a"] * 8}]})
        assert r.status_code == 400 and "should be float64 but holds strings" in r.json()["error"]
        assert http.post("/v2/models/cancer/infer", content=b"{not json").status_code == 400
        assert http.post("/v2/models/other/infer", json=oip(cols, [[0.0] * 8])).status_code == 404
        missing = {"dataframe_records": [{c: 1.0 for c in cols[1:]}]}
        r = http.post("/invocations", json=missing)
        assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"
        assert "missing column 'mean radius'" in r.json()["message"]
        assert http.post("/invocations", content=b"x", headers={"Content-Type": "image/png"}).status_code == 415
        assert http.get("/v2/models/cancer/infer").status_code == 405
        assert http.get("/nowhere").status_code == 404

        metrics = http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = metrics.text
        assert 'modelops_requests_total{endpoint="infer",code="200"} 2' in text
        assert 'modelops_requests_total{endpoint="infer",code="400"} 4' in text
        assert "modelops_request_duration_seconds_bucket{le=\"+Inf\"}" in text
        assert "modelops_prediction_log_dropped_total 0" in text
    # the errors were sampled too: the error rate sees them
    perf = wait_for(lambda: (p := alice.performance(dep))["rows"] >= 20 and p)
    assert perf["error_rate"] > 0.2


def test_full_prediction_log_never_blocks_serving(alice, approved, cancer_split, mo_home):
    _, Xte, _, _ = cancer_split
    cols = list(Xte.columns)
    approved(1)
    dep = alice.deploy("cancer", 1, config={"sample_rate": 1.0, "log_queue": 16, "log_batch": 4,
                                            "log_interval": 0.05})
    requests = [loadgen.json_request("/v2/models/cancer/infer", "127.0.0.1", oip(cols, [row]))
                for row in Xte.values.tolist()[:50]]
    # the store stalls: another process holds its write lock while traffic comes in
    blocker = sqlite3.connect(mo_home / "store.db", timeout=5)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        result = loadgen.run("127.0.0.1", dep.port, requests, concurrency=8, total=400, duration=30)
        metrics = httpx.get(dep.endpoint + "/metrics").text
    finally:
        blocker.rollback()
        blocker.close()
    assert result.statuses == {200: 400} and result.failures == 0
    dropped = metric(metrics, "modelops_prediction_log_dropped_total")
    assert dropped > 0
    assert result.p99_ms < 500
    # the store is back: what was queued is shipped, the counters reach the store
    stats = wait_for(lambda: (s := alice.get_deployment(dep).stats).get("shipped", 0) > 0 and s)
    assert stats["dropped"] > 0 and stats["requests"] == 400


def test_supervisor_restarts_a_crashed_server_and_stops_gracefully(alice, approved, cancer_split):
    _, Xte, _, _ = cancer_split
    approved(1)
    dep = alice.deploy("cancer", 1)
    body = {"dataframe_split": {"columns": list(Xte.columns), "data": Xte.head(1).values.tolist()}}
    worker = int(httpx.get(dep.endpoint + "/metrics").text and _worker_pid(dep.pid))
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: alice.get_deployment(dep).restarts == 1, timeout=20)
    # the supervisor kept the port: the new worker answers at the same endpoint
    r = wait_for(lambda: _post(dep.endpoint + "/invocations", body), timeout=30)
    assert r.status_code == 200
    again = wait_for(lambda: (d := alice.get_deployment(dep)).status == "RUNNING" and d)
    assert again.restarts == 1 and "exited with status -9" in again.last_error
    crash = alice.audit_entries(action="deployment.crash")[0]
    assert crash.actor == "modelops:supervisor" and crash.subject_id == dep.id
    stopped = alice.stop_deployment(dep, comment="done")
    assert stopped.status == "STOPPED" and stopped.alive is False
    with pytest.raises(httpx.TransportError):
        httpx.get(dep.endpoint + "/v2/health/live", timeout=2)
    log = open(dep.details["log"]).read()
    assert "modelops serve-model: stopped" in log and "modelops supervisor: stopped" in log


def metric(text: str, name: str) -> float:
    import re

    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def _worker_pid(supervisor: int) -> int:
    with open(f"/proc/{supervisor}/task/{supervisor}/children") as fh:
        return int(fh.read().split()[0])


def _post(url, body):
    try:
        r = httpx.post(url, json=body, timeout=5)
        return r if r.status_code == 200 else None
    except httpx.TransportError:
        time.sleep(0.1)
        return None
