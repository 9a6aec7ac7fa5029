"""Soak: a local model server answering requests, a notebook process logging metrics
whose store is linked and synced by the real ``SyncWorker``, all on one store, for
``MODELOPS_SOAK_SECONDS`` (default 20; a few minutes when set). Memory of every process
stays flat and nothing fails."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time

import httpx
import pytest

from rhelpers import assert_store_healthy, wait_for

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("MODELOPS_SOAK_SECONDS", "20"))
MiB = 1 << 20

# The notebook: a new run every 2 s, 100 points every 50 ms, a param per run; the store is
# linked to a registry (a second store, reached in-process) and the SyncWorker pushes every
# 0.5 s. Prints its own counts and the worker's state at the end.
NOTEBOOK = """
import json, sys, time
from jupyter_modelops.client import Client
from jupyter_modelops.store.store import Store
from jupyter_modelops.sync import outbox
from jupyter_modelops.sync.worker import SyncWorker
from jupyter_modelops.transport import LocalTransport
seconds, registry_dir = float(sys.argv[1]), sys.argv[2]
registry = Store(f"sqlite:///{registry_dir}/registry.db", f"{registry_dir}/blobs", user="modelops")
registry.runs_code = False
c = Client()
outbox.set_linked(c.store, True)
worker = SyncWorker(c.store, "inproc://registry", interval=0.5, first_delay=0.1,
                    transport=LocalTransport(registry.as_actor("alice", {"admin", "data_scientist"}))).start()
print("ready", flush=True)
deadline, runs, points, failures = time.time() + seconds, 0, 0, 0
while time.time() < deadline:
    run = c.create_run("soak", f"run-{runs}")
    c.log_param(run.id, "i", runs)
    until = time.time() + 2.0
    while time.time() < min(until, deadline):
        for _ in range(100):
            c.log_metric(run.id, "loss", 1.0 / (points + 1))
            points += 1
        time.sleep(0.05)
    c.end_run(run.id)
    runs += 1
    failures = max(failures, worker.failures)
worker.stop()
final = worker.run_once()  # catch up: everything logged reaches the registry
import sqlalchemy as sa
with registry.db.read() as conn:
    remote = conn.exec_driver_sql("SELECT COUNT(*) FROM metrics").scalar()
    remote_runs = conn.exec_driver_sql("SELECT COUNT(*) FROM runs WHERE status = 'FINISHED'").scalar()
print(json.dumps({"runs": runs, "points": points, "failures": failures, "last_error": worker.last_error,
                  "pending": final.pending, "remote_points": remote, "remote_runs": remote_runs}))
c.close()
"""


def _rss(pid: int) -> int:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss
    except ImportError:  # pragma: no cover - psutil is optional
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    return 0


def _flat(samples: list[int]) -> tuple[bool, str]:
    """Last-quarter median within 5 % + 8 MiB of the second-quarter median (the first
    quarter is warm-up: imports, caches, the first connections)."""
    q = len(samples) // 4
    second, last = statistics.median(samples[q:2 * q]), statistics.median(samples[3 * q:])
    return last <= second * 1.05 + 8 * MiB, f"{second / MiB:.1f} MiB -> {last / MiB:.1f} MiB"


@pytest.fixture
def deployed(alice, bob, cancer_split, monkeypatch):
    """An approved logistic regression served by the local target on a loopback port."""
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("JUPYTER_MODELOPS_DEPLOY_ATTACHED", "1")  # the server dies with the test
    Xtr, Xte, ytr, yte = cancer_split
    model = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
    with alice.start_run("soak-model") as run:
        run.log_metric("accuracy", float(model.score(Xte, yte)))
        v = alice.register_model(model, "soak", run_id=run.id, input_example=Xtr.head(3))
    alice.set_model_info("soak", purpose="soak test", risk_tier="low")
    req = alice.request_deployment("soak", v.version, target="local", validation_data=(Xte, yte))
    assert req.state == "VALIDATED", req.validation
    bob.approve_request(req.id, comment="fine")
    dep = alice.deploy("soak", v.version, target="local", config={"sample_rate": 1.0, "log_interval": 0.2})
    yield dep, list(Xte.columns), Xte.values.tolist()
    alice.stop_deployment(dep.id)


def test_soak_server_sync_and_logging_keep_memory_flat(deployed, spawn, mo_home, tmp_path):
    dep, cols, rows = deployed
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    notebook = spawn(NOTEBOOK, SECONDS, registry_dir, home=mo_home)
    wait_for(lambda: notebook.stdout.readline().strip() == "ready", what="the notebook", proc=notebook)

    errors: list[str] = []
    served = [0]
    stop = threading.Event()

    def traffic():
        body = lambda row: {"inputs": [{"name": c, "shape": [1], "datatype": "FP64", "data": [v]}  # noqa: E731
                                       for c, v in zip(cols, row)]}
        with httpx.Client(base_url=dep.endpoint, timeout=10) as http:
            while not stop.is_set():
                row = rows[served[0] % len(rows)]
                try:
                    r = http.post("/v2/models/soak/infer", json=body(row))
                    if r.status_code != 200:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                served[0] += 1
                time.sleep(0.01)

    loader = threading.Thread(target=traffic, daemon=True)
    loader.start()
    pids = {"model server": dep.pid, "notebook": notebook.pid}
    samples: dict[str, list[int]] = {name: [] for name in pids}
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and notebook.poll() is None:
        for name, pid in pids.items():
            samples[name].append(_rss(pid))
        time.sleep(0.25)
    stop.set()
    loader.join(timeout=30)
    out, err = notebook.communicate(timeout=120)
    assert notebook.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])

    print(f"\nsoak {SECONDS:.0f} s: {served[0]} requests, {result['points']} points in {result['runs']} runs; "
          + "; ".join(f"{name} RSS {_flat(s)[1]}" for name, s in samples.items()))
    assert errors == [] and served[0] > 20 * SECONDS
    assert result["failures"] == 0 and result["last_error"] is None
    assert result["pending"] == 0 and result["remote_points"] == result["points"]
    assert result["remote_runs"] == result["runs"]
    for name, series in samples.items():
        assert len(series) >= 16, f"{name}: too few memory samples"
        flat, how = _flat(series)
        assert flat, f"{name}'s memory grew: {how}"
    assert_store_healthy(mo_home)
