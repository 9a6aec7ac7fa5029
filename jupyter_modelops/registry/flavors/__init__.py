"""Flavors: how each kind of model is written into a package folder and read back.

A flavor is a module with::

    NAME, KIND                      # flavor name, registered-model kind it implies
    can_save(obj) -> bool           # cheap: must not import heavy libraries to say no
    save(obj, folder, **opts) -> dict          # writes files, returns the manifest's flavor_info
    load(folder, info, *, trusted) -> object   # has .predict(X)
    requires_trust(info) -> bool    # True when loading runs code from the files (pickles)
    default_signature(obj, info) -> dict | None   # optional

Modules are imported only when used, so ``import jupyter_modelops`` stays fast and the
optional ones (onnx) cost nothing where their libraries are missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ...errors import InvalidInput

FLAVORS: dict[str, str] = {
    "external": "jupyter_modelops.registry.flavors.external",
    "rules": "jupyter_modelops.registry.flavors.rules",
    "onnx": "jupyter_modelops.registry.flavors.onnx",
    "sklearn": "jupyter_modelops.registry.flavors.sklearn",
    "pyfunc": "jupyter_modelops.registry.flavors.pyfunc",
}
# Most specific first: pyfunc accepts anything with .predict, so it is the fallback.
DETECTION_ORDER: list[str] = ["external", "rules", "onnx", "sklearn", "pyfunc"]


def register_flavor(name: str, module: str, *, detect: bool = True) -> None:
    """Add a flavor (e.g. from a plugin); it is tried before the pyfunc fallback."""
    FLAVORS[name] = module
    if detect and name not in DETECTION_ORDER:
        DETECTION_ORDER.insert(DETECTION_ORDER.index("pyfunc"), name)


def get_flavor(name: str) -> ModuleType:
    if name not in FLAVORS:
        raise InvalidInput(f"unknown model flavor {name!r} (known: {', '.join(sorted(FLAVORS))})")
    return importlib.import_module(FLAVORS[name])


def detect_flavor(obj) -> str:
    """The flavor that saves ``obj``, most specific first."""
    for name in DETECTION_ORDER:
        if get_flavor(name).can_save(obj):
            return name
    raise InvalidInput(
        f"cannot register a {type(obj).__name__}: give a fitted scikit-learn estimator, an ONNX "
        "model, a rules table, an ExternalModel, or a function / object with .predict"
    )


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of message`` — for wrapping third-party errors without tracebacks."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"
