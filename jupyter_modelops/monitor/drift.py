"""Input drift: each feature of recent traffic against the version's reference data.

Per column, the test depends on the column's kind and on the sample sizes (the defaults
of the monitoring literature, e.g. Evidently's):

=============  ==============================  =====================================
column kind    small samples (≤ 1000 rows)     larger samples
=============  ==============================  =====================================
numeric        two-sample Kolmogorov–Smirnov,  Wasserstein distance normed by the
               drift when p < 0.05             reference's standard deviation, ≥ 0.1
categorical    chi-squared test of             Jensen–Shannon distance (base 2),
               homogeneity, p < 0.05           ≥ 0.1
=============  ==============================  =====================================

The population stability index (PSI, 10 reference-quantile bins or the categories) is
reported for every column. The dataset drifts when at least half of the columns drift
(``share``). When only a profile of the training data is known (means and standard
deviations, no rows), numeric columns get a z-test of the mean (``mean_shift``).

Everything is vectorised numpy/scipy on one pass of sorting per column; 100,000 rows × 30
columns take well under two seconds (``benchmarks/bench_drift.py``).
"""

from __future__ import annotations

import math

import numpy as np

from .records import ColumnDrift, DriftReport

SMALL = 1000
P_VALUE = 0.05
DISTANCE = 0.1
SHARE = 0.5
PSI_BINS = 10
CHART_BINS = 20
MAX_CATEGORIES = 30
EPS = 1e-4
NUMERIC, CATEGORICAL = "numeric", "categorical"


def column_kind(series) -> str:
    """numeric, or categorical (strings, booleans, categories, integers with few values)."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_integer_dtype(dtype) and series.nunique(dropna=True) <= 10:
        return CATEGORICAL
    return NUMERIC


def kinds_of(frame) -> dict[str, str]:
    return {str(c): column_kind(frame[c]) for c in frame.columns}


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def _num(series) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _psi(p: np.ndarray, q: np.ndarray) -> float:
    p = np.clip(p, EPS, None)
    q = np.clip(q, EPS, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _round(x, digits: int = 6):
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return x
    return round(x, digits)


def numeric_drift(name: str, ref: np.ndarray, cur: np.ndarray, small: bool | None = None) -> ColumnDrift:
    from scipy import stats

    ref_all, cur_all = len(ref), len(cur)
    ref, cur = _finite(ref), _finite(cur)
    base = dict(column=name, kind=NUMERIC, ref_rows=int(len(ref)), cur_rows=int(len(cur)),
                ref_missing=_round(1 - len(ref) / ref_all) if ref_all else 0.0,
                cur_missing=_round(1 - len(cur) / cur_all) if cur_all else 0.0)
    if len(ref) < 2 or len(cur) < 2:
        return ColumnDrift(test="none", statistic=None, p_value=None, threshold=None, drifted=False, psi=None,
                           **base, note="too few values to test")
    ref = np.sort(ref)
    cur = np.sort(cur)
    if small is None:
        small = min(len(ref), len(cur)) <= SMALL
    if small:
        res = stats.ks_2samp(ref, cur)
        test, stat, p, threshold = "ks", float(res.statistic), float(res.pvalue), P_VALUE
        drifted = p < threshold
    else:
        scale = float(np.std(ref))
        d = _wasserstein_sorted(ref, cur)
        stat = d / scale if scale > 0 else (0.0 if d == 0 else math.inf)
        test, p, threshold = "wasserstein", None, DISTANCE
        drifted = stat >= threshold
    # PSI on reference deciles (open-ended outer bins)
    inner = np.unique(ref[np.minimum((np.arange(1, PSI_BINS) * len(ref)) // PSI_BINS, len(ref) - 1)])
    rc = np.diff(np.concatenate(([0], np.searchsorted(ref, inner, "right"), [len(ref)])))
    cc = np.diff(np.concatenate(([0], np.searchsorted(cur, inner, "right"), [len(cur)])))
    psi = _psi(rc / len(ref), cc / len(cur))
    # chart: shares of both over common bins between the 0.5th and 99.5th percentiles
    lo = min(ref[int(0.005 * (len(ref) - 1))], cur[int(0.005 * (len(cur) - 1))])
    hi = max(ref[int(0.995 * (len(ref) - 1))], cur[int(0.995 * (len(cur) - 1))])
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, CHART_BINS + 1)
    rh = np.diff(np.searchsorted(ref, edges, "left"))
    ch = np.diff(np.searchsorted(cur, edges, "left"))
    rh[-1] += np.sum(ref == hi)
    ch[-1] += np.sum(cur == hi)
    chart = {"type": "histogram", "edges": [_round(e) for e in edges],
             "reference": [_round(x) for x in rh / len(ref)], "current": [_round(x) for x in ch / len(cur)]}
    summary = {"ref_mean": _round(ref.mean()), "cur_mean": _round(cur.mean()), "ref_std": _round(ref.std()),
               "cur_std": _round(cur.std()), "ref_median": _round(ref[len(ref) // 2]),
               "cur_median": _round(cur[len(cur) // 2])}
    return ColumnDrift(test=test, statistic=_round(stat), p_value=_round(p, 8) if p is not None else None,
                       threshold=threshold, drifted=bool(drifted), psi=_round(psi), chart=chart, summary=summary,
                       **base)


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """The 1-Wasserstein distance of two sorted samples (the area between their CDFs)."""
    allv = np.concatenate((u, v))
    allv.sort(kind="mergesort")
    deltas = np.diff(allv)
    ucdf = np.searchsorted(u, allv[:-1], "right") / len(u)
    vcdf = np.searchsorted(v, allv[:-1], "right") / len(v)
    return float(np.sum(np.abs(ucdf - vcdf) * deltas))


def _counts(series):
    import pandas as pd

    values = series.dropna()
    if not isinstance(values.dtype, pd.CategoricalDtype) and values.dtype != object:
        values = values.astype(str) if not pd.api.types.is_bool_dtype(values.dtype) else values.map(str)
    else:
        values = values.map(str)
    return values.value_counts(sort=False)


def categorical_drift(name: str, ref, cur, small: bool | None = None) -> ColumnDrift:
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    rcounts, ccounts = _counts(ref), _counts(cur)
    nr, nc = int(rcounts.sum()), int(ccounts.sum())
    base = dict(column=name, kind=CATEGORICAL, ref_rows=nr, cur_rows=nc,
                ref_missing=_round(1 - nr / len(ref)) if len(ref) else 0.0,
                cur_missing=_round(1 - nc / len(cur)) if len(cur) else 0.0)
    if nr == 0 or nc == 0:
        return ColumnDrift(test="none", statistic=None, p_value=None, threshold=None, drifted=False, psi=None,
                           **base, note="no values to test")
    cats = list(rcounts.sort_values(ascending=False).index)
    cats += [c for c in ccounts.sort_values(ascending=False).index if c not in rcounts.index]
    r = np.array([rcounts.get(c, 0) for c in cats], dtype=np.float64)
    c = np.array([ccounts.get(k, 0) for k in cats], dtype=np.float64)
    if small is None:
        small = min(nr, nc) <= SMALL
    if small:
        if len(cats) < 2:
            test, stat, p, threshold, drifted = "chi2", 0.0, 1.0, P_VALUE, False
        else:
            res = stats.chi2_contingency(np.vstack((r, c)))
            test, stat, p, threshold = "chi2", float(res[0]), float(res[1]), P_VALUE
            drifted = p < threshold
    else:
        stat = float(jensenshannon(r / nr, c / nc, base=2))
        test, p, threshold = "jensen_shannon", None, DISTANCE
        drifted = stat >= threshold
    psi = _psi(r / nr, c / nc)
    shown = cats[:MAX_CATEGORIES]
    rs, cs = list(r[:MAX_CATEGORIES] / nr), list(c[:MAX_CATEGORIES] / nc)
    if len(cats) > MAX_CATEGORIES:
        shown = shown + ["(other)"]
        rs.append(float(r[MAX_CATEGORIES:].sum() / nr))
        cs.append(float(c[MAX_CATEGORIES:].sum() / nc))
    chart = {"type": "bars", "categories": [str(x) for x in shown], "reference": [_round(x) for x in rs],
             "current": [_round(x) for x in cs]}
    new = [k for k in cats if k not in rcounts.index]
    summary = {"categories": len(cats), "new_categories": new[:10], "ref_top": str(cats[0]),
               "cur_top": str(ccounts.idxmax())}
    return ColumnDrift(test=test, statistic=_round(stat), p_value=_round(p, 8) if p is not None else None,
                       threshold=threshold, drifted=bool(drifted), psi=_round(psi), chart=chart, summary=summary,
                       **base)


def profile_drift(name: str, profile: dict, cur: np.ndarray) -> ColumnDrift:
    """Against a training profile only (mean and standard deviation): a z-test of the mean."""
    from scipy import stats

    cur_all = len(cur)
    cur = _finite(cur)
    mean, std = profile.get("mean"), profile.get("std")
    base = dict(column=name, kind=NUMERIC, ref_rows=0, cur_rows=int(len(cur)), ref_missing=None,
                cur_missing=_round(1 - len(cur) / cur_all) if cur_all else 0.0)
    if mean is None or not std or len(cur) < 2:
        return ColumnDrift(test="none", statistic=None, p_value=None, threshold=None, drifted=False, psi=None,
                           **base, note="the training profile has no mean/std for this column")
    z = abs(float(cur.mean()) - mean) / (std / math.sqrt(len(cur)))
    p = float(2 * stats.norm.sf(z))
    return ColumnDrift(test="mean_shift", statistic=_round(z), p_value=_round(p, 8), threshold=P_VALUE,
                       drifted=p < P_VALUE, psi=None, summary={"ref_mean": _round(mean), "ref_std": _round(std),
                                                               "cur_mean": _round(cur.mean())}, **base)


def compute_drift(reference, current, *, kinds: dict | None = None, columns=None, share: float = SHARE,
                  small: bool | None = None, profile: dict | None = None) -> DriftReport:
    """Drift of every column of ``current`` (a DataFrame) against ``reference`` (a
    DataFrame, or None with ``profile``: {column: {mean, std}})."""
    import pandas as pd

    if not isinstance(current, pd.DataFrame):
        current = pd.DataFrame(current)
    if reference is not None and not isinstance(reference, pd.DataFrame):
        reference = pd.DataFrame(reference)
    if columns is None:
        base = reference.columns if reference is not None else list((profile or {}).keys())
        columns = [str(c) for c in base if str(c) in set(map(str, current.columns))]
    kinds = dict(kinds or {})
    out = []
    for col in columns:
        cur = current[col]
        if reference is None:
            entry = (profile or {}).get(col) or {}
            if "mean" in entry:
                out.append(profile_drift(col, entry, _num(cur)))
            continue
        ref = reference[col]
        kind = kinds.get(col) or column_kind(ref)
        if kind == NUMERIC:
            out.append(numeric_drift(col, _num(ref), _num(cur), small))
        else:
            out.append(categorical_drift(col, ref, cur, small))
    tested = [c for c in out if c.test != "none"]
    drifted = sum(1 for c in tested if c.drifted)
    frac = drifted / len(tested) if tested else 0.0
    return DriftReport(reference_rows=int(len(reference)) if reference is not None else 0,
                       current_rows=int(len(current)), columns=out, drifted_columns=drifted,
                       drift_share=_round(frac), dataset_drift=bool(tested) and frac >= share, share_threshold=share)
