"""``%%track`` and ``%modelops`` through a real IPython InteractiveShell."""

from __future__ import annotations

import json
from types import SimpleNamespace

import nbformat
import pytest
from IPython.core.error import UsageError


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "jupyter_modelops")
    return shell


@pytest.fixture
def shell(ip, mo):
    ip.user_ns.pop("__session__", None)
    ip._modelops_magics.experiment = "magics"
    yield ip
    ip.user_ns.pop("__session__", None)


def runs(mo, experiment="magics"):
    return list(mo.search_runs(experiment=experiment, order_by=["start_time ASC"]))


def run_cell(shell, source, cell_id=None):
    return shell.run_cell(source, store_history=True, cell_id=cell_id)


def test_track_records_cell_and_metrics(shell, mo):
    res = run_cell(shell, "%%track --name first\nimport jupyter_modelops as mo\n"
                          "mo.log_metric('acc', 0.9)\nvalue = 41\nvalue + 1", cell_id="cell-1")
    assert res.error_in_exec is None
    assert res.result == 42  # the last expression is the cell's value, as without %%track
    (run,) = runs(mo)
    assert run.name == "first" and run.status == "FINISHED"
    assert run.metrics == {"acc": 0.9}
    assert run.tags["mo.cell_id"] == "cell-1"
    cell = run.provenance["cell"]
    assert cell["id"] == "cell-1" and "mo.log_metric('acc', 0.9)" in cell["source"]
    assert int(run.tags["mo.execution_count"]) == cell["execution_count"] > 0
    assert len(run.code_hash) == 64


def test_code_hash_follows_executed_code(shell, mo):
    run_cell(shell, "a = 1")
    run_cell(shell, "%%track\npass")
    run_cell(shell, "a = 2")
    run_cell(shell, "%%track\npass")
    first, second = runs(mo)
    assert first.code_hash != second.code_hash


def test_failing_cell_ends_failed_and_still_raises(shell, mo):
    res = run_cell(shell, "%%track --name broken\nraise ValueError('bad input data')")
    assert isinstance(res.error_in_exec, ValueError)
    (run,) = runs(mo)
    assert run.status == "FAILED"
    assert run.error_type == "ValueError" and run.error_message == "bad input data"
    assert mo.active_run() is None  # never left running


def test_interrupted_cell_ends_killed(shell, mo):
    res = run_cell(shell, "%%track\nraise KeyboardInterrupt()")
    assert isinstance(res.error_in_exec, KeyboardInterrupt)
    assert runs(mo)[0].status == "KILLED"


def test_magics_inside_tracked_cell_work(shell, mo):
    res = run_cell(shell, "%%track\nx = %time 3 + 4\nx")
    assert res.error_in_exec is None and res.result == 7


def test_track_resumes_running_run(shell, mo):
    run = mo.start_run(experiment="magics", name="long")
    from jupyter_modelops import fluent

    fluent._forget(run)  # the run stays RUNNING but is not the active one
    res = run_cell(shell, f"%%track --run {run.id}\nimport jupyter_modelops as mo\nmo.log_metric('loss', 0.5)")
    assert res.error_in_exec is None
    stored = mo.get_run(run.id)
    assert stored.status == "RUNNING" and stored.metrics == {"loss": 0.5}
    run.end()
    res = run_cell(shell, f"%%track --run {run.id}\npass")
    assert isinstance(res.error_in_exec, UsageError)
    assert "FINISHED" in str(res.error_in_exec)


def _notebook(tmp_path, sources):
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        cell["id"] = f"c{i}"
        nb.cells.append(cell)
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    return str(path)


def test_out_of_order_execution_is_recorded(shell, mo, tmp_path, capsys):
    cells = ["threshold = 0.5", "%%track --name scoring\nscore = threshold * 2", "threshold = 0.9"]
    shell.user_ns["__session__"] = _notebook(tmp_path, cells)
    run_cell(shell, cells[0], "c0")
    run_cell(shell, cells[1], "c1")
    run_cell(shell, cells[2], "c2")  # a cell *below* changes the input ...
    run_cell(shell, cells[1], "c1")  # ... and the cell above is re-executed
    first, second = runs(mo)
    assert "mo.out_of_order" not in first.tags
    assert second.tags["mo.out_of_order"] == "true"
    (problem,) = second.provenance["out_of_order"]
    assert problem["name"] == "threshold" and problem["defined_by_cell"] == "c2"
    assert problem["cell_position"] == 2 and problem["defined_at_position"] == 3
    assert "out-of-order" in capsys.readouterr().err
    assert second.source.endswith("analysis.ipynb")


def test_register_variable_from_namespace(shell, mo):
    run_cell(shell, "%%track --name fit\nfrom sklearn.linear_model import LogisticRegression\n"
                    "from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True, as_frame=True)\n"
                    "clf = LogisticRegression(max_iter=500).fit(X, y)")
    res = run_cell(shell, "%modelops register clf --name iris")
    assert res.error_in_exec is None
    version = mo.get_client().get_model_version("iris", 1)
    (run,) = runs(mo)
    assert version.run_id == run.id and version.flavor == "sklearn"
    assert list(mo.load_model("iris").predict(shell.user_ns["X"].head(3))) == list(
        shell.user_ns["clf"].predict(shell.user_ns["X"].head(3)))


@pytest.mark.parametrize("line, expected", [
    ("%modelops rnus", "did you mean `runs`"),
    ("%modelops alias m x champion", "invalid int value"),
    ("%modelops show", "the following arguments are required: run"),
    ("%modelops show zzzz", "not a run id"),
    ("%modelops show 0123456789abcdef0123456789abcdef", "no run with id"),
    ("%modelops compare abcdef", "at least two runs"),
    ("%modelops request-deploy m --target local", "exactly one of --version N or --alias A"),
    ("%modelops versions nosuchmodel", "nosuchmodel"),
    ("%modelops register nothing_here --name x", "neither a variable"),
    ("%%track --bogus\n1", "unrecognized arguments: --bogus"),
])
def test_user_errors_are_one_line_usage_errors(shell, line, expected):
    res = run_cell(shell, line)
    assert isinstance(res.error_in_exec, UsageError), res.error_in_exec
    msg = str(res.error_in_exec)
    assert expected in msg and "\n" not in msg.strip()


@pytest.mark.parametrize("sub", ["sync --status", "deployments", "requests", "export"])
def test_capabilities_parse_and_answer_in_one_line(shell, sub, capsys):
    """Every capability subcommand parses; one that is not set up says so plainly."""
    res = run_cell(shell, f"%modelops {sub}")
    if res.error_in_exec is not None:
        assert isinstance(res.error_in_exec, UsageError)
        assert "\n" not in str(res.error_in_exec).strip()
    else:
        assert capsys.readouterr().out.strip()


def test_help_whoami_config(shell, capsys):
    run_cell(shell, "%modelops help")
    out = capsys.readouterr().out
    for sub in ("runs", "register", "request-deploy", "whoami"):
        assert sub in out
    run_cell(shell, "%modelops help runs")
    assert "--filter" in capsys.readouterr().out
    run_cell(shell, "%modelops whoami")
    assert "user: alice" in capsys.readouterr().out
    run_cell(shell, "%modelops config")
    assert "store:" in capsys.readouterr().out


def test_completion_of_subcommands_runs_and_models(shell, mo):
    run_cell(shell, "%%track --name completing\npass")
    magics = shell._modelops_magics
    magics._completion_cache.clear()
    assert "show" in magics.complete(shell, SimpleNamespace(line="%modelops sh", symbol="sh"))
    (run,) = runs(mo)
    assert run.id[:8] in magics.complete(shell, SimpleNamespace(line="%modelops show ", symbol=""))
    mo.register_model(_rules(), "limits")
    assert "limits" in magics.complete(shell, SimpleNamespace(line="%modelops versions ", symbol=""))


def _rules():
    return {"inputs": {"amount": "number"}, "output": {"name": "decision", "type": "string"},
            "default": "ok", "rules": [{"when": "amount > 100", "then": "review"}]}


def test_runs_subcommand_returns_first_page(shell, mo):
    for i in range(5):
        run_cell(shell, f"%%track --name r{i}\nimport jupyter_modelops as mo\nmo.log_metric('m', {i})")
    res = run_cell(shell, "%modelops runs --experiment magics --limit 3 --order-by \"metrics.m DESC\"")
    assert res.error_in_exec is None
    html = res.result._repr_html_() if hasattr(res.result, "_repr_html_") else str(res.result)
    assert "r4" in html and "r2" in html and "r1" not in html
