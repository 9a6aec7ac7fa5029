"""Deployment operations for the service table (``services.OPS``), with their access rules.

Deploying, stopping and moving aliases are a deployer's job (``admin`` may too); finer
rules — only approved versions, the policy's life-cycle rules — are checked inside the
operations. They all manage their own transactions (``NO_TRANSACTION``): deploying starts
a server process and waits for it, and a rollout waits for the servers that follow the
alias; each writes its change and its audit entry in one transaction.
"""

from __future__ import annotations

from typing import Callable


def _lazy(name: str) -> Callable:
    def call(store, *args, **kwargs):
        from . import service

        return getattr(service, name)(store, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


OPS: dict[str, Callable] = {
    "deploy": _lazy("deploy"),
    "get_deployment": _lazy("get_deployment"),
    "list_deployments": _lazy("list_deployments"),
    "stop_deployment": _lazy("stop_deployment"),
    "promote": _lazy("promote"),
    "rollback": _lazy("rollback"),
}

DEPLOYERS = frozenset({"deployer", "admin"})
WRITE_ROLES = {"deploy": DEPLOYERS, "stop_deployment": DEPLOYERS, "promote": DEPLOYERS, "rollback": DEPLOYERS}
READ_ONLY = {"get_deployment", "list_deployments"}
NO_TRANSACTION = frozenset(op for op in OPS if op not in READ_ONLY)


def _endpoints(store, version_ids):
    from .service import inventory_endpoints

    return inventory_endpoints(store, version_ids)


def _register_inventory() -> None:
    try:
        from ..governance.inventory import register_provider
    except ImportError:  # pragma: no cover - governance is part of the package
        return
    register_provider("endpoints", _endpoints)


_register_inventory()
