// MetricChart view (anywidget ESM). Draws step/value curves of several runs as inline SVG:
// one small panel per metric key, a shared legend (click a run to hide/show it), a log-scale
// toggle and a hover read-out. Everything is drawn here; nothing is loaded from the network.
// Every piece of text from the model (run names, keys) is set with textContent or as an
// SVG text node, never parsed as HTML.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function div(cls, text) {
  const e = document.createElement("div");
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(n, 1);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function nearest(steps, x) {
  let lo = 0, hi = steps.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < x) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(steps[lo - 1] - x) <= Math.abs(steps[lo] - x)) return lo - 1;
  return lo;
}

function render({ model, el }) {
  const root = div("mo-chart");
  el.appendChild(root);
  const hidden = new Set();

  function draw() {
    root.replaceChildren();
    const runs = model.get("runs") || [];
    const keys = model.get("metric_keys") || [];
    const series = model.get("series") || [];
    const logY = !!model.get("log_y");
    const W = model.get("panel_width") || 360;
    const H = model.get("panel_height") || 200;
    const note = model.get("note") || "";

    // toolbar: legend + log toggle
    const bar = div("mo-chart-bar");
    const legend = div("mo-chart-legend");
    runs.forEach((r) => {
      const item = document.createElement("span");
      item.className = "mo-chart-item" + (hidden.has(r.id) ? " off" : "");
      item.title = r.id;
      const sw = document.createElement("span");
      sw.className = "mo-chart-swatch";
      sw.style.background = r.color;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(r.label));
      item.addEventListener("click", () => {
        if (hidden.has(r.id)) hidden.delete(r.id); else hidden.add(r.id);
        draw();
      });
      legend.appendChild(item);
    });
    bar.appendChild(legend);
    const lab = document.createElement("label");
    lab.className = "mo-chart-log";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = logY;
    box.addEventListener("change", () => { model.set("log_y", box.checked); model.save_changes(); });
    lab.appendChild(box);
    lab.appendChild(document.createTextNode(" log y"));
    bar.appendChild(lab);
    root.appendChild(bar);
    if (note) root.appendChild(div("mo-chart-note", note));
    if (!keys.length) { root.appendChild(div("mo-chart-note", "no metric history to plot")); return; }

    const color = {};
    runs.forEach((r) => { color[r.id] = r.color; });
    const label = {};
    runs.forEach((r) => { label[r.id] = r.label; });
    const panels = div("mo-chart-panels");
    root.appendChild(panels);

    for (const key of keys) {
      const lines = series.filter((s) => s.key === key && !hidden.has(s.run_id));
      const panel = div("mo-chart-panel");
      panels.appendChild(panel);
      const pos = (v) => v !== null && v !== undefined && Number.isFinite(v) && (!logY || v > 0);
      const tf = (v) => (logY ? Math.log10(v) : v);
      let xs = [], ys = [];
      for (const s of lines) {
        s.steps.forEach((st, i) => { if (pos(s.values[i])) { xs.push(st); ys.push(tf(s.values[i])); } });
      }
      const ml = 52, mr = 10, mt = 20, mb = 24, pw = W - ml - mr, ph = H - mt - mb;
      const g = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
      g.appendChild(svg("text", { x: ml, y: 13, class: "mo-chart-title" }, key));
      panel.appendChild(g);
      if (!xs.length) {
        g.appendChild(svg("text", { x: ml + pw / 2, y: mt + ph / 2, "text-anchor": "middle", class: "mo-chart-axis" },
          logY ? "no positive values" : "no finite values"));
        continue;
      }
      let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
      if (x0 === x1) { x0 -= 1; x1 += 1; }
      if (y0 === y1) { const p = Math.abs(y0) * 0.05 || 1; y0 -= p; y1 += p; }
      const px = (s) => ml + ((s - x0) / (x1 - x0)) * pw;
      const py = (v) => mt + ph - ((v - y0) / (y1 - y0)) * ph;
      g.appendChild(svg("rect", { x: ml, y: mt, width: pw, height: ph, class: "mo-chart-frame" }));
      for (const t of niceTicks(y0, y1, 4)) {
        const y = py(t);
        g.appendChild(svg("line", { x1: ml, x2: ml + pw, y1: y, y2: y, class: "mo-chart-grid" }));
        g.appendChild(svg("text", { x: ml - 4, y: y + 3, "text-anchor": "end", class: "mo-chart-axis" },
          logY ? fmt(Math.pow(10, t)) : fmt(t)));
      }
      for (const t of niceTicks(x0, x1, 5)) {
        if (!Number.isInteger(t)) continue;
        g.appendChild(svg("text", { x: px(t), y: H - 8, "text-anchor": "middle", class: "mo-chart-axis" }, fmt(t)));
      }
      for (const s of lines) {
        let d = "", pen = false, count = 0;
        s.steps.forEach((st, i) => {
          const v = s.values[i];
          if (!pos(v)) { pen = false; return; }
          d += `${pen ? "L" : "M"}${px(st).toFixed(1)},${py(tf(v)).toFixed(1)} `;
          pen = true;
          count += 1;
        });
        if (count === 1) {
          const i = s.values.findIndex(pos);
          g.appendChild(svg("circle", { cx: px(s.steps[i]), cy: py(tf(s.values[i])), r: 3, fill: color[s.run_id] }));
        } else if (d) {
          g.appendChild(svg("path", { d, fill: "none", stroke: color[s.run_id], "stroke-width": 1.6 }));
        }
      }
      // hover read-out
      const cursor = svg("line", { y1: mt, y2: mt + ph, class: "mo-chart-cursor", visibility: "hidden" });
      g.appendChild(cursor);
      const tip = div("mo-chart-tip");
      tip.style.display = "none";
      panel.appendChild(tip);
      const hit = svg("rect", { x: ml, y: mt, width: pw, height: ph, fill: "transparent" });
      g.appendChild(hit);
      hit.addEventListener("mousemove", (ev) => {
        const box = g.getBoundingClientRect();
        const sx = ((ev.clientX - box.left) / box.width) * W;
        const step = x0 + ((sx - ml) / pw) * (x1 - x0);
        tip.replaceChildren();
        let shownStep = null;
        for (const s of lines) {
          const i = nearest(s.steps, step);
          if (i < 0) continue;
          shownStep = shownStep === null ? s.steps[i] : shownStep;
          const row = div("mo-chart-tiprow");
          const sw = document.createElement("span");
          sw.className = "mo-chart-swatch";
          sw.style.background = color[s.run_id];
          row.appendChild(sw);
          row.appendChild(document.createTextNode(`${label[s.run_id]}: ${fmt(s.values[i])} @ step ${s.steps[i]}`));
          tip.appendChild(row);
        }
        if (shownStep === null) return;
        cursor.setAttribute("x1", px(shownStep));
        cursor.setAttribute("x2", px(shownStep));
        cursor.setAttribute("visibility", "visible");
        tip.style.display = "block";
        tip.style.left = `${Math.min(sx + 12, W - 140)}px`;
      });
      hit.addEventListener("mouseleave", () => {
        cursor.setAttribute("visibility", "hidden");
        tip.style.display = "none";
      });
    }
  }

  const events = ["change:runs", "change:metric_keys", "change:series", "change:log_y",
                  "change:panel_width", "change:panel_height", "change:note"];
  events.forEach((e) => model.on(e, draw));
  draw();
  return () => events.forEach((e) => model.off(e, draw));
}

export default { render };
