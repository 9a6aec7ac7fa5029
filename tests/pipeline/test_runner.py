"""The local runner: parallel processes, content-addressed cache, resume, child runs."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time

import pytest
from pipeline_helpers import code

from jupyter_modelops.client import Client
from jupyter_modelops.pipeline.export import export_notebook
from jupyter_modelops.pipeline.runner import run_pipeline

CELLS = [
    code("import time\nimport numpy as np", "imports"),
    code("FAIL = False\nSLEEP = 0.5", "pipeline-parameters"),
    code("base = np.arange(5.0)", "block:a"),
    code("start_b = time.time()\ntime.sleep(SLEEP)\nb = base * 2\nspan_b = (start_b, time.time())", "block:b"),
    code("start_c = time.time()\ntime.sleep(SLEEP)\nif FAIL:\n    raise RuntimeError('boom')\nc = base + 1\n"
         "span_c = (start_c, time.time())\nprint('c is done')", "block:c"),
    code("import matplotlib.pyplot as plt\ntotal = float(b.sum() + c.sum())\nfig = plt.figure()\nplt.plot(b)\n"
         "weird = lambda v: v", "block:d"),
    code("total", "pipeline-metrics"),
    code("span_b, span_c, weird", "pipeline-outputs"),
]


@pytest.fixture
def package(nb_file, tmp_path):
    path = nb_file(CELLS, "graph.ipynb")
    export_notebook(path, output=tmp_path / "graph_pkg")
    return tmp_path / "graph_pkg"


@pytest.fixture
def client(mo_home):
    c = Client(home=str(mo_home))
    yield c
    c.close()


def test_parallel_cached_and_tracked(package, client):
    run = run_pipeline(package, client=client)
    assert run.ok, run.summary()
    assert [s.status for s in run.steps.values()] == ["done"] * 4
    (b0, b1), (c0, c1) = run.load("span_b"), run.load("span_c")
    assert b0 < c1 and c0 < b1, "b and c should run at the same time"
    assert run.metrics == {"total": 35.0}
    assert run.pickled() == [("d", "weird", "no safe format for builtins.function")]
    assert "⚠ d.weird is stored with pickle" in run.summary()
    assert run.load("weird")(3) == 3

    parent = client.get_run(run.run_id)
    spec_hash = __import__("json").loads((package / "pipeline.json").read_text())["notebook_code_hash"]
    assert parent.status == "FINISHED" and parent.code_hash == spec_hash
    assert parent.tags["mo.source_type"] == "pipeline" and parent.metrics["total"] == 35.0
    assert parent.params == {"FAIL": "false", "SLEEP": "0.5"}
    children = {r.name: r for r in client.child_runs(run.run_id)}
    assert set(children) == {"a", "b", "c", "d"}
    assert all(r.status == "FINISHED" and r.tags["mo.cache"] == "miss" for r in children.values())
    assert children["c"].params == {"FAIL": "false", "SLEEP": "0.5"}
    arts = {a.path for a in client.list_artifacts(children["d"].id)}
    assert {"outputs.json", "figures/figure_1.png"} <= arts
    assert client.read_artifact(children["c"].id, "step.log") == b"c is done\n"

    started = time.perf_counter()
    again = run_pipeline(package, client=client)
    assert time.perf_counter() - started < 2
    assert again.ok and [s.status for s in again.steps.values()] == ["cached"] * 4
    assert again.ref("span_b") == run.ref("span_b") and again.metrics == run.metrics
    assert {r.tags["mo.cache"] for r in client.child_runs(again.run_id)} == {"hit"}

    # edit one step: it and what depends on it run again, the rest comes from the cache
    module = package / "step_c.py"
    module.write_text(module.read_text().replace("c = base + 1", "c = base + 2"))
    edited = run_pipeline(package, client=client, track=False)
    assert {n: s.status for n, s in edited.steps.items()} == {"a": "cached", "b": "cached", "c": "done", "d": "done"}
    assert edited.metrics == {"total": 40.0} and edited.run_id is None


def test_failure_stops_only_what_depends_on_it_and_the_rerun_resumes(package, client):
    failed = run_pipeline(package, {"FAIL": True}, client=client)
    assert not failed.ok and failed.status == "FAILED"
    status = {n: s.status for n, s in failed.steps.items()}
    assert status == {"a": "done", "b": "done", "c": "failed", "d": "skipped"}
    err = failed.steps["c"].error
    assert err["type"] == "RuntimeError" and err["message"] == "boom"
    assert err["cell"] == 5 and err["line"] == 4 and err["where"].startswith("cell 5 (")
    assert "raise RuntimeError('boom')" in err["traceback"] and "worker.py" not in err["traceback"]
    assert "✘ c" in failed.summary() and "not run: `c` failed" in failed.summary()
    parent = client.get_run(failed.run_id)
    assert parent.status == "FAILED" and "step c failed: RuntimeError: boom (cell 5" in parent.error_message

    resumed = run_pipeline(package, {"FAIL": False}, client=client)
    assert resumed.ok and resumed.resumed_from == failed.run_id
    assert {n: s.status for n, s in resumed.steps.items()} == {"a": "cached", "b": "cached", "c": "done", "d": "done"}
    assert client.get_run(resumed.run_id).tags["mo.resumed_from"] == failed.run_id


def test_unknown_parameter_is_refused(package):
    from jupyter_modelops.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown pipeline parameter NOPE .parameters: FAIL, SLEEP."):
        run_pipeline(package, {"NOPE": 1}, track=False)


def test_the_package_runs_on_its_own(package, monkeypatch):
    monkeypatch.syspath_prepend(str(package.parent))
    pkg = importlib.import_module("graph_pkg")
    result = pkg.run(SLEEP=0)
    assert result["total"] == 35.0 and callable(result["weird"])
    proc = subprocess.run([sys.executable, "-m", "graph_pkg", "--param", "SLEEP=0", "--no-track"],
                          cwd=package.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pipeline graph: FINISHED" in proc.stdout and "metrics: total=35" in proc.stdout
