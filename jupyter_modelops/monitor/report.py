"""The drift report as HTML (a notebook fragment or a standalone page) and as a widget.

Every value — column names, categories, model names, sources — goes through
``kernel.html`` escaping; charts are inline SVG drawn here (reference vs current
distribution per column), with no scripts and no external resources, so the page works
offline and is safe to open from anyone's store.
"""

from __future__ import annotations

import math

from ..kernel import html as h

REF_COLOR, CUR_COLOR = "#1f77b4", "#d62728"


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        return f"{v:.{digits}g}"
    return str(v)


def chart_svg(col, width: int = 360, height: int = 130) -> h.Safe:
    """Reference (blue) and current (red) shares, as paired bars per bin or category."""
    chart = col.chart or {}
    ref, cur = chart.get("reference") or [], chart.get("current") or []
    n = min(len(ref), len(cur))
    if not n:
        return h.Safe('<span class="mo-muted">no chart</span>')
    top = max([x for x in ref[:n] + cur[:n] if isinstance(x, (int, float))] + [1e-9])
    pad_l, pad_b, pad_t = 4, 18, 6
    plot_w, plot_h = width - pad_l * 2, height - pad_b - pad_t
    slot = plot_w / n
    bar = max(1.0, slot * 0.42)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{h.attr(col.column)} distribution">',
             f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" '
             'stroke="#999" stroke-width="1"/>']
    labels = chart.get("categories") if chart.get("type") == "bars" else None
    for i in range(n):
        x0 = pad_l + i * slot + (slot - 2 * bar) / 2
        for j, (vals, color) in enumerate(((ref, REF_COLOR), (cur, CUR_COLOR))):
            v = vals[i] if isinstance(vals[i], (int, float)) else 0.0
            bh = plot_h * v / top
            tip = (labels[i] if labels else f"{_fmt(chart['edges'][i])} – {_fmt(chart['edges'][i + 1])}"
                   if chart.get("edges") else str(i))
            who = "reference" if j == 0 else "current"
            parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{pad_t + plot_h - bh:.1f}" width="{bar:.1f}" '
                         f'height="{bh:.1f}" fill="{color}" fill-opacity="0.75"><title>{h.esc(tip)}: {who} '
                         f'{h.esc(_fmt(v * 100, 3))}%</title></rect>')
    if labels:
        step = max(1, n // 8)
        for i in range(0, n, step):
            x = pad_l + (i + 0.5) * slot
            text = str(labels[i])
            text = text if len(text) <= 10 else text[:9] + "…"
            parts.append(f'<text x="{x:.1f}" y="{height - 4}" font-size="9" text-anchor="middle" '
                         f'fill="#555">{h.esc(text)}</text>')
    elif chart.get("edges"):
        edges = chart["edges"]
        parts.append(f'<text x="{pad_l}" y="{height - 4}" font-size="9" fill="#555">{h.esc(_fmt(edges[0]))}</text>')
        parts.append(f'<text x="{pad_l + plot_w}" y="{height - 4}" font-size="9" text-anchor="end" '
                     f'fill="#555">{h.esc(_fmt(edges[-1]))}</text>')
    parts.append("</svg>")
    return h.Safe("".join(parts))


def _legend() -> h.Safe:
    return h.Safe(f'<span style="color:{REF_COLOR}">■</span> reference &nbsp; '
                  f'<span style="color:{CUR_COLOR}">■</span> current')


def _summary_table(report) -> h.Safe:
    rows, classes = [], []
    for c in report.columns:
        verdict = h.badge("drift", "bad") if c.drifted else (h.badge("n/a", "muted") if c.test == "none"
                                                             else h.badge("ok", "ok"))
        stat = _fmt(c.statistic) + (f" (p={_fmt(c.p_value, 3)})" if c.p_value is not None else "")
        rows.append([c.column, c.kind, c.test, stat, _fmt(c.threshold), _fmt(c.psi), c.cur_rows, verdict])
        classes.append("mo-diff" if c.drifted else None)
    return h.table(["column", "kind", "test", "statistic", "threshold", "PSI", "rows", ""], rows,
                   numeric=(3, 4, 5, 6), row_classes=classes, empty="no columns compared")


def _heading(report) -> h.Safe:
    verdict = (h.badge("dataset drift", "bad") if report.dataset_drift else h.badge("no dataset drift", "ok"))
    title = f"Drift report — {report.model_name} v{report.version}" if report.model_name else "Drift report"
    meta = (f"{report.drifted_columns} of {len(report.columns)} columns drifted (share "
            f"{_fmt(report.drift_share, 3)}; dataset drift at ≥ {_fmt(report.share_threshold, 2)}) · "
            f"{report.current_rows} recent rows vs {report.reference_rows} reference rows · reference: "
            f"{report.reference_source or 'given'}")
    when = h.fmt_time(report.created_at) if report.created_at else ""
    return h.Safe(f"{h.tag('h4', title)}<div>{verdict} {h.tag('span', meta, class_='mo-muted')}</div>"
                  + (f'<div class="mo-muted">{h.esc(when)}</div>' if when else ""))


def _charts(report) -> h.Safe:
    cells = []
    for c in report.columns:
        if not c.chart:
            continue
        border = "#c62828" if c.drifted else "#ddd"
        cells.append(f'<div style="display:inline-block;margin:4px;padding:4px;border:1px solid {border};'
                     f'border-radius:4px;vertical-align:top"><div><b>{h.esc(c.column)}</b> '
                     f'<span class="mo-muted">{h.esc(c.test)} {h.esc(_fmt(c.statistic))}</span></div>'
                     f"{chart_svg(c)}</div>")
    if not cells:
        return h.Safe("")
    return h.Safe(f"<h4>Distributions</h4><div>{_legend()}</div><div>{''.join(cells)}</div>")


def drift_html(report, standalone: bool = True) -> str:
    body = h.wrap(_heading(report), _summary_table(report), _charts(report))
    if not standalone:
        return str(body)
    title = h.esc(f"Drift report {report.model_name} v{report.version}" if report.model_name else "Drift report")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>{title}</title></head><body style=\"margin:16px\">{body}</body></html>\n")


def monitor_html(rep) -> str:
    firing = ", ".join(f"{f['rule']} ({f['metric']}={_fmt(f['value'])})" for f in rep.firing) or "none"
    metrics = h.kv_table([(k, _fmt(v)) for k, v in sorted(rep.metrics.items())])
    parts = [h.tag("h4", f"Monitoring check — {rep.model_name} v{rep.version}"),
             h.Safe(f"<div>{h.status_badge(rep.state)} firing: {h.esc(firing)}</div>"), metrics]
    if rep.drift is not None and rep.drift.columns:
        parts += [_summary_table(rep.drift), _charts(rep.drift)]
    return str(h.wrap(*parts))


def DriftWidget(report):
    """An ipywidgets view of a drift report: the summary, and the chart of a chosen column."""
    import ipywidgets as w

    names = [c.column for c in report.columns if c.chart]
    head = w.HTML(str(h.wrap(_heading(report), _summary_table(report))))
    chart = w.HTML()
    pick = w.Dropdown(options=names, description="column", value=(report.drifted or names or [None])[0]
                      if names else None)

    def show(change=None):
        if pick.value is None:
            chart.value = ""
            return
        col = report.column(pick.value)
        chart.value = str(h.wrap(h.Safe(f"<div>{_legend()}</div>"), chart_svg(col, 520, 180),
                                 h.kv_table([(k, _fmt(v)) for k, v in col.summary.items()])))

    pick.observe(show, names="value")
    show()
    box = w.VBox([head, pick, chart] if names else [head])
    box.add_class("mo-w")
    box.report = report
    return box
