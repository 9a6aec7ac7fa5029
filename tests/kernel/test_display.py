"""``kernel/display.py`` (what ``%modelops`` shows), its speed on a big store, and the
escaping/formatting helpers of ``kernel/html.py``."""

from __future__ import annotations

import time

import pytest

from jupyter_modelops.errors import NotFound
from jupyter_modelops.kernel import display
from jupyter_modelops.kernel import html as h
from jupyter_modelops.kernel.widgets import CompareView, ModelsTable, RunsTable, RunView, VersionsTable
from jupyter_modelops.kernel.widgets.base import pager_text

XSS = "<img src=x onerror=alert(1)>"


def _runs(mo, n):
    ids = []
    for i in range(n):
        with mo.start_run(experiment="disp", name=f"r{i}") as run:
            mo.log_params({"depth": i})
            mo.log_metric("acc", i / 10)
            ids.append(run.id)
    return ids


def _version(client, name, run_id=None):
    digest = client._call("put_blob", data=b"{}")["digest"]
    return client._call("create_version", name=name, flavor="pyfunc", manifest_digest=digest, run_id=run_id)


# --------------------------------------------------------------------------- display.*


def test_display_functions_return_widgets(client, mo):
    ids = _runs(mo, 5)
    table = display.runs_table(client, experiment="disp", filter="metrics.acc > 0.1", limit=2,
                               order_by=["metrics.acc DESC"])
    assert isinstance(table, RunsTable) and [r.name for r in table.runs] == ["r4", "r3"]
    assert table.total == 3 and table.page_size == 2
    view = display.run_view(client, ids[0][:10])
    assert isinstance(view, RunView) and view.run.id == ids[0]
    compare = display.compare_view(client, [ids[0], ids[1]])
    assert isinstance(compare, CompareView) and ("param", "depth") in compare.differing
    _version(client, "m", ids[0])
    assert isinstance(display.models_table(client), ModelsTable)
    versions = display.versions_table(client, "m")
    assert isinstance(versions, VersionsTable) and len(versions.versions) == 1


def test_display_errors_are_model_ops_errors(client, mo):
    _runs(mo, 1)
    with pytest.raises(NotFound):
        display.run_view(client, "0123456789ab")
    with pytest.raises(NotFound):
        display.runs_table(client, experiment="no-such-experiment")
    with pytest.raises(NotFound):
        display.versions_table(client, "no-such-model")
    # a bad filter is the table's business: shown inside it, not raised
    assert display.runs_table(client, filter="metrics.acc >>> 1").error


@pytest.fixture(scope="module")
def ip():
    """IPython's global test shell. ``start_ipython()`` returns None once it has run, and
    other test modules call it expecting the shell: so reset its flag afterwards when this
    module was the one to start it (the shell itself is a singleton and is reused)."""
    from IPython.testing import globalipapp

    started_here = not hasattr(globalipapp.start_ipython, "already_called")
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "jupyter_modelops")
    yield shell
    if started_here and hasattr(globalipapp.start_ipython, "already_called"):
        del globalipapp.start_ipython.already_called


def test_magic_returns_the_widgets(ip, mo):
    ids = _runs(mo, 3)
    table = ip.run_line_magic("modelops", "runs --limit 2 --order-by 'metrics.acc DESC'")
    assert isinstance(table, RunsTable) and [r.name for r in table.runs] == ["r2", "r1"]
    assert "rows 1–2 of 3" in table._repr_html_()
    # IPython keeps the quotes around magic arguments; the table takes them off
    quoted = ip.run_line_magic("modelops", 'runs --filter "metrics.acc > 0.05" --order-by "metrics.acc ASC, name"')
    assert quoted.error is None and [r.name for r in quoted.runs] == ["r1", "r2"]
    assert quoted.order_by == ["metrics.acc ASC", "name"] and quoted.filter == "metrics.acc > 0.05"
    view = ip.run_line_magic("modelops", f"show {ids[1]}")
    assert isinstance(view, RunView) and view.run.name == "r1"
    compare = ip.run_line_magic("modelops", f"compare {ids[0]} {ids[2]}")
    assert isinstance(compare, CompareView)
    # what Jupyter would store in the notebook: the widget view plus static HTML and text
    data, _ = ip.display_formatter.format(table)
    assert {"application/vnd.jupyter.widget-view+json", "text/html", "text/plain"} <= set(data)


# --------------------------------------------------------------------------- speed


def _bulk_runs(client, n):
    """``n`` finished runs with two metrics and a param each, inserted in one transaction."""
    from jupyter_modelops.ids import new_id
    from jupyter_modelops.store import schema as s

    exp = client.create_experiment("big")
    t0 = 1_700_000_000_000
    runs, metrics, params, tags = [], [], [], []
    for i in range(n):
        rid = new_id()
        runs.append({"id": rid, "experiment_id": exp.id, "parent_run_id": None, "name": f"run-{i}",
                     "status": "FINISHED", "user": "alice", "host": "h", "pid": None, "pid_start": None,
                     "start_time": t0 + i * 1000, "end_time": t0 + i * 1000 + 500, "error_type": None,
                     "error_message": None, "source": "", "code_hash": "", "provenance": {},
                     "updated_at": t0})
        metrics += [{"run_id": rid, "key": "acc", "step": 0, "timestamp": t0, "value": (i % 997) / 997},
                    {"run_id": rid, "key": "loss", "step": 0, "timestamp": t0, "value": 1 - (i % 991) / 991}]
        params.append({"run_id": rid, "key": "C", "value": str(i % 7)})
        if i % 50 == 0:
            tags.append({"run_id": rid, "key": "mo.out_of_order", "value": "true"})
    with client.store.db.write() as conn:
        conn.execute(s.runs.insert(), runs)
        conn.execute(s.latest_metrics.insert(), metrics)
        conn.execute(s.params.insert(), params)
        conn.execute(s.tags.insert(), tags)
    return exp


@pytest.mark.slow
def test_first_page_of_10k_runs_is_fast(client, ip, mo):
    if client.store is None:
        pytest.skip("bulk insert needs the local store")
    _bulk_runs(client, 10_000)
    display.runs_table(client, limit=25)  # warm imports and caches
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        table = display.runs_table(client, limit=25)
        best = min(best, time.perf_counter() - t)
    assert table.queries == 2  # one search and one count; no query per row
    assert len(table.runs) == 25 and table.total == 10_000
    assert [r.name for r in table.runs[:2]] == ["run-9999", "run-9998"]
    assert "⚠" in table._repr_html_()  # run-9950 is on the first page, tagged out-of-order
    assert best <= 0.3, f"first page took {best:.3f}s"
    # the magic path (the mo.* client opens the same store)
    assert mo.get_client().store.db.url == client.store.db.url
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        ip.run_line_magic("modelops", "runs")
        best = min(best, time.perf_counter() - t)
    assert best <= 0.3, f"%modelops runs took {best:.3f}s"
    t = time.perf_counter()
    table.next_button.click()
    table._header_buttons["metric:acc"].click()
    assert time.perf_counter() - t < 0.6 and table.queries == 4


# --------------------------------------------------------------------------- html helpers


def test_escaping_helpers():
    assert h.esc(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert h.esc('"quoted" & \'single\'') == "&quot;quoted&quot; &amp; &#x27;single&#x27;"
    assert h.esc(None) == "" and h.esc(3) == "3"
    assert h.esc(h.Safe("<b>ok</b>")) == "<b>ok</b>"  # already-safe markup passes
    assert h.attr(h.Safe('<b title="x">')) == "&lt;b title=&quot;x&quot;&gt;"  # attributes always escape
    assert h.tag("td", XSS, title=XSS, class_="c") == \
        '<td title="&lt;img src=x onerror=alert(1)&gt;" class="c">&lt;img src=x onerror=alert(1)&gt;</td>'
    table = h.table([XSS], [[XSS], [h.Safe("<i>fine</i>")]])
    assert XSS not in table and "<i>fine</i>" in table
    assert XSS not in h.kv_table([(XSS, XSS)])
    md = h.md_escape(XSS + " | *x*")
    assert "<" not in md and "\\|" in md and "\\*x\\*" in md
    assert "<img" not in h.md_table([XSS], [[XSS]])
    assert XSS in h.text_table(["name"], [[XSS]])  # plain text is shown as written


def test_formatting_helpers():
    assert h.fmt_metric(0.123456) == "0.1235" and h.fmt_metric(3.0) == "3"
    assert h.fmt_metric(float("nan")) == "NaN" and h.fmt_metric(float("-inf")) == "-∞"
    assert h.fmt_duration(0.25) == "250 ms" and h.fmt_duration(75) == "1m 15s"
    assert h.fmt_duration(3 * 3600 + 61) == "3h 01m" and h.fmt_duration(None) == ""
    assert h.fmt_size(5) == "5 B" and h.fmt_size(2048) == "2.0 KB" and h.fmt_size(3 * 1024 ** 3) == "3.0 GB"
    assert pager_text(25, 25, 10_000, True) == "rows 26–50 of 10,000"
    assert pager_text(0, 25, None, True) == "rows 1–25 of 26+"
    assert pager_text(0, 0, 0, False) == "no rows"


def test_short_ids_tell_time_ordered_ids_apart():
    # UUIDv7 ids made in the same minute share their first 8 digits
    ids = ["0190a1b2c3d4" + "7" + "a" * 19, "0190a1b2c3d5" + "7" + "b" * 19, "0190a1b2ffff" + "7" + "c" * 19]
    short = h.short_ids(ids)
    assert len(set(short.values())) == 3 and all(len(v) == 12 for v in short.values())
    assert h.short_ids(["abcdef1234" + "0" * 22, "12345678" + "0" * 24]) == {
        "abcdef1234" + "0" * 22: "abcdef12", "12345678" + "0" * 24: "12345678"}
