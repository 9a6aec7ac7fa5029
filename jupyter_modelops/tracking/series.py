"""Down-sampled metric histories of many runs in one read, for the sidebar's sparklines.

The run table shows a small line per visible row and metric key; asking for each history
separately would cost one request per cell. ``metric_series`` answers them all at once and
thins each history in SQL (window functions, SQLite and PostgreSQL alike), so a run that
logged a million steps sends ``max_points`` of them, never the whole history.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import InvalidInput
from ..ids import normalize_id
from ..store import schema as s
from ..store.store import Store
from .metrics import from_db

MAX_RUNS = 500
MAX_KEYS = 20
MAX_POINTS = 1000


def _strings(value, what: str, most: int) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{what} must be a list of non-empty strings")
    value = list(dict.fromkeys(value))
    if len(value) > most:
        raise InvalidInput(f"at most {most} {what} per call, not {len(value)}")
    return value


def metric_series(store: Store, run_ids, keys, max_points: int = 50) -> dict[str, dict[str, list]]:
    """``{run_id: {key: [(step, value), ...]}}`` for every run and key that has points,
    ordered by step; histories longer than ``max_points`` keep evenly spaced points,
    always including the first and the last. Unknown runs and keys are simply absent."""
    if isinstance(max_points, bool) or not isinstance(max_points, int) or not 1 <= max_points <= MAX_POINTS:
        raise InvalidInput(f"max_points must be an integer from 1 to {MAX_POINTS}, not {max_points!r}")
    ids = [normalize_id(r, "run id") for r in _strings(run_ids, "run ids", MAX_RUNS)]
    keys = _strings(keys, "metric keys", MAX_KEYS)
    out: dict[str, dict[str, list]] = {}
    if not ids or not keys:
        return out
    m = s.metrics
    part = (m.c.run_id, m.c.key)
    ordered = (m.c.step, m.c.timestamp)
    inner = sa.select(
        m.c.run_id, m.c.key, m.c.step, m.c.value,
        sa.func.row_number().over(partition_by=part, order_by=ordered).label("rn"),
        sa.func.count().over(partition_by=part).label("n"),
    ).where(m.c.run_id.in_(ids), m.c.key.in_(keys)).subquery("h")
    rn, n = inner.c.rn, inner.c.n
    if max_points == 1:
        keep = rn == n
    else:
        # Keep a point where the integer bucket index (of max_points - 1 buckets) changes:
        # the first, the last and evenly spaced ones between.
        span = max_points - 1
        keep = sa.or_(n <= max_points, rn == 1, rn == n,
                      ((rn - 1) * span) // (n - 1) > ((rn - 2) * span) // (n - 1))
    stmt = (sa.select(inner.c.run_id, inner.c.key, inner.c.step, inner.c.value)
            .where(keep).order_by(inner.c.run_id, inner.c.key, rn))
    with store.db.read() as conn:
        for run_id, key, step, value in conn.execute(stmt):
            out.setdefault(run_id, {}).setdefault(key, []).append((step, from_db(value)))
    return out
