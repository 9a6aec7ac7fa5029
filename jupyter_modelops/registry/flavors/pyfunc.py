"""Plain Python models: a function of a table, or any object with ``.predict``.

They are stored as a cloudpickle (so closures and notebook-defined code work) plus a
best-effort snapshot of their source for reviewers. Unpickling runs code, so loading
needs ``trusted=True`` — the manifest marks these packages ``requires_trust``.
"""

from __future__ import annotations

import inspect
import platform
from pathlib import Path

from ...errors import InvalidInput, PolicyViolation
from . import one_line

NAME = "pyfunc"
KIND = "pyfunc"
PICKLE = "model.pkl"
SOURCE = "source.py"


def can_save(obj) -> bool:
    return callable(getattr(obj, "predict", None)) or (callable(obj) and not isinstance(obj, type))


def _source(obj) -> str | None:
    for target in (obj, type(obj)):
        try:
            return inspect.getsource(target)
        except (OSError, TypeError):
            continue
    return None


def save(obj, folder: Path, **opts) -> dict:
    import cloudpickle

    if opts:
        raise InvalidInput(f"the pyfunc flavor takes no options (got {', '.join(opts)})")
    try:
        data = cloudpickle.dumps(obj)
    except Exception as exc:  # noqa: BLE001 - unpicklable closures, open files, locks...
        raise InvalidInput(f"cannot save this {type(obj).__name__} as a pyfunc: {one_line(exc)}") from None
    (folder / PICKLE).write_bytes(data)
    source = _source(obj)
    if source:
        (folder / SOURCE).write_text(source, encoding="utf-8")
    kind = "predict" if callable(getattr(obj, "predict", None)) else "function"
    return {
        "pickle": PICKLE,
        "source": SOURCE if source else None,
        "interface": kind,
        "object": getattr(obj, "__qualname__", None) or type(obj).__qualname__,
        "module": getattr(obj, "__module__", None) or type(obj).__module__,
        "python": platform.python_version(),
        "cloudpickle_version": cloudpickle.__version__,
    }


def requires_trust(info: dict) -> bool:
    return True


class FunctionModel:
    """Gives a plain function the ``.predict`` of a model."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def predict(self, X):
        return self.fn(X)

    def __repr__(self) -> str:
        return f"<FunctionModel {getattr(self.fn, '__qualname__', self.fn)!r}>"


def load(folder: Path, info: dict, *, trusted=False):
    if trusted is not True:
        raise PolicyViolation(
            "pyfunc models run arbitrary code; load with trusted=True if you trust "
            f"whoever registered it (its source is in the package as {info.get('source') or 'n/a'})"
        )
    import cloudpickle

    data = (folder / str(info.get("pickle", PICKLE))).read_bytes()
    try:
        obj = cloudpickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - missing modules, Python version skew...
        made_with = info.get("python")
        hint = f" (saved with Python {made_with})" if made_with and made_with != platform.python_version() else ""
        raise InvalidInput(f"could not load the pyfunc model: {one_line(exc)}{hint}") from None
    if callable(getattr(obj, "predict", None)):
        return obj
    if callable(obj):
        return FunctionModel(obj)
    raise InvalidInput(f"the pyfunc package holds a {type(obj).__name__}, which has no .predict")
