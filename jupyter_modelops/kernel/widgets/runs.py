"""``RunsTable`` (sortable, filterable, paged from the store) and ``CompareView``.

The table never loads all runs: each page is one ``search_runs`` call with a page token
(the store sorts and filters), plus one ``count_runs`` when the filter changes. Rows are
drawn into a pool of cell widgets that is reused from page to page, so paging sends only
changed values over the comm.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

import ipywidgets as w
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_string import HTMLStyle

from .. import html as h
from .base import (
    USER_ERRORS,
    StaticRepr,
    close_tree,
    error_line,
    guard,
    message_html,
    pager_text,
    style_widget,
)

OUT_OF_ORDER_TAG = "mo.out_of_order"
MAX_METRIC_COLUMNS = 5
FILTER_HINT = "e.g. metrics.accuracy > 0.9 and params.C = '1.0'"

# column id -> (header, order_by field, descending by default)
_ATTR_COLUMNS = {
    "run": ("run", "run_id", False),
    "name": ("name", "name", False),
    "status": ("status", "status", False),
    "started": ("started", "start_time", True),
    "duration": ("duration", "duration", True),
}
_FIELD_TO_COLUMN = {"run_id": "run", "id": "run", "name": "name", "run_name": "name",
                    "status": "status", "start_time": "started", "duration": "duration"}
_CELL = "display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis"


def is_out_of_order(run) -> bool:
    return str(run.tags.get(OUT_OF_ORDER_TAG, "")).lower() == "true" or bool(
        (run.provenance or {}).get("out_of_order"))


def out_of_order_summary(run) -> str:
    problems = (run.provenance or {}).get("out_of_order") or []
    names = [str(p.get("name")) for p in problems if isinstance(p, dict) and p.get("name")]
    if names:
        return "out-of-order execution: uses " + ", ".join(names) + " defined by cells below it"
    return "out-of-order execution: this run used state defined by cells below its cell"


def metric_field(key: str) -> str:
    return f"metrics.`{key}`"


def parse_order(order_by: Sequence[str] | None) -> tuple[str | None, bool]:
    """The column id and direction that the first ``order_by`` item sorts by (best effort)."""
    if not order_by:
        return "started", True
    item = str(order_by[0]).strip()
    desc = False
    m = re.match(r"^(.*?)\s+(asc|desc)$", item, re.IGNORECASE)
    if m:
        item, desc = m.group(1).strip(), m.group(2).lower() == "desc"
    m = re.match(r"^(?:metrics?)\.(?:`([^`]*)`|\"([^\"]*)\"|(.+))$", item)
    if m:
        return "metric:" + next(g for g in m.groups() if g is not None), desc
    item = re.sub(r"^(attributes?|run)\.", "", item)
    return _FIELD_TO_COLUMN.get(item.lower()), desc


def _cell(text, title=None, mono=False) -> str:
    inner = h.tag("code", text) if mono else h.esc(text)
    return f'<span style="{_CELL}" title="{h.attr(title if title is not None else text)}">{inner}</span>'


class RunsTable(StaticRepr, w.VBox):
    """Runs of a store or experiment, one page at a time.

    - click a column header to sort by it (again to reverse); the store sorts;
    - type a filter expression and press Enter (or *Apply*); a mistake shows one line;
    - *◀ Prev* / *Next ▶* move by pages (page tokens; nothing else is loaded);
    - tick rows (on any page) and press *Compare* for a params diff and metric curves.
    """

    title = "Runs"

    def __init__(self, client, experiment: str | None = None, filter: str | None = None,
                 order_by: Sequence[str] | str | None = None, page_size: int = 25, **kwargs) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            from ...errors import InvalidInput

            raise InvalidInput(f"page_size must be a positive integer, not {page_size!r}")
        self.client = client
        self.experiment = experiment
        self._experiment_ids = None
        if experiment is not None:  # resolved once; NotFound is the caller's mistake
            names = [experiment] if isinstance(experiment, str) else list(experiment)
            self._experiment_ids = [client.get_experiment(n).id for n in names]
        self.page_size = page_size
        self.filter = (filter or "").strip()
        self.order_by: list[str] = [order_by] if isinstance(order_by, str) else list(order_by or [])
        self.sort_column, self.sort_desc = parse_order(self.order_by)
        self._tokens: list[str | None] = [None]  # _tokens[i] loads page i
        self.page_index = 0
        self.runs: list = []
        self.next_page_token: str | None = None
        self.total: int | None = None
        self.error: str | None = None
        self.selected: dict[str, object] = {}  # run id -> Run, across pages, in tick order
        self.metric_keys: list[str] = []
        self.columns: list[str] = []
        self.compare_view: CompareView | None = None
        self.queries = 0  # store round trips (tests and benchmarks read it)

        self.filter_box = w.Text(value=self.filter, placeholder=FILTER_HINT, continuous_update=False,
                                 layout=w.Layout(flex="1 1 auto", width="auto"))
        self.apply_button = w.Button(description="Apply", tooltip="Apply the filter",
                                     layout=w.Layout(width="auto"))
        self.clear_filter_button = w.Button(description="Clear", tooltip="Remove the filter",
                                            layout=w.Layout(width="auto"))
        self.message = w.HTML()
        self.grid = w.GridBox(layout=w.Layout(grid_gap="0px 6px", align_items="center", overflow="auto"))
        self.prev_button = w.Button(description="◀ Prev", layout=w.Layout(width="auto"))
        self.next_button = w.Button(description="Next ▶", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.compare_button = w.Button(description="Compare", button_style="primary", disabled=True,
                                       tooltip="Tick two or more runs to compare them",
                                       layout=w.Layout(width="auto"))
        self.clear_selection_button = w.Button(description="Clear selection", disabled=True,
                                               layout=w.Layout(width="auto"))
        self.compare_box = w.VBox()

        # Cells and checkboxes share one Layout and one Style: a widget per cell, not three.
        self._cell_layout = w.Layout(margin="0", padding="0", min_width="0", overflow="hidden")
        self._cell_style = HTMLStyle()
        self._check_layout = w.Layout(width="22px", margin="0")
        self._check_style = CheckboxStyle()
        self._header_buttons: dict[str, w.Button] = {}
        self._header_blank = w.HTML(layout=self._cell_layout)
        self._ooo_header = w.HTML('<span title="out-of-order execution">⚠</span>', layout=self._cell_layout)
        self._checks: list[w.Checkbox] = []
        self._cells: list[list[w.HTML]] = []
        self._rendering = False
        self._count_stale = False
        self._short: dict[str, str] = {}

        self._guard = guard(lambda text: setattr(self.message, "value", message_html(text)))
        self.filter_box.observe(self._guard(self._on_filter_value), names="value")
        self.apply_button.on_click(self._guard(lambda _: self.set_filter(self.filter_box.value)))
        self.clear_filter_button.on_click(self._guard(lambda _: self.set_filter("")))
        self.prev_button.on_click(self._guard(lambda _: self.prev_page()))
        self.next_button.on_click(self._guard(lambda _: self.next_page()))
        self.compare_button.on_click(self._guard(lambda _: self.show_compare()))
        self.clear_selection_button.on_click(self._guard(lambda _: self.clear_selection()))

        toolbar = w.HBox([w.HTML("<b>filter</b>"), self.filter_box, self.apply_button,
                          self.clear_filter_button], layout=w.Layout(align_items="center"))
        pager = w.HBox([self.prev_button, self.next_button, self.status, self.compare_button,
                        self.clear_selection_button], layout=w.Layout(align_items="center"))
        super().__init__(children=[style_widget(), toolbar, self.message, self.grid, pager,
                                   self.compare_box], **kwargs)
        self.add_class("mo-w")
        self.reload(count=True)

    # ------------------------------------------------------------------ queries
    def reload(self, count: bool = False) -> None:
        """Query the current page (and the total when ``count``) and redraw."""
        token = self._tokens[self.page_index]
        try:
            self.queries += 1
            page = self.client.search_runs(
                self.filter or None, experiment=self._experiment_ids,
                order_by=self.order_by or None, limit=self.page_size, page_token=token)
        except USER_ERRORS as exc:
            self.error = error_line(exc)
            self.runs, self.next_page_token, self.total = [], None, None
            self._count_stale = True  # e.g. a bad sort key: the next good query counts again
            self._render()
            return
        self.error = None
        self.runs, self.next_page_token = list(page), page.next_page_token
        if count or self._count_stale:
            self.total = self._count()
        self._render()

    def _count(self) -> int | None:
        self._count_stale = False
        try:
            self.queries += 1
            return int(self.client._call("count_runs", filter=self.filter or None,
                                         experiment_ids=self._experiment_ids))
        except (*USER_ERRORS, ImportError, AttributeError, TypeError, NotImplementedError):
            return None  # older servers: the pager says "of N+" instead

    def set_filter(self, text: str | None) -> None:
        text = (text or "").strip()
        self.filter = text
        if self.filter_box.value != text:
            self._rendering = True
            try:
                self.filter_box.value = text
            finally:
                self._rendering = False
        self._restart(count=True)

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Sort by a column id (``name``, ``started``, ``metric:accuracy``...); again reverses."""
        if descending is None:
            default = True if column.startswith("metric:") else _ATTR_COLUMNS[column][2]
            descending = (not self.sort_desc) if column == self.sort_column else default
        field = metric_field(column[7:]) if column.startswith("metric:") else _ATTR_COLUMNS[column][1]
        self.sort_column, self.sort_desc = column, descending
        self.order_by = [f"{field} {'DESC' if descending else 'ASC'}"]
        self._restart(count=False)  # the order does not change the total

    def next_page(self) -> None:
        if not self.next_page_token:
            return
        del self._tokens[self.page_index + 1:]
        self._tokens.append(self.next_page_token)
        self.page_index += 1
        self.reload()

    def prev_page(self) -> None:
        if self.page_index == 0:
            return
        self.page_index -= 1
        self.reload()

    def _restart(self, count: bool) -> None:
        self._tokens, self.page_index = [None], 0  # tokens are bound to one filter and order
        self.reload(count=count)

    def _on_filter_value(self, change) -> None:
        if not self._rendering and change["new"].strip() != self.filter:
            self.set_filter(change["new"])

    # ------------------------------------------------------------------ selection
    def _on_check(self, index: int, value: bool) -> None:
        if self._rendering or index >= len(self.runs):
            return
        run = self.runs[index]
        if value:
            self.selected[run.id] = run
        else:
            self.selected.pop(run.id, None)
        self._update_selection_buttons()

    def select(self, *run_ids: str, value: bool = True) -> None:
        """Tick (or untick) rows of the current page by run id or prefix."""
        for i, run in enumerate(self.runs):
            if any(run.id.startswith(r) for r in run_ids):
                self._checks[i].value = value

    def clear_selection(self) -> None:
        self.selected.clear()
        self._render()

    def _update_selection_buttons(self) -> None:
        n = len(self.selected)
        self.compare_button.description = f"Compare ({n})" if n else "Compare"
        self.compare_button.disabled = n < 2
        self.clear_selection_button.disabled = n == 0

    def show_compare(self) -> CompareView | None:
        if len(self.selected) < 2:
            return None
        old = self.compare_view
        self.compare_view = CompareView(self.client, list(self.selected.values()))
        self.compare_box.children = [self.compare_view]
        if old is not None:
            close_tree(old)
        return self.compare_view

    def _owned_widgets(self) -> list:
        return [*self._checks, *(c for row in self._cells for c in row), *self._header_buttons.values(),
                self._header_blank, self._ooo_header]

    # ------------------------------------------------------------------ drawing
    def _metric_columns(self) -> list[str]:
        counts: dict[str, int] = {}
        for r in self.runs:
            for k in r.metrics:
                counts[k] = counts.get(k, 0) + 1
        keys = sorted(counts, key=lambda k: (-counts[k], k))[:MAX_METRIC_COLUMNS]
        if self.sort_column and self.sort_column.startswith("metric:"):
            sort_key = self.sort_column[7:]
            if sort_key not in keys:
                keys = [sort_key] + keys[: MAX_METRIC_COLUMNS - 1]
        return keys

    def _header_button(self, column: str) -> w.Button:
        button = self._header_buttons.get(column)
        if button is None:
            button = w.Button(layout=w.Layout(width="auto", margin="0", padding="0 4px"))
            button.on_click(self._guard(lambda _, c=column: self.sort_by(c)))
            self._header_buttons[column] = button
        label = column[7:] if column.startswith("metric:") else _ATTR_COLUMNS[column][0]
        arrow = (" ▼" if self.sort_desc else " ▲") if column == self.sort_column else ""
        button.description = label + arrow
        button.tooltip = f"sort by {label}"
        return button

    def _row_cells(self, run) -> list[str]:
        status = str(h.status_badge(run.status))
        if run.status == "FAILED" and run.error_type:
            status = f'<span title="{h.attr(run.error_type)}: {h.attr(run.error_message or "")}">{status}</span>'
        cells = [
            _cell(self._short.get(run.id, run.id[:8]), title=run.id, mono=True),
            _cell(run.name),
            status,
            _cell(h.fmt_time(run.start_time)),
            _cell(h.fmt_duration(run.duration) if run.duration is not None else "running…"
                  if run.status == "RUNNING" else ""),
        ]
        for key in self.metric_keys:
            v = run.metrics.get(key)
            cells.append(_cell(h.fmt_metric(v) if key in run.metrics else "", title=f"{key} = {h.fmt_metric(v)}"))
        cells.append(str(h.badge("⚠", "warn", title=out_of_order_summary(run))) if is_out_of_order(run) else "")
        return cells

    def _ensure_pool(self, rows: int, cols: int) -> None:
        while len(self._checks) < rows:
            i = len(self._checks)
            check = w.Checkbox(indent=False, layout=self._check_layout, style=self._check_style)
            check.observe(self._guard(lambda ch, i=i: self._on_check(i, ch["new"])), names="value")
            self._checks.append(check)
            self._cells.append([])
        for row in self._cells[:rows]:
            while len(row) < cols:
                row.append(w.HTML(layout=self._cell_layout, style=self._cell_style))

    def _render(self) -> None:
        self._short = h.short_ids(r.id for r in self.runs)
        self.metric_keys = self._metric_columns()
        self.columns = list(_ATTR_COLUMNS) + [f"metric:{k}" for k in self.metric_keys] + ["ooo"]
        ncells = len(self.columns)
        self._ensure_pool(len(self.runs), ncells)
        header = [self._header_blank] + [self._header_button(c) for c in self.columns[:-1]] + [self._ooo_header]
        children = list(header)
        self._rendering = True
        try:
            for i, run in enumerate(self.runs):
                self._checks[i].value = run.id in self.selected
                values = self._row_cells(run)
                for cell, value in zip(self._cells[i], values):
                    if cell.value != value:
                        cell.value = value
                children.append(self._checks[i])
                children.extend(self._cells[i][:ncells])
        finally:
            self._rendering = False
        template = ("24px 72px minmax(110px, 2fr) 82px 140px 74px "
                    + "minmax(64px, 1fr) " * len(self.metric_keys) + "22px")
        with self.grid.hold_trait_notifications():
            self.grid.layout.grid_template_columns = template
            self.grid.children = children
        if self.error:
            self.message.value = message_html(self.error)
        elif not self.runs:
            self.message.value = message_html("no runs match" if self.filter else "no runs yet", "muted")
        else:
            self.message.value = ""
        start = self.page_index * self.page_size
        self.status.value = str(h.tag("span", pager_text(start, len(self.runs), self.total,
                                                         bool(self.next_page_token)),
                                      style="margin:0 10px"))
        self.prev_button.disabled = self.page_index == 0
        self.next_button.disabled = not self.next_page_token
        self._update_selection_buttons()

    # ------------------------------------------------------------------ static forms
    def _headers(self) -> list[str]:
        out = []
        for c in self.columns:
            label = "⚠" if c == "ooo" else c[7:] if c.startswith("metric:") else _ATTR_COLUMNS[c][0]
            if c == self.sort_column:
                label += " ▼" if self.sort_desc else " ▲"
            out.append(label)
        return out

    def _plain_rows(self) -> list[list[str]]:
        rows = []
        for r in self.runs:
            row = [self._short.get(r.id, r.id[:8]), r.name, r.status, h.fmt_time(r.start_time),
                   h.fmt_duration(r.duration)]
            row += [h.fmt_metric(r.metrics[k]) if k in r.metrics else "" for k in self.metric_keys]
            row.append("⚠" if is_out_of_order(r) else "")
            rows.append(row)
        return rows

    def _caption(self) -> str:
        bits = [pager_text(self.page_index * self.page_size, len(self.runs), self.total,
                           bool(self.next_page_token))]
        if self.experiment:
            bits.append(f"experiment {self.experiment}")
        if self.filter:
            bits.append(f"filter: {self.filter}")
        return " · ".join(bits)

    def to_html(self) -> h.Safe:
        rows = []
        for r in self.runs:
            rows.append([h.Safe(c) for c in self._row_cells(r)])
        parts = [h.tag("h4", "Runs"), h.tag("div", self._caption(), class_="mo-muted")]
        if self.error:
            parts.append(h.tag("div", self.error, class_="mo-err"))
        n_attr = len(_ATTR_COLUMNS)
        numeric = range(n_attr, n_attr + len(self.metric_keys))
        parts.append(h.table(self._headers(), rows, numeric=numeric,
                             empty="no runs match" if self.filter else "no runs"))
        if self.compare_view is not None:
            parts.append(self.compare_view.to_html())
        return h.wrap(*parts)

    def to_markdown(self) -> str:
        out = [f"**Runs** — {h.md_escape(self._caption())}"]
        if self.error:
            out.append(f"error: {h.md_escape(self.error)}")
        out.append(h.md_table(self._headers(), self._plain_rows()))
        return "\n\n".join(out)

    def to_text(self) -> str:
        out = [f"Runs — {self._caption()}"]
        if self.error:
            out.append(f"error: {self.error}")
        out.append(h.text_table(self._headers(), self._plain_rows()))
        return "\n".join(out)


# --------------------------------------------------------------------------- compare


def _same(values: list) -> bool:
    norm = []
    for v in values:
        if isinstance(v, float) and math.isnan(v):
            v = "NaN"
        norm.append(v)
    return all(v == norm[0] for v in norm[1:])


def local_compare(runs: Sequence) -> list[tuple[str, str, list, bool]]:
    """``(kind, key, values per run, differs)`` rows from Run records (params, metrics, tags)."""
    rows = []
    for kind, attr in (("param", "params"), ("metric", "metrics"), ("tag", "tags")):
        keys = sorted({k for r in runs for k in getattr(r, attr)
                       if not (kind == "tag" and k.startswith("mo."))})
        for key in keys:
            values = [getattr(r, attr).get(key) for r in runs]
            rows.append((kind, key, values, not _same(values)))
    return rows


def frame_rows(frame, runs: Sequence) -> list[tuple[str, str, list, bool]]:
    """Rows from the service's ``compare_runs`` table (kind, key, one column per run, differs)."""
    cols = list(frame.columns)
    meta = {"kind", "key", "differs"}
    run_cols = [c for c in cols if str(c) not in meta]
    by_id = {}
    for c in run_cols:
        for r in runs:
            if str(c) == r.id or (len(str(c)) >= 6 and r.id.startswith(str(c))) or str(c) == r.name:
                by_id.setdefault(r.id, c)
    ordered = [by_id.get(r.id) for r in runs] if len(by_id) == len(runs) else run_cols[: len(runs)]
    out = []
    for _, rec in frame.iterrows():
        values = []
        for c in ordered:
            v = rec[c] if c is not None else None
            values.append(v.item() if hasattr(v, "item") else v)  # numpy scalars -> Python
        differs = bool(rec["differs"]) if "differs" in cols else not _same(values)
        out.append((str(rec["kind"]) if "kind" in cols else "", str(rec["key"]) if "key" in cols else "",
                    values, differs))
    return out


def _fmt_compare(kind: str, key: str, value) -> str:
    if value is None:
        return ""
    if kind == "attribute" and key == "duration" and isinstance(value, (int, float)):
        return h.fmt_duration(value)
    return h.fmt_metric(value) if kind == "metric" else h.fmt_value(value)


class CompareView(StaticRepr, w.VBox):
    """Runs side by side: params, metrics and tags (differing rows marked) and the curves of
    the metrics every run has."""

    title = "Compare runs"
    MAX_CHART_KEYS = 6

    def __init__(self, client, runs: Iterable, **kwargs) -> None:
        from .chart import MetricChart, as_run, common_keys

        self.client = client
        self.runs = [as_run(client, r) for r in runs]
        if len(self.runs) < 2:
            from ...errors import InvalidInput

            raise InvalidInput("compare needs at least two runs")
        try:
            frame = client.compare_runs([r.id for r in self.runs])
            self.rows = frame_rows(frame, self.runs)
        except (ImportError, AttributeError, NotImplementedError):
            self.rows = local_compare(self.runs)
        except USER_ERRORS as exc:
            if "unknown operation" not in str(exc):
                raise
            self.rows = local_compare(self.runs)
        self.short = h.short_ids(r.id for r in self.runs)
        self.shared_keys = common_keys(self.runs, shared=True)
        self.only_differences = w.Checkbox(value=False, description="only differences", indent=False)
        self.only_differences.observe(lambda _: self._draw(), names="value")
        self.table = w.HTML()
        if self.shared_keys:
            self.chart = MetricChart(client, self.runs, keys=self.shared_keys[: self.MAX_CHART_KEYS])
        else:
            self.chart = w.HTML(message_html("the runs share no metric", "muted"))
        super().__init__(children=[style_widget(), w.HTML(str(h.tag("h4", self._heading()))),
                                   self.only_differences, self.table, self.chart], **kwargs)
        self.add_class("mo-w")
        self._draw()

    def _heading(self) -> str:
        return f"Comparing {len(self.runs)} runs"

    @property
    def differing(self) -> list[tuple[str, str]]:
        return [(kind, key) for kind, key, _, differs in self.rows if differs]

    def _table_html(self, only_diff: bool) -> h.Safe:
        rows, classes = [], []
        for kind, key, values, differs in self.rows:
            if only_diff and not differs:
                continue
            cells = [kind, h.tag("b", key) if differs else key]
            cells += [_fmt_compare(kind, key, v) for v in values]
            cells.append("≠" if differs else "")
            rows.append(cells)
            classes.append("mo-diff" if differs else None)
        headers = ["kind", "key"] + [h.Safe(f"{h.esc(r.name)}<br><code>{h.esc(self.short[r.id])}</code>")
                                     for r in self.runs] + [""]
        return h.table(headers, rows, row_classes=classes,
                       empty="no differences" if only_diff else "nothing recorded")

    def _draw(self) -> None:
        self.table.value = str(self._table_html(self.only_differences.value))

    def to_html(self) -> h.Safe:
        chart = self.chart.to_html() if hasattr(self.chart, "to_html") else ""
        return h.wrap(h.tag("h4", self._heading()), self._table_html(self.only_differences.value), chart)

    def _plain(self):
        headers = ["kind", "key"] + [f"{r.name} ({self.short[r.id]})" for r in self.runs] + ["differs"]
        rows = [[kind, key] + [_fmt_compare(kind, key, v) for v in values]
                + ["≠" if d else ""] for kind, key, values, d in self.rows]
        return headers, rows

    def to_markdown(self) -> str:
        return f"**{h.md_escape(self._heading())}**\n\n" + h.md_table(*self._plain())

    def to_text(self) -> str:
        return self._heading() + "\n" + h.text_table(*self._plain())
