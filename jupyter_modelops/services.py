"""The service operations, by name.

This table is the one API behind every front end: the local transport calls these
functions in-process, the REST handlers call the same ones on the server, and the HTTP
transport maps the same names onto routes. Every operation takes the ``Store`` first and
keyword arguments that are plain JSON values (or bytes for blobs).
"""

from __future__ import annotations

from typing import Callable

from .store.store import Store
from .tracking import artifacts, datasets, metrics, runs


def _put_blob(store: Store, data: bytes) -> dict:
    digest, size = store.artifacts.put_bytes(bytes(data))
    return {"digest": digest, "size": size}


def _get_blob(store: Store, digest: str) -> bytes:
    return store.artifacts.get_bytes(digest)


def _search_runs(store: Store, **kw):
    from .tracking.search import search_runs

    return search_runs(store, **kw)


def _count_runs(store: Store, **kw):
    from .tracking.search import count_runs

    return count_runs(store, **kw)


def _compare_runs(store: Store, run_ids):
    from .tracking.compare import compare_runs

    return compare_runs(store, run_ids)


def _metric_series(store: Store, **kw):
    from .tracking.series import metric_series

    return metric_series(store, **kw)


def _registry(name: str) -> Callable:
    def call(store: Store, **kw):
        from .registry import models

        return getattr(models, name)(store, **kw)

    call.__name__ = name
    return call


OPS: dict[str, Callable] = {
    # experiments
    "create_experiment": runs.create_experiment,
    "get_experiment": runs.get_experiment,
    "list_experiments": runs.list_experiments,
    # runs
    "create_run": runs.create_run,
    "get_run": runs.get_run,
    "resolve_run_id": runs.resolve_run_id,
    "end_run": runs.end_run,
    "child_runs": runs.child_runs,
    "log_params": runs.log_params,
    "set_tags": runs.set_tags,
    "delete_tag": runs.delete_tag,
    "search_runs": _search_runs,
    "count_runs": _count_runs,
    "compare_runs": _compare_runs,
    # metrics
    "log_metric_points": metrics.write_points,
    "metric_history": metrics.metric_history,
    "metric_keys": metrics.metric_keys,
    "metric_series": _metric_series,
    # artifacts and blobs
    "put_artifact": artifacts.put_artifact,
    "record_artifact": artifacts.record_artifact,
    "list_artifacts": artifacts.list_artifacts,
    "get_artifact": artifacts.get_artifact,
    "read_artifact": artifacts.read_artifact,
    "put_blob": _put_blob,
    "get_blob": _get_blob,
    # datasets
    "log_dataset": datasets.record_dataset,
    "list_datasets": datasets.list_datasets,
    # registry
    **{name: _registry(name) for name in (
        "create_model", "get_model", "list_models", "update_model", "create_version",
        "get_version", "list_versions", "update_version", "set_alias", "delete_alias",
        "alias_history",
    )},
}


def _register_capability_ops() -> None:
    """Capabilities (governance, deployment, monitoring, pipelines, sync) contribute their
    operations, access rules and read-only ops from an ``ops`` module of their own."""
    import importlib

    for name in ("governance", "deploy", "monitor", "pipeline", "sync"):
        try:
            mod = importlib.import_module(f"jupyter_modelops.{name}.ops")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"jupyter_modelops.{name}"):
                continue
            raise
        OPS.update(mod.OPS)
        WRITE_ROLES.update(getattr(mod, "WRITE_ROLES", {}))
        WRITE_HOOKS.extend(getattr(mod, "WRITE_HOOKS", ()))
        globals()["NO_TRANSACTION"] = NO_TRANSACTION | frozenset(getattr(mod, "NO_TRANSACTION", ()))
        globals()["READ_ONLY"] = READ_ONLY | frozenset(getattr(mod, "READ_ONLY", ()))


# Called as hook(conn, store, op, kwargs, result) inside the transaction of every write
# op, so a change and what it implies (an audit entry, a sync outbox entry) commit
# together or not at all.
WRITE_HOOKS: list[Callable] = []
# Ops that touch no metadata (blob bytes) run outside any transaction.
NO_TRANSACTION = frozenset({"put_blob"})


# Who may call what. Reads need any role; writes need the role that owns them. Finer
# rules (separation of duties, life-cycle transitions) live in the services themselves.
READ_ONLY = frozenset({
    "get_experiment", "list_experiments", "get_run", "resolve_run_id", "child_runs",
    "search_runs", "count_runs", "compare_runs", "metric_history", "metric_keys", "metric_series",
    "list_artifacts", "get_artifact", "read_artifact", "get_blob", "list_datasets",
    "get_model", "list_models", "get_version", "list_versions", "alias_history",
})
WRITE_ROLES: dict[str, frozenset[str]] = {}
_TRACKING_WRITERS = frozenset({"data_scientist", "admin"})


_register_capability_ops()


def required_roles(op: str) -> frozenset[str] | None:
    """Roles of which the caller needs one; None means any authenticated user."""
    if op in READ_ONLY:
        return None
    return WRITE_ROLES.get(op, _TRACKING_WRITERS)


def authorize(store: Store, op: str) -> None:
    from .errors import Forbidden

    needed = required_roles(op)
    if needed is not None and not (store.roles & needed):
        raise Forbidden(
            f"{store.user} may not {op.replace('_', ' ')}: it needs the role "
            + " or ".join(sorted(needed)),
            op=op, needed=sorted(needed),
        )


def call(store: Store, op: str, /, *args, **kwargs):
    try:
        fn = OPS[op]
    except KeyError:
        from .errors import InvalidInput

        raise InvalidInput(f"unknown operation {op!r}") from None
    authorize(store, op)
    _no_impersonation(store, op, kwargs)
    if op in READ_ONLY or op in NO_TRANSACTION:
        return fn(store, *args, **kwargs)
    if op == "put_artifact":  # store the bytes before taking the write lock
        op, kwargs = "record_artifact", _stage_artifact(store, *args, **kwargs)
        fn, args = OPS[op], ()
    with store.db.write() as conn:
        result = fn(store, *args, **kwargs)
        for hook in WRITE_HOOKS:
            hook(conn, store, op, kwargs, result)
    return result


_IDENTITY_ARGS = ("user", "owner", "created_by", "requested_by", "reviewer")


def _no_impersonation(store: Store, op: str, kwargs: dict) -> None:
    """Identity arguments must name the caller, unless the caller is an admin (or the
    sync service replaying a teammate's changes with an admin token)."""
    from .errors import Forbidden

    if "admin" in store.roles:
        return
    for key in _IDENTITY_ARGS:
        value = kwargs.get(key)
        if value is not None and value != store.user:
            raise Forbidden(f"{store.user} may not {op.replace('_', ' ')} as {value!r}",
                            op=op, argument=key)


def _stage_artifact(store: Store, run_id: str, name: str, data: bytes, media_type: str | None = None) -> dict:
    """Validate, check the run, store the blob; returns the arguments of record_artifact."""
    from .errors import InvalidInput
    from .ids import normalize_id
    from .store.artifacts import validate_name

    name = validate_name(name)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"artifact data must be bytes, not {type(data).__name__}")
    run_id = normalize_id(run_id, "run id")
    with store.db.read() as conn:
        runs.require_running(conn, run_id)
    digest, size = store.artifacts.put_bytes(bytes(data))
    return {"run_id": run_id, "name": name, "digest": digest, "size": size,
            "media_type": media_type or artifacts.guess_media_type(name)}
