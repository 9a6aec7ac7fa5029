"""``MonitorClientMixin``: the monitoring methods of ``Client`` (thin ``self._call``s;
they also work unbound: ``MonitorClientMixin.drift_report(client, ...)``)."""

from __future__ import annotations

from typing import Any


def _id(ref) -> str:
    return getattr(ref, "id", ref)


def _plain(values, what: str) -> list:
    if hasattr(values, "tolist"):
        values = values.tolist()
    try:
        return list(values)
    except TypeError:
        from ..errors import InvalidInput

        raise InvalidInput(f"{what} must be a list") from None


class MonitorClientMixin:
    """Ground truth, drift and performance reports, checks and alerts of deployments."""

    def log_ground_truth(self, deployment_or_model, ids, labels) -> int:
        """The true outcomes of served predictions, by request id (the ``X-Request-ID``
        or OIP ``id`` of the request; ``<id>:<row>`` for rows of a multi-row request)."""
        return self._call("log_ground_truth", deployment_or_model=_id(deployment_or_model),
                          ids=[str(i) for i in _plain(ids, "ids")], labels=_plain(labels, "labels"))

    def drift_report(self, deployment, *, window: int | None = None):
        """Drift of the deployment's recent inputs against its reference (``DriftReport``:
        shows as a report in a notebook; ``.save_html(path)``; ``.widget()``)."""
        return self._call("drift_report", deployment_id=_id(deployment), window=window)

    def check_monitor(self, deployment, *, window: int | None = None):
        """Run the deployment's monitoring check and alert rules now (``MonitorReport``)."""
        return self._call("check_monitor", deployment_id=_id(deployment), window=window)

    def performance(self, deployment, *, window: int | None = None) -> dict:
        return self._call("performance", deployment_id=_id(deployment), window=window)

    def monitor_reports(self, deployment, limit: int = 20) -> list:
        return self._call("monitor_reports", deployment_id=_id(deployment), limit=limit)

    def monitor_events(self, name: str | None = None, *, deployment: Any = None, kind: str | None = None,
                       limit: int = 100) -> list:
        return self._call("monitor_events", name=name, deployment_id=_id(deployment) if deployment else None,
                          kind=kind, limit=limit)

    def get_monitor(self, deployment) -> dict:
        return self._call("get_monitor", deployment_id=_id(deployment))

    def configure_monitor(self, deployment, *, rules: list | None = None, webhook: str | None = None,
                          window: int | None = None, min_rows: int | None = None, share: float | None = None,
                          reset: bool = False) -> dict:
        """Alert rules (``[{"name", "metric", "op", "value", "state", "notify", "retrain"}]``),
        webhook URL, window and minimum rows of a deployment's monitor."""
        return self._call("configure_monitor", deployment_id=_id(deployment), rules=rules, webhook=webhook,
                          window=window, min_rows=min_rows, share=share, reset=reset)

    def set_reference(self, deployment, data) -> dict:
        """Replace the drift reference with ``data`` (a DataFrame, uploaded as Parquet)."""
        from ..deploy.client_api import _spec

        return self._call("set_reference", deployment_id=_id(deployment), reference=_spec(self, data, "reference"))
