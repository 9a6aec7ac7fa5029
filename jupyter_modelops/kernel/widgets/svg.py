"""Static SVG charts drawn in Python: the ``_repr_html_`` of charts (nbconvert, GitHub) and
the sparklines in run tables. The live chart is drawn in the browser (``chart.js``)."""

from __future__ import annotations

import math
from typing import Sequence

from .. import html as h

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def _segments(xs: Sequence[float], ys: Sequence[float | None]):
    """Runs of consecutive finite points (a NaN breaks the line)."""
    seg = []
    for x, y in zip(xs, ys):
        if _finite(y):
            seg.append((x, y))
        elif seg:
            yield seg
            seg = []
    if seg:
        yield seg


def _range(values) -> tuple[float, float]:
    vals = [v for v in values if _finite(v)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if lo == hi:
        pad = abs(lo) * 0.05 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def sparkline(values: Sequence[float | None], width: int = 100, height: int = 18,
              stroke: str = "#1f77b4") -> h.Safe:
    """A tiny inline line of a metric's history (no axes)."""
    if sum(1 for v in values if _finite(v)) < 2:
        return h.Safe("")
    lo, hi = _range(values)
    n = len(values)
    xs = [i * (width - 2) / max(n - 1, 1) + 1 for i in range(n)]
    ys = [None if not _finite(v) else height - 1 - (v - lo) / (hi - lo) * (height - 2) for v in values]
    paths = " ".join(
        "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in seg) for seg in _segments(xs, ys)
    )
    return h.Safe(f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                  f'style="vertical-align:middle"><path d="{paths}" fill="none" '
                  f'stroke="{h.attr(stroke)}" stroke-width="1.2"/></svg>')


def line_panel(title: str, lines: Sequence[tuple[str, str, Sequence[int], Sequence[float | None]]],
               width: int = 360, height: int = 200) -> h.Safe:
    """One metric: a step/value line per run, with min/max labels on both axes.

    ``lines`` holds ``(label, color, steps, values)``; every label is escaped."""
    ml, mr, mt, mb = 48, 8, 18, 22
    pw, ph = width - ml - mr, height - mt - mb
    all_steps = [s for _, _, steps, _ in lines for s in steps]
    all_vals = [v for _, _, _, vals in lines for v in vals]
    x0, x1 = (min(all_steps), max(all_steps)) if all_steps else (0, 1)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = _range(all_vals)

    def px(s):
        return ml + (s - x0) / (x1 - x0) * pw

    def py(v):
        return mt + ph - (v - y0) / (y1 - y0) * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
        f'<text x="{ml}" y="12" font-weight="bold" font-size="11">{h.esc(title)}</text>',
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>',
        f'<text x="{ml - 4}" y="{mt + 8}" text-anchor="end">{h.esc(h.fmt_metric(y1))}</text>',
        f'<text x="{ml - 4}" y="{mt + ph}" text-anchor="end">{h.esc(h.fmt_metric(y0))}</text>',
        f'<text x="{ml}" y="{height - 6}">{h.esc(h.fmt_metric(x0))}</text>',
        f'<text x="{ml + pw}" y="{height - 6}" text-anchor="end">{h.esc(h.fmt_metric(x1))}</text>',
    ]
    for label, stroke, steps, values in lines:
        xs = [px(s) for s in steps]
        ys = [py(v) if _finite(v) else None for v in values]
        for seg in _segments(xs, ys):
            if len(seg) == 1:
                x, y = seg[0]
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{h.attr(stroke)}">'
                             f'<title>{h.esc(label)}</title></circle>')
                continue
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{h.attr(stroke)}" '
                         f'stroke-width="1.5"><title>{h.esc(label)}</title></polyline>')
    parts.append("</svg>")
    return h.Safe("".join(parts))


def legend(items: Sequence[tuple[str, str]]) -> h.Safe:
    return h.Safe("".join(
        f'<span style="margin-right:12px;white-space:nowrap"><span style="display:inline-block;'
        f'width:10px;height:10px;background:{h.attr(c)};margin-right:4px"></span>{h.esc(label)}</span>'
        for label, c in items
    ))
