"""``%%step``, ``%modelops export`` (with the hidden-state warning) and the service ops."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from pipeline_helpers import EXAMPLES, code, md

from jupyter_modelops import services
from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.pipeline.client_api import PipelineClientMixin


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "jupyter_modelops")
    shell.run_line_magic("load_ext", "jupyter_modelops.kernel.step_magic")
    return shell


def test_step_magic_runs_the_cell_and_warns_about_order(ip, capsys):
    res = ip.run_cell("%%step prep\nprepared = 20\nprepared + 1", store_history=True)
    assert res.error_in_exec is None and res.result == 21 and ip.user_ns["prepared"] == 20
    res = ip.run_cell("%%step train --after prep later\nmodel = prepared * 2", store_history=True)
    assert res.error_in_exec is None and ip.user_ns["model"] == 40
    assert "step train runs after later, which has not run in this kernel yet" in capsys.readouterr().err
    with pytest.raises(UsageError, match="must be letters"):
        ip.run_cell_magic("step", "9bad", "x = 1")


def test_modelops_export_from_the_kernel_warns_about_hidden_state(ip, nb_file, tmp_path, capsys, mo):
    path = nb_file([md("## Make"), code("made = [1, 2]"), md("## Use"), code("used = made + extra_thing")],
                   "kernel.ipynb")
    ip.user_ns.update({"made": [1, 2], "extra_thing": [3]})
    with pytest.raises(UsageError, match="uses `extra_thing`, which no cell above it defines"):
        ip.run_line_magic("modelops", f"export {path} --output {tmp_path / 'out'}")
    path = nb_file([md("## Make"), code("made = [1, 2]"), md("## Use"), code("used = made + [3]")], "kernel.ipynb")
    ip.user_ns["__session__"] = str(path)  # the notebook this kernel runs: the default
    try:
        ip.run_line_magic("modelops", f"export --output {tmp_path / 'out'}")
    finally:
        ip.user_ns.pop("__session__", None)
    out = capsys.readouterr().out
    assert f"exported kernel.ipynb → {tmp_path / 'out'}" in out
    assert "hidden state: " in out and "`extra_thing`" in out and "`made`" not in out.split("hidden state")[1]
    assert (tmp_path / "out" / "step_use.py").is_file()


def test_service_ops_are_registered_with_their_access():
    assert {"export_notebook", "run_pipeline", "plan_pipeline"} <= set(services.OPS)
    assert {"export_notebook", "run_pipeline"} <= services.NO_TRANSACTION
    assert "plan_pipeline" in services.READ_ONLY
    assert services.required_roles("export_notebook") == frozenset({"data_scientist", "admin"})


def test_export_over_both_transports(client, tmp_path):
    nb = tmp_path / "pipeline.ipynb"
    nb.write_bytes((EXAMPLES / "pipeline.ipynb").read_bytes())
    if client.transport.name != "local":
        # The HTTP server here is the standalone shared registry: it never reads notebooks
        # from its disk or runs their code (inside jupyter lab the same routes do).
        from jupyter_modelops.errors import PolicyViolation

        for call in (lambda: PipelineClientMixin.plan_pipeline(client, nb),
                     lambda: PipelineClientMixin.export_notebook(client, nb, "airflow", tmp_path / "out")):
            with pytest.raises(PolicyViolation, match="does not read or run notebooks"):
                call()
        return
    plan = PipelineClientMixin.plan_pipeline(client, nb)
    assert [s["name"] for s in plan["steps"]] == ["load", "split", "train_logreg", "train_forest", "select"]
    assert plan["metrics"] == {"accuracy": "select", "f1": "select"}
    report = PipelineClientMixin.export_notebook(client, nb, "airflow", tmp_path / "out")
    assert type(report).__name__ == "ExportReport" and report.steps[0].name == "load"
    assert "airflow_dag.py" in report.files and "exported pipeline.ipynb →" in str(report)
    with pytest.raises(InvalidInput, match="unknown target 'spark'"):
        PipelineClientMixin.export_notebook(client, nb, "spark")
    with pytest.raises(InvalidInput, match="check must be true or false"):
        client._call("export_notebook", notebook=str(nb), check="yes")
    with pytest.raises(InvalidInput, match="no such notebook"):
        client._call("plan_pipeline", notebook=str(tmp_path / "missing.ipynb"))
    with pytest.raises(InvalidInput, match="not empty and holds no exported pipeline"):
        (tmp_path / "taken").mkdir()
        (tmp_path / "taken" / "mine.txt").write_text("x")
        PipelineClientMixin.export_notebook(client, nb, "python", tmp_path / "taken")
