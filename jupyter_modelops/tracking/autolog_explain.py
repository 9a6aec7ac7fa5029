"""Feature importances of a fitted estimator, as an explainability artifact.

The model's own importances are used when it has them (``feature_importances_``, or the
magnitude of ``coef_``); otherwise permutation importance on a bounded sample, so a
model of any kind gets an explanation without making ``fit`` noticeably slower.
"""

from __future__ import annotations

MAX_PERMUTATION_ROWS = 2000
MIN_PERMUTATION_ROWS = 200
MAX_PERMUTATION_FEATURES = 100  # cost grows with features × repeats
CHART_FEATURES = 20


def feature_names(estimator, X) -> list[str] | None:
    columns = getattr(X, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(c) for c in names]
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        return [f"x{i}" for i in range(shape[1])]
    return None


def compute(estimator, X, y=None, sample_weight=None, repeats: int = 5,
            budget: float = 2.0) -> dict | None:
    """``{"method", "estimator", "importances": [{feature, importance, std?}, ...]}``
    sorted by importance, or None when nothing sensible can be computed.

    Permutation importance aims at ``budget`` seconds: fewer rows, then fewer repeats,
    for a model that predicts slowly (the JSON says how many of each were used)."""
    import numpy as np
    from sklearn.base import is_classifier, is_regressor

    from .autolog_search import is_search

    model = getattr(estimator, "best_estimator_", None) if is_search(estimator) else estimator
    if model is None:  # a search with refit=False has no model to explain
        return None
    inputs = feature_names(model, X)
    final, names = _final_step(model, inputs)
    found = _native(final)
    extra = {}
    if found is not None:
        method, values, std = found
    elif y is not None and (is_classifier(model) or is_regressor(model)) and _permutable(X):
        method, names, final = "permutation", inputs, model  # the whole model is permuted
        values, std, extra = _permutation(model, X, y, sample_weight, repeats, budget)
    else:
        return None
    values = np.asarray(values, dtype=float).ravel()
    if names is None or len(names) != len(values):
        names = [f"x{i}" for i in range(len(values))]
    rows = []
    for i in np.argsort(-values, kind="stable"):
        row = {"feature": names[i], "importance": float(values[i])}
        if std is not None:
            row["std"] = float(std[i])
        rows.append(row)
    return {"method": method, "estimator": type(final).__name__, **extra, "importances": rows}


def _final_step(model, inputs):
    """The step whose importances are meaningful, and the names of *its* input features."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return model, inputs
    final = model.steps[-1][1]
    names = getattr(final, "feature_names_in_", None)
    if names is None:
        try:
            names = model[:-1].get_feature_names_out(inputs)
        except Exception:
            names = None
    return final, None if names is None else [str(n) for n in names]


def _native(est):
    import numpy as np

    try:
        values = est.feature_importances_
    except Exception:
        values = None
    if values is not None:
        trees = getattr(est, "estimators_", None)
        std = None
        try:
            if trees is not None and len(trees) > 1:
                std = np.std([t.feature_importances_ for t in np.ravel(trees)], axis=0)
        except Exception:
            std = None
        return "feature_importances_", values, std
    try:
        coef = est.coef_
    except Exception:
        return None
    if hasattr(coef, "toarray"):
        coef = coef.toarray()
    coef = np.abs(np.asarray(coef, dtype=float))
    return "coef_", coef.mean(axis=0) if coef.ndim == 2 else coef, None


def _permutable(X) -> bool:
    shape = getattr(X, "shape", None)
    return (shape is not None and len(shape) == 2 and not hasattr(X, "tocsr")
            and 0 < shape[1] <= MAX_PERMUTATION_FEATURES)


def _permutation(model, X, y, sample_weight, repeats, budget):
    """Repeats run one at a time against a deadline, so a slow or contended machine
    costs fewer repeats rather than a slow ``fit``."""
    import time

    import numpy as np
    from sklearn.inspection import permutation_importance

    X, y, sample_weight = _sample(X, y, sample_weight, MAX_PERMUTATION_ROWS)
    n_rows, n_features = X.shape
    start = time.perf_counter()  # one scoring pass prices a repeat (n_features passes)
    model.score(X, y, **({} if sample_weight is None else {"sample_weight": sample_weight}))
    per_repeat = max(time.perf_counter() - start, 1e-6) * (n_features + 1)
    if per_repeat > budget:
        rows = max(int(n_rows * budget / per_repeat), MIN_PERMUTATION_ROWS)
        if rows < n_rows:
            X, y, sample_weight = _sample(X, y, sample_weight, rows)
    deadline = time.perf_counter() + budget
    runs = []
    for seed in range(max(int(repeats), 1)):
        began = time.perf_counter()
        runs.append(permutation_importance(model, X, y, n_repeats=1, random_state=seed,
                                           sample_weight=sample_weight).importances)
        now = time.perf_counter()
        if now + (now - began) > deadline:
            break
    scores = np.hstack(runs)
    extra = {"n_samples": int(X.shape[0]), "n_repeats": int(scores.shape[1])}
    return scores.mean(axis=1), scores.std(axis=1), extra


def _sample(X, y, sample_weight, rows):
    from sklearn.utils import resample

    if X.shape[0] <= rows:
        return X, y, sample_weight
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    out = resample(*arrays, n_samples=rows, replace=False, random_state=0)
    return out[0], out[1], out[2] if len(out) == 3 else None


def chart(report: dict):
    """A horizontal bar chart of the top features, drawn on a bare ``Figure`` so the
    user's pyplot backend and open figures are left alone."""
    from matplotlib.figure import Figure

    rows = report["importances"][:CHART_FEATURES][::-1]
    fig = Figure(figsize=(6, 0.3 * len(rows) + 1.2))
    ax = fig.add_subplot()
    errors = [r["std"] for r in rows] if rows and "std" in rows[0] else None
    ax.barh([r["feature"] for r in rows], [r["importance"] for r in rows], xerr=errors, color="#4878a8")
    ax.set_xlabel(f"importance ({report['method']})")
    ax.set_title(f"Feature importance — {report['estimator']}")
    fig.tight_layout()
    return fig
