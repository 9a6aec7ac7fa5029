"""jupyter-modelops: experiment tracking, a governed model registry, deployment and
monitoring, from the notebook.

    import jupyter_modelops as mo
    with mo.start_run(experiment="churn"):
        mo.log_param("C", 1.0)
        mo.log_metric("accuracy", 0.93)

Everything is imported lazily so that ``import jupyter_modelops`` and
``%load_ext jupyter_modelops`` stay fast.
"""

from __future__ import annotations

from ._version import __version__

_FLUENT = {
    "start_run", "end_run", "active_run", "log_param", "log_params", "set_tag", "set_tags",
    "log_metric", "log_metrics", "log_artifact", "log_text", "log_dict", "log_figure",
    "log_input", "log_model", "flush", "get_run", "search_runs", "compare_runs",
    "register_model", "load_model", "set_alias", "configure", "get_client", "set_client",
}
_GOVERNANCE = {
    "request_deployment", "list_requests", "get_request", "approve_request", "reject_request",
    "transition", "get_model_card", "update_model_card", "set_model_info", "inventory",
}
_CAPABILITY_FLUENT = {
    **{n: "jupyter_modelops.deploy.fluent" for n in (
        "deploy", "batch_score", "deployments", "stop_deployment", "promote", "rollback")},
    **{n: "jupyter_modelops.monitor.fluent" for n in (
        "log_ground_truth", "drift_report", "check_monitor", "monitor_events")},
}
_LAZY = {
    "Client": ("jupyter_modelops.client", "Client"),
    "autolog": ("jupyter_modelops.tracking.autolog", "autolog"),
    "ExternalModel": ("jupyter_modelops.registry.external", "ExternalModel"),
    "errors": ("jupyter_modelops.errors", None),
    "ModelOpsError": ("jupyter_modelops.errors", "ModelOpsError"),
}

__all__ = sorted(_FLUENT | _GOVERNANCE | set(_CAPABILITY_FLUENT) | set(_LAZY) | {"__version__"})


def __getattr__(name: str):
    import importlib

    if name in _FLUENT:
        value = getattr(importlib.import_module("jupyter_modelops.fluent"), name)
    elif name in _GOVERNANCE:
        value = getattr(importlib.import_module("jupyter_modelops.governance.fluent"), name)
    elif name in _CAPABILITY_FLUENT:
        value = getattr(importlib.import_module(_CAPABILITY_FLUENT[name]), name)
    elif name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
    else:
        raise AttributeError(f"module 'jupyter_modelops' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__


def load_ipython_extension(ip) -> None:
    """``%load_ext jupyter_modelops``: registers ``%%track`` and ``%modelops``."""
    from .kernel.magics import load_ipython_extension as _load

    _load(ip)


def unload_ipython_extension(ip) -> None:
    from .kernel.magics import unload_ipython_extension as _unload

    _unload(ip)


def _jupyter_server_extension_points():
    """The REST API server extension (imported only when a Jupyter server loads it)."""
    from .server.app import ModelOpsExtension

    return [{"module": "jupyter_modelops.server.app", "app": ModelOpsExtension}]


def _jupyter_labextension_paths():
    """The JupyterLab sidebar, built into ``labextension/`` when the package is built."""
    return [{"src": "labextension", "dest": "jupyter-modelops"}]
