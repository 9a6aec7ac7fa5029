"""Datasets used by a run: a stable digest, the schema and a small profile.

The digest identifies the *content*: the same frame logged twice gets the same digest,
so lineage can tell whether two models saw the same data.
"""

from __future__ import annotations

import hashlib
import math

import sqlalchemy as sa

from ..errors import InvalidInput
from ..ids import new_id, normalize_id, now_ms
from ..store import schema as s
from ..store.store import Store
from .records import Dataset
from .runs import require_running
from .validation import check_name

MAX_PROFILE_COLUMNS = 200


def describe(data, name: str | None = None) -> dict:
    """Digest, schema, row count and profile of a DataFrame, Series, ndarray or list."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame(name=data.name if data.name is not None else "value")
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        arr = data if data.ndim > 1 else data.reshape(-1, 1)
        if arr.ndim > 2:
            digest = hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()
            return {"digest": digest, "schema": {"type": "tensor", "dtype": str(data.dtype),
                                                 "shape": [-1, *data.shape[1:]]},
                    "num_rows": int(data.shape[0]), "profile": {}}
        data = pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(
            f"log_input takes a pandas DataFrame/Series, a numpy array or a list, not {type(data).__name__}"
        )
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(data, index=False).values.tobytes())
    schema = {"type": "dataframe",
              "columns": [{"name": str(c), "type": str(t)} for c, t in data.dtypes.items()]}
    profile = {}
    for col in list(data.columns)[:MAX_PROFILE_COLUMNS]:
        ser = data[col]
        entry = {"nulls": int(ser.isna().sum())}
        if pd.api.types.is_numeric_dtype(ser) and not pd.api.types.is_bool_dtype(ser):
            desc = ser.describe()
            for k in ("mean", "std", "min", "max"):
                v = float(desc.get(k, math.nan))
                entry[k] = None if math.isnan(v) else v
        else:
            counts = ser.astype("string").value_counts(dropna=True)
            entry["distinct"] = int(counts.size)
            entry["top"] = {str(k): int(v) for k, v in counts.head(5).items()}
        profile[str(col)] = entry
    return {"digest": h.hexdigest(), "schema": schema, "num_rows": int(len(data)), "profile": profile}


def record_dataset(store: Store, run_id: str, name: str, digest: str, *, context: str = "training",
                   source: str = "", schema: dict | None = None, num_rows: int | None = None,
                   profile: dict | None = None, id: str | None = None) -> Dataset:
    run_id = normalize_id(run_id, "run id")
    rec = {"id": normalize_id(id) if id else new_id(), "run_id": run_id,
           "name": check_name(name, "dataset name"), "digest": str(digest)[:64],
           "context": check_name(context, "dataset context", 64), "source": source or "",
           "schema": schema or {}, "num_rows": num_rows, "profile": profile or {}, "created_at": now_ms()}
    with store.db.write() as conn:
        require_running(conn, run_id)
        conn.execute(s.datasets.insert().values(**rec))
    return Dataset(**rec)


def list_datasets(store: Store, run_id: str) -> list[Dataset]:
    run_id = normalize_id(run_id, "run id")
    d = s.datasets
    with store.db.read() as conn:
        rows = conn.execute(sa.select(d).where(d.c.run_id == run_id).order_by(d.c.created_at)).all()
    return [Dataset(**r._mapping) for r in rows]
