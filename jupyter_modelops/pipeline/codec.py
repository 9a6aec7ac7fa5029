"""How step outputs are written to files and read back, in safe formats first.

=============  ===========================================================  ==========
value          file                                                         format
=============  ===========================================================  ==========
DataFrame      Parquet (index and dtypes kept by pyarrow's pandas metadata)  parquet
Series         Parquet, one column; the name is kept in the info            parquet
ndarray        NumPy ``.npy`` written with ``allow_pickle=False``           npy
scikit-learn   skops (no code runs when loading; only known types load)     skops
JSON values    JSON (None, bool, int, float incl. NaN/inf, str, and lists,  json
               tuples and str-keyed dicts of those; NumPy scalars kept)
anything else  cloudpickle — *not* safe to load from an untrusted source,    pickle
               so every such value is flagged in the export and run reports
=============  ===========================================================  ==========

This module has no dependency on the rest of ``jupyter_modelops``, and its two public
functions are self-contained (every import and helper is inside them): the exported
Python package gets a verbatim copy (``_codec.py``), and the Kubeflow components embed
the two functions as they are, so every target reads and writes values the same way.
"""

from __future__ import annotations

FORMAT_VERSION = 1


def save_value(value, path):
    """Write ``value`` to the file ``path``; returns its info: ``{"format": ..., ...}``
    (JSON-serialisable; pass it back to ``load_value``). ``info["reason"]`` says why a
    value fell back to pickle."""
    import json
    import math
    import sys

    def json_encode(v, depth=0):
        if depth > 50:
            raise TypeError("nested too deeply")
        np = sys.modules.get("numpy")
        if np is not None and isinstance(v, np.generic):  # before float: np.float64 is a float
            if v.dtype.kind not in "biuf":
                raise TypeError(type(v).__name__)
            item = v.item()
            if isinstance(item, float) and (math.isnan(item) or math.isinf(item)):
                item = {"$float": repr(item)}
            return {"$numpy": v.dtype.str, "value": item}
        if v is None or isinstance(v, (bool, str)):
            if type(v) not in (bool, str, type(None)):
                raise TypeError(type(v).__name__)
            return v
        if isinstance(v, int):
            if type(v) is not int:  # an IntEnum or another subclass: not plain data
                raise TypeError(type(v).__name__)
            return v
        if isinstance(v, float):
            if type(v) is not float:
                raise TypeError(type(v).__name__)
            if math.isnan(v) or math.isinf(v):
                return {"$float": repr(v)}
            return v
        if isinstance(v, list) and type(v) is list:
            return [json_encode(x, depth + 1) for x in v]
        if isinstance(v, tuple) and type(v) is tuple:
            return {"$tuple": [json_encode(x, depth + 1) for x in v]}
        if isinstance(v, dict) and type(v) is dict:
            if not all(isinstance(k, str) for k in v):
                raise TypeError("dict with non-string keys")
            out = {k: json_encode(x, depth + 1) for k, x in v.items()}
            return {"$dict": out} if any(k.startswith("$") for k in v) else out
        raise TypeError(type(v).__name__)

    def sklearn_object(v):
        return any(c.__module__.split(".")[0] == "sklearn" for c in type(v).__mro__)

    def write_pickle(reason):
        import cloudpickle

        with open(path, "wb") as fh:
            cloudpickle.dump(value, fh, protocol=5)
        cls = type(value)
        return {"format": "pickle", "type": f"{cls.__module__}.{cls.__qualname__}", "reason": reason}

    cls = type(value)
    type_name = f"{cls.__module__}.{cls.__qualname__}"
    try:
        encoded = json_encode(value)
    except (TypeError, ValueError):
        pass
    else:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(encoded, fh, separators=(",", ":"))
        return {"format": "json", "type": type_name}

    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame(name="__series__") if isinstance(value, pd.Series) else value
        info = {"format": "parquet", "type": type_name}
        if isinstance(value, pd.Series):
            try:
                info["name"] = json_encode(value.name)
            except TypeError:
                return write_pickle(f"the Series name is a {type(value.name).__name__}")
        if not all(isinstance(c, str) for c in frame.columns):
            return write_pickle("Parquet needs string column names")
        try:
            frame.to_parquet(path, engine="pyarrow")
        except Exception as exc:  # noqa: BLE001 - mixed object columns and the like
            return write_pickle(f"Parquet could not store it ({type(exc).__name__}: {str(exc)[:200]})")
        return info

    np = sys.modules.get("numpy")
    if np is not None and type(value) is np.ndarray:
        if value.dtype.hasobject:
            return write_pickle("an object array cannot be stored without pickle")
        with open(path, "wb") as fh:
            np.save(fh, value, allow_pickle=False)
        return {"format": "npy", "type": type_name}

    if sklearn_object(value):
        try:
            import skops.io as sio

            sio.dump(value, path)
            untrusted = list(sio.get_untrusted_types(file=path))
        except Exception as exc:  # noqa: BLE001 - skops cannot store every estimator
            return write_pickle(f"skops could not store it ({type(exc).__name__}: {str(exc)[:200]})")
        known = ("numpy.", "sklearn.", "scipy.")
        foreign = [t for t in untrusted if not t.startswith(known)]
        if foreign:  # user-defined classes inside the model: loading them runs their code
            return write_pickle("it holds types skops does not know: " + ", ".join(foreign))
        return {"format": "skops", "type": type_name, "trusted": untrusted}

    return write_pickle(f"no safe format for {type_name}")


def load_value(path, info):
    """Read a value written by ``save_value`` (``info`` is what it returned)."""
    import json

    fmt = (info or {}).get("format")

    def json_decode(v):
        if isinstance(v, list):
            return [json_decode(x) for x in v]
        if isinstance(v, dict):
            if len(v) == 1 and "$float" in v:
                return float(v["$float"])
            if len(v) == 1 and "$tuple" in v:
                return tuple(json_decode(x) for x in v["$tuple"])
            if len(v) == 1 and "$dict" in v:
                return {k: json_decode(x) for k, x in v["$dict"].items()}
            if len(v) == 2 and "$numpy" in v:
                import numpy as np

                return np.dtype(v["$numpy"]).type(json_decode(v["value"]))
            return {k: json_decode(x) for k, x in v.items()}
        return v

    if fmt == "json":
        with open(path, encoding="utf-8") as fh:
            return json_decode(json.load(fh))
    if fmt == "parquet":
        import pandas as pd

        frame = pd.read_parquet(path, engine="pyarrow")
        if info.get("type", "").endswith(".Series"):
            series = frame["__series__"]
            series.name = json_decode(info.get("name"))
            return series
        return frame
    if fmt == "npy":
        import numpy as np

        return np.load(path, allow_pickle=False)
    if fmt == "skops":
        import skops.io as sio

        trusted = [t for t in sio.get_untrusted_types(file=path)
                   if t in set(info.get("trusted") or ())]
        return sio.load(path, trusted=trusted)
    if fmt == "pickle":
        import cloudpickle

        with open(path, "rb") as fh:
            return cloudpickle.load(fh)
    raise ValueError(f"unknown value format {fmt!r}")
