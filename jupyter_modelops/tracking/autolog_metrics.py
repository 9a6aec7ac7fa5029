"""What autolog records about one fitted scikit-learn estimator: params and training metrics.

Kept apart from the patching code so the rules for *what* is logged can be read (and
tested) without the machinery that decides *when*.
"""

from __future__ import annotations

import math

MAX_PARAM_CHARS = 500  # the store's param limit; longer values (nested reprs) are skipped
MAX_SILHOUETTE_ROWS = 10_000  # silhouette is O(n²)


def flat_params(estimator) -> dict[str, str]:
    """``get_params(deep=True)`` as text; values too long to be useful as params are left out."""
    out = {}
    for key, value in estimator.get_params(deep=True).items():
        text = _param_text(value)
        if text is not None and len(text) <= MAX_PARAM_CHARS:
            out[str(key)] = text
    return out


def _param_text(value) -> str | None:
    if value is None or isinstance(value, (str, bool, int)):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(float(value))  # np.float64 is a float too
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return _param_text(value.item())
    except ImportError:  # pragma: no cover
        pass
    if callable(value) and hasattr(value, "__qualname__") and not hasattr(value, "get_params"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}".lstrip(".")
    try:
        return str(value)
    except Exception:
        return None


def training_metrics(estimator, X, y, sample_weight=None, labels=None) -> dict[str, float]:
    """Metrics on the data the estimator was fitted on; any that do not apply are skipped.

    ``labels`` are cluster labels returned by ``fit_predict`` (saves a second pass)."""
    from sklearn.base import is_classifier, is_regressor

    predicts = hasattr(estimator, "predict")  # False e.g. for a search with refit=False
    if is_classifier(estimator) and y is not None and predicts:
        metrics = _classifier_metrics(estimator, X, y, sample_weight)
    elif is_regressor(estimator) and y is not None and predicts:
        metrics = _regressor_metrics(estimator, X, y, sample_weight)
    elif _is_clusterer(estimator):
        metrics = _cluster_metrics(estimator, X, labels)
    else:
        metrics = {}
    reuse = _default_score_metric(estimator)
    if reuse in metrics:  # the mixins' score() is exactly this metric: skip a second predict
        metrics["training_score"] = metrics[reuse]
    elif hasattr(estimator, "score") and (y is not None or _is_clusterer(estimator)):
        _try(metrics, "training_score", lambda: _score(estimator, X, y, sample_weight))
    return metrics


def _default_score_metric(estimator) -> str | None:
    from sklearn.base import ClassifierMixin, RegressorMixin

    owner = next((k for k in type(estimator).__mro__ if "score" in k.__dict__), None)
    return {ClassifierMixin: "training_accuracy", RegressorMixin: "training_r2"}.get(owner)


def _score(estimator, X, y, sample_weight):
    if sample_weight is not None:
        return estimator.score(X, y, sample_weight=sample_weight)
    return estimator.score(X, y) if y is not None else estimator.score(X)


def _classifier_metrics(est, X, y, sw) -> dict:
    from sklearn import metrics as m

    out: dict = {}
    y_pred = est.predict(X)
    _try(out, "training_accuracy", lambda: m.accuracy_score(y, y_pred, sample_weight=sw))
    for name, fn in (("precision", m.precision_score), ("recall", m.recall_score), ("f1", m.f1_score)):
        _try(out, f"training_{name}",
             lambda fn=fn: fn(y, y_pred, average="weighted", sample_weight=sw, zero_division=0))
    if hasattr(est, "predict_proba"):
        try:
            proba = est.predict_proba(X)
        except Exception:
            proba = None
        classes = getattr(est, "classes_", None)
        if proba is not None and classes is not None and getattr(proba, "ndim", 0) == 2:
            _try(out, "training_log_loss", lambda: m.log_loss(y, proba, labels=classes, sample_weight=sw))
            if proba.shape[1] == 2:
                _try(out, "training_roc_auc", lambda: m.roc_auc_score(y, proba[:, 1], sample_weight=sw))
            else:
                _try(out, "training_roc_auc", lambda: m.roc_auc_score(
                    y, proba, multi_class="ovr", labels=classes, sample_weight=sw))
    return out


def _regressor_metrics(est, X, y, sw) -> dict:
    from sklearn import metrics as m

    out: dict = {}
    y_pred = est.predict(X)
    _try(out, "training_r2", lambda: m.r2_score(y, y_pred, sample_weight=sw))
    _try(out, "training_mse", lambda: m.mean_squared_error(y, y_pred, sample_weight=sw))
    if "training_mse" in out:
        out["training_rmse"] = math.sqrt(out["training_mse"])
    _try(out, "training_mae", lambda: m.mean_absolute_error(y, y_pred, sample_weight=sw))
    return out


def _cluster_metrics(est, X, labels) -> dict:
    from sklearn import metrics as m

    out: dict = {}
    labels = labels if labels is not None else getattr(est, "labels_", None)
    n = getattr(X, "shape", (None,))[0]
    if labels is None or n is None or n > MAX_SILHOUETTE_ROWS:
        return out
    k = len(set(labels.tolist() if hasattr(labels, "tolist") else labels))
    if 2 <= k <= n - 1:
        _try(out, "training_silhouette", lambda: m.silhouette_score(X, labels))
    return out


def _is_clusterer(est) -> bool:
    from sklearn.base import is_clusterer

    return is_clusterer(est)


def _try(out: dict, key: str, compute) -> None:
    """A metric that does not apply (multi-output y, one class, ...) is simply not logged."""
    try:
        value = float(compute())
    except Exception:
        return
    out[key] = value
