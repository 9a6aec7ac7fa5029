"""Checks on user-supplied names and values, shared by every tracking entry point."""

from __future__ import annotations

import math
import numbers
import re

from ..errors import InvalidInput
from ..store.schema import KEY, PARAM_VALUE

_KEY = re.compile(r"^[\w\-. /:]+$")
_valid_keys: set[str] = set()


def check_key(key: str, what: str = "key") -> str:
    """Metric, param and tag keys: word characters, ``- . / :`` and spaces, ≤ 250 chars."""
    if key in _valid_keys:  # hot path of log_metric
        return key
    if not isinstance(key, str):
        raise InvalidInput(f"{what} must be a string, not {type(key).__name__}")
    if not key or key != key.strip():
        raise InvalidInput(f"{what} {key!r} must be non-empty without surrounding spaces")
    if len(key) > KEY:
        raise InvalidInput(f"{what} {key[:40]!r}… is longer than {KEY} characters")
    if not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidInput(
            f"{what} {key!r} may contain only letters, digits, '_', '-', '.', '/', ':' and spaces"
        )
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


def check_metric_value(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:  # numpy scalars and 0-d arrays
            import numpy as np

            if isinstance(value, np.ndarray) and value.shape == ():
                value = value.item()
                if isinstance(value, numbers.Real) and not isinstance(value, bool):
                    return float(value)
            if isinstance(value, np.generic) and not isinstance(value, np.bool_):
                return float(value)
        except ImportError:  # pragma: no cover
            pass
        raise InvalidInput(
            f"metric {key!r} must be a number, not {type(value).__name__} ({value!r:.40})"
        )
    return float(value)


def check_step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(f"step must be an integer, not {type(step).__name__}")
    return int(step)


def param_text(key: str, value) -> str:
    """Params are stored as text; floats keep their repr so '0.1' stays '0.1'."""
    if isinstance(value, float) and math.isnan(value):
        text = "nan"
    elif isinstance(value, (str, int, float, bool)) or value is None:
        text = str(value)
    else:
        try:
            import numpy as np

            if isinstance(value, np.generic):
                return param_text(key, value.item())
        except ImportError:  # pragma: no cover
            pass
        text = str(value)
    if "\x00" in text:
        raise InvalidInput(f"param {key!r} contains a NUL character")
    if len(text) > PARAM_VALUE:
        raise InvalidInput(
            f"param {key!r} is {len(text)} characters long (limit {PARAM_VALUE}); "
            "log long values with log_text or log_dict"
        )
    return text


def check_name(name: str, what: str = "name", limit: int = 255) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{what} must be a non-empty string")
    if len(name) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if any(ord(c) < 32 for c in name):
        raise InvalidInput(f"{what} {name!r} contains control characters")
    return name.strip()
