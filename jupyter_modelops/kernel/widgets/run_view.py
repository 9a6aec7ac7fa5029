"""``RunView``: everything about one run — params, metrics with their curves, artifacts,
datasets, provenance (who, where, which cell and code, which environment), the
out-of-order warning, and lineage (parent, children, model versions registered from it)."""

from __future__ import annotations

import ipywidgets as w

from ...errors import NotFound
from .. import html as h
from . import svg
from .base import USER_ERRORS, StaticRepr, style_widget
from .runs import is_out_of_order

MAX_HISTORY_KEYS = 30  # sparklines for at most this many metrics (one query each)
MAX_CHART_KEYS = 6
HISTORY_POINTS = 200
MAX_MODELS_SCANNED = 200


def versions_from_run(client, run_id: str, max_models: int = MAX_MODELS_SCANNED):
    """Model versions registered from ``run_id`` — ``(versions, complete)``, or ``(None, False)``
    when this installation has no registry.

    The client has no "versions of a run" query yet, so this scans the versions of at most
    ``max_models`` models (``complete`` is False when there are more)."""
    try:
        models = client.list_models()
    except (*USER_ERRORS, ImportError, AttributeError, NotImplementedError):
        return None, False
    out = []
    for m in models[:max_models]:
        try:
            out += [v for v in client.list_versions(m.name) if v.run_id == run_id]
        except USER_ERRORS:
            continue
    return out, len(models) <= max_models


def out_of_order_details(run) -> h.Safe:
    problems = [p for p in (run.provenance or {}).get("out_of_order") or [] if isinstance(p, dict)]
    if not problems:
        return h.tag("div", "This run's cell used state produced by a cell below it in the notebook; "
                            "re-running the notebook top to bottom may not reproduce it.")
    items = []
    for p in problems:
        cell = p.get("defined_by_cell")
        items.append(h.tag(
            "li", h.tag("code", p.get("name", "?")),
            f" was defined by the cell at position {p.get('defined_at_position', '?')}"
            + (f" (cell {cell})" if cell else "")
            + f", below this cell (position {p.get('cell_position', '?')})"))
    return h.Safe(f"<div>This cell used state defined by cells below it; re-running the notebook "
                  f"top to bottom may not reproduce the run:<ul>{''.join(items)}</ul></div>")


class RunView(StaticRepr, w.VBox):
    """``RunView(client, run_id)`` — a run id or a unique prefix (≥ 6 hex digits)."""

    title = "Run"

    def __init__(self, client, run_id, **kwargs) -> None:
        from .chart import MetricChart

        self.client = client
        # a Run or ActiveRun is re-read: the view shows what the store holds now
        self.run = run = client.get_run(getattr(run_id, "id", run_id))
        self.experiment_name = self._experiment_name()
        self.artifacts = client.list_artifacts(run.id)
        self.datasets = client.list_inputs(run.id)
        keys = sorted(run.metrics)
        self.histories = {(run.id, k): client.get_metric_history(run.id, k, max_points=HISTORY_POINTS)
                          for k in keys[:MAX_HISTORY_KEYS]}
        self.parent = None
        if run.parent_run_id:
            try:
                self.parent = client.get_run(run.parent_run_id)
            except NotFound:
                self.parent = None
        self.children_runs = client.child_runs(run.id)
        self.versions, self.versions_complete = versions_from_run(client, run.id)

        self.sections = self._sections()
        self.header = w.HTML(str(self._header()))
        chart_keys = [k for k in keys if (run.id, k) in self.histories][:MAX_CHART_KEYS]
        self.chart = MetricChart(client, [run], keys=chart_keys,
                                 histories={hk: v for hk, v in self.histories.items() if hk[1] in chart_keys}
                                 ) if chart_keys else None
        tabs = []
        for name, body in self.sections.items():
            html = w.HTML(str(h.wrap(body)))
            if name == "Metrics" and self.chart is not None:
                tabs.append(w.VBox([html, self.chart]))
            else:
                tabs.append(html)
        self.tabs = w.Tab(children=tabs, titles=list(self.sections))
        super().__init__(children=[style_widget(), self.header, self.tabs], **kwargs)
        self.add_class("mo-w")

    def _experiment_name(self) -> str:
        try:
            return self.client.get_experiment(self.run.experiment_id).name
        except USER_ERRORS:
            return self.run.experiment_id

    # ------------------------------------------------------------------ sections
    def _header(self) -> h.Safe:
        run = self.run
        bits = [h.tag("b", run.name, style="font-size:14px"), " ",
                h.tag("code", run.id), " ", h.status_badge(run.status)]
        if is_out_of_order(run):
            bits.append(h.badge("⚠ out-of-order", "warn", title="see Overview for details"))
        bits.append(h.tag("span", f" experiment {self.experiment_name} · started {h.fmt_time(run.start_time)}"
                          + (f" · {h.fmt_duration(run.duration)}" if run.duration is not None else ""),
                          class_="mo-muted"))
        return h.Safe("<div>" + "".join(h.esc(b) for b in bits) + "</div>")

    def _sections(self) -> dict[str, h.Safe]:
        return {
            "Overview": self._overview(),
            "Params": self._params(),
            "Metrics": self._metrics(),
            "Artifacts": self._artifacts(),
            "Datasets": self._datasets(),
            "Provenance": self._provenance(),
            "Lineage": self._lineage(),
            "Tags": h.kv_table(sorted(self.run.tags.items()), empty="no tags"),
        }

    def _overview(self) -> h.Safe:
        run = self.run
        pairs = [("id", h.tag("code", run.id)), ("name", run.name), ("experiment", self.experiment_name),
                 ("status", h.status_badge(run.status)), ("user@host", f"{run.user}@{run.host}"),
                 ("started", h.fmt_time(run.start_time)), ("ended", h.fmt_time(run.end_time)),
                 ("duration", h.fmt_duration(run.duration))]
        if run.error_type or run.error_message:
            pairs.append(("error", h.tag("span", f"{run.error_type or ''}: {run.error_message or ''}",
                                         class_="mo-err")))
        if run.source:
            pairs.append(("source", run.source))
        if run.code_hash:
            pairs.append(("code hash", h.tag("code", run.code_hash[:12], title=run.code_hash)))
        if self.parent is not None:
            pairs.append(("parent run", f"{self.parent.name} ({self.parent.id})"))
        parts = [h.kv_table(pairs)]
        if is_out_of_order(run):
            parts.insert(0, h.Safe(f'<div style="border-left:3px solid #ef6c00;padding:2px 8px;margin:4px 0">'
                                   f'{h.badge("⚠ out-of-order", "warn")}{out_of_order_details(run)}</div>'))
        return h.Safe("".join(parts))

    def _params(self) -> h.Safe:
        return h.table(["param", "value"], sorted(self.run.params.items()), empty="no params")

    def _metrics(self) -> h.Safe:
        rows = []
        for key in sorted(self.run.metrics):
            points = self.histories.get((self.run.id, key))
            spark = svg.sparkline([p.value for p in points]) if points else ""
            last_step = points[-1].step if points else ""
            rows.append([key, h.fmt_metric(self.run.metrics[key]), last_step, spark])
        return h.table(["metric", "latest", "step", "history"], rows, numeric=(1, 2), empty="no metrics")

    def _artifacts(self) -> h.Safe:
        rows = [[a.path, h.fmt_size(a.size), a.media_type, h.tag("code", a.digest[:12], title=a.digest)]
                for a in self.artifacts]
        return h.table(["artifact", "size", "type", "sha256"], rows, numeric=(1,), empty="no artifacts")

    def _datasets(self) -> h.Safe:
        rows = [[d.name, d.context, h.tag("code", d.digest[:12], title=d.digest),
                 "" if d.num_rows is None else f"{d.num_rows:,}", d.source] for d in self.datasets]
        return h.table(["dataset", "context", "digest", "rows", "source"], rows, numeric=(3,),
                       empty="no datasets logged")

    def _provenance(self) -> h.Safe:
        run, prov = self.run, self.run.provenance or {}
        cell = prov.get("cell") or {}
        git = prov.get("git") or {}
        pairs = [("user@host", f"{run.user}@{run.host}")]
        if prov.get("os_user") and prov.get("os_user") != run.user:
            pairs.append(("OS user", prov["os_user"]))
        if prov.get("notebook"):
            pairs.append(("notebook", prov["notebook"]))
        if run.source and run.source != prov.get("notebook"):
            pairs.append(("source", run.source))
        if cell:
            pairs.append(("cell", f"id {cell.get('id') or '?'} · execution count {cell.get('execution_count', '?')}"))
        if run.code_hash:
            pairs.append(("code hash", h.tag("code", run.code_hash)))
        if git:
            pairs.append(("git", h.Safe(f"{h.tag('code', str(git.get('commit', ''))[:12], title=git.get('commit'))}"
                                        f" {h.esc(git.get('branch', ''))}"
                                        + (" " + h.badge("dirty", "warn") if git.get("dirty") else ""))))
        else:
            pairs.append(("git", "not in a git repository"))
        if prov.get("python"):
            pairs.append(("python", " ".join(str(prov.get(k, "")) for k in ("python", "implementation", "platform"))))
        if prov.get("executable"):
            pairs.append(("executable", prov["executable"]))
        if prov.get("cwd"):
            pairs.append(("working dir", prov["cwd"]))
        packages = prov.get("packages") or {}
        if packages:
            pairs.append(("packages", ", ".join(f"{k}=={v}" for k, v in sorted(packages.items()))))
        parts = [h.kv_table(pairs)]
        if cell.get("source"):
            parts.append(h.Safe("<details><summary>cell source</summary>"
                                f"<pre>{h.esc(cell['source'])}</pre></details>"))
        return h.Safe("".join(parts))

    def _lineage(self) -> h.Safe:
        parts = [h.tag("h4", "parent run")]
        if self.parent is not None:
            parts.append(h.table(["run", "name", "status"],
                                 [[h.tag("code", self.parent.id, title=self.parent.id), self.parent.name,
                                   h.status_badge(self.parent.status)]]))
        elif self.run.parent_run_id:
            parts.append(h.tag("p", f"{self.run.parent_run_id} (no longer in this store)", class_="mo-muted"))
        else:
            parts.append(h.tag("p", "none (top-level run)", class_="mo-muted"))
        parts.append(h.tag("h4", f"child runs ({len(self.children_runs)})"))
        short = h.short_ids(c.id for c in self.children_runs)
        parts.append(h.table(["run", "name", "status", "started"],
                             [[h.tag("code", short[c.id], title=c.id), c.name, h.status_badge(c.status),
                               h.fmt_time(c.start_time)] for c in self.children_runs], empty="no child runs"))
        parts.append(h.tag("h4", "registered model versions"))
        if self.versions is None:
            parts.append(h.tag("p", "the model registry is not available here", class_="mo-muted"))
        else:
            parts.append(h.table(["model", "version", "state", "aliases", "flavor"],
                                 [[v.name, v.version, h.status_badge(v.state), ", ".join(v.aliases), v.flavor]
                                  for v in self.versions], empty="no version was registered from this run"))
            if not self.versions_complete:
                parts.append(h.tag("p", f"(searched the first {MAX_MODELS_SCANNED} models only)", class_="mo-muted"))
        return h.Safe("".join(parts))

    # ------------------------------------------------------------------ static forms
    def to_html(self) -> h.Safe:
        parts = [self._header()]
        for name, body in self.sections.items():
            parts += [h.tag("h4", name), body]
        if self.chart is not None:
            parts.append(self.chart.to_html())
        return h.wrap(*parts)

    def _text_sections(self):
        run = self.run
        yield "params", ["param", "value"], sorted(run.params.items())
        yield "metrics", ["metric", "latest"], [(k, h.fmt_metric(v)) for k, v in sorted(run.metrics.items())]
        yield "artifacts", ["artifact", "size", "sha256"], [(a.path, h.fmt_size(a.size), a.digest[:12])
                                                          for a in self.artifacts]
        yield "datasets", ["dataset", "context", "digest", "rows"], [
            (d.name, d.context, d.digest[:12], d.num_rows) for d in self.datasets]
        prov = run.provenance or {}
        cell = prov.get("cell") or {}
        git = prov.get("git") or {}
        yield "provenance", ["what", "value"], [
            ("user@host", f"{run.user}@{run.host}"), ("source", prov.get("notebook") or run.source),
            ("cell", f"{cell.get('id', '')} #{cell.get('execution_count', '')}" if cell else ""),
            ("code hash", run.code_hash[:12]),
            ("git", f"{str(git.get('commit', ''))[:12]}{' dirty' if git.get('dirty') else ''}"),
            ("python", prov.get("python", ""))]

    def _summary(self) -> str:
        run = self.run
        ooo = " ⚠ out-of-order" if is_out_of_order(run) else ""
        return f"Run {run.id} {run.name} [{run.status}]{ooo} — experiment {self.experiment_name}"

    def to_markdown(self) -> str:
        out = [f"**{h.md_escape(self._summary())}**"]
        for name, cols, rows in self._text_sections():
            if rows:
                out += [f"*{name}*", h.md_table(cols, rows)]
        return "\n\n".join(out)

    def to_text(self) -> str:
        out = [self._summary()]
        for name, cols, rows in self._text_sections():
            if rows:
                out += ["", h.text_table(cols, rows)]
        return "\n".join(out)
