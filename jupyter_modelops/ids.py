"""Identifiers and clocks.

Every record gets its UUID where it is created, so pushing the same record twice to the
shared registry never makes two. Ids are random (UUIDv4): people refer to runs by the
first 8 hex digits shown in tables, and those must differ even for runs started in the
same millisecond (time-ordered ids would share them).
"""

from __future__ import annotations

import time
import uuid


def new_id() -> str:
    """A random UUID as 32 lowercase hex digits."""
    return uuid.uuid4().hex


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def normalize_id(value: str, what: str = "id") -> str:
    """Accept hex with or without dashes; raise ``InvalidInput`` otherwise."""
    from .errors import InvalidInput

    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, not {type(value).__name__}")
    text = value.strip().lower().replace("-", "")
    if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(f"{what} {value!r} is not a valid id (32 hex digits)")
    return text
