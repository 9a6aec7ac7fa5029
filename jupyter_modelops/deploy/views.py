"""Deployments as a table: HTML in a notebook (escaped), text in a terminal."""

from __future__ import annotations

from ..kernel import html as h


class DeploymentsView:
    COLUMNS = ["deployment", "model", "version", "alias", "target", "status", "state", "endpoint", "requests",
               "dropped", "restarts", "started by", "created"]

    def __init__(self, deployments) -> None:
        self.deployments = list(deployments)

    def _rows(self, html: bool) -> list[list]:
        rows = []
        for d in self.deployments:
            health = d.status if d.alive is not False or d.status not in ("RUNNING", "RESTARTING") else "DEAD"
            rows.append([d.id[:8], d.model_name, d.version, d.alias or "", d.target,
                         h.status_badge(health) if html else health,
                         h.status_badge(d.state) if html and d.state else d.state, d.endpoint,
                         d.stats.get("requests", ""), d.stats.get("dropped", ""), d.restarts, d.started_by,
                         h.fmt_time(d.created_at)])
        return rows

    def _repr_html_(self) -> str:
        return str(h.wrap(h.table(self.COLUMNS, self._rows(True), numeric=(2, 8, 9, 10), empty="no deployments")))

    def __repr__(self) -> str:
        if not self.deployments:
            return "no deployments"
        return h.text_table(self.COLUMNS, self._rows(False))
