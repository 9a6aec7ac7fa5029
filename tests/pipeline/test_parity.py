"""The parity check on notebooks of different shapes: run the notebook and the exported
pipeline on the same parameters, compare, and say which step diverged."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from pipeline_helpers import EXAMPLES, code, md

from jupyter_modelops.client import Client
from jupyter_modelops.pipeline.export import export_notebook

pytestmark = pytest.mark.slow


@pytest.fixture
def client(mo_home):
    c = Client(home=str(mo_home))
    yield c
    c.close()


@pytest.mark.parametrize("name, steps", [
    ("pipeline.ipynb", ["load", "split", "train_logreg", "train_forest", "select"]),
    ("pipeline_untagged.ipynb", ["load_the_data", "features", "plot", "train", "evaluate"]),
])
def test_the_examples_reproduce_their_notebook(tmp_path, client, name, steps):
    nb = shutil.copy(EXAMPLES / name, tmp_path / name)
    report = export_notebook(nb, check=True, client=client)
    parity = report.parity
    assert report.ok and parity["ok"], report.parity_text
    assert [s.name for s in report.steps] == steps
    assert "PASS" in report.parity_text and parity["first_divergence"] is None
    compared = [c for c in parity["comparisons"] if c["result"] == "same"]
    assert len(compared) >= 10 and not report.pickled
    run = client.get_run(parity["pipeline_run_id"])
    assert run.tags["mo.parity"] == "pass"
    assert "PASS" in client.read_artifact(run.id, "parity.txt").decode()
    children = {r.name: r for r in client.child_runs(run.id)}
    assert list(children) == steps or set(children) == set(steps)
    if name == "pipeline_untagged.ipynb":  # the plot and the trained model
        assert "figures/figure_1.png" in {a.path for a in client.list_artifacts(children["plot"].id)}
        assert any(c["name"] == "model" and c["format"] == "skops" and c["result"] == "same"
                   for c in parity["comparisons"])
    else:
        assert set(run.metrics) == {"accuracy", "f1"}


def test_papermill_parameters_are_overridden_on_both_sides(nb_file, client):
    path = nb_file([
        code("import numpy as np\nimport pandas as pd"),
        code("alpha = 0.5\nrows = 50", "parameters"),
        md("## Data"),
        code("rng = np.random.default_rng(1)\nframe = pd.DataFrame({'x': rng.normal(size=rows)})\n"
             "frame['y'] = 3 * frame['x'] + rng.normal(size=rows) * alpha"),
        md("## Fit"),
        code("slope = float(np.polyfit(frame['x'], frame['y'], 1)[0])"),
        code("slope", "pipeline-metrics"),
    ], "papermill.ipynb")
    report = export_notebook(path, check=True, client=client, params={"rows": 80})
    assert report.ok, report.parity_text
    parity = report.parity
    assert parity["params"] == {"alpha": 0.5, "rows": 80}
    metric = next(c for c in parity["comparisons"] if c["kind"] == "metric")
    assert metric["result"] == "same" and 2.5 < float(metric["notebook_value"]) < 3.5
    assert "parameters: alpha=0.5, rows=80" in report.parity_text


def test_divergence_names_the_first_step_that_differs(nb_file, client, tmp_path):
    path = nb_file([
        code("import numpy as np", "imports"),
        code("values = np.arange(4.0)", "block:make"),
        code("values[0] = 100.0  # a cell the pipeline skips, changing what later steps see", "skip"),
        code("noise = float(np.random.default_rng().normal())\ntotal = float(values.sum())", "block:use"),
        code("doubled = total * 2", "block:report"),
        code("doubled", "pipeline-metrics"),
    ], "diverges.ipynb")
    report = export_notebook(path, check=True, client=client)
    assert not report.ok
    parity = report.parity
    assert parity["first_divergence"] == "use"
    bad = {(c["step"], c["name"]) for c in parity["comparisons"] if c["result"] == "differs"}
    assert ("use", "total") in bad and ("report", "doubled") in bad
    assert "✘ first divergence: step `use`" in report.parity_text
    assert client.get_run(parity["pipeline_run_id"]).tags["mo.parity_divergence"] == "use"


def test_cli_export_check_exit_status(nb_file, mo_home, tmp_path):
    good = nb_file([md("## A"), code("x = [1, 2, 3]"), md("## B"), code("y = sum(x)")], "good.ipynb")
    bad = nb_file([md("## A"), code("import random\nx = random.random()"), md("## B"), code("y = x * 2")],
                  "bad.ipynb")

    def jm(*args):
        return subprocess.run([sys.executable, "-m", "jupyter_modelops.cli.app", "export", *args, f"--home={mo_home}"],
                              capture_output=True, text=True, timeout=300)

    ok = jm(str(good), "--check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "parity check of good.ipynb: PASS" in ok.stdout and "exported good.ipynb →" in ok.stdout
    assert (tmp_path / "good_pipeline" / "step_a.py").is_file()
    diverged = jm(str(bad), "--check", f"--output={tmp_path / 'bad_out'}")
    assert diverged.returncode == 1
    assert "✘ first divergence: step `a`, x: differs" in diverged.stdout
    refused = jm(str(nb_file([code("y = undefined_name + 1")], "refused.ipynb")))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().startswith("error: step `refused` (cell 1") and "`undefined_name`" in refused.stderr
