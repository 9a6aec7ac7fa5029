"""``DeployClientMixin``: the deployment methods of ``Client``.

Thin calls of the service operations through ``self._call`` (the same in-process and over
HTTP). The client-side work is turning notebook data into Parquet blobs first: drift
reference data and batch inputs (``DataFrame`` → ``{"digest", "format": "parquet"}``).
The methods also work unbound on any object with ``_call``
(``DeployClientMixin.deploy(client, ...)``), which is how the CLI and magics use them on
a ``Client`` that does not inherit the mixin yet.
"""

from __future__ import annotations

from typing import Any


def _spec(client, data, what: str) -> dict | None:
    """A data spec for the service: a DataFrame/(X,) is uploaded as Parquet; a mapping or
    ``runs:/<run>/<file>`` passes as is; a local path becomes ``{"path": ...}`` (batch)."""
    if data is None or isinstance(data, dict):
        return data
    if isinstance(data, str) and not data.startswith("runs:/"):
        return {"path": data}
    import os

    if isinstance(data, os.PathLike):
        return {"path": os.fspath(data)}
    from ..governance.client_api import _data_spec

    return _data_spec(client, data, None, what)


class DeploymentsView(list):
    """A list of deployments that shows as a table in a notebook."""

    def _repr_html_(self) -> str:
        from .views import DeploymentsView as View

        return View(self)._repr_html_()

    def __repr__(self) -> str:
        from .views import DeploymentsView as View

        return repr(View(self))


class DeployClientMixin:
    """Deploy approved versions, watch deployments, roll out by aliases."""

    def deploy(self, name: str, version: int | None = None, *, alias: str | None = None, target: str = "local",
               config: dict | None = None, reference: Any = None, monitor: dict | None = None,
               stage: str | None = None, **config_kw):
        """Deploy an approved version (or the one ``alias`` points at, following the alias)
        to ``target``: ``local`` (a model server; returns once it is ready), ``batch``,
        ``kserve`` or ``container``. Target settings go in ``config`` or as keywords
        (``port=8080``, ``sample_rate=0.1``...). ``reference`` (a DataFrame) is the drift
        reference; ``monitor`` sets alert rules, ``webhook``, ``window``, ``min_rows``."""
        from ..ids import new_id

        cfg = {**(config or {}), **config_kw}
        if "input" in cfg:
            cfg["input"] = _spec(self, cfg["input"], "input")
        return self._call("deploy", name=name, version=version, alias=alias, target=target, config=cfg,
                          reference=_spec(self, reference, "reference"), monitor=monitor, stage=stage, id=new_id())

    def batch_score(self, name: str, data, version: int | None = None, *, alias: str | None = None,
                    output: str | None = None, **config):
        """Score ``data`` (a DataFrame, a CSV/Parquet path, or ``runs:/<id>/<file>``) with a
        deployable version into ``output`` (a CSV/Parquet file), recorded as a run."""
        cfg = {**config, "input": data}
        if output is not None:
            cfg["output"] = str(output)
        return DeployClientMixin.deploy(self, name, version, alias=alias, target="batch", config=cfg)

    def deployments(self, name: str | None = None, *, all: bool = False, status: str | None = None,
                    target: str | None = None):
        """Deployments, newest first (active ones unless ``all=True``)."""
        return DeploymentsView(self._call("list_deployments", name=name, all=all, status=status, target=target))

    def get_deployment(self, deployment_id: str):
        return self._call("get_deployment", deployment_id=_id(deployment_id))

    def stop_deployment(self, deployment_id, comment: str = ""):
        """Stop a deployment (a local server gets SIGTERM and finishes what it was doing)."""
        return self._call("stop_deployment", deployment_id=_id(deployment_id), comment=comment)

    def promote(self, name: str, version: int | None = None, *, alias: str = "champion",
                from_alias: str = "challenger", reason: str = "", wait: float = 30.0):
        """Point ``alias`` at ``version`` (default: the version of ``from_alias``); audited."""
        return self._call("promote", name=name, version=version, alias=alias, from_alias=from_alias,
                          reason=reason, wait=wait)

    def rollback(self, name: str, *, alias: str = "champion", reason: str = "", wait: float = 30.0):
        """Point ``alias`` back at its previous version (from the alias history); audited."""
        return self._call("rollback", name=name, alias=alias, reason=reason, wait=wait)


def _id(ref) -> str:
    return getattr(ref, "id", ref)
