"""Sync status as text lines, for ``%modelops sync --status`` and ``jupyter modelops sync --status``."""

from __future__ import annotations

import time


def _ago(ms) -> str:
    if not ms:
        return "never"
    s = max(0.0, time.time() - ms / 1000)
    if s < 90:
        return f"{s:.0f} s ago"
    if s < 5400:
        return f"{s / 60:.0f} min ago"
    if s < 129600:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} days ago"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def status_lines(st: dict) -> list[str]:
    if not st.get("linked") and not st.get("registry_url"):
        return ["not linked to a shared registry: set c.ModelOpsConfig.registry_url (or "
                "$JUPYTER_MODELOPS_REGISTRY_URL) and the token; everything stays in this store."]
    lines = [f"registry:     {st.get('registry_url') or '(not configured in this process)'}"]
    lines.append(f"pending:      {st.get('pending', 0)} change(s) ({_size(st.get('pending_bytes') or 0)}) "
                 "waiting to be pushed")
    if st.get("rejected"):
        lines.append(f"refused:      {st['rejected']} change(s) the registry refused "
                     "(`jupyter modelops sync --rejected` lists them)")
    lines.append(f"last success: {_ago(st.get('last_success'))}")
    if st.get("last_error"):
        n = st.get("failures") or 0
        lines.append(f"last error:   {st['last_error']} ({_ago(st.get('last_error_at'))}"
                     + (f", {n} failure(s) in a row)" if n else ")"))
    w = st.get("worker")
    if w:
        nxt = w.get("next_attempt")
        when = f"next in {max(0, nxt / 1000 - time.time()):.0f} s" if nxt else "running"
        lines.append(f"background:   every {w['interval']:g} s ({when}"
                     + (f", backing off {w['backoff']:.0f} s)" if w.get("failures") else ")"))
    return lines


def report_line(report: dict) -> str:
    parts = [f"pushed {report.get('pushed', 0)} change(s)"]
    if report.get("blobs_sent"):
        parts.append(f"uploaded {report['blobs_sent']} blob(s)")
    if report.get("duplicates"):
        parts.append(f"{report['duplicates']} already on the registry")
    if report.get("rejected"):
        parts.append(f"{report['rejected']} refused by the registry")
    parts.append(f"pulled {report.get('pulled', 0)} record(s)")
    if report.get("pending"):
        parts.append(f"{report['pending']} still pending")
    return "synced: " + ", ".join(parts) + f" in {report.get('seconds', 0):.1f} s"
