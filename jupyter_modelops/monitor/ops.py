"""Monitoring operations for the service table (``services.OPS``), with their access rules.

``log_predictions`` is what model servers call (a deployer's token, or the store's own
identity for a local server); ground truth comes from data scientists and deployers;
checks may be run by anyone who works on models, and move versions as the system actor
``modelops:monitor``. Writers manage their own transactions (``NO_TRANSACTION``): the
prediction log must not go through the per-write audit hook (it would audit every batch),
and a check notifies webhooks outside any transaction.
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
    "log_predictions": _lazy("log_predictions"),
    "log_ground_truth": _lazy("log_ground_truth"),
    "check_monitor": _lazy("check_monitor"),
    "drift_report": _lazy("drift_report"),
    "performance": _lazy("performance"),
    "monitor_reports": _lazy("monitor_reports"),
    "monitor_events": _lazy("monitor_events"),
    "get_monitor": _lazy("get_monitor"),
    "configure_monitor": _lazy("configure_monitor"),
    "set_reference": _lazy("set_reference"),
}

WRITE_ROLES = {
    "log_predictions": frozenset({"deployer", "admin"}),
    "log_ground_truth": frozenset({"data_scientist", "deployer", "admin"}),
    "check_monitor": frozenset({"data_scientist", "validator", "approver", "deployer", "admin"}),
    "configure_monitor": frozenset({"deployer", "admin"}),
    "set_reference": frozenset({"data_scientist", "deployer", "admin"}),
}
READ_ONLY = {"drift_report", "performance", "monitor_reports", "monitor_events", "get_monitor"}
NO_TRANSACTION = frozenset(op for op in OPS if op not in READ_ONLY)


def _monitors(store, version_ids):
    from .service import inventory_monitors

    return inventory_monitors(store, version_ids)


def _register_inventory() -> None:
    try:
        from ..governance.inventory import register_provider
    except ImportError:  # pragma: no cover
        return
    register_provider("monitors", _monitors)


_register_inventory()
