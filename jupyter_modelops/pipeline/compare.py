"""Are two values the same, within tolerances? (notebook value vs pipeline value)

``compare_values(a, b)`` returns ``(True | False | None, detail)``; None means the values
cannot be compared (a figure, a function), which the parity report shows as such rather
than as a pass. Numbers and arrays compare with ``rtol``/``atol`` (NaN equals NaN);
frames and series with pandas' own testing helpers; fitted scikit-learn models by class,
parameters and every fitted attribute (``coef_``, ``estimators_``, a tree's nodes...).
"""

from __future__ import annotations

import math
import sys

MAX_DEPTH = 12


def _np():
    return sys.modules.get("numpy")


def _pd():
    return sys.modules.get("pandas")


def _is_number(x) -> bool:
    np = _np()
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return True
    return np is not None and isinstance(x, np.generic) and x.dtype.kind in "iuf"


def compare_values(a, b, rtol: float = 1e-6, atol: float = 1e-9, _path: str = "", _depth: int = 0):
    where = f" at {_path}" if _path else ""
    if _depth > MAX_DEPTH:
        return None, f"nested too deeply to compare{where}"
    np, pd = _np(), _pd()
    if a is b:
        return True, ""
    if _is_number(a) and _is_number(b):
        fa, fb = float(a), float(b)
        if math.isnan(fa) and math.isnan(fb):
            return True, ""
        if math.isclose(fa, fb, rel_tol=rtol, abs_tol=atol):
            return True, ""
        return False, f"{fa!r} vs {fb!r}{where}"
    if pd is not None and isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        return _pandas(pd.testing.assert_frame_equal, a, b, rtol, atol, where)
    if pd is not None and isinstance(a, pd.Series) and isinstance(b, pd.Series):
        return _pandas(pd.testing.assert_series_equal, a, b, rtol, atol, where)
    if pd is not None and isinstance(a, pd.Index) and isinstance(b, pd.Index):
        return _pandas(pd.testing.assert_index_equal, a, b, rtol, atol, where)
    if np is not None and isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return _arrays(a, b, rtol, atol, where, _path, _depth)
    if type(a) is not type(b):
        return False, f"{type(a).__name__} vs {type(b).__name__}{where}"
    if isinstance(a, (str, bytes, bool, type(None))):
        return (True, "") if a == b else (False, f"{_short(a)} vs {_short(b)}{where}")
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return False, f"length {len(a)} vs {len(b)}{where}"
        for i, (x, y) in enumerate(zip(a, b)):
            ok, detail = compare_values(x, y, rtol, atol, f"{_path}[{i}]", _depth + 1)
            if not ok:
                return ok, detail
        return True, ""
    if isinstance(a, dict):
        if set(a) != set(b):
            diff = sorted(map(str, set(a) ^ set(b)))[:5]
            return False, f"keys differ ({', '.join(diff)}){where}"
        for k in a:
            ok, detail = compare_values(a[k], b[k], rtol, atol, f"{_path}[{k!r}]", _depth + 1)
            if not ok:
                return ok, detail
        return True, ""
    if isinstance(a, (set, frozenset)):
        return (True, "") if a == b else (False, f"sets differ{where}")
    if _is_sklearn(a):
        return _estimators(a, b, rtol, atol, _path, _depth)
    if type(a).__module__.startswith("matplotlib"):
        return None, f"a {type(a).__name__} (figure objects are not compared)"
    if callable(a) and not hasattr(a, "__dict__") or type(a).__name__ in ("function", "module", "builtin_function_or_method"):
        return None, f"a {type(a).__name__}"
    eq = type(a).__eq__
    if eq is not object.__eq__:
        try:
            same = a == b
            if isinstance(same, bool):
                return (True, "") if same else (False, f"{_short(a)} vs {_short(b)}{where}")
        except Exception:  # noqa: BLE001 - fall through to the object's state
            pass
    state_a, state_b = _state(a), _state(b)
    if state_a is None or state_b is None:
        return None, f"a {type(a).__name__} without comparable state"
    return compare_values(state_a, state_b, rtol, atol, f"{_path}.__state__" if _path else "state", _depth + 1)


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _pandas(check, a, b, rtol, atol, where):
    try:
        check(a, b, check_exact=False, rtol=rtol, atol=atol)
    except AssertionError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return False, (" ".join(lines[:3]))[:300] + where
    return True, ""


def _arrays(a, b, rtol, atol, where, path, depth):
    np = _np()
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs {b.shape}{where}"
    if a.dtype.names or b.dtype.names:  # structured (a tree's nodes): field by field
        if a.dtype.names != b.dtype.names:
            return False, f"fields differ{where}"
        for name in a.dtype.names:
            ok, detail = _arrays(a[name], b[name], rtol, atol, f"{where}.{name}" if where else f" at .{name}",
                                 path, depth)
            if not ok:
                return ok, detail
        return True, ""
    if a.dtype.kind in "iufcb" and b.dtype.kind in "iufcb":
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
            if bool(close.all()):
                return True, ""
            bad = int((~close).sum())
            diff = np.abs(a.astype(float) - b.astype(float))
            worst = float(np.nanmax(np.where(close, 0, diff)))
            return False, f"{bad} of {a.size} values differ (max difference {worst:.3g}){where}"
        if np.array_equal(a, b):
            return True, ""
        return False, f"{int((a != b).sum())} of {a.size} values differ{where}"
    if a.dtype.hasobject or b.dtype.hasobject:
        for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
            ok, detail = compare_values(x, y, rtol, atol, f"{path}[{i}]", depth + 1)
            if not ok:
                return ok, detail
        return True, ""
    return (True, "") if np.array_equal(a, b) else (False, f"arrays differ{where}")


def _is_sklearn(x) -> bool:
    return any(c.__module__.split(".")[0] == "sklearn" for c in type(x).__mro__)


def _estimators(a, b, rtol, atol, path, depth):
    name = type(a).__name__
    if not hasattr(a, "__dict__") or not hasattr(b, "__dict__"):  # compiled state (a tree)
        state_a, state_b = _state(a), _state(b)
        if state_a is None or state_b is None:
            return None, f"a {name} without comparable state"
        return compare_values(state_a, state_b, rtol, atol, f"{path or name}.__state__", depth + 1)
    try:
        pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    except Exception:  # noqa: BLE001 - not an estimator after all
        pa = pb = None
    if pa is not None:
        ok, detail = compare_values(pa, pb, rtol, atol, f"{path or name}.params", depth + 1)
        if not ok:
            return ok, detail
    fitted_a = sorted(k for k in vars(a) if k.endswith("_") and not k.startswith("_"))
    fitted_b = sorted(k for k in vars(b) if k.endswith("_") and not k.startswith("_"))
    if fitted_a != fitted_b:
        return False, f"{name} fitted attributes differ ({', '.join(sorted(set(fitted_a) ^ set(fitted_b))[:4])})"
    for k in fitted_a:
        ok, detail = compare_values(getattr(a, k), getattr(b, k), rtol, atol, f"{path or name}.{k}", depth + 1)
        if ok is False:
            return ok, detail
    if pa is None and not fitted_a:
        state_a, state_b = _state(a), _state(b)
        if state_a is not None and state_b is not None:
            return compare_values(state_a, state_b, rtol, atol, f"{path or name}.__state__", depth + 1)
    return True, ""


def _state(x):
    try:
        state = x.__getstate__()
    except Exception:  # noqa: BLE001
        state = getattr(x, "__dict__", None)
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
        state = state[1]
    return state if isinstance(state, dict) else None
