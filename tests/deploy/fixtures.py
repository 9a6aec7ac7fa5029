"""Fixtures shared by tests/deploy and tests/monitor (loaded by both conftests).

Every model server a test starts listens on 127.0.0.1 and is stopped when the test ends
(``_stop_servers``); servers also die with the test process (``JUPYTER_MODELOPS_DEPLOY_ATTACHED``).
"""

from __future__ import annotations

import http.server
import json
import threading

import pytest


@pytest.fixture(autouse=True)
def _attached_servers(monkeypatch):
    monkeypatch.setenv("JUPYTER_MODELOPS_DEPLOY_ATTACHED", "1")


@pytest.fixture(autouse=True)
def _stop_servers(mo_home):
    """Stop every local model server this test's store knows of, whatever the test did."""
    yield
    import sqlalchemy as sa

    from jupyter_modelops.deploy.targets.local import stop_pid
    from jupyter_modelops.store import schema as s
    from jupyter_modelops.store.store import Store

    path = mo_home / "store.db"
    if not path.exists():
        return
    store = Store(f"sqlite:///{path}", str(mo_home / "artifacts"), user="cleanup")
    try:
        with store.db.read() as conn:
            pids = conn.execute(sa.select(s.deployments.c.pid).where(s.deployments.c.pid.isnot(None))).scalars().all()
    finally:
        store.close()
    for pid in pids:
        stop_pid(pid, timeout=10)


@pytest.fixture(scope="session")
def cancer_models(cancer_split):
    """Two fitted pipelines (v1: C=1, v2: C=0.1) on the same data."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = cancer_split
    return [make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(Xtr, ytr)
            for c in (1.0, 0.1, 0.5)]


@pytest.fixture
def approved(alice, bob, cancer_split, cancer_models):
    """``approved(n, target="local")``: alice trains, registers and requests n versions of
    "cancer"; validation runs; bob (a second identity) approves each. Returns the versions."""

    def make(n: int = 1, target: str = "local", name: str = "cancer"):
        Xtr, Xte, ytr, yte = cancer_split
        versions = []
        for i in range(n):
            model = cancer_models[i % len(cancer_models)]
            with alice.start_run("deploy-tests", code_hash="c0de" * 16) as run:
                run.log_metric("accuracy", float(model.score(Xte, yte)))
                run.log_input(Xtr, "biopsies-train")
                v = alice.register_model(model, name, run_id=run.id, input_example=Xtr.head(3))
            if i == 0:
                alice.set_model_info(name, purpose="Flag biopsies for a second reading", risk_tier="high")
            req = alice.request_deployment(name, v.version, target=target, validation_data=(Xte, yte),
                                           resources={"cpu": "500m", "memory": "1Gi", "replicas": 2})
            assert req.state == "VALIDATED", req.validation
            done = bob.approve_request(req.id, comment="validated on the holdout")
            assert done.status == "APPROVED"
            versions.append(v.version)
        return versions

    return make


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A tiny loopback HTTP server that records the JSON POSTed to it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/modelops"
    yield server
    server.shutdown()
    server.server_close()


def oip(columns, rows, rid=None) -> dict:
    body = {"inputs": [{"name": "features", "shape": [len(rows), len(columns)], "datatype": "FP64",
                        "data": [float(v) for r in rows for v in r]}]}
    if rid:
        body["id"] = rid
    return body


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}")
        time.sleep(interval)
