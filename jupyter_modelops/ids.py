"""Identifiers and clocks.

Every record gets its UUID where it is created, so pushing the same record twice to the
shared registry never makes two. The ids are time-ordered (UUIDv7 layout) so that
indexes on them stay append-mostly.
"""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    """A UUIDv7 as 32 lowercase hex digits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value).hex


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
