"""Runs inside the notebook's kernel during a parity check: store the values a step has
just computed, in the same content-addressed store and formats as the pipeline."""

from __future__ import annotations

import json
from pathlib import Path


def save(namespace: dict, label: str, names: list[str], objects: str, target: str) -> None:
    from .worker import store_value

    out: dict = {}
    for name in names:
        if name not in namespace:
            out[name] = {"missing": True}
            continue
        try:
            out[name] = store_value(namespace[name], objects)
        except Exception as exc:  # noqa: BLE001 - reported, not raised into the notebook
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps({"label": label, "values": out}))


def code(label: str, names: list[str], objects: str, target: str) -> str:
    """The cell the parity check adds; it binds no name in the notebook's namespace."""
    return (f"__import__('jupyter_modelops.pipeline.capture', fromlist=['save']).save("
            f"globals(), {label!r}, {names!r}, {objects!r}, {target!r})")
