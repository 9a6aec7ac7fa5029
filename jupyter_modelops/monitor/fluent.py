"""``mo.log_ground_truth(...)``, ``mo.drift_report(...)`` and friends on the default client."""

from __future__ import annotations

from .client_api import MonitorClientMixin as _M


def _client():
    from ..fluent import get_client

    return get_client()


def log_ground_truth(deployment_or_model, ids, labels) -> int:
    """The true outcomes of served predictions, joined to them by request id."""
    return _M.log_ground_truth(_client(), deployment_or_model, ids, labels)


def drift_report(deployment, **kw):
    return _M.drift_report(_client(), deployment, **kw)


def check_monitor(deployment, **kw):
    return _M.check_monitor(_client(), deployment, **kw)


def monitor_events(name: str | None = None, **kw):
    return _M.monitor_events(_client(), name, **kw)


FLUENT = ("log_ground_truth", "drift_report", "check_monitor", "monitor_events")
