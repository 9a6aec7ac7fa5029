"""User text shown in a notebook is text, never markup.

Run names, experiment names, params, tags, model descriptions, card sections, purposes,
deployment justifications and approval comments all carry ``<img onerror>`` and
``<script>``. Every HTML a notebook would render — widget static HTML and Markdown, the
value of every ``HTML`` widget in the tree, the ``%modelops`` outputs as IPython formats
them, model cards, request and inventory views — is parsed with ``html.parser``: no
script, img or event-handler attribute may appear, and the text must still be there,
escaped.
"""

from __future__ import annotations

import html

import pytest

from jupyter_modelops.kernel.widgets import (
    DeployRequestForm,
    MetricChart,
    ModelsTable,
    ModelVersionView,
    RunsTable,
    RunView,
    VersionsTable,
)


def _walk(widget):
    import ipywidgets as w

    seen, out = set(), []

    def visit(x):
        if isinstance(x, (list, tuple)):
            for v in x:
                visit(v)
        elif isinstance(x, dict):
            for v in x.values():
                visit(v)
        elif isinstance(x, w.Widget) and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
            visit(list(getattr(x, "children", ()) or ()))
            visit([v for v in vars(x).values() if isinstance(v, (w.Widget, list, tuple, dict))])

    visit(widget)
    return out


def _rendered(obj) -> list[str]:
    """Everything of ``obj`` a browser parses as HTML (Markdown too: Jupyter renders raw
    HTML inside it)."""
    import ipywidgets as w
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    out = [data.get("text/html", ""), data.get("text/markdown", "")]
    if isinstance(obj, w.Widget):
        for x in _walk(obj):
            state = x.get_state()
            if isinstance(x, (w.HTML, w.HTMLMath)):
                out.append(state["value"])
            if state.get("description_allow_html"):
                out.append(state.get("description", ""))
            if x is not obj and hasattr(x, "_repr_html_"):
                out.append(x._repr_html_())
    return [p for p in out if p]


@pytest.fixture
def hostile(alice, bob, xss):
    """A store where every free-text field holds markup: a run, a model version with a card,
    a deployment request approved with a comment."""
    import pandas as pd

    with alice.start_run(experiment=xss, name=xss, tags={"note": xss}) as run:
        run.log_params({"p": xss})
        run.log_metric("acc", 0.9)
        run.log_text("hi", "notes/" + "x.txt")
    alice.register_model(lambda X: [0] * len(X), "m", flavor="pyfunc", run_id=run.id, description=xss,
                         tags={"t": xss})
    alice._call("update_model", name="m", description=xss)
    alice.set_model_info("m", owner="alice", purpose=xss, risk_tier="high")
    alice.update_model_card("m", 1, intended_use=xss, limitations=xss)
    req = alice.request_deployment("m", 1, target="local", justification=xss,
                                   validation_data=(pd.DataFrame({"a": [1, 2]}), pd.Series([0, 0])))
    try:
        bob.run_validation(req.id, trusted=True)
        bob.approve_request(req.id, comment=xss)
    except Exception:  # noqa: BLE001 - the comment is stored either way for rejections
        bob.reject_request(req.id, comment=xss)
    return run


def _check(what: str, payloads: list[str], markup, *, must_show: bool = True) -> None:
    assert payloads, what
    for text in payloads:
        live = markup(text)
        assert not live, f"live markup {live} in {what}: {text[:300]}"
    if must_show:
        assert any(html.escape("<img src=x onerror=alert(1)>", quote=False) in p
                   or html.escape("<img src=x onerror=alert(1)>") in p
                   or "\\<img" in p or "&lt;img" in p for p in payloads), f"{what} lost the text"


def test_widgets_render_user_text_as_text(alice, hostile, markup):
    views = {
        "RunsTable": RunsTable(alice), "RunView": RunView(alice, hostile.id),
        "MetricChart": MetricChart(alice, [hostile.id]), "ModelsTable": ModelsTable(alice),
        "VersionsTable": VersionsTable(alice, "m"), "ModelVersionView": ModelVersionView(alice, "m"),
        "DeployRequestForm": DeployRequestForm(alice, "m", version=1),
    }
    views["RunsTable"].select(hostile.id)
    views["DeployRequestForm"].justification.value = "<script>alert(1)</script>"
    for name, view in views.items():
        _check(name, _rendered(view), markup, must_show=name not in ("MetricChart", "DeployRequestForm"))


def test_governance_views_render_user_text_as_text(alice, hostile, markup):
    from jupyter_modelops.kernel.capabilities import RequestsView

    card = alice.get_model_card("m", 1)
    _check("model card", [card.html, card.markdown], markup)
    _check("requests", _rendered(RequestsView(alice.list_requests(all=True))), markup, must_show=False)
    _check("run page", _rendered(alice.search_runs()), markup)


def test_magic_outputs_render_user_text_as_text(mo, hostile, markup, capsys):
    from IPython.testing import globalipapp

    started_here = not hasattr(globalipapp.start_ipython, "already_called")
    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    try:
        ip.run_line_magic("load_ext", "jupyter_modelops")
        for line in ("runs", f"show {hostile.id}", "models", "versions m", "requests --all",
                     f"runs --filter \"name = '<script>alert(1)</script>'\""):
            shown = ip.run_line_magic("modelops", line)
            _check(f"%modelops {line}", _rendered(shown), markup, must_show=False)
        printed = capsys.readouterr()
        assert not markup(printed.out) or "<" not in printed.out  # plain text output is not HTML
    finally:
        if started_here and hasattr(globalipapp.start_ipython, "already_called"):
            del globalipapp.start_ipython.already_called
