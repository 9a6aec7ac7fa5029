"""ONNX models, run with onnxruntime. Optional: needs ``pip install jupyter-modelops[onnx]``.

ONNX files are declarative graphs (no code runs on load), so they need no trust.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InvalidInput
from . import one_line

NAME = "onnx"
KIND = "onnx"
FILE = "model.onnx"
_ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64",
              "tensor(int32)": "int32", "tensor(bool)": "bool", "tensor(string)": "string"}


def _np_dtype(ort_type: str):
    dtype = _ORT_TYPES.get(ort_type)
    return object if dtype == "string" else dtype


def can_save(obj) -> bool:
    cls = type(obj)
    return cls.__name__ == "ModelProto" and cls.__module__.split(".")[0] == "onnx"


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidInput(f"the onnx flavor needs {module}: pip install 'jupyter-modelops[onnx]'") from None


def _graph_io(values) -> list[dict]:
    onnx = _require("onnx")
    out = []
    for v in values:
        t = v.type.tensor_type
        try:
            dtype = str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)))
        except Exception:  # noqa: BLE001 - sequence/map outputs (e.g. ZipMap) have no tensor type
            dtype = "any"
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": v.name, "dtype": "string" if dtype == "object" else dtype, "shape": shape})
    return out


def save(obj, folder: Path, **opts) -> dict:
    if opts:
        raise InvalidInput(f"the onnx flavor takes no options (got {', '.join(opts)})")
    onnx = _require("onnx")
    data = bytes(obj) if isinstance(obj, (bytes, bytearray)) else obj.SerializeToString()
    try:
        proto = onnx.load_from_string(data)
        onnx.checker.check_model(proto)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(f"not a valid ONNX model: {one_line(exc)}") from None
    (folder / FILE).write_bytes(data)
    return {"file": FILE, "opset": [{"domain": o.domain, "version": o.version} for o in proto.opset_import],
            "inputs": _graph_io(proto.graph.input), "outputs": _graph_io(proto.graph.output),
            "onnx_version": onnx.__version__}


def requires_trust(info: dict) -> bool:
    return False


def default_signature(obj, info: dict) -> dict | None:
    inputs = info.get("inputs") or []
    if len(inputs) != 1:
        return None
    first = inputs[0]
    shape = [-1, *first["shape"][1:]] if first["shape"] else [-1]
    return {"inputs": {"type": "tensor", "dtype": first["dtype"], "shape": shape}, "outputs": None}


class OnnxModel:
    """An onnxruntime session behind ``predict`` (first output) and ``predict_proba``."""

    def __init__(self, session) -> None:
        self.session = session
        self.inputs = session.get_inputs()
        self.outputs = session.get_outputs()

    def _run(self, X):
        if len(self.inputs) != 1:
            if not isinstance(X, dict):
                names = ", ".join(i.name for i in self.inputs)
                raise InvalidInput(f"this ONNX model has several inputs; pass a dict with {names}")
            missing = [i.name for i in self.inputs if i.name not in X]
            if missing:
                raise InvalidInput(f"input is missing {', '.join(map(repr, missing))}")
            feed = {i.name: np.asarray(X[i.name], dtype=_np_dtype(i.type)) for i in self.inputs}
        else:
            i = self.inputs[0]
            try:
                feed = {i.name: np.asarray(X, dtype=_np_dtype(i.type))}
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"the ONNX model takes {i.type}: {one_line(exc)}") from None
        try:
            return self.session.run(None, feed)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors are long C++ messages
            raise InvalidInput(f"onnxruntime refused the input: {one_line(exc)}") from None

    def predict(self, X):
        return self._run(X)[0]

    def predict_proba(self, X):
        outputs = self._run(X)
        if len(outputs) < 2:
            raise InvalidInput("this ONNX model has a single output (no probabilities)")
        proba = outputs[1]
        if isinstance(proba, list) and proba and isinstance(proba[0], dict):  # skl2onnx ZipMap
            keys = sorted(proba[0])
            return np.array([[row[k] for k in keys] for row in proba])
        return np.asarray(proba)


def load(folder: Path, info: dict, *, trusted=False):
    ort = _require("onnxruntime")
    data = (folder / str(info.get("file", FILE))).read_bytes()
    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(f"onnxruntime cannot load the model: {one_line(exc)}") from None
    return OnnxModel(session)
