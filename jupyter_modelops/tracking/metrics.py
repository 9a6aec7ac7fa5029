"""Metric points: batched writes, latest-value upkeep and history reads.

A point is ``(run_id, key, step, timestamp_ms, value)``. Writes arrive in batches from a
``MetricBuffer`` (or from the REST API, which receives the same batches). NaN is stored
as NULL because SQLite cannot hold NaN; ±inf are stored as they are.
"""

from __future__ import annotations

import math
from typing import Sequence

import sqlalchemy as sa

from ..errors import Conflict, InvalidInput, NotFound
from ..ids import normalize_id
from ..store import schema as s
from ..store.store import Store
from .records import RUNNING, Metric
from .validation import check_key, check_metric_value, check_step

Point = tuple  # (run_id, key, step, timestamp, value)


def to_db(value: float):
    return None if value != value else value  # NaN -> NULL


def from_db(value) -> float:
    return math.nan if value is None else value


def check_points(points: Sequence) -> list[Point]:
    """Validate points that came from outside the process (REST bodies, sync)."""
    out = []
    for p in points:
        if not isinstance(p, (list, tuple)) or len(p) != 5:
            raise InvalidInput("a metric point is [run_id, key, step, timestamp, value]")
        run_id, key, step, ts, value = p
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            value = float(value)
        out.append((normalize_id(run_id, "run id"), check_key(key, "metric key"), check_step(step),
                    check_step(ts), check_metric_value(key, value)))
    return out


def write_points(store: Store, points: Sequence[Point]) -> int:
    """Insert a batch in one transaction and move each (run, key)'s latest value forward.

    Points for runs that are missing or no longer RUNNING are refused (``NotFound`` /
    ``Conflict`` after the rest is written), so one ended run never costs another run
    its points.
    """
    if not points:
        return 0
    run_ids = {p[0] for p in points}
    latest: dict[tuple[str, str], Point] = {}
    get = latest.get
    for p in points:  # per point: keep it cheap (a flush carries up to 20 000)
        k = (p[0], p[1])
        cur = get(k)
        if cur is None or p[2] > cur[2] or (p[2] == cur[2] and p[3] >= cur[3]):
            latest[k] = p
    db = store.db
    refused: dict[str, str] = {}
    with db.write() as conn:
        status = dict(
            conn.execute(sa.select(s.runs.c.id, s.runs.c.status).where(s.runs.c.id.in_(list(run_ids)))).all()
        )
        for rid in run_ids:
            if status.get(rid) != RUNNING:
                refused[rid] = status.get(rid, "missing")
        if refused:  # keep the healthy runs' points; report the others below
            points = [p for p in points if p[0] not in refused]
            latest = {k: v for k, v in latest.items() if k[0] not in refused}
        if points:
            # SQLite stores NaN as NULL by itself; PostgreSQL is told explicitly.
            rows = points if db.dialect == "sqlite" else [
                (r, k, st, ts, None if v != v else v) for (r, k, st, ts, v) in points]
            conn.exec_driver_sql(_INSERT[db.dialect], rows)
            _upsert_latest(conn, db.dialect, list(latest.values()))
    if refused:
        rid, state = next(iter(refused.items()))
        if state == "missing":
            raise NotFound(f"no run with id {rid}; its metric points were not stored", run_ids=list(refused))
        raise Conflict(
            f"run {rid[:8]} is {state}; metrics go only to running runs "
            f"({len(refused)} run(s) refused, the other runs' points were stored)",
            run_id=rid, run_ids=list(refused),
        )
    return len(points)


_INSERT = {
    "sqlite": "INSERT INTO metrics (run_id, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?)",
    "postgresql": "INSERT INTO metrics (run_id, key, step, timestamp, value) VALUES (%s, %s, %s, %s, %s)",
}


def _upsert_latest(conn, dialect: str, rows: list[Point]) -> None:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    lm = s.latest_metrics
    stmt = insert(lm)
    stmt = stmt.on_conflict_do_update(
        index_elements=[lm.c.run_id, lm.c.key],
        set_={"step": stmt.excluded.step, "timestamp": stmt.excluded.timestamp, "value": stmt.excluded.value},
        where=sa.or_(
            stmt.excluded.step > lm.c.step,
            sa.and_(stmt.excluded.step == lm.c.step, stmt.excluded.timestamp >= lm.c.timestamp),
        ),
    )
    conn.execute(
        stmt,
        [{"run_id": r, "key": k, "step": st, "timestamp": ts, "value": to_db(v)} for (r, k, st, ts, v) in rows],
    )


def metric_history(store: Store, run_id: str, key: str, *, max_points: int | None = None,
                   start_step: int | None = None, end_step: int | None = None) -> list[Metric]:
    """All points of one metric ordered by step; ``max_points`` downsamples evenly,
    always keeping the first and last points."""
    run_id = normalize_id(run_id, "run id")
    if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, int)
                                   or max_points < 1):
        raise InvalidInput(f"max_points must be a positive integer, not {max_points!r}")
    m = s.metrics
    q = sa.select(m.c.step, m.c.timestamp, m.c.value).where(m.c.run_id == run_id, m.c.key == key)
    if start_step is not None:
        q = q.where(m.c.step >= start_step)
    if end_step is not None:
        q = q.where(m.c.step <= end_step)
    with store.db.read() as conn:
        rows = conn.execute(q.order_by(m.c.step, m.c.timestamp)).all()
        if not rows and conn.execute(sa.select(s.runs.c.id).where(s.runs.c.id == run_id)).first() is None:
            raise NotFound(f"no run with id {run_id}")
    if max_points == 1 and rows:
        rows = rows[-1:]  # the latest point
    elif max_points is not None and len(rows) > max_points:
        n = len(rows)
        idx = sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
        rows = [rows[i] for i in idx]
    return [Metric(key, from_db(v), st, ts) for st, ts, v in rows]


def metric_keys(store: Store, run_id: str) -> list[str]:
    run_id = normalize_id(run_id, "run id")
    lm = s.latest_metrics
    with store.db.read() as conn:
        return list(conn.execute(sa.select(lm.c.key).where(lm.c.run_id == run_id).order_by(lm.c.key)).scalars())
