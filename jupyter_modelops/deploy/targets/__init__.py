"""Deployment targets, pluggable like papermill's engines.

A target is a class with::

    name: str             # "local", "batch", ...
    serving: bool         # runs a server that answers requests (follows aliases, goes to PRODUCTION)
    monitored: bool       # its predictions are logged and watched for drift
    check_config(config: dict) -> dict        # validated, with defaults
    start(store, deployment: dict) -> dict    # does the deployment; returns column updates
    stop(store, row) -> None                  # undoes what can be undone (stops a server)

Targets are found through the ``jupyter_modelops.deploy_targets`` entry point group; the
four built-in ones are known even when the package metadata is not installed (a source
checkout), and a plugin can add more with ``register_target`` or an entry point.
"""

from __future__ import annotations

import importlib
import re

from ...errors import InvalidInput

GROUP = "jupyter_modelops.deploy_targets"
BUILTIN = {
    "local": "jupyter_modelops.deploy.targets.local:LocalTarget",
    "batch": "jupyter_modelops.deploy.targets.batch:BatchTarget",
    "kserve": "jupyter_modelops.deploy.targets.kserve:KServeTarget",
    "container": "jupyter_modelops.deploy.targets.container:ContainerTarget",
}
_REGISTERED: dict[str, object] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def register_target(name: str, target) -> None:
    """Add a target class (or "module:Class" string) under ``name``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(f"target name {name!r} must be a short lowercase word")
    _REGISTERED[name] = target


def _entry_points() -> dict[str, str]:
    try:
        from importlib.metadata import entry_points

        return {ep.name: ep.value for ep in entry_points(group=GROUP)}
    except Exception:  # noqa: BLE001 - broken metadata must not break deployment
        return {}


def available() -> list[str]:
    return sorted({*BUILTIN, *_entry_points(), *_REGISTERED})


def _load(ref):
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def get_target(name) -> object:
    """An instance of the target called ``name`` (``InvalidInput`` naming the known ones)."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("give a deployment target, e.g. target='local'")
    ref = _REGISTERED.get(name) or _entry_points().get(name) or BUILTIN.get(name)
    if ref is None:
        raise InvalidInput(f"unknown deployment target {name!r} (known: {', '.join(available())})")
    cls = _load(ref)
    return cls() if isinstance(cls, type) else cls


def check_keys(config: dict, allowed: dict, target: str) -> dict:
    """``config`` with defaults filled in; unknown keys and wrong types are refused."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise InvalidInput(f"the {target} target's config must be a mapping")
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        import difflib

        hints = [difflib.get_close_matches(k, list(allowed), n=1) for k in unknown]
        hint = "".join(f"; did you mean {h[0]!r}?" for h in hints if h)
        raise InvalidInput(f"the {target} target does not know config {', '.join(map(repr, unknown))}"
                           f"{hint} (it knows {', '.join(sorted(allowed))})")
    out = {}
    for key, (types, default) in allowed.items():
        value = config.get(key, default)
        if value is not None and not isinstance(value, types) or (isinstance(value, bool) and bool not in (
                types if isinstance(types, tuple) else (types,))):
            names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
            raise InvalidInput(f"{target} config {key!r} must be {names}, not {type(value).__name__}")
        out[key] = value
    return out
