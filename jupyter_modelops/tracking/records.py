"""Plain records returned by the tracking services and the client (both transports)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
RUN_STATUSES = (RUNNING, FINISHED, FAILED, KILLED)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


class Record:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Experiment(Record):
    id: str
    name: str
    description: str = ""
    tags: dict = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0


@dataclass
class Metric(Record):
    key: str
    value: float
    step: int
    timestamp: int

    def to_dict(self) -> dict[str, Any]:
        # JSON has no NaN/Infinity: encode them as strings the other side decodes.
        d = dataclasses.asdict(self)
        d["value"] = encode_float(self.value)
        return d

    @classmethod
    def from_dict(cls, data):
        return cls(data["key"], decode_float(data["value"]), data["step"], data["timestamp"])


@dataclass
class Run(Record):
    id: str
    experiment_id: str
    name: str
    status: str
    user: str
    host: str
    start_time: int
    end_time: int | None = None
    parent_run_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    source: str = ""
    code_hash: str = ""
    provenance: dict = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (None while running)."""
        return None if self.end_time is None else (self.end_time - self.start_time) / 1000

    @property
    def started(self) -> str | None:
        return _iso(self.start_time)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["metrics"] = {k: encode_float(v) for k, v in self.metrics.items()}
        return d

    @classmethod
    def from_dict(cls, data):
        run = super().from_dict(data)
        run.metrics = {k: decode_float(v) for k, v in run.metrics.items()}
        return run

    def __repr__(self) -> str:
        return f"<Run {self.id[:8]} {self.name!r} {self.status}>"


@dataclass
class Artifact(Record):
    path: str
    digest: str
    size: int
    media_type: str
    created_at: int


@dataclass
class Dataset(Record):
    id: str
    run_id: str
    name: str
    digest: str
    context: str = "training"
    source: str = ""
    schema: dict = field(default_factory=dict)
    num_rows: int | None = None
    profile: dict = field(default_factory=dict)
    created_at: int = 0


def encode_float(v: float):
    if v is None:
        return None
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def decode_float(v) -> float:
    if v is None:
        return math.nan
    return float(v)  # float("NaN"), float("Infinity") parse
