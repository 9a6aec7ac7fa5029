"""Kubeflow Pipelines v2 (compiled, then run with kfp.local) and Airflow (compiled, its
structure and its tasks checked; loaded by DagBag where Airflow is installed)."""

from __future__ import annotations

import json
import os
import py_compile
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest
from pipeline_helpers import EXAMPLES, code

from jupyter_modelops.pipeline.codegen import read_spec
from jupyter_modelops.pipeline.export import export_notebook
from jupyter_modelops.pipeline.runner import run_pipeline

SMALL = [
    code("import json\nimport numpy as np", "imports"),
    code("N = 6\nSCALE = 1.5", "pipeline-parameters"),
    code("values = np.arange(N) * SCALE", "block:make"),
    code("stats = {'mean': float(values.mean()), 'max': float(values.max())}", "block:summarise", "prev:make"),
    code("spread = float(values.max() - values.min())", "block:spread", "prev:make"),
    code("score = stats['mean'] / spread\nreport = json.dumps(stats)", "block:score", "prev:summarise", "prev:spread"),
    code("score\nspread", "pipeline-metrics"),
]
REPO = Path(__file__).resolve().parents[2]


def _kfp():
    return pytest.importorskip("kfp", reason="kfp is not installed (pip install 'jupyter-modelops[kfp]')")


def test_kfp_yaml_of_the_example(tmp_path):
    _kfp()
    import yaml

    report = export_notebook(EXAMPLES / "pipeline.ipynb", target="kfp", output=tmp_path / "kfp")
    assert {"kfp_pipeline.py", "pipeline.yaml", "_codec.py"} <= set(report.files)
    spec = yaml.safe_load((tmp_path / "kfp" / "pipeline.yaml").read_text())
    assert set(spec["components"]) == {f"comp-{s.name.replace('_', '-')}-step" for s in report.steps}
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["C"] == {"defaultValue": 0.5, "isOptional": True, "parameterType": "NUMBER_DOUBLE"}
    assert params["N_ESTIMATORS"]["parameterType"] == "NUMBER_INTEGER"
    assert set(spec["root"]["outputDefinitions"]["parameters"]) == {"accuracy", "f1"}
    select = spec["components"]["comp-select-step"]["outputDefinitions"]
    assert select["artifacts"]["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"
    assert select["artifacts"]["model"]["artifactType"]["schemaTitle"] == "system.Artifact"
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["select-step"]["dependentTasks"] == ["train-forest-step", "train-logreg-step"]
    text = (tmp_path / "kfp" / "kfp_pipeline.py").read_text()
    assert "packages_to_install=PACKAGES" in text and "'scikit-learn'" in text and "'skops'" in text


def test_kfp_pipeline_runs_locally_and_agrees_with_the_local_runner(nb_file, tmp_path):
    kfp = _kfp()
    from kfp import local
    from kfp.components import load_component_from_file

    path = nb_file(SMALL, "small.ipynb")
    out = tmp_path / "small_pkg"
    export_notebook(path, target="kfp", output=out, kfp_options={"packages_to_install": [], "install_kfp": False})
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp-root"))
    pipeline = load_component_from_file(str(out / "pipeline.yaml"))  # the compiled YAML itself
    task = pipeline(N=8)
    expected = run_pipeline(out, {"N": 8}, track=False)
    assert expected.ok
    assert task.outputs["score"] == pytest.approx(expected.metrics["score"])
    assert task.outputs["spread"] == pytest.approx(expected.metrics["spread"]) == 10.5
    metrics = json.loads(next((tmp_path / "kfp-root").rglob("score-step/metrics")).read_text()) \
        if next((tmp_path / "kfp-root").rglob("score-step/metrics"), None) else None
    assert metrics is None or "score" in json.dumps(metrics)
    assert kfp.__version__


class _XCom:
    def __init__(self, task_id: str) -> None:
        self.task_id = task_id


def _airflow_stub(monkeypatch) -> dict:
    """Just enough of airflow.sdk's TaskFlow API to record the DAG and call its tasks."""
    graph: dict = {"dags": {}, "tasks": {}}

    def task(task_id):
        def decorate(fn):
            def call(**kwargs):
                graph["tasks"][task_id] = (fn, kwargs)
                return _XCom(task_id)
            return call
        return decorate

    def dag(**options):
        def decorate(fn):
            def call():
                graph["dags"][options["dag_id"]] = options
                fn()
            return call
        return decorate

    sdk = types.ModuleType("airflow.sdk")
    sdk.dag, sdk.task = dag, task
    airflow = types.ModuleType("airflow")
    airflow.sdk = sdk
    monkeypatch.setitem(sys.modules, "airflow", airflow)
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)
    return graph


def test_airflow_dag_compiles_has_the_graph_and_its_tasks_compute_the_same(tmp_path, monkeypatch):
    out = tmp_path / "af"
    report = export_notebook(EXAMPLES / "pipeline.ipynb", target="airflow", output=out)
    dag_file = out / "airflow_dag.py"
    assert "airflow_dag.py" in report.files
    py_compile.compile(str(dag_file), doraise=True)
    spec = read_spec(out)
    graph = _airflow_stub(monkeypatch)
    monkeypatch.setenv("MODELOPS_PIPELINE_DATA", str(tmp_path / "af-data"))
    runpy.run_path(str(dag_file))
    (dag_id, options), = graph["dags"].items()
    assert dag_id == "pipeline" and options["params"] == spec["parameters"] and options["schedule"] is None
    assert list(graph["tasks"]) == [s["name"] for s in spec["steps"]]
    upstream = {t: sorted(v.task_id for v in kwargs.values()) for t, (_, kwargs) in graph["tasks"].items()}
    assert upstream == {s["name"]: sorted(s["after"]) for s in spec["steps"]}
    # run the tasks as Airflow would: XCom values in, parameters from the DAG run's params
    results = {}
    for task_id, (fn, kwargs) in graph["tasks"].items():
        results[task_id] = fn(**{k: results[v.task_id] for k, v in kwargs.items()},
                              params=dict(options["params"], C=0.2), run_id="manual__2024-01-01T00:00:00+00:00")
    codec = runpy.run_path(str(out / "_codec.py"))
    ref = results["select"]["f1"]
    assert Path(ref["path"]).is_relative_to(tmp_path / "af-data")
    local = run_pipeline(out, {"C": 0.2}, track=False)
    assert codec["load_value"](ref["path"], ref["info"]) == pytest.approx(local.metrics["f1"])


def _airflow_python() -> str | None:
    candidates = [os.environ.get("MODELOPS_AIRFLOW_PYTHON"), str(REPO / "benchmarks" / ".venv-airflow" / "bin" / "python")]
    return next((c for c in candidates if c and os.path.isfile(c)), None)


@pytest.mark.skipif(_airflow_python() is None,
                    reason="no Airflow side environment (set MODELOPS_AIRFLOW_PYTHON or create "
                           "benchmarks/.venv-airflow with apache-airflow)")
def test_airflow_dagbag_loads_the_dag(tmp_path):
    out = tmp_path / "af"
    export_notebook(EXAMPLES / "pipeline_untagged.ipynb", target="airflow", output=out)
    script = """
import json, sys
try:
    from airflow.dag_processing.dagbag import DagBag   # Airflow 3
    bag = DagBag(dag_folder=sys.argv[1])
except ImportError:
    from airflow.models.dagbag import DagBag            # Airflow 2
    bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "dags": {d: {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
                           for d, dag in bag.dags.items()},
                  "params": {d: dict(dag.params) for d, dag in bag.dags.items()}}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow-home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    proc = subprocess.run([_airflow_python(), "-c", script, str(out / "airflow_dag.py")], capture_output=True,
                          text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    spec = read_spec(out)
    assert found["dags"] == {"pipeline_untagged": {s["name"]: sorted(s["after"]) for s in spec["steps"]}}
