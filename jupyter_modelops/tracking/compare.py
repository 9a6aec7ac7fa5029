"""Side-by-side comparison of runs as a tidy pandas table.

One row per attribute, param and metric key; one column per run; a ``differs`` column so
that a notebook (``table[table.differs]``), the sidebar and the CLI can show only what
changed between runs. pandas is imported on call: ``import jupyter_modelops`` stays light.
"""

from __future__ import annotations

import math
from collections import Counter

import sqlalchemy as sa

from ..errors import InvalidInput, NotFound
from ..store import schema as s
from ..store.store import Store

_ATTRIBUTES = ("status", "duration")
_RESERVED = {"kind", "key", "differs"}
_MISSING = object()


def compare_runs(store: Store, run_ids: list[str]):
    """A DataFrame with columns ``kind`` ('attribute', 'param' or 'metric'), ``key``, one
    column per run (its name; ``name (id prefix)`` where names collide) and ``differs``.

    A key a run lacks shows as None; NaN metrics compare equal to each other, and a
    missing value differs from any present one. Runs keep the order given; ids may be
    prefixes of at least 6 hex digits.
    """
    import pandas as pd

    from .runs import _run_from_row, load_run_data, resolve_run_id

    if isinstance(run_ids, str) or not isinstance(run_ids, (list, tuple)):
        raise InvalidInput("compare_runs takes a list of run ids")
    ids = list(dict.fromkeys(resolve_run_id(store, r) for r in run_ids))
    if len(ids) < 2:
        raise InvalidInput("compare needs at least two different runs")
    with store.db.read() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(s.runs).where(s.runs.c.id.in_(ids)))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"no run with id {missing[0]}", run_id=missing[0])
        data = load_run_data(conn, ids)
    runs = [_run_from_row(rows[i], *data[i]) for i in ids]

    table = []
    for key in _ATTRIBUTES:
        table.append(("attribute", key, [getattr(r, key) for r in runs]))
    for kind, attr in (("param", "params"), ("metric", "metrics")):
        for key in sorted({k for r in runs for k in getattr(r, attr)}):
            table.append((kind, key, [getattr(r, attr).get(key, _MISSING) for r in runs]))

    labels = _labels(runs)
    frame = pd.DataFrame(
        [[kind, key, *(None if v is _MISSING else v for v in values), _differs(values)]
         for kind, key, values in table],
        columns=["kind", "key", *labels, "differs"],
    )
    frame["differs"] = frame["differs"].astype(bool)
    for label in labels:  # keep ints, strings and None as they are (no float upcasting)
        frame[label] = frame[label].astype(object)
    return frame


def _labels(runs) -> list[str]:
    """Run names, with an id prefix where a name is shared or would shadow a column."""
    counts = Counter(r.name for r in runs)
    labels = []
    for r in runs:
        clash = counts[r.name] > 1 or r.name in _RESERVED
        labels.append(f"{r.name} ({r.id[:8]})" if clash else r.name)
    if len(set(labels)) < len(labels):  # same name and same 8-digit prefix: use full ids
        labels = [f"{r.name} ({r.id})" if counts[r.name] > 1 or r.name in _RESERVED else r.name
                  for r in runs]
    return labels


def _differs(values: list) -> bool:
    first = _normal(values[0])
    return any(_normal(v) != first for v in values[1:])


def _normal(value):
    """A comparable stand-in: every NaN is the same, missing is unlike any value."""
    if value is _MISSING:
        return ("missing",)
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return ("value", value)
