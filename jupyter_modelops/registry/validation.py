"""Checks on registry names, aliases and tags, shared by every registry entry point.

Model names appear in URIs (``models:/<name>/<version>``) and REST paths, hence no ``/``;
aliases are short machine-friendly words and never look like version numbers, so
``models:/churn/3`` and ``models:/churn@champion`` can never be confused.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput

MAX_NAME = 255
MAX_ALIAS = 64
MAX_TAG_KEY = 250
RESERVED_ALIASES = ("latest",)
_ALIAS = re.compile(r"^[a-z0-9_-]+$")


def check_model_name(name) -> str:
    if not isinstance(name, str):
        raise InvalidInput(f"model name must be a string, not {type(name).__name__}")
    if not name or not name.strip():
        raise InvalidInput("model name must not be empty")
    if name != name.strip():
        raise InvalidInput(f"model name {name!r} must not start or end with spaces")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"model name {name[:40]!r}… is longer than {MAX_NAME} characters")
    if "/" in name:
        raise InvalidInput(f"model name {name!r} must not contain '/'")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(f"model name {name!r} contains control characters")
    return name


def check_alias(alias) -> str:
    if not isinstance(alias, str):
        raise InvalidInput(f"alias must be a string, not {type(alias).__name__}")
    if not alias or len(alias) > MAX_ALIAS:
        raise InvalidInput(f"alias {alias[:40]!r} must have 1 to {MAX_ALIAS} characters")
    if not _ALIAS.match(alias):
        raise InvalidInput(
            f"alias {alias!r} may contain only lowercase letters, digits, '-' and '_'"
        )
    if alias.isdigit():
        raise InvalidInput(f"alias {alias!r} must not be purely numeric (it would read as a version)")
    if alias in RESERVED_ALIASES:
        raise InvalidInput(f"alias {alias!r} is reserved (it always means the newest version)")
    return alias


def check_version_number(version) -> int:
    if isinstance(version, bool):
        raise InvalidInput("version must be an integer, not bool")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if not isinstance(version, int):
        raise InvalidInput(f"version must be an integer, not {type(version).__name__}")
    if version < 1:
        raise InvalidInput(f"version must be 1 or more, not {version}")
    return version


def check_tags(tags) -> dict[str, str]:
    """Tags are a flat mapping of short keys to text (values are stringified)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInput(f"tags must be a mapping, not {type(tags).__name__}")
    out = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY:
            raise InvalidInput(f"tag key {key!r} must be a string of 1 to {MAX_TAG_KEY} characters")
        if any(ord(c) < 32 for c in key):
            raise InvalidInput(f"tag key {key!r} contains control characters")
        out[key] = None if value is None else str(value)
    return out


def merge_tags(current: dict, changes: dict) -> dict:
    """Apply tag changes: a None value removes the key."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
