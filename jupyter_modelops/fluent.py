"""The ``mo.*`` functions: a default client and a stack of active runs.

``with mo.start_run(...)`` pushes a run; logging functions write to the innermost one.
A logging call with no active run starts one (ended FINISHED at exit), as users of
other trackers expect. The default client opens the store that the config points at
(``~/.jupyter_modelops`` unless configured) the first time it is needed.
"""

from __future__ import annotations

import atexit
import sys
import threading
from typing import Any

from .client import ActiveRun, Client
from .errors import InvalidInput

_lock = threading.RLock()
_client: Client | None = None
_stack: list[ActiveRun] = []


def get_client() -> Client:
    global _client
    with _lock:
        if _client is None:
            _client = Client()
        return _client


def configure(*, home: str | None = None, db_url: str | None = None, artifact_uri: str | None = None,
              user: str | None = None, url: str | None = None, token: str | None = None) -> Client:
    """Point the ``mo.*`` functions at another store or server (ends nothing)."""
    global _client
    with _lock:
        old = _client
        _client = Client(home=home, db_url=db_url, artifact_uri=artifact_uri, user=user, url=url, token=token)
        if old is not None:
            old.flush()
        return _client


def set_client(client: Client | None) -> None:
    global _client
    with _lock:
        _client = client


def active_run() -> ActiveRun | None:
    return _stack[-1] if _stack else None


def _forget(run: ActiveRun) -> None:
    with _lock:
        if run in _stack:
            _stack.remove(run)


def start_run(experiment: str | None = None, name: str | None = None, *, nested: bool = False,
              tags: dict | None = None, run_id: str | None = None, **kw) -> ActiveRun:
    """Start (or, with ``run_id``, re-enter) a run and make it the active one.

    Inside another active run pass ``nested=True`` to make a child run; otherwise a
    forgotten open run would silently swallow new ones.
    """
    parent = active_run()
    if parent is not None and not nested and run_id != parent.id:
        raise InvalidInput(
            f"run {parent.id[:8]} ({parent.name}) is still active; end it with mo.end_run() "
            "or pass nested=True to start a child run"
        )
    client = get_client()
    run = client.start_run(experiment, name, tags=tags, run_id=run_id,
                           parent_run_id=parent.id if (nested and parent) else None, **kw)
    with _lock:
        _stack.append(run)
    return run


def end_run(status: str = "FINISHED") -> None:
    run = active_run()
    if run is not None:
        run.end(status)


def _run() -> ActiveRun:
    return active_run() or start_run()


def log_param(key: str, value: Any) -> None:
    _run().log_param(key, value)


def log_params(params: dict) -> None:
    _run().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _run().set_tag(key, value)


def set_tags(tags: dict) -> None:
    _run().set_tags(tags)


def log_metric(key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
    run = _stack[-1] if _stack else _run()
    run.client.log_metric(run.id, key, value, step, timestamp)


def log_metrics(metrics: dict, step: int | None = None) -> None:
    _run().log_metrics(metrics, step)


def log_artifact(local_path, artifact_path: str | None = None):
    return _run().log_artifact(local_path, artifact_path)


def log_text(text: str, name: str):
    return _run().log_text(text, name)


def log_dict(data, name: str):
    return _run().log_dict(data, name)


def log_figure(figure, name: str):
    return _run().log_figure(figure, name)


def log_input(data, name: str, context: str = "training", source: str = ""):
    return _run().log_input(data, name, context, source)


def log_model(model, name: str = "model", **kw):
    return _run().log_model(model, name, **kw)


def flush() -> None:
    """Make every metric logged so far durable."""
    if _client is not None:
        _client.flush()


def get_run(run_id: str):
    return get_client().get_run(run_id)


def search_runs(filter: str | None = None, **kw):
    return get_client().search_runs(filter, **kw)


def compare_runs(run_ids):
    return get_client().compare_runs(run_ids)


def register_model(model, name: str, **kw):
    if "run_id" not in kw and active_run() is not None:
        kw["run_id"] = active_run().id
    return get_client().register_model(model, name, **kw)


def load_model(name: str, version: int | None = None, alias: str | None = None, trusted=False):
    return get_client().load_model(name, version=version, alias=alias, trusted=trusted)


def set_alias(name: str, alias: str, version: int):
    return get_client().set_alias(name, alias, version)


def _end_all_at_exit() -> None:
    failed = getattr(sys, "last_value", None) is not None
    for run in reversed(list(_stack)):
        try:
            run.end("FAILED" if failed else "FINISHED", error=sys.last_value if failed else None)
        except Exception:
            pass


atexit.register(_end_all_at_exit)
