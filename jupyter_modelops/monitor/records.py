"""Records of the monitoring capability (plain dataclasses; they travel over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tracking.records import Record, _iso


@dataclass
class ColumnDrift(Record):
    """One feature's drift: the test used, its statistic, whether it drifted, the PSI, and
    the two distributions for a chart."""

    column: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    psi: float | None
    ref_rows: int = 0
    cur_rows: int = 0
    ref_missing: float | None = 0.0
    cur_missing: float | None = 0.0
    chart: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    note: str = ""


@dataclass
class DriftReport(Record):
    """Drift of recent inputs against the reference, per column and for the dataset."""

    reference_rows: int = 0
    current_rows: int = 0
    columns: list = field(default_factory=list)      # ColumnDrift
    drifted_columns: int = 0
    drift_share: float | None = 0.0
    dataset_drift: bool = False
    share_threshold: float = 0.5
    model_name: str = ""
    version: int | None = None
    deployment_id: str | None = None
    reference_source: str = ""
    window: dict = field(default_factory=dict)
    created_at: int = 0

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{k: getattr(c, k) for k in ("column", "kind", "test", "statistic", "p_value",
                                                           "threshold", "drifted", "psi", "cur_rows")}
                             for c in self.columns])

    def to_html(self, standalone: bool = True) -> str:
        """The report as HTML: a whole page (``standalone``) or a fragment for a notebook.
        Every value is escaped; charts are inline SVG (no scripts, no CDN)."""
        from .report import drift_html

        return drift_html(self, standalone=standalone)

    def save_html(self, path) -> str:
        from pathlib import Path

        Path(path).write_text(self.to_html(standalone=True), encoding="utf-8")
        return str(path)

    def _repr_html_(self) -> str:
        return self.to_html(standalone=False)

    def widget(self):
        """An ipywidgets view: the summary table and one chart per chosen column."""
        from .report import DriftWidget

        return DriftWidget(self)

    def __repr__(self) -> str:
        what = f"{self.model_name} v{self.version}: " if self.model_name else ""
        return (f"<DriftReport {what}{self.drifted_columns}/{len(self.columns)} columns drifted "
                f"(share {self.drift_share}), dataset drift: {self.dataset_drift}>")


@dataclass
class MonitorReport(Record):
    """One monitoring check: drift, performance and serving figures, the rules that fire."""

    id: str
    deployment_id: str
    model_name: str
    version: int | None
    rows: int
    metrics: dict = field(default_factory=dict)     # the figures the rules look at
    drift: DriftReport | None = None
    performance: dict = field(default_factory=dict)
    firing: list = field(default_factory=list)      # [{rule, metric, value, op, threshold, state}]
    events: list = field(default_factory=list)      # MonitorEvent dicts raised by this check
    state: str = ""                                 # the version's life-cycle state after the check
    created_at: int = 0

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)

    def _repr_html_(self) -> str:
        from .report import monitor_html

        return monitor_html(self)

    def __repr__(self) -> str:
        rules = ", ".join(f["rule"] for f in self.firing) or "none"
        return (f"<MonitorReport {self.model_name} v{self.version}: {self.rows} rows, firing: {rules}, "
                f"state {self.state}>")


@dataclass
class MonitorEvent(Record):
    """An alert, a notification (sent or failed) or a retraining request."""

    id: str
    model_name: str
    kind: str
    deployment_id: str | None = None
    version: int | None = None
    rule: str = ""
    severity: str = ""
    message: str = ""
    details: dict = field(default_factory=dict)
    created_at: int = 0

    @property
    def created(self) -> str | None:
        return _iso(self.created_at)
