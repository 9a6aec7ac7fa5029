"""Model signatures: what a model takes and returns, inferred once and enforced at predict.

A signature is plain JSON, stored with the version::

    {"inputs":  {"type": "dataframe", "columns": [{"name": "age", "type": "int64"}, ...]}
              | {"type": "tensor", "dtype": "float64", "shape": [-1, 4]},
     "outputs": ... (same forms) or None}

``enforce`` turns what a caller hands in (a DataFrame, a list of dicts, a dict of lists,
a 2-D array of the right width) into exactly what the model was trained on, and when it
cannot, says everything that is wrong in one line: all missing columns, every column of
the wrong type. The only silent conversions are lossless: integers to floats, integral
floats to integers, column reordering, dropping extra columns.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import InvalidInput

ANY = "any"
STRING = "string"
BOOL = "bool"
DATETIME = "datetime"


# --------------------------------------------------------------------------- inference


def column_type(series) -> str:
    """The signature type of a pandas column."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOL
    if pd.api.types.is_integer_dtype(dtype):
        return "int64"
    if pd.api.types.is_float_dtype(dtype):
        return "float32" if dtype == np.float32 else "float64"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        return STRING if pd.api.types.is_string_dtype(cats) or cats.dtype == object else ANY
    if pd.api.types.is_string_dtype(dtype):
        values = series.dropna()
        if values.empty or all(isinstance(v, str) for v in values.head(1000)):
            return STRING
    return ANY


def _tensor_dtype(arr: np.ndarray) -> str:
    if arr.dtype.kind in "US":
        return STRING
    if arr.dtype.kind == "b":
        return BOOL
    if arr.dtype.kind in "iu":
        return "int64"
    if arr.dtype.kind == "f":
        return "float32" if arr.dtype == np.float32 else "float64"
    return ANY


def schema_of(example) -> dict | None:
    """The schema of an example input or output (None if it has no recognisable shape)."""
    import pandas as pd

    if example is None:
        return None
    if isinstance(example, pd.Series):
        example = example.to_frame(name=str(example.name) if example.name is not None else "0")
    elif isinstance(example, dict):
        example = (pd.DataFrame(example) if any(_listlike(v) for v in example.values())
                   else pd.DataFrame([example]))
    elif isinstance(example, list) and example and all(isinstance(r, dict) for r in example):
        example = pd.DataFrame(example)
    if isinstance(example, pd.DataFrame):
        return {"type": "dataframe",
                "columns": [{"name": str(c), "type": column_type(example[c])} for c in example.columns]}
    try:
        arr = np.asarray(example)
    except Exception:  # noqa: BLE001 - an exotic object simply has no schema
        return None
    if arr.ndim == 0:
        return None
    return {"type": "tensor", "dtype": _tensor_dtype(arr), "shape": [-1, *arr.shape[1:]]}


def infer(input_example, output_example=None) -> dict:
    """A signature from an example input (and optionally the model's output on it)."""
    inputs = schema_of(input_example)
    if inputs is None:
        raise InvalidInput(f"cannot infer a signature from a {type(input_example).__name__}; "
                           "give a DataFrame, a dict of lists, a list of dicts or an array")
    return {"inputs": inputs, "outputs": schema_of(output_example)}


def _listlike(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) or type(value).__name__ == "Series"


def describe(signature: dict | None) -> str:
    """One line: ``age: int64, country: string -> float64[-1]``."""
    if not signature:
        return "no signature"

    def one(s):
        if not s:
            return "?"
        if s.get("type") == "dataframe":
            return ", ".join(f"{c['name']}: {c['type']}" for c in s.get("columns", []))
        return f"{s.get('dtype')}{s.get('shape')}"

    return f"{one(signature.get('inputs'))} -> {one(signature.get('outputs'))}"


# --------------------------------------------------------------------------- enforcement


def enforce(signature: dict | None, X):
    """``X`` converted to what the model expects, or ``InvalidInput`` listing every problem."""
    if not signature or not signature.get("inputs"):
        return X
    spec = signature["inputs"]
    if spec.get("type") == "dataframe":
        return _enforce_frame(spec, X)
    if spec.get("type") == "tensor":
        return _enforce_tensor(spec, X)
    return X


def _to_frame(X, names: list[str]):
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame().T.infer_objects() if set(map(str, X.index)) & set(names) else X.to_frame()
    if isinstance(X, dict):
        if not X:
            raise InvalidInput("input is empty")
        return pd.DataFrame(X) if any(_listlike(v) for v in X.values()) else pd.DataFrame([X])
    if isinstance(X, list) and X and all(isinstance(r, dict) for r in X):
        return pd.DataFrame(X)
    try:
        arr = np.asarray(X, dtype=object) if isinstance(X, (list, tuple)) else np.asarray(X)
    except Exception:  # noqa: BLE001 - ragged lists and the like
        raise InvalidInput(f"cannot read a {type(X).__name__} as a table of inputs") from None
    if arr.ndim == 1 and len(names) > 1 and arr.shape[0] == len(names):
        arr = arr.reshape(1, -1)  # one row given as a flat list
    elif arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InvalidInput(f"input has {arr.ndim} dimensions; the model takes a table")
    if arr.shape[1] != len(names):
        raise InvalidInput(f"input has {arr.shape[1]} columns; the model expects {len(names)} "
                           f"({', '.join(names)})")
    frame = pd.DataFrame(arr, columns=names)
    return frame.infer_objects() if arr.dtype == object else frame


def _enforce_frame(spec: dict, X):
    import pandas as pd

    columns = spec.get("columns", [])
    names = [c["name"] for c in columns]
    frame = _to_frame(X, names)
    by_name = {str(c): c for c in frame.columns}
    missing = [n for n in names if n not in by_name]
    problems, out = [], {}
    for col in columns:
        name = col["name"]
        if name not in by_name:
            continue
        converted, problem = convert_column(frame[by_name[name]], col["type"])
        if problem:
            problems.append(f"column {name!r} should be {col['type']} but {problem}")
        out[name] = converted
    if missing or problems:
        parts = []
        if missing:
            word = "column" if len(missing) == 1 else "columns"
            parts.append(f"input is missing {word} {', '.join(map(repr, missing))}")
        parts.extend(problems)
        raise InvalidInput("; ".join(parts), missing=missing, wrong_types=problems)
    return pd.DataFrame(out, index=frame.index, columns=names)


def _holds(values) -> str:
    """What a column holds, in words, from its non-null values."""
    kinds = set()
    for v in values:
        if isinstance(v, str):
            kinds.add("strings")
        elif isinstance(v, (bool, np.bool_)):
            kinds.add("true/false values")
        elif isinstance(v, numbers.Number):
            kinds.add("numbers")
        else:
            kinds.add(f"{type(v).__name__} values")
    return "holds " + " and ".join(sorted(kinds)) if kinds else "holds no values"


def convert_column(series, expected: str):
    """(converted series, None) or (series, 'holds strings')-style problem text."""
    import pandas as pd

    if expected in (ANY, "list"):
        return series, None
    values = series.dropna()
    if expected.startswith(("float", "int", "uint")):
        if pd.api.types.is_bool_dtype(series.dtype):
            return series, "holds true/false values"
        if not pd.api.types.is_numeric_dtype(series.dtype):
            sample = values.tolist()
            if not all(isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_)) for v in sample):
                return series, _holds(v for v in sample if not isinstance(v, numbers.Number)
                                      or isinstance(v, (bool, np.bool_)))
            series = series.astype("float64")
        if expected.startswith("float"):
            return series.astype(expected), None
        if pd.api.types.is_integer_dtype(series.dtype):
            return series.astype(expected), None
        if series.isna().any():
            return series, "holds missing values"
        arr = series.to_numpy(dtype="float64")
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            return series, "holds non-integer numbers"
        return series.astype(expected), None
    if expected == BOOL:
        if pd.api.types.is_bool_dtype(series.dtype):
            return series, None
        bad = [v for v in values.tolist() if not isinstance(v, (bool, np.bool_))]
        return series, (_holds(bad) if bad else None)
    if expected == STRING:
        if isinstance(series.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        bad = [v for v in values.tolist() if not isinstance(v, str)]
        return series, (_holds(bad) if bad else None)
    if expected == DATETIME:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            return series, None
        try:
            return pd.to_datetime(series, format="mixed"), None
        except (ValueError, TypeError):
            return series, "holds values that are not dates"
    return series, None


def _enforce_tensor(spec: dict, X):
    import pandas as pd

    shape = spec.get("shape") or []
    dtype = spec.get("dtype", ANY)
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    elif isinstance(X, dict) or (isinstance(X, list) and X and all(isinstance(r, dict) for r in X)):
        raise InvalidInput("this model takes an array (no column names); give a 2-D list or array")
    try:
        arr = np.asarray(X)
    except Exception:  # noqa: BLE001 - ragged input
        raise InvalidInput(f"cannot read a {type(X).__name__} as an array") from None
    if shape and arr.ndim == len(shape) - 1:
        arr = arr.reshape(1, *arr.shape)  # a single example without the batch axis
    if shape and arr.ndim != len(shape):
        raise InvalidInput(f"input has {arr.ndim} dimensions; the model expects {len(shape)} "
                           f"(shape {shape})")
    for axis, (got, want) in enumerate(zip(arr.shape, shape)):
        if want not in (-1, None) and got != want:
            what = "columns" if axis == 1 and len(shape) == 2 else f"entries on axis {axis}"
            raise InvalidInput(f"input has {got} {what}; the model expects {want}")
    if dtype == ANY:
        return arr
    if dtype == STRING:
        if arr.dtype.kind not in "UO":
            raise InvalidInput(f"input should hold strings but holds {arr.dtype}")
        return arr
    if dtype == BOOL:
        if arr.dtype.kind != "b":
            raise InvalidInput(f"input should hold true/false values but holds {arr.dtype}")
        return arr
    if arr.dtype.kind in "US" or (arr.dtype.kind == "O" and any(isinstance(v, str) for v in arr.flat)):
        raise InvalidInput(f"input should hold {dtype} numbers but holds strings")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype("float64")
        except (TypeError, ValueError):
            raise InvalidInput(f"input should hold {dtype} numbers but holds other values") from None
    if arr.dtype.kind == "b":
        raise InvalidInput(f"input should hold {dtype} numbers but holds true/false values")
    if dtype.startswith(("int", "uint")) and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InvalidInput(f"input should hold {dtype} numbers but holds non-integer numbers")
    try:
        return arr.astype(dtype)
    except (TypeError, ValueError):
        raise InvalidInput(f"input should hold {dtype} numbers but holds {arr.dtype}") from None
