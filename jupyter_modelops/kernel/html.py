"""Escaping and small HTML/Markdown/text builders shared by the notebook widgets.

The one rule: every value that a user (or a store we sync from) controls — run and model
names, params, tags, descriptions, comments, artifact names — goes through :func:`esc`
before it reaches HTML. Builders here escape every cell unless it is wrapped in
:class:`Safe`, which marks HTML this module (or a caller, from escaped parts) produced.
Markdown gets the same treatment, because Jupyter renders raw HTML inside Markdown.

Nothing here imports ipywidgets, so the static representations stay cheap and testable.
"""

from __future__ import annotations

import html as _html
import math
import re
from datetime import datetime
from typing import Any, Iterable, Sequence

__all__ = [
    "Safe", "esc", "attr", "join", "tag", "table", "kv_table", "badge", "status_badge",
    "md_escape", "md_table", "text_table", "fmt_value", "fmt_metric", "fmt_time",
    "fmt_duration", "fmt_size", "short", "short_ids", "CSS",
]


class Safe(str):
    """A string of HTML that is already safe to embed (built from escaped parts)."""

    __slots__ = ()

    def __html__(self) -> str:  # the markupsafe protocol, so Jinja/markupsafe agree
        return str(self)


def esc(value: Any) -> Safe:
    """HTML-escape any value (quotes too, so the result is safe in attributes); ``Safe``
    values pass through unchanged and None becomes the empty string."""
    if isinstance(value, Safe):
        return value
    if value is None:
        return Safe("")
    return Safe(_html.escape(value if isinstance(value, str) else str(value), quote=True))


def attr(value: Any) -> Safe:
    """An attribute value: always escaped (even ``Safe`` markup is re-escaped)."""
    return Safe(_html.escape(str(value if value is not None else ""), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Safe:
    return Safe(esc(sep).join(esc(p) for p in parts))


def tag(name: str, *children: Any, **attrs: Any) -> Safe:
    """``<name attr="...">children</name>``; children are escaped unless ``Safe``.

    Attribute names are ours (``class_`` -> ``class``); values are always escaped."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{attr(v)}"'
        for k, v in attrs.items() if v is not None and v is not False
    )
    return Safe(f"<{name}{rendered}>{''.join(esc(c) for c in children)}</{name}>")


# --------------------------------------------------------------------------- formatting


def short(value: Any, n: int = 8) -> str:
    return "" if value is None else str(value)[:n]


def short_ids(ids: Iterable[str], min_len: int = 8) -> dict[str, str]:
    """The shortest common prefix length (≥ ``min_len``) that tells these ids apart.

    Run ids are time-ordered (UUIDv7): their first 8 hex digits are a ~65 s clock, so runs
    started close together share them. Prefixes long enough to differ on the page are what
    a user can copy into ``%modelops show``."""
    ids = list(dict.fromkeys(i for i in ids if i))
    n = min_len
    while n < 32 and len({i[:n] for i in ids}) < len(ids):
        n += 1
    return {i: i[:n] for i in ids}


def fmt_metric(value: Any) -> str:
    if value is None:
        return ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def fmt_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return fmt_metric(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def fmt_time(ms: int | None) -> str:
    """Local wall-clock time of epoch milliseconds (the kernel runs on the user's machine)."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = float(seconds)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h:02d}h"


def fmt_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


# --------------------------------------------------------------------------- HTML blocks

# Scoped by the .mo-w class; no external resources (the notebook may be offline).
CSS = Safe("""<style>
.mo-w{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.4}
.mo-w table.mo-t{border-collapse:collapse;margin:2px 0 8px 0}
.mo-w table.mo-t th,.mo-w table.mo-t td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.mo-w table.mo-t th{background:rgba(127,127,127,.08);font-weight:600}
.mo-w td.num{text-align:right;font-variant-numeric:tabular-nums}
.mo-w tr.mo-diff td{background:rgba(255,200,0,.18)}
.mo-w .mo-b{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:600;
  color:#fff;background:#777;margin-right:3px}
.mo-w .mo-b.ok{background:#2e7d32}.mo-w .mo-b.run{background:#1565c0}.mo-w .mo-b.bad{background:#c62828}
.mo-w .mo-b.warn{background:#ef6c00}.mo-w .mo-b.muted{background:#9e9e9e}.mo-w .mo-b.info{background:#6a1b9a}
.mo-w .mo-err{color:#c62828}.mo-w .mo-muted{color:#777}
.mo-w code{font-size:12px}
.mo-w h4{margin:6px 0 2px 0;font-size:13px}
.mo-w .mo-pre{white-space:pre-wrap}
</style>""")

_STATUS_KIND = {"FINISHED": "ok", "RUNNING": "run", "FAILED": "bad", "KILLED": "muted",
                "PRODUCTION": "ok", "APPROVED": "ok", "VALIDATED": "ok", "STAGED": "run",
                "REJECTED": "bad", "BREACH": "bad", "WATCH": "warn", "RETIRED": "muted",
                "IN_VALIDATION": "info", "REGISTERED": "info", "DRAFT": "muted"}


def badge(text: Any, kind: str = "", title: str | None = None) -> Safe:
    return tag("span", text, class_=f"mo-b {kind}".strip(), title=title)


def status_badge(status: str | None) -> Safe:
    return badge(status or "?", _STATUS_KIND.get(str(status), ""))


def table(columns: Sequence[Any], rows: Iterable[Sequence[Any]], *, numeric: Iterable[int] = (),
          row_classes: Sequence[str | None] | None = None, empty: str = "nothing to show") -> Safe:
    """A ``<table>``; every header and cell is escaped unless it is ``Safe``."""
    numeric = set(numeric)
    head = "".join(tag("th", c) for c in columns)
    body = []
    for i, row in enumerate(rows):
        cls = row_classes[i] if row_classes and i < len(row_classes) else None
        cells = "".join(tag("td", c, class_="num" if j in numeric else None) for j, c in enumerate(row))
        tr = f'<tr class="{attr(cls)}">' if cls else "<tr>"
        body.append(f"{tr}{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{max(len(columns), 1)}" class="mo-muted">{esc(empty)}</td></tr>')
    return Safe(f'<table class="mo-t"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def kv_table(pairs: Iterable[tuple[Any, Any]], empty: str = "nothing recorded") -> Safe:
    rows = [(tag("b", k), v) for k, v in pairs]
    if not rows:
        return Safe(f'<p class="mo-muted">{esc(empty)}</p>')
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    return Safe(f'<table class="mo-t"><tbody>{body}</tbody></table>')


def wrap(*parts: Any) -> Safe:
    """The outer container of a widget's static HTML (with the scoped stylesheet)."""
    return Safe(f'<div class="mo-w">{CSS}{"".join(esc(p) for p in parts)}</div>')


# --------------------------------------------------------------------------- Markdown / text

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(value: Any) -> str:
    """Text that renders as itself in Jupyter Markdown (which also renders raw HTML):
    HTML-escaped, Markdown punctuation backslash-escaped, newlines flattened."""
    text = _MD_SPECIAL.sub(r"\\\1", fmt_value(value))
    text = _html.escape(text, quote=True)  # after: entities must not get backslashes
    return re.sub(r"[\r\n]+", " ", text)


def md_table(columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(md_escape(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(c) for c in row) + " |")
    return "\n".join(lines)


def text_table(columns: Sequence[Any], rows: Iterable[Sequence[Any]], max_width: int = 40) -> str:
    """A fixed-width plain-text table (for terminals and ``text/plain``)."""

    def cell(v: Any) -> str:
        s = re.sub(r"\s+", " ", fmt_value(v))
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    head = [cell(c) for c in columns]
    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body if i < len(r)]) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head).rstrip(), "  ".join("-" * w for w in widths)]
    out += [fmt.format(*(r + [""] * (len(head) - len(r)))).rstrip() for r in body]
    return "\n".join(out)
