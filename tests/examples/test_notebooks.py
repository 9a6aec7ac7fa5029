"""The example notebooks, executed end to end in a real kernel against a temp store."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def execute(name: str, home: Path, tmp_path: Path):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    env_home = os.environ.get("JUPYTER_MODELOPS_HOME")
    os.environ["JUPYTER_MODELOPS_HOME"] = str(home)  # the kernel inherits the environment
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if env_home is not None:
            os.environ["JUPYTER_MODELOPS_HOME"] = env_home
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    return nb


@pytest.mark.slow
def test_quickstart(mo, mo_home, tmp_path):
    nb = execute("quickstart.ipynb", mo_home, tmp_path)
    runs = mo.search_runs(experiment="quickstart")
    assert sorted(r.name for r in runs) == ["boosting", "forest", "logreg"]
    assert all(r.status == "FINISHED" and {"accuracy", "roc_auc"} <= set(r.metrics) for r in runs)
    assert all(r.provenance["cell"]["source"].startswith("from sklearn") for r in runs)
    client = mo.get_client()
    champion = client.get_model_version("breast-cancer", alias="champion")
    best = max(runs, key=lambda r: r.metrics["roc_auc"])
    assert champion.run_id == best.id
    assert all(client.list_inputs(r.id)[0].name == "breast-cancer-train" for r in runs)
    texts = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "-> version 1" in texts


@pytest.mark.slow
def test_tracking_deep_dive(mo, mo_home, tmp_path):
    execute("tracking_deep_dive.ipynb", mo_home, tmp_path)
    client = mo.get_client()
    (grid,) = mo.search_runs("name = 'forest-grid'", experiment="deep-dive")
    assert "best_score" in grid.metrics or any(k.endswith("score") for k in grid.metrics)
    children = client.child_runs(grid.id)
    assert len(children) == 4
    (curves,) = mo.search_runs("name = 'curves'", experiment="deep-dive")
    names = {a.path for a in client.list_artifacts(curves.id)}
    assert {"accuracy_vs_trees.png", "classes.json", "notes.md"} <= names
    assert [m.step for m in client.get_metric_history(curves.id, "test_accuracy")] == list(range(5, 55, 5))
    assert {d.context for d in client.list_inputs(curves.id)} == {"training", "evaluation"}
