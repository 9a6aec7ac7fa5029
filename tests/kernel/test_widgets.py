"""Notebook widgets, headless: what they query, what they show, and what they put on the wire.

``widget.get_state()`` is exactly the state ipywidgets sends over the comm, so checking it
checks the widget's wire format without a kernel or a browser.
"""

from __future__ import annotations

import html
import json
import math
import ipywidgets as w
import pytest

from jupyter_modelops.kernel.widgets import (
    CompareView,
    DeployRequestForm,
    MetricChart,
    ModelsTable,
    ModelVersionView,
    RunsTable,
    RunView,
    VersionsTable,
)
from jupyter_modelops.kernel.widgets import deploy as deploy_mod

XSS = "<img src=x onerror=alert(1)>"


# --------------------------------------------------------------------------- helpers


def make_runs(mo, n=30, experiment="exp"):
    """``n`` finished runs: run-00.. with acc = i/100 (3 steps), loss, and C = i % 3."""
    ids = []
    for i in range(n):
        with mo.start_run(experiment=experiment, name=f"run-{i:02d}") as run:
            mo.log_params({"C": i % 3, "kernel": "rbf"})
            for step in range(3):
                mo.log_metric("acc", i / 100 + step / 1000, step=step)
            mo.log_metric("loss", 1 - i / 100)
            ids.append(run.id)
    return ids


def walk(widget):
    """Every widget reachable from ``widget`` (children, tab pages, boxes held as attributes)."""
    seen, out = set(), []

    def visit(x):
        if not isinstance(x, w.Widget) or id(x) in seen:
            return
        seen.add(id(x))
        out.append(x)
        for child in getattr(x, "children", ()) or ():
            visit(child)
        for value in vars(x).values():
            if isinstance(value, w.Widget):
                visit(value)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    if isinstance(v, w.Widget):
                        visit(v)
                    elif isinstance(v, (list, tuple)):
                        for vv in v:
                            visit(vv)
            elif isinstance(value, dict):
                for v in value.values():
                    visit(v)

    visit(widget)
    return out


def html_payloads(widget) -> list[str]:
    """Everything of a widget tree that a browser parses as HTML, plus its static forms."""
    out = [widget._repr_html_(), widget._repr_markdown_()]
    bundle = widget._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    out.append(bundle["text/html"])
    for x in walk(widget):
        state = x.get_state()
        if isinstance(x, (w.HTML, w.HTMLMath)):
            out.append(state["value"])
        if state.get("description_allow_html"):
            out.append(state.get("description", ""))
        if hasattr(x, "_repr_html_") and x is not widget:
            out.append(x._repr_html_())
    return out


def cell_texts(table: RunsTable) -> list[list[str]]:
    return table._plain_rows()


def names(table) -> list[str]:
    return [r.name for r in table.runs]


# --------------------------------------------------------------------------- RunsTable


def test_runs_table_first_page(client, mo):
    make_runs(mo, 30)
    table = RunsTable(client, page_size=10)
    assert len(table.runs) == 10
    starts = [r.start_time for r in table.runs]
    assert starts == sorted(starts, reverse=True)  # newest first by default
    assert table.total == 30
    assert "rows 1–10 of 30" in table.status.value
    assert table.prev_button.disabled and not table.next_button.disabled
    assert table.queries == 2  # one search, one count
    # the grid: a header row, then a checkbox and one cell per column for each run
    ncols = len(table.columns)
    assert len(table.grid.children) == (ncols + 1) * 11
    assert table.metric_keys == ["acc", "loss"]  # the page's most common metric keys
    headers = [b.description for b in table.grid.children[1:ncols]]
    assert headers[:5] == ["run", "name", "status", "started ▼", "duration"]
    # cells on the wire hold the page's values
    first_row = table.grid.children[ncols + 1:2 * (ncols + 1)]
    assert isinstance(first_row[0], w.Checkbox)
    wire = [c.get_state()["value"] for c in first_row[1:]]
    assert table.runs[0].name in wire[1] and "FINISHED" in wire[2]


def test_runs_table_order_by_and_experiment(client, mo):
    make_runs(mo, 12, experiment="a")
    make_runs(mo, 3, experiment="b")
    table = RunsTable(client, experiment="a", order_by=["metrics.acc DESC"], page_size=5)
    assert names(table) == [f"run-{i:02d}" for i in (11, 10, 9, 8, 7)]
    assert table.total == 12
    assert (table.sort_column, table.sort_desc) == ("metric:acc", True)
    asc = RunsTable(client, experiment="b", order_by=["name"], page_size=5)
    assert names(asc) == ["run-00", "run-01", "run-02"] and asc.next_button.disabled


def test_runs_table_pages_with_buttons(client, mo):
    make_runs(mo, 23)
    table = RunsTable(client, order_by=["metrics.acc DESC"], page_size=10)
    seen = names(table)
    table.next_button.click()
    assert table.page_index == 1 and "rows 11–20 of 23" in table.status.value
    seen += names(table)
    table.next_button.click()
    assert "rows 21–23 of 23" in table.status.value
    assert len(table.runs) == 3 and table.next_button.disabled
    seen += names(table)
    assert seen == [f"run-{i:02d}" for i in range(22, -1, -1)]  # every run once, in order
    # the grid shrinks to the short page and unused row widgets are not shown
    assert len(table.grid.children) == (len(table.columns) + 1) * 4
    table.prev_button.click()
    assert table.page_index == 1 and names(table)[0] == "run-12"
    table.prev_button.click()
    assert names(table)[0] == "run-22" and table.prev_button.disabled
    assert table.queries == 2 + 4  # one query per page move; the count is not repeated


def test_runs_table_sort_by_clicking_headers(client, mo):
    make_runs(mo, 15)
    table = RunsTable(client, page_size=5)
    before = table.queries
    table._header_buttons["metric:acc"].click()
    assert table.queries == before + 1  # re-queried, not sorted in the kernel
    assert table.order_by == ["metrics.`acc` DESC"]
    assert names(table) == ["run-14", "run-13", "run-12", "run-11", "run-10"]
    assert table._header_buttons["metric:acc"].description == "acc ▼"
    table._header_buttons["metric:acc"].click()  # again: ascending
    assert table.order_by == ["metrics.`acc` ASC"]
    assert names(table) == ["run-00", "run-01", "run-02", "run-03", "run-04"]
    assert table._header_buttons["metric:acc"].description == "acc ▲"
    table.next_button.click()
    table._header_buttons["name"].click()  # a new sort starts at the first page
    assert table.page_index == 0 and table.order_by == ["name ASC"]
    assert names(table) == ["run-00", "run-01", "run-02", "run-03", "run-04"]
    assert table._header_buttons["metric:acc"].description == "acc"


def test_runs_table_sorted_metric_stays_a_column(client, mo):
    with mo.start_run(name="rare"):
        mo.log_metrics({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "zz": 5})
    for i in range(3):
        with mo.start_run(name=f"common-{i}"):
            mo.log_metrics({"a": i, "b": i, "c": i, "d": i, "e": i, "f": i})
    table = RunsTable(client, order_by=["metrics.zz DESC"])
    assert "zz" in table.metric_keys and len(table.metric_keys) == 5
    assert table.runs[0].name == "rare"


def test_runs_table_filter_box_and_bad_filter(client, mo):
    make_runs(mo, 10)
    table = RunsTable(client, page_size=25)
    table.filter_box.value = "metrics.acc >= 0.07"  # what the browser sends on Enter
    assert sorted(names(table)) == ["run-07", "run-08", "run-09"]
    assert table.total == 3 and table.message.value == ""
    table.filter_box.value = "metrics.acc >"
    message = table.message.value
    assert "bad filter" in message and "position" in message
    assert "Traceback" not in message and len(message.splitlines()) == 1
    assert table.runs == [] and table.error and html.escape(table.error) in table._repr_html_()
    table.filter_box.value = "params.C = '1'"
    assert table.error is None and table.message.value == ""
    assert sorted(names(table)) == ["run-01", "run-04", "run-07"]
    table.clear_filter_button.click()
    assert table.filter == "" and table.filter_box.value == "" and table.total == 10
    bad = RunsTable(client, filter="nonsense ===")  # from the magic: shown, not raised
    assert bad.error and bad.runs == []
    bad_order = RunsTable(client, order_by=["metrics.acc SIDEWAYS"])
    assert bad_order.error and bad_order.total is None
    bad_order._header_buttons["name"].click()  # a good sort recovers, total included
    assert bad_order.error is None and bad_order.total == 10 and len(bad_order.runs) == 10


def test_runs_table_no_runs(client):
    table = RunsTable(client)
    assert table.runs == [] and "no runs yet" in table.message.value
    assert "no rows" in table.status.value and "no runs" in table._repr_html_()


def test_selection_and_compare(client, mo):
    make_runs(mo, 6)
    table = RunsTable(client, order_by=["metrics.acc DESC"], page_size=3)
    assert table.compare_button.disabled
    first = table.runs[0]
    table._checks[0].value = True  # a tick in the browser
    assert list(table.selected) == [first.id] and table.compare_button.disabled
    table.next_button.click()  # selection survives paging
    second = table.runs[1]
    table._checks[1].value = True
    assert list(table.selected) == [first.id, second.id]
    assert not table.compare_button.disabled and table.compare_button.description == "Compare (2)"
    table.prev_button.click()
    assert table._checks[0].value is True  # the row is shown ticked again
    table.compare_button.click()
    view = table.compare_view
    assert isinstance(view, CompareView) and table.compare_box.children == (view,)
    assert ("param", "C") in view.differing and ("param", "kernel") not in view.differing
    html = view.table.value
    assert "run-05" in html and "run-01" in html and "mo-diff" in html
    view.only_differences.value = True
    assert "kernel" not in view.table.value and "C" in view.table.value
    # the chart shows the metrics both runs have, with both runs' curves
    state = view.chart.get_state()
    assert state["metric_keys"] == ["acc", "loss"]
    assert {s["run_id"] for s in state["series"]} == {first.id, second.id}
    assert "Comparing 2 runs" in table._repr_html_()
    table.clear_selection_button.click()
    assert table.selected == {} and table.compare_button.disabled
    assert not any(c.value for c in table._checks[:3])


def test_runs_table_failures_show_in_the_widget_and_close_frees_comms(client, mo, monkeypatch):
    make_runs(mo, 4)
    table = RunsTable(client, page_size=2)
    table.select(table.runs[0].id, table.runs[1].id)
    table.compare_button.click()

    def broken(*args, **kwargs):
        raise RuntimeError("database is on fire")

    monkeypatch.setattr(client, "search_runs", broken)
    table.next_button.click()  # in a kernel an exception here would vanish into the widget log
    assert "unexpected RuntimeError: database is on fire" in table.message.value
    widgets = walk(table)
    assert len(widgets) > 50 and all(x.comm is not None for x in widgets)
    table.close()
    assert all(x.comm is None for x in widgets if not isinstance(x, (w.Layout, w.Style)))


def test_compare_view_needs_two_runs(client, mo):
    (rid,) = make_runs(mo, 1)
    from jupyter_modelops.errors import InvalidInput

    with pytest.raises(InvalidInput):
        CompareView(client, [rid])


# --------------------------------------------------------------------------- MetricChart


def test_metric_chart_series_on_the_wire(client, mo):
    with mo.start_run(name="a") as a:
        for step in range(5):
            mo.log_metric("loss", 1.0 / (step + 1), step=step)
        mo.log_metric("acc", 0.5, step=0)
        mo.log_metric("acc", float("nan"), step=1)
        mo.log_metric("acc", 0.7, step=2)
    with mo.start_run(name="b") as b:
        for step in range(0, 10, 2):
            mo.log_metric("loss", 2.0 - step / 10, step=step)
    chart = MetricChart(client, [a.id, b.id[:12]])
    state = chart.get_state()
    json.dumps(state)  # the wire format is plain JSON (no NaN)
    assert state["metric_keys"] == ["loss", "acc"]  # most common first
    assert [r["id"] for r in state["runs"]] == [a.id, b.id]
    assert state["runs"][0]["label"].startswith("a (") and state["runs"][0]["color"] != state["runs"][1]["color"]
    series = {(s["run_id"], s["key"]): s for s in state["series"]}
    assert set(series) == {(a.id, "loss"), (a.id, "acc"), (b.id, "loss")}
    assert series[(a.id, "loss")]["steps"] == [0, 1, 2, 3, 4]
    assert series[(a.id, "loss")]["values"] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert series[(b.id, "loss")]["steps"] == [0, 2, 4, 6, 8]
    assert series[(a.id, "acc")]["values"] == [0.5, None, 0.7]  # NaN is a gap
    assert "_esm" in state and "export default" in state["_esm"]
    # static fallback: SVG with one panel per key
    html = chart._repr_html_()
    assert html.count("<svg") == 2 and "polyline" in html


def test_metric_chart_keys_and_downsampling(client, mo):
    run = mo.start_run(name="long")  # still logging while the chart is shown
    for step in range(2000):
        mo.log_metric("loss", math.exp(-step / 500), step=step)
    mo.log_metric("other", 1.0)
    mo.flush()
    chart = MetricChart(client, [run.id], keys=["loss"], max_points=100)
    (series,) = chart.series
    assert chart.metric_keys == ["loss"]
    assert 2 <= len(series["steps"]) <= 100 and series["steps"][0] == 0 and series["steps"][-1] == 1999
    chart.log_y = True  # a browser toggle is synced state
    assert chart.get_state()["log_y"] is True
    mo.log_metric("loss", 0.0, step=5000)
    mo.flush()
    chart.refresh()
    assert chart.series[0]["steps"][-1] == 5000
    run.end()


def test_metric_chart_js_never_parses_data_as_html():
    source = str(MetricChart._esm)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "import("):
        assert sink not in source
    assert "http://" not in source.replace("http://www.w3.org/2000/svg", "") and "https://" not in source


# --------------------------------------------------------------------------- RunView


def test_run_view_shows_provenance_and_out_of_order(client, mo):
    import pandas as pd

    provenance = {
        "cell": {"id": "cell-7", "execution_count": 4, "source": "model = fit(X_late)"},
        "notebook": "analysis.ipynb",
        "out_of_order": [{"name": "X_late", "defined_by_cell": "cell-9", "defined_at_position": 9,
                          "cell_position": 3}],
    }
    with mo.start_run(name="parent") as parent:
        with mo.start_run(name="child-run", nested=True, tags={"mo.out_of_order": "true", "team": "risk"},
                          provenance=provenance, code_hash="ab" * 32) as run:
            mo.log_params({"alpha": 0.5})
            for step in range(4):
                mo.log_metric("loss", 1 / (step + 1), step=step)
            art = mo.log_text("hello", "notes/readme.txt")
            mo.log_input(pd.DataFrame({"x": [1, 2, 3]}), "train.csv")
    view = RunView(client, run.id[:12])
    text = view._repr_html_()
    assert "⚠ out-of-order" in view.header.value
    overview = view.sections["Overview"]
    assert "X_late" in overview and "position 9" in overview and "cell-9" in overview
    prov = view.sections["Provenance"]
    assert "cell-7" in prov and "execution count 4" in prov and "analysis.ipynb" in prov
    assert "ab" * 32 in prov and "alice@" in prov and "python" in prov
    assert "model = fit(X_late)" in prov
    arts = view.sections["Artifacts"]
    assert "notes/readme.txt" in arts and art.digest[:12] in arts and "5 B" in arts
    data = view.sections["Datasets"]
    assert "train.csv" in data and ">3<" in data
    assert "alpha" in view.sections["Params"] and "<svg" in view.sections["Metrics"]
    assert "parent" in view.sections["Lineage"] and parent.id in view.sections["Lineage"]
    assert "team" in view.sections["Tags"]
    assert list(view.tabs.get_state()["titles"][:3]) == ["Overview", "Params", "Metrics"]
    assert view.chart is not None and view.chart.series[0]["steps"] == [0, 1, 2, 3]
    for section in ("Overview", "Params", "Artifacts", "Datasets", "Provenance", "Lineage"):
        assert view.sections[section] in text
    assert "out-of-order" in repr(view) and "child-run" in view._repr_markdown_()
    parent_view = RunView(client, parent.id)
    assert "child-run" in parent_view.sections["Lineage"] and "⚠" not in parent_view.header.value


def test_run_view_lists_versions_registered_from_the_run(client, mo):
    with mo.start_run(name="trainer") as run:
        mo.log_metric("acc", 0.9)
    _bare_version(client, "scorer", run.id)
    view = RunView(client, run.id)
    assert "scorer" in view.sections["Lineage"]


def test_run_view_unknown_run(client):
    from jupyter_modelops.errors import NotFound

    with pytest.raises(NotFound):
        RunView(client, "abcdef12")


# --------------------------------------------------------------------------- static forms


def test_repr_html_markdown_text_and_mimebundle(client, mo):
    make_runs(mo, 4)
    table = RunsTable(client)
    html = table._repr_html_()
    assert html.count("<tr>") == 1 + 4 and all(f"run-{i:02d}" in html for i in range(4))
    assert "<table" in html and "rows 1–4 of 4" in html
    data = table._repr_mimebundle_()
    assert set(data) >= {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    assert data["text/html"] == html and data["text/plain"] == repr(table)
    md = table._repr_markdown_()
    assert "| run |" in md and md.count(" | run-0") == 4 and "|---|" in md
    text = repr(table)
    assert "run-03" in text and "rows 1–4 of 4" in text
    # IPython's formatter puts the static HTML next to the widget view
    from IPython.core.formatters import DisplayFormatter

    fmt, _ = DisplayFormatter().format(table)
    assert "text/html" in fmt and "application/vnd.jupyter.widget-view+json" in fmt
    chart = MetricChart(client, [table.runs[0].id])
    bundle, _meta = chart._repr_mimebundle_() if isinstance(chart._repr_mimebundle_(), tuple) \
        else (chart._repr_mimebundle_(), None)
    assert "<svg" in bundle["text/html"] and "MetricChart" in bundle["text/plain"]


def test_user_strings_are_escaped_everywhere(client, mo):
    with mo.start_run(experiment=XSS, name=XSS, tags={"note": XSS}) as a:
        mo.log_params({"p": XSS, "q": 1})
        mo.log_metric("acc", 0.5)
        mo.log_text("hi", XSS)
        import pandas as pd

        mo.log_input(pd.DataFrame({"x": [1]}), XSS, source=XSS)
    with mo.start_run(name="plain") as b:
        mo.log_params({"p": "ok", "q": 2})
        mo.log_metric("acc", 0.6)
    _bare_version(client, XSS, a.id, description=XSS, tags={"t": XSS})

    table = RunsTable(client)
    table.select(a.id, b.id)
    table.compare_button.click()
    widgets = [table, table.compare_view, RunView(client, a.id), MetricChart(client, [a.id, b.id]),
               ModelsTable(client), VersionsTable(client, XSS), ModelVersionView(client, XSS),
               DeployRequestForm(client, XSS, version=1)]
    widgets[-1].justification.value = XSS
    for widget in widgets:
        payloads = html_payloads(widget)
        for text in payloads:
            assert XSS not in text, f"unescaped in {type(widget).__name__}: {text[:200]}"
            assert "<img" not in text
        assert any("&lt;img src=x onerror=alert(1)&gt;" in p for p in payloads), type(widget).__name__
        assert XSS in repr(widget) or isinstance(widget, (MetricChart,))  # plain text keeps the name
    # filters typed into the box, good or bad, are echoed escaped
    for text in (f"name = '{XSS}'", XSS, f"params.p = {XSS}"):
        table.filter_box.value = text
        for payload in html_payloads(table):
            assert XSS not in payload and "<img" not in payload
    table.filter_box.value = f"name = '{XSS}'"
    assert [r.id for r in table.runs] == [a.id]


# --------------------------------------------------------------------------- registry widgets


def _bare_version(client, name, run_id=None, **kw):
    """A version with nothing but a package (the registry's lowest-level operation)."""
    digest = client._call("put_blob", data=b'{"flavor": "pyfunc"}')["digest"]
    lineage = {"run_id": run_id} if run_id else {}
    return client._call("create_version", name=name, flavor="pyfunc", manifest_digest=digest,
                        run_id=run_id, lineage=lineage, **kw)


def test_models_versions_and_version_view(client, mo):
    with mo.start_run(name="train") as run:
        mo.log_metric("acc", 0.93)
    for _ in range(3):
        _bare_version(client, "churn", run.id, description="gradient boosting\nsecond line")
    client.set_alias("churn", "champion", 2)
    _bare_version(client, "fraud")
    models = ModelsTable(client)
    assert [m.name for m in models.models] == ["churn", "fraud"]
    assert "churn" in models.body.value and "@champion" in models.body.value and "v3" in models.body.value
    versions = models.show_versions("churn")
    assert isinstance(versions, VersionsTable) and models.detail.children == (versions,)
    assert [v.version for v in versions.versions] == [3, 2, 1]
    assert "gradient boosting" in versions.body.value and "second line" not in versions.body.value
    detail = versions.show_version(2)
    assert isinstance(detail, ModelVersionView) and detail.version.version == 2
    assert "@champion" in detail.header.value and "train" in detail.body.value and "0.93" in detail.body.value
    by_alias = ModelVersionView(client, "churn", alias="champion")
    assert by_alias.version.version == 2
    form = versions.show_request_form(3)
    assert isinstance(form, DeployRequestForm) and versions.detail.children == (form,)
    assert "v3" in repr(versions) and "churn" in models._repr_markdown_()


def test_version_view_signature_and_lineage(client, mo):
    import pandas as pd

    with mo.start_run(name="fit", code_hash="cd" * 32) as run:
        mo.log_input(pd.DataFrame({"age": [1, 2]}), "customers", context="training")
    sig = {"inputs": {"type": "dataframe", "columns": [{"name": "age", "type": "int64"}]},
           "outputs": {"type": "tensor", "dtype": "float64", "shape": [-1]}}
    from jupyter_modelops.registry.api import lineage

    digest = client._call("put_blob", data=b"{}")["digest"]
    client._call("create_version", name="m", flavor="sklearn", manifest_digest=digest, run_id=run.id,
                 signature=sig, lineage=lineage(client, run.id), description="first model")
    view = ModelVersionView(client, "m")
    body = view.body.value
    assert "age" in body and "int64" in body and "tensor float64" in body
    assert "customers" in body and "cd" * 32 in body and run.id in body and "first model" in body
    assert "sklearn" in view.header.value and "REGISTERED" in view.header.value
    assert "age: int64" in repr(view)


def test_large_versions_table_pages(client):
    for _ in range(30):
        _bare_version(client, "many")
    table = VersionsTable(client, "many", page_size=10)
    assert table.body.value.count("<tr>") == 11 and "rows 1–10 of 30" in table.status.value
    table.next_button.click()
    assert "v20" in table.body.value and "v30" not in table.body.value
    table.prev_button.click()
    assert "v30" in table.body.value and table.prev_button.disabled


# --------------------------------------------------------------------------- deployment request


def test_deploy_form_bare_version_lists_missing_evidence(client, monkeypatch):
    _bare_version(client, "bare")
    form = DeployRequestForm(client, "bare")
    assert [i.ok for i in form.evidence] == [False] * 6
    assert {i.label for i in form.missing} == {"metrics logged", "model card", "validation results",
                                                "training data reference", "code hash",
                                                "no out-of-order warnings"}
    checklist = form.checklist.value
    assert checklist.count("✘") == 6 and "✔" not in checklist and "Missing:" in checklist
    assert "register the version from a tracked run" in checklist
    assert form.submit_button.button_style == "warning"
    assert [d for d in form.target.options] == ["local", "batch", "kserve", "container"]
    assert "missing: metrics logged" in repr(form)
    form.submit_button.click()  # governance answers in one line, never a traceback
    assert form.result.value and "Traceback" not in form.result.value


def test_deploy_form_full_evidence_and_request(client, mo, monkeypatch):
    import pandas as pd

    with mo.start_run(name="good", code_hash="ef" * 32) as run:
        mo.log_metric("acc", 0.95)
        mo.log_text("# card", "model_card.md")
        mo.log_dict({"passed": True}, "validation.json")
        mo.log_input(pd.DataFrame({"x": [1]}), "train", context="training")
    _bare_version(client, "good", run.id)
    form = DeployRequestForm(client, "good", version=1)
    assert all(i.ok for i in form.evidence), [(i.label, i.detail) for i in form.evidence]
    assert "All required evidence is present" in form.checklist.value
    assert form.submit_button.button_style == "primary"

    strict = DeployRequestForm(client, "good", policy={"required_evidence": [
        "code_hash", {"metric": "acc", "min": 0.99}, {"metric": "auc", "min": 0.5}, "pen_test"]})
    assert [(i.label, i.ok) for i in strict.evidence] == [
        ("code hash", True), ("metric acc ≥ 0.99", False), ("metric auc ≥ 0.5", False), ("pen_test", False)]
    assert "acc = 0.95" in strict.checklist.value and "auc was not logged" in strict.checklist.value

    calls = []

    def request_deployment(name, **kw):
        calls.append((name, kw))
        return {"id": "req-123"}

    monkeypatch.setattr(client, "request_deployment", request_deployment, raising=False)
    form.target.value = "kserve"
    form.replicas.value = 3
    form.memory.value = "lots"
    form.submit_button.click()
    assert calls == [] and "memory" in form.result.value
    form.memory.value = "4Gi"
    form.justification.value = "better recall"
    form.submit_button.click()
    assert calls == [("good", {"version": 1, "target": "kserve", "justification": "better recall",
                               "resources": {"cpu": "1", "memory": "4Gi", "replicas": 3}})]
    assert "req-123" in form.result.value and form.submit_button.disabled


def test_deploy_form_out_of_order_run_fails_that_item(client, mo):
    with mo.start_run(name="ooo", tags={"mo.out_of_order": "true"}) as run:
        mo.log_metric("acc", 1.0)
    _bare_version(client, "ooo", run.id)
    form = DeployRequestForm(client, "ooo", alias="latest")
    item = {i.id: i for i in form.evidence}
    assert item["metrics_logged"].ok and not item["no_out_of_order"].ok
    assert "re-run the notebook top to bottom" in form.checklist.value
