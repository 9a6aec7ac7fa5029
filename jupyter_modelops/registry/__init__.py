"""The model registry: named models, numbered versions, aliases, lineage and packages.

``models.py`` holds the services (store side), ``api.py`` the client-side workflows
(log, register, load), ``package.py`` the package format, ``flavors/`` the per-kind
serialisers, ``signature.py`` input checking, ``rules.py`` rules tables (their expression
language in ``rules_syntax.py`` and ``rules_eval.py``), ``external.py`` references to
models that run elsewhere, and ``validation.py`` the checks on names, aliases and tags.

Nothing heavy is imported here; the names below load on first use.
"""

from __future__ import annotations

_LAZY = {
    "ExternalModel": ("external", "ExternalModel"),
    "RulesTable": ("rules", "RulesTable"),
    "LoadedModel": ("api", "LoadedModel"),
    "ModelInfo": ("api", "ModelInfo"),
    "RegisteredModel": ("records", "RegisteredModel"),
    "ModelVersion": ("records", "ModelVersion"),
    "AliasEvent": ("records", "AliasEvent"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
