"""Sync operations for the service table (``services.OPS``), with their access rules.

Registry side (called by a pushing/pulling store over ``POST /ops/<op>``):
``sync_apply`` (a batch, exactly once), ``sync_missing_blobs``, ``sync_changes`` (the
change feed). Local side: ``sync_status`` (pending count, last success, last error; what
the magics and the sidebar show) and ``sync_now`` (push and pull now). ``WRITE_HOOKS``
queues every tracking/registry change of a linked store in the outbox.
"""

from __future__ import annotations

from typing import Callable

from .outbox import record as _record_in_outbox

PUSHERS = frozenset({"data_scientist", "admin"})


def _apply(store, batch, origin: str, entries: int | None = None, ops: str | None = None) -> dict:
    from .apply import apply_batch

    return apply_batch(store, batch, origin, entries=entries, ops=ops)


def _missing_blobs(store, digests) -> list[str]:
    from ..errors import InvalidInput
    from ..store.artifacts import check_digest

    if not isinstance(digests, (list, tuple)) or len(digests) > 10_000:
        raise InvalidInput("digests must be a list of at most 10000 sha256 digests")
    return [d for d in (check_digest(x) for x in digests) if not store.artifacts.exists(d)]


def _changes(store, cursors: dict | None = None, limit: int = 1000) -> dict:
    from .feed import changes

    return changes(store, cursors=cursors, limit=limit)


def status(store) -> dict:
    """Where sync stands: linked or not, pending and refused changes, last success/error."""
    from ..config import load_config
    from . import outbox
    from .worker import worker_for

    pending, pending_bytes, rejected = outbox.pending_count(store)
    st = outbox.get_state(store, "status", {}) or {}
    try:
        url = load_config().resolved_registry()[0]
    except Exception:  # noqa: BLE001
        url = ""
    worker = worker_for(store)
    return {
        "linked": outbox.is_linked(store), "registry_url": url or st.get("registry_url") or None,
        "pending": pending, "pending_bytes": pending_bytes, "rejected": rejected,
        "last_attempt": st.get("last_attempt"), "last_success": st.get("last_success"),
        "last_error": st.get("last_error"), "last_error_at": st.get("last_error_at"),
        "failures": int(st.get("failures") or 0), "last_report": st.get("last_report"),
        "worker": worker.info() if worker is not None else None,
    }


def sync_now(store) -> dict:
    """Push and pull now (through the process's background worker when one runs)."""
    from ..config import load_config
    from ..errors import Forbidden, InvalidInput
    from .engine import Syncer
    from .worker import worker_for

    if not (store.roles & PUSHERS):
        raise Forbidden(f"{store.user} may not sync: it needs the role data_scientist or admin")
    worker = worker_for(store)
    if worker is not None:
        return worker.run_once().to_dict()
    url, token = load_config().resolved_registry()
    if not url:
        raise InvalidInput("no registry configured: set c.ModelOpsConfig.registry_url or "
                           "$JUPYTER_MODELOPS_REGISTRY_URL (and the token)")
    syncer = Syncer(store, url, token)
    try:
        return syncer.sync().to_dict()
    finally:
        syncer.close()


OPS: dict[str, Callable] = {
    "sync_apply": _apply,
    "sync_missing_blobs": _missing_blobs,
    "sync_changes": _changes,
    "sync_status": status,
    "sync_now": sync_now,
}
# sync_now runs outside one transaction (it talks to the registry); it checks roles itself.
READ_ONLY = {"sync_missing_blobs", "sync_changes", "sync_status", "sync_now"}
WRITE_ROLES = {"sync_apply": PUSHERS}
WRITE_HOOKS = [_record_in_outbox]
