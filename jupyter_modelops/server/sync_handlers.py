"""REST routes of sync for the sidebar, and the background sync of the server extension.

- ``GET  /modelops/api/v1/sync/status``: where this server's store stands with the shared
  registry (``sync_status``: linked, pending and refused changes, last success, last error,
  the background worker's next attempt) as a plain JSON object;
- ``POST /modelops/api/v1/sync/run``: push and pull now (``sync_now``); answers the report.

Both are thin: the handler classes come from the same machinery as the route table's
(``handlers.ModelOpsHandler``: authentication, authorization on ``modelops:sync``, JSON
errors), and call the service operations. ``make_sync_handlers()`` must be registered
*before* ``make_handlers()``, whose last route answers 404 for any other API path.

``start_sync(extension)`` / ``stop_sync(extension)`` run the background ``SyncWorker``
of a Jupyter server (not the registry) whose config names a registry URL.
"""

from __future__ import annotations

from . import API_PREFIX, api

STATUS_SCHEMA = {
    "type": "object",
    "required": ["linked", "pending", "rejected"],
    "properties": {
        "linked": {"type": "boolean"}, "registry_url": {"type": ["string", "null"]},
        "pending": {"type": "integer"}, "pending_bytes": {"type": "integer"},
        "rejected": {"type": "integer"}, "last_attempt": {"type": ["integer", "null"]},
        "last_success": {"type": ["integer", "null"]}, "last_error": {"type": ["string", "null"]},
        "last_error_at": {"type": ["integer", "null"]}, "failures": {"type": "integer"},
        "last_report": {"type": ["object", "null"]}, "worker": {"type": ["object", "null"]},
    },
}
api.CODECS.setdefault("SyncStatus", api.Codec(STATUS_SCHEMA, lambda d: api.sanitize(d), dict))
api.CODECS.setdefault("SyncReport", api.Codec({"type": "object"}, lambda d: api.sanitize(d), dict))

R_SYNC = api.CAPABILITIES.get("sync", "modelops:sync")
ENDPOINTS = (
    api.Endpoint("GET", "/sync/status", "sync_status", R_SYNC,
                 "Sync status of this server's store (pending, last success, last error)", "SyncStatus",
                 tag="sync"),
    # Syncing changes nothing the caller could not already write; any signed-in user with a
    # writing role may ask for it (``sync_now`` checks the roles).
    api.Endpoint("POST", "/sync/run", "sync_now", R_SYNC, "Push local changes and pull the registry's now",
                 "SyncReport", tag="sync"),
)


def make_sync_handlers() -> list[tuple[str, type]]:
    from .handlers import ModelOpsHandler, _method

    out = []
    for ep in ENDPOINTS:
        attrs = {"endpoints": {ep.method: ep}, "auth_resource": ep.resource, "__doc__": ep.summary,
                 ep.method.lower(): _method(ep)}
        name = "Sync" + ep.path.rsplit("/", 1)[-1].title() + "Handler"
        out.append((API_PREFIX + ep.path, type(name, (ModelOpsHandler,), attrs)))
    return out


def start_sync(extension) -> None:
    """Start the background sync when a registry is configured (call from
    ``initialize_settings``); the store opens on the worker's thread."""
    from ..sync.worker import start_for_extension

    extension._sync_worker = start_for_extension(extension)
    if extension._sync_worker is not None:
        extension.log.info("ModelOps: syncing with the shared registry %s every %g s",
                           extension._sync_worker.url, extension._sync_worker.interval)


def stop_sync(extension) -> None:
    """Stop the background sync (call from ``stop_extension``)."""
    worker = getattr(extension, "_sync_worker", None)
    if worker is not None:
        worker.stop(timeout=10)
        extension._sync_worker = None
