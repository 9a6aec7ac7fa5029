"""Steps from tags, magics and headings; the dataflow between them; the refusals."""

from __future__ import annotations

import py_compile

import pytest
from pipeline_helpers import code, md

from jupyter_modelops.errors import InvalidInput
from jupyter_modelops.pipeline.codegen import write_package
from jupyter_modelops.pipeline.dataflow import analyse_pipeline
from jupyter_modelops.pipeline.export import export_notebook, hidden_state
from jupyter_modelops.pipeline.notebook import plan_notebook


def pipeline_of(path):
    return analyse_pipeline(plan_notebook(path))


def steps(p):
    return {s.name: s for s in p.steps}


def test_kale_tags_give_steps_params_metrics_and_edges(nb_file):
    path = nb_file([
        md("# Title"),
        code("import math\nimport json", "imports"),
        code("SCALE = 2\nNAME = 'x'", "pipeline-parameters"),
        code("def double(v):\n    return v * SCALE", "functions"),
        code("data = [1, 2, 3]", "block:load"),
        code("print(data)", "skip"),
        code("total = sum(data)", "step:sum", "prev:load"),
        code("scaled = double(total)\nlabel = NAME + json.dumps(scaled)", "block:scale", "prev:sum"),
        code("half = total / 2", "block:half", "prev:sum"),
        code("result = scaled + half", "block:combine", "prev:scale", "prev:half"),
        code("result\nprint(half)", "pipeline-metrics"),
    ])
    p = pipeline_of(path)
    s = steps(p)
    assert list(s) == ["load", "sum", "scale", "half", "combine"]
    assert p.plan.mode == "tagged" and [c.number for c in p.plan.skipped] == [6]
    assert p.parameters == {"SCALE": 2, "NAME": "x"}
    assert s["sum"].inputs == {"data": "load"} and s["sum"].outputs == ["total"]
    # `double` comes from the functions cell and reads the parameter SCALE where it is called
    assert s["scale"].inputs == {"total": "sum"} and s["scale"].params == ["SCALE", "NAME"]
    assert [d.name for d in s["scale"].definitions] == ["double"]
    assert s["combine"].after == ["scale", "half"]
    assert p.metrics == {"result": "combine", "half": "half"}
    assert s["half"].outputs == ["half"] and s["half"].metrics == ["half"]
    assert p.common_imports == ["import math", "import json"]
    assert not p.warnings


def test_untagged_notebook_gets_one_step_per_section(nb_file):
    path = nb_file([
        md("# Analysis\nintro"),
        code("import statistics"),
        md("## 1. Load the data"),
        code("values = [3, 1, 2]"),
        md("### a detail inside the section"),
        code("values = sorted(values)"),
        md("## 2. Summarise"),
        code("from statistics import mean\navg = mean(values)"),
        code("spread = max(values) - min(values)", "parameters"),  # papermill's tag, but not a literal
    ])
    with pytest.raises(InvalidInput, match="not a literal"):
        pipeline_of(path)
    path = nb_file([
        md("# Analysis"),
        code("import statistics"),
        code("N = 3", "parameters"),
        md("## 1. Load the data"),
        code("values = list(range(N))"),
        md("### a detail"),
        code("values = sorted(values)"),
        md("## 2. Summarise"),
        code("from statistics import mean\navg = mean(values)"),
    ], "untagged.ipynb")
    p = pipeline_of(path)
    assert p.plan.mode == "headings"
    assert [s.name for s in p.steps] == ["load_the_data", "summarise"]
    s = steps(p)
    assert len(s["load_the_data"].cells) == 2 and s["load_the_data"].params == ["N"]
    assert s["summarise"].inputs == {"values": "load_the_data"}
    assert p.declared == {"avg": "summarise"}  # nothing declared: the last step's results


def test_no_headings_one_step_and_step_magic(nb_file):
    p = pipeline_of(nb_file([code("x = 1"), code("y = x + 1")]))
    assert [s.name for s in p.steps] == ["nb"] and p.plan.mode == "single"
    p = pipeline_of(nb_file([
        code("%%step prep\nx = 1"),
        code("%%step train --after prep\ny = x + 1\n%time z = 2"),
        code("w = y * 2"),  # untagged: continues the step above
    ], "magic.ipynb"))
    s = steps(p)
    assert list(s) == ["prep", "train"] and s["train"].explicit_after == ["prep"]
    assert s["train"].inputs == {"x": "prep"} and len(s["train"].cells) == 2
    assert s["train"].cells[0].code.startswith("# %%step train --after prep")


def test_same_block_in_two_places_is_one_step(nb_file):
    p = pipeline_of(nb_file([
        code("a = 1", "block:one"),
        code("b = a + 1", "block:two"),
        code("c = a + 10", "block:one"),
        code("d = b + c", "block:three"),
    ]))
    s = steps(p)
    assert [c.number for c in s["one"].cells] == [1, 3]
    assert s["three"].inputs == {"b": "two", "c": "one"}


def test_in_place_changes_make_a_step_produce_a_value_again(nb_file):
    path = nb_file([
        code("from sklearn.linear_model import LinearRegression\nrows = [[0.0], [1.0], [2.0]]\n"
             "target = [0.0, 2.0, 4.0]\nmodel = LinearRegression()\nlabels = {}", "block:make"),
        code("model.fit(rows, target)\nlabels['fitted'] = True", "block:fit"),
        code("rows.append([3.0])\npred = model.predict(rows)", "block:use"),
        code("rows.head()\n", "block:look"),  # a look, not a change
    ])
    s = steps(pipeline_of(path))
    assert s["fit"].inputs == {"model": "make", "rows": "make", "target": "make", "labels": "make"}
    assert set(s["fit"].outputs) == {"model"}  # labels is changed too, but nobody reads it after
    assert s["use"].inputs == {"model": "fit", "rows": "make"}
    assert s["look"].inputs == {"rows": "use"}  # the rows as changed by `use`
    assert s["use"].outputs == ["rows"]


def test_functions_are_copied_and_resolved_where_called(nb_file, tmp_path):
    path = nb_file([
        code("def score(k):\n    return sum(test) * k + OFFSET", "block:defs"),
        code("test = [1, 2]\nOFFSET = 1", "block:data"),
        code("result = score(2)", "block:use"),
    ])
    p = pipeline_of(path)
    s = steps(p)
    assert s["use"].inputs == {"OFFSET": "data", "test": "data"}
    assert [d.name for d in s["use"].definitions] == ["score"]
    assert s["defs"].inputs == {}  # defining `score` needs nothing; calling it does
    out = tmp_path / "pkg"
    write_package(p, out)
    text = (out / "step_use.py").read_text()
    assert "def run(OFFSET, test):" in text and "    def score(k):" in text
    ns = {}
    exec(compile(text, "step_use.py", "exec"), ns)
    assert ns["run"](OFFSET=1, test=[1, 2]) == {"result": 7}


def test_imports_are_code_not_data(nb_file, tmp_path):
    p = pipeline_of(nb_file([
        md("## one"), code("import statistics as st\nfrom math import sqrt\nvalues = [1.0, 4.0]"),
        md("## two"), code("m = st.mean(values)"),
        md("## three"), code("r = sqrt(m)\nsqrt = None"),  # rebinding an imported name: import stays in run()
    ]))
    s = steps(p)
    assert s["two"].inputs == {"values": "one"} and "import statistics as st" in s["two"].imports
    assert s["three"].body_imports == ["from math import sqrt"]
    out = tmp_path / "pkg"
    write_package(p, out)
    ns = {}
    exec((out / "step_three.py").read_text(), ns)
    assert ns["run"](m=4.0) == {"r": 2.0, "sqrt": None}  # the last step: its results are outputs


@pytest.mark.parametrize("cells, message", [
    ([code("x = 1", "block:a"), code("y = x + z", "block:b")],
     r"step `b` \(cell 2 \([0-9a-f-]+\), line 1\) uses `z`, which no cell above it defines"),
    ([code("y = x + 1", "block:a"), code("x = 1", "block:b")],
     r"step `a` .* uses `x`, which is defined only further down, by step `b`"),
    ([code("a = 1", "block:one"), code("b = a", "block:two"), code("a = b", "block:one")],
     r"step `two` reads `a` from step `one`, which changes it again further down"),
    ([code("a = 1", "block:one", "prev:two"), code("b = a", "block:two")],
     r"the steps form a cycle: one → two → one"),
    ([code("x = 1", "block:a"), code("y = (x +", "block:b")],
     r"step `b`: syntax error in cell 2 \([0-9a-f-]+\), line 1"),
    ([code("x = 1", "block:a", "prev:nope")], r"there is no step `nope`"),
    ([code("%%bash\necho hi", "block:a")], r"runs %%bash, which a pipeline step cannot run"),
    ([code("x = 1", "block:a"), code("accuracy", "pipeline-metrics")], r"lists `accuracy`, but no step"),
])
def test_refusals_name_the_step_the_cell_and_the_name(nb_file, cells, message):
    with pytest.raises(InvalidInput, match=message) as info:
        pipeline_of(nb_file(cells))
    assert "\n" not in info.value.message


def test_prev_edges_are_checked_against_the_dataflow(nb_file):
    p = pipeline_of(nb_file([
        code("x = 1", "block:a"),
        code("y = 2", "block:b", "prev:a"),
        code("z = x + y", "block:c", "prev:b"),  # `a` comes before `b`: nothing to say
        code("w = y", "block:d", "prev:a"),
    ]))
    s = steps(p)
    assert s["c"].after == ["a", "b"] and s["d"].after == ["a", "b"]
    assert p.warnings == ["step `d` uses `y` from `b` but does not list prev:b; it runs after `b` anyway"]
    assert any("step `b` runs after `a` (prev:a) though no value flows" in n for n in p.notes)


def test_steps_are_anchored_to_cell_ids(nb_file, tmp_path):
    cells = [md("## Load"), code("x = [1, 2]", id="anchor-load"), md("## Sum"), code("s = sum(x)", id="anchor-sum")]
    path = nb_file(cells)
    out = tmp_path / "pkg"
    first = export_notebook(path, output=out)
    assert [s.name for s in first.steps] == ["load", "sum"]
    assert first.steps[1].cell_ids == ["anchor-sum"]
    # rename a heading, edit one cell, insert a cell: the same steps, only one changed
    cells = [md("## Read the input"), code("x = [1, 2]", id="anchor-load"), md("a note"),
             md("## Sum"), code("s = sum(x) + 0", id="anchor-sum")]
    nb_file(cells)
    again = export_notebook(path, output=out)
    assert [s.name for s in again.steps] == ["load", "sum"]
    assert [s.changed for s in again.steps] == [False, True]
    assert "(changed)" in str(again)
    # a fresh export (no previous one) names the step after the new heading
    assert [s.name for s in export_notebook(path, output=tmp_path / "fresh").steps] == ["read_the_input", "sum"]


def test_generated_code_is_readable_and_faithful(nb_file, tmp_path):
    path = nb_file([
        code("import textwrap", "imports"),
        code("N = 2", "pipeline-parameters"),
        code('sql = """\nselect *\n  from t\n"""\ncount = 0\n'
             'def bump():\n    global count\n    count += N\nbump()\nbump()\nglobal sql', "block:make"),
        code("%matplotlib inline\nlines = textwrap.dedent(sql).splitlines() * count\ndisplay(lines)", "block:use"),
    ])
    report = export_notebook(path, output=tmp_path / "pkg")
    text = (tmp_path / "pkg" / "step_make.py").read_text()
    assert text.startswith('"""Step `make`') and "cell 3 (" in text
    assert "def run(*, N):" in text
    assert '    sql = """\nselect *\n  from t\n"""' in text  # the string is not re-indented
    assert "        nonlocal count" in text
    for name in ("step_make.py", "step_use.py", "pipeline.py", "__main__.py", "__init__.py", "_codec.py"):
        py_compile.compile(str(tmp_path / "pkg" / name), doraise=True)
    ns = {}
    exec(text, ns)
    assert ns["run"](N=2) == {"sql": "\nselect *\n  from t\n", "count": 4}
    use = (tmp_path / "pkg" / "step_use.py").read_text()
    assert "# %matplotlib inline  (IPython; not run by the pipeline)" in use
    assert "from IPython.display import display" in use
    assert report.mode == "tagged" and "step_use.py" in report.files


def test_hidden_state_and_predicted_formats(nb_file, tmp_path):
    path = nb_file([code("import numpy as np\nx = np.arange(3)", "block:a"),
                    code("f = lambda v: v\ny = f(x)", "block:b"), code("z = y.sum() + len(x)", "block:c")])
    import numpy as np

    ns = {"np": np, "x": np.arange(3), "f": lambda v: v, "y": np.arange(3), "z": 3, "leftover": 1, "_": None,
          "In": []}
    report = export_notebook(path, output=tmp_path / "pkg", namespace=ns)
    assert report.hidden_state == ["leftover"]
    assert report.formats == {"a.x": "npy", "b.y": "npy", "c.z": "json"}
    assert "hidden state: `leftover`" in str(report)
    assert hidden_state({"x": 1, "gone": 2}, plan_notebook(path)) == ["gone"]
