"""Notebook widgets (ipywidgets 8; the metric chart is an anywidget drawn in the browser).

Every widget also renders as static HTML, Markdown and text, so exported notebooks keep
their tables. Imported lazily: ``import jupyter_modelops.kernel.widgets`` is cheap and a
widget class loads ipywidgets (and anywidget) only when first used.
"""

from __future__ import annotations

_EXPORTS = {
    "RunsTable": "runs", "CompareView": "runs", "MetricChart": "chart", "RunView": "run_view",
    "ModelsTable": "models", "VersionsTable": "models", "ModelVersionView": "models",
    "DeployRequestForm": "deploy",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    import importlib

    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
