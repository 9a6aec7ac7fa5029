"""Pipeline operations for the service table (``services.OPS``), with their access rules.

``export_notebook`` and ``run_pipeline`` run for seconds to minutes (they execute code),
so they are in ``NO_TRANSACTION``: the runs they log open their own short transactions.
They read and write files where the server runs and execute the notebook's code there,
so they need a role that may run code (data_scientist or admin).
"""

from __future__ import annotations

from typing import Callable

from ..errors import InvalidInput


def _text(value, what: str, *, optional: bool = True):
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidInput(f"{what} must be a non-empty string")
    return value


def _path(store, value, what: str, *, optional: bool = True):
    """A path argument: relative paths start at the store's ``workdir`` (the Jupyter
    server's root folder inside jupyter lab), as paths in the file browser do."""
    value = _text(value, what, optional=optional)
    workdir = getattr(store, "workdir", None)
    if value is None or not workdir:
        return value
    import os

    return os.path.join(workdir, os.path.expanduser(value))


def _mapping(value, what: str):
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidInput(f"{what} must be an object")
    return value


def _flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false")
    return value


class _StoreTransport:
    """Lets the runner log through a ``Client`` on the store the operation was called with."""

    name = "local"

    def __init__(self, store) -> None:
        self.store = store
        self.user = store.user

    def call(self, op: str, /, **kwargs):
        from ..services import call

        return call(self.store, op, **kwargs)

    def describe(self) -> str:
        return f"local store {self.store.db.url}"

    def close(self) -> None:  # the store belongs to the caller
        pass


def _client(store):
    from ..client import Client

    return Client(transport=_StoreTransport(store), user=store.user)


def export_notebook(store, notebook: str | None = None, target: str = "python", output: str | None = None,
                    check: bool = False, params: dict | None = None, content: dict | None = None):
    """Export a notebook (its path where the server runs, or its ``content`` plus path) to
    ``target`` (python, local, kfp, airflow); ``check`` runs the parity check. Returns the
    ``ExportReport``."""
    from .export import export_notebook as _export

    notebook = _path(store, notebook, "notebook")
    target = _text(target, "target", optional=False)
    output = _path(store, output, "output")
    check = _flag(check, "check")
    params = _mapping(params, "params")
    content = _mapping(content, "content")
    client = _client(store) if (check or target == "local") else None
    try:
        return _export(notebook, target=target, output=output, check=check, params=params, content=content,
                       client=client)
    finally:
        if client is not None:
            client.close()


def run_pipeline(store, package: str, params: dict | None = None):
    """Run an exported pipeline package with the local runner; returns the ``PipelineRun``."""
    from .runner import run_pipeline as _run

    package = _path(store, package, "package", optional=False)
    params = _mapping(params, "params")
    client = _client(store)
    try:
        return _run(package, params, client=client)
    finally:
        client.close()


def plan_pipeline(store, notebook: str | None = None, content: dict | None = None) -> dict:
    """The steps, their inputs and outputs and the graph of a notebook, without writing
    anything (for the sidebar's preview); export errors are raised as for an export."""
    from .dataflow import analyse_pipeline
    from .notebook import plan_notebook, read_notebook

    notebook = _path(store, notebook, "notebook")
    content = _mapping(content, "content")
    if content is not None:
        from .notebook import as_notebook

        nb = as_notebook(content, "content")
    elif notebook is not None:
        if not notebook.endswith(".ipynb"):
            raise InvalidInput(f"{notebook} is not a notebook (.ipynb)")
        nb = read_notebook(notebook)
    else:
        raise InvalidInput("give the notebook's path or its content")
    pipeline = analyse_pipeline(plan_notebook(nb, notebook or ""))
    return {
        "name": pipeline.name, "mode": pipeline.plan.mode, "parameters": pipeline.parameters,
        "metrics": pipeline.metrics, "outputs": pipeline.declared, "edges": pipeline.edges(),
        "warnings": pipeline.warnings, "notes": pipeline.notes,
        "steps": [{"name": s.name, "title": s.title, "cells": [c.id for c in s.cells], "inputs": s.inputs,
                   "params": s.params, "outputs": s.outputs, "after": s.after} for s in pipeline.steps],
    }


def _not_on_the_registry(fn: Callable, *, content_ok: bool = False) -> Callable:
    """The shared registry stores and governs; reading notebooks from its disk or running
    their code there would hand every data scientist a shell on it."""

    def guarded(store, **kw):
        if not getattr(store, "runs_code", True) and not (content_ok and kw.get("content") is not None):
            from ..errors import PolicyViolation

            raise PolicyViolation(
                "the shared registry does not read or run notebooks; export from your own "
                "notebook server (`%modelops export` or `jupyter modelops export`)")
        return fn(store, **kw)

    guarded.__name__, guarded.__doc__ = fn.__name__, fn.__doc__
    return guarded


OPS: dict[str, Callable] = {
    "export_notebook": _not_on_the_registry(export_notebook),
    "run_pipeline": _not_on_the_registry(run_pipeline),
    "plan_pipeline": _not_on_the_registry(plan_pipeline, content_ok=True),
}
_RUNS_CODE = frozenset({"data_scientist", "admin"})
WRITE_ROLES: dict[str, frozenset[str]] = {"export_notebook": _RUNS_CODE, "run_pipeline": _RUNS_CODE}
READ_ONLY = frozenset({"plan_pipeline"})
# Long-running (they execute the notebook's code): never inside one transaction.
NO_TRANSACTION = frozenset({"export_notebook", "run_pipeline"})
