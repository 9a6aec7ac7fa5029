"""``MetricChart``: step curves of one or more runs, drawn in the browser.

An anywidget: the synced state is plain JSON (``runs``, ``metric_keys``, ``series``), drawn as
inline SVG by ``chart.js`` — no plotting library and no network load. History is read
downsampled by the store (``max_points`` per curve). Without a widget manager the chart
shows as static SVG (``_repr_html_``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Sequence

import anywidget
import traitlets as t

from .. import html as h
from . import svg
from .base import StaticRepr

_HERE = Path(__file__).parent
MAX_KEYS = 12
MAX_RUNS = 20


def _json_value(v) -> float | None:
    """JSON has no NaN/Infinity: a non-finite point is a gap (None) in the curve."""
    return v if v is not None and math.isfinite(v) else None


def as_run(client, ref):
    """A ``Run`` from a Run (as is) or an id / prefix (one query)."""
    from ...tracking.records import Run

    return ref if isinstance(ref, Run) else client.get_run(ref)


def run_label(run, short: str | None = None) -> str:
    return f"{run.name} ({short or run.id[:8]})"


def common_keys(runs: Sequence, shared: bool = False) -> list[str]:
    """Metric keys of the runs, most common first (``shared``: only keys every run has)."""
    counts: dict[str, int] = {}
    for r in runs:
        for k in r.metrics:
            counts[k] = counts.get(k, 0) + 1
    keys = sorted(counts, key=lambda k: (-counts[k], k))
    return [k for k in keys if counts[k] == len(runs)] if shared else keys


class MetricChart(StaticRepr, anywidget.AnyWidget):
    """``MetricChart(client, run_ids, keys=None, max_points=500)``.

    ``run_ids`` are ids, prefixes or ``Run`` objects; ``keys=None`` plots every metric the
    runs have (most common first, at most 12 panels). ``refresh()`` re-reads the history
    (for runs still logging)."""

    _esm = (_HERE / "chart.js").read_text(encoding="utf-8")
    _css = (_HERE / "chart.css").read_text(encoding="utf-8")

    runs = t.List(t.Dict(), help="[{id, label, color}] in legend order").tag(sync=True)
    metric_keys = t.List(t.Unicode(), help="Metric keys, one panel each").tag(sync=True)
    series = t.List(t.Dict(), help="[{run_id, key, steps, values}]; None marks NaN/inf").tag(sync=True)
    log_y = t.Bool(False).tag(sync=True)
    panel_width = t.Int(360).tag(sync=True)
    panel_height = t.Int(200).tag(sync=True)
    note = t.Unicode("").tag(sync=True)

    title = "Metrics"

    def __init__(self, client, run_ids: Iterable, keys: Sequence[str] | None = None,
                 max_points: int = 500, *, histories: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.max_points = max_points
        self._refs = list(run_ids)
        self._requested_keys = list(keys) if keys is not None else None
        self._runs = [as_run(client, r) for r in self._refs[:MAX_RUNS]]
        self._load(histories or {})

    def refresh(self) -> None:
        """Re-read the runs and their metric history."""
        self._runs = [self.client.get_run(r.id) for r in self._runs]
        self._load({})

    def _load(self, histories: dict) -> None:
        runs = self._runs
        keys = self._requested_keys if self._requested_keys is not None else common_keys(runs)
        notes = []
        if len(self._refs) > MAX_RUNS:
            notes.append(f"showing the first {MAX_RUNS} of {len(self._refs)} runs")
        if len(keys) > MAX_KEYS:
            notes.append(f"showing {MAX_KEYS} of {len(keys)} metrics")
            keys = keys[:MAX_KEYS]
        series = []
        for run in runs:
            for key in keys:
                if key not in run.metrics and (run.id, key) not in histories:
                    continue
                points = histories.get((run.id, key))
                if points is None:
                    points = self.client.get_metric_history(run.id, key, max_points=self.max_points)
                series.append({
                    "run_id": run.id, "key": key,
                    "steps": [int(p.step) for p in points],
                    "values": [_json_value(p.value) for p in points],
                })
        with self.hold_sync():
            short = h.short_ids(r.id for r in runs)
            self.runs = [{"id": r.id, "label": run_label(r, short[r.id]), "color": svg.color(i)}
                         for i, r in enumerate(runs)]
            self.metric_keys = list(keys)
            self.series = series
            self.note = "; ".join(notes)

    # -- static representations
    def _lines(self, key: str):
        color = {r["id"]: (r["label"], r["color"]) for r in self.runs}
        return [(color[s["run_id"]][0], color[s["run_id"]][1], s["steps"], s["values"])
                for s in self.series if s["key"] == key and s["run_id"] in color]

    def to_html(self) -> h.Safe:
        if not self.metric_keys:
            return h.wrap(h.Safe('<p class="mo-muted">no metric history to plot</p>'))
        panels = "".join(
            f'<div style="display:inline-block;margin:0 8px 8px 0">{svg.line_panel(k, self._lines(k))}</div>'
            for k in self.metric_keys
        )
        note = h.tag("div", self.note, class_="mo-muted") if self.note else ""
        return h.wrap(h.Safe(f"<div>{svg.legend([(r['label'], r['color']) for r in self.runs])}</div>"),
                      note, h.Safe(panels))

    def _last_values(self):
        rows = []
        for key in self.metric_keys:
            row = [key]
            for r in self.runs:
                vals = [s["values"] for s in self.series if s["key"] == key and s["run_id"] == r["id"]]
                last = next((v for v in reversed(vals[0]) if v is not None), None) if vals and vals[0] else None
                row.append(h.fmt_metric(last) if vals else "")
            rows.append(row)
        return ["metric (last)"] + [r["label"] for r in self.runs], rows

    def to_markdown(self) -> str:
        cols, rows = self._last_values()
        return f"**Metrics** ({len(self.runs)} runs)\n\n" + h.md_table(cols, rows)

    def to_text(self) -> str:
        cols, rows = self._last_values()
        return f"MetricChart: {len(self.metric_keys)} metrics × {len(self.runs)} runs\n" + h.text_table(cols, rows)
