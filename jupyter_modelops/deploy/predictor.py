"""What the model server does with a request body: read it into rows, predict, answer.

Every request format — the Open Inference Protocol v2 (``/v2/models/{name}/infer``) and
MLflow's ``/invocations`` (``dataframe_split``, ``dataframe_records``, ``instances``,
``inputs``, CSV) — is read into one shape, a ``Table`` (column names and rows), and
predicted by one ``Predictor``.

``Predictor`` keeps the registry's rules: inputs are checked against the version's
signature, with its error messages. For scikit-learn models whose inputs are all numeric
it has a fast path that builds one float array straight from the rows (no DataFrame);
it is enabled only after a probe shows that it predicts exactly what the checked
DataFrame path predicts, and any row it cannot take (a string, a missing column, a bool)
goes down the checked path, which gives the precise error.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass

from ..errors import InvalidInput

NUMERIC = ("float64", "float32", "int64", "int32", "uint64", "any")
MAX_ROWS = 1_000_000


@dataclass
class Table:
    """Rows of input values; ``columns`` is None when the caller sent bare rows."""

    columns: list | None
    rows: list

    def __len__(self) -> int:
        return len(self.rows)


# --------------------------------------------------------------------------- reading requests


def _flatten(data: list) -> list:
    """Row-major values of nested lists (OIP allows nested or flat ``data``)."""
    if not data or not isinstance(data[0], list):
        return data
    out: list = []

    def walk(values):
        for v in values:
            if isinstance(v, list):
                walk(v)
            else:
                out.append(v)

    walk(data)
    return out


def _shape_of(value, what: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value):
        raise InvalidInput(f"{what} must be a list of non-negative integers")
    return value


def oip_table(body, columns: list[str] | None) -> tuple[Table, str | None]:
    """(Table, request id) of an Open Inference Protocol v2 inference request."""
    if not isinstance(body, dict):
        raise InvalidInput("an inference request is a JSON object with \"inputs\"")
    rid = body.get("id")
    if rid is not None and not isinstance(rid, str):
        raise InvalidInput("\"id\" must be a string")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("\"inputs\" must be a non-empty list of tensors "
                           "({\"name\", \"shape\", \"datatype\", \"data\"})")
    tensors = []
    for i, t in enumerate(inputs):
        if not isinstance(t, dict):
            raise InvalidInput(f"input {i} must be an object with name, shape, datatype and data")
        name = t.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"input {i} needs a \"name\"")
        shape = _shape_of(t.get("shape"), f"the shape of input {name!r}")
        data = t.get("data")
        if not isinstance(data, list):
            raise InvalidInput(f"input {name!r} needs \"data\" (a list)")
        flat = _flatten(data)
        need = math.prod(shape)
        if len(flat) != need:
            raise InvalidInput(f"input {name!r} has {len(flat)} values but its shape {shape} needs {need}")
        tensors.append((name, shape, flat))
    if len(tensors) == 1:
        name, shape, flat = tensors[0]
        if len(shape) == 2:
            width = shape[1]
            if columns is not None and width != len(columns):
                raise InvalidInput(f"input {name!r} has {width} columns (shape {shape}); the model expects "
                                   f"{len(columns)} ({', '.join(columns)})")
            return Table(None, [flat[r * width:(r + 1) * width] for r in range(shape[0])]), rid
        if len(shape) == 1:
            if columns is not None and name not in columns and len(columns) > 1:
                if shape[0] == len(columns):  # one row given as a flat vector
                    return Table(None, [flat]), rid
                raise InvalidInput(f"input {name!r} is not a column of the model "
                                   f"({', '.join(columns)}); send one tensor per column, or one "
                                   f"tensor of shape [rows, {len(columns)}]")
            return Table([name], [[v] for v in flat]), rid
        if columns is None:
            width = math.prod(shape[1:]) if len(shape) > 1 else 1
            return Table(None, [flat[r * width:(r + 1) * width] for r in range(shape[0])]), rid
        raise InvalidInput(f"input {name!r} has shape {shape}; the model takes a table "
                           f"[rows, {len(columns)}]")
    # one tensor per column
    names = [t[0] for t in tensors]
    if len(set(names)) != len(names):
        raise InvalidInput("input names must differ")
    counts = set()
    for name, shape, flat in tensors:
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise InvalidInput(f"input {name!r} has shape {shape}; one tensor per column must be [rows] "
                               "or [rows, 1]")
        counts.add(shape[0])
    if len(counts) != 1:
        raise InvalidInput("every input column must have the same number of rows")
    return Table(names, [list(r) for r in zip(*(t[2] for t in tensors))]), rid


def _rows_from_columns(data: dict, what: str) -> Table:
    cols = list(data)
    values = list(data.values())
    if not all(isinstance(v, list) for v in values):
        return Table(cols, [values])  # one row as a mapping of scalars
    n = {len(v) for v in values}
    if len(n) != 1:
        raise InvalidInput(f"{what}: every column must have the same number of values")
    return Table([str(c) for c in cols], [list(r) for r in zip(*values)])


def _records(records, what: str) -> Table:
    if not all(isinstance(r, dict) for r in records):
        raise InvalidInput(f"{what} must be a list of objects (one per row)")
    cols: dict = {}
    for r in records:
        for k in r:
            cols.setdefault(k, None)
    names = list(cols)
    return Table([str(c) for c in names], [[r.get(c) for c in names] for r in records])


def _rows(values, what: str) -> Table:
    if not isinstance(values, list) or not values:
        raise InvalidInput(f"{what} must be a non-empty list")
    if all(isinstance(r, dict) for r in values):
        return _records(values, what)
    if all(isinstance(r, list) for r in values):
        return Table(None, values)
    if not any(isinstance(r, (list, dict)) for r in values):
        return Table(None, [values])  # a single row
    raise InvalidInput(f"{what} mixes rows of different kinds")


def mlflow_table(body) -> Table:
    """A Table from MLflow's JSON scoring formats."""
    if isinstance(body, list):
        return _rows(body, "the request")
    if not isinstance(body, dict):
        raise InvalidInput("the request must be a JSON object such as "
                           "{\"dataframe_split\": {\"columns\": [...], \"data\": [[...]]}}")
    keys = [k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body]
    if len(keys) > 1:
        raise InvalidInput(f"give one of dataframe_split, dataframe_records, instances or inputs, not "
                           f"{' and '.join(keys)}")
    if not keys:
        if "columns" in body and "data" in body:  # pandas 'split' orient without the wrapper
            keys, body = ["dataframe_split"], {"dataframe_split": body}
        else:
            raise InvalidInput("the request needs one of dataframe_split, dataframe_records, instances "
                               "or inputs")
    key = keys[0]
    value = body[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise InvalidInput("dataframe_split must be {\"columns\": [...], \"data\": [[...], ...]}")
        cols = value.get("columns")
        data = value["data"]
        if data and not all(isinstance(r, list) for r in data):
            data = [data] if cols is not None and len(data) == len(cols) else [[v] for v in data]
        if cols is not None:
            if not isinstance(cols, list):
                raise InvalidInput("dataframe_split columns must be a list")
            bad = [i for i, r in enumerate(data) if len(r) != len(cols)]
            if bad:
                raise InvalidInput(f"dataframe_split row {bad[0]} has {len(data[bad[0]])} values for "
                                   f"{len(cols)} columns")
            cols = [str(c) for c in cols]
        return Table(cols, data)
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise InvalidInput("dataframe_records must be a list of objects")
        return _records(value, "dataframe_records")
    if isinstance(value, dict):
        return _rows_from_columns(value, key)
    return _rows(value, key)


def _scalar(text: str):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def csv_table(data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV body is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("the CSV body is empty") from None
    rows = []
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise InvalidInput(f"CSV line {n} has {len(row)} values for {len(header)} columns")
        rows.append([_scalar(v) for v in row])
    return Table([h.strip() for h in header], rows)


# --------------------------------------------------------------------------- predicting


def _plain(values) -> list:
    """Model outputs as JSON values (lists of numbers, strings, nested lists)."""
    if hasattr(values, "tolist"):
        out = values.tolist()
    elif hasattr(values, "to_numpy"):
        out = values.to_numpy().tolist()
    else:
        out = list(values)
    return out


def oip_datatype(values) -> str:
    import numpy as np

    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP32" if arr.dtype == np.float32 else "FP64"
    return "BYTES"


class Predictor:
    """A loaded version ready to answer tables of rows."""

    def __init__(self, loaded, *, fast: bool = True) -> None:
        self.loaded = loaded
        self.name = loaded.metadata.name
        self.version = loaded.metadata.version
        self.flavor = loaded.flavor
        signature = loaded.signature or {}
        inputs = signature.get("inputs") or {}
        self.signature = signature
        self.kind = inputs.get("type")
        self.columns: list[str] | None = (
            [c["name"] for c in inputs.get("columns", [])] if self.kind == "dataframe" else None)
        self.types = [c.get("type", "any") for c in inputs.get("columns", [])] if self.columns else []
        self.width = (len(self.columns) if self.columns is not None else
                      (inputs.get("shape") or [None, None])[1] if self.kind == "tensor"
                      and len(inputs.get("shape") or []) == 2 else None)
        self._order: dict[tuple, list[int] | None] = {}
        self._int_cols = [i for i, t in enumerate(self.types) if t.startswith(("int", "uint"))]
        self.fast = False
        if fast:
            self.fast = self._probe()

    # ------------------------------------------------------------------ fast path
    def _fast_ok(self) -> bool:
        if self.flavor != "sklearn" or not hasattr(self.loaded.raw, "predict"):
            return False
        if self.kind == "dataframe":
            return bool(self.columns) and all(t in NUMERIC for t in self.types)
        if self.kind == "tensor":
            dtype = (self.signature.get("inputs") or {}).get("dtype", "any")
            return self.width is not None and dtype in NUMERIC
        return False

    def _probe(self) -> bool:
        """Enable the fast path only if it predicts what the checked path predicts."""
        import numpy as np

        if not self._fast_ok():
            return False
        width = self.width
        rows = [[float(j % 3) + 0.5 * i for j in range(width)] for i in range(3)]
        if self._int_cols:
            for r in rows:
                for j in self._int_cols:
                    r[j] = float(int(r[j]))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                slow = _plain(self._checked(Table(self.columns, rows)))
                fast = _plain(self.loaded.raw.predict(np.asarray(rows, dtype=np.float64)))
        except Exception:  # noqa: BLE001 - the fast path is an optimisation, never a requirement
            return False
        return slow == fast

    def _positions(self, columns) -> list[int] | None:
        """Where each signature column is in the caller's columns (None: not all there)."""
        key = tuple(columns)
        if key not in self._order:
            index = {c: i for i, c in enumerate(columns)}
            pos = [index.get(c) for c in self.columns]
            self._order[key] = None if None in pos else pos
            if len(self._order) > 64:
                self._order.pop(next(iter(self._order)))
        return self._order[key]

    def _fast_array(self, table: Table):
        import numpy as np

        rows = table.rows
        width = self.width
        if table.columns is not None and self.columns is not None:
            if table.columns != self.columns:
                pos = self._positions(table.columns)
                if pos is None:
                    return None
                rows = [[r[p] for p in pos] for r in rows]
        elif table.columns is not None:
            return None
        for r in rows:
            if len(r) != width:
                return None
            for v in r:
                t = type(v)
                if t is not float and t is not int:
                    return None
        arr = np.array(rows, dtype=np.float64)
        if self._int_cols:
            sub = arr[:, self._int_cols]
            if not np.all(sub == np.round(sub)):
                return None
        return arr

    # ------------------------------------------------------------------ predicting
    def _checked(self, table: Table):
        """The registry's checked path (``LoadedModel.predict``): signature enforced."""
        import pandas as pd

        if self.kind == "tensor" or (self.columns is None and table.columns is None):
            import numpy as np

            try:
                X = np.asarray(table.rows)
            except ValueError:
                raise InvalidInput("the rows do not all have the same length") from None
            if X.dtype == object:
                X = np.asarray(table.rows, dtype=object)
            return self.loaded.predict(X)
        if table.columns is None:
            widths = {len(r) for r in table.rows}
            if widths != {len(self.columns)}:
                w = sorted(widths)[0] if len(widths) == 1 else "varying numbers of"
                raise InvalidInput(f"input has {w} columns; the model expects {len(self.columns)} "
                                   f"({', '.join(self.columns)})")
            frame = pd.DataFrame(table.rows, columns=self.columns)
        else:
            if len(set(table.columns)) != len(table.columns):
                raise InvalidInput("input column names must differ")
            frame = pd.DataFrame(table.rows, columns=table.columns)
        return self.loaded.predict(frame)

    def predict(self, table: Table) -> tuple[list, object]:
        """(predictions as JSON values, the raw output) for every row of ``table``."""
        n = len(table.rows)
        if n == 0:
            raise InvalidInput("the request has no rows")
        if n > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per request")
        if self.fast:
            arr = self._fast_array(table)
            if arr is not None:
                out = self.loaded.raw.predict(arr)
                return out.tolist() if hasattr(out, "tolist") else _plain(out), out
        out = self._checked(table)
        return _plain(out), out

    def metadata(self) -> dict:
        """The OIP model metadata document."""
        from ..registry import signature as sig

        inputs = []
        spec = self.signature.get("inputs") or {}
        if spec.get("type") == "dataframe":
            for c in spec.get("columns", []):
                inputs.append({"name": c["name"], "datatype": _OIP_TYPES.get(c.get("type"), "BYTES"),
                               "shape": [-1]})
        elif spec.get("type") == "tensor":
            inputs.append({"name": "input-0", "datatype": _OIP_TYPES.get(spec.get("dtype"), "BYTES"),
                           "shape": spec.get("shape") or [-1]})
        return {"name": self.name, "versions": [str(self.version)], "platform": f"jupyter-modelops/{self.flavor}",
                "inputs": inputs, "outputs": [{"name": "predict", "datatype": "BYTES", "shape": [-1]}],
                "parameters": {"signature": sig.describe(self.signature)}}


_OIP_TYPES = {"float64": "FP64", "float32": "FP32", "int64": "INT64", "int32": "INT32", "uint64": "UINT64",
              "bool": "BOOL", "string": "BYTES", "datetime": "BYTES", "any": "BYTES"}
