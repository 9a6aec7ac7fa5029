"""``mo.autolog()``: record scikit-learn training without changing the training code.

``fit`` (and ``fit_transform``/``fit_predict``) of every scikit-learn estimator is wrapped
at the class that defines it. Only the *outermost* fit of a thread is logged: the steps of
a Pipeline, the candidates of a search and the folds of ``cross_val_score`` run unlogged
(a search's candidates become child runs afterwards, from ``cv_results_``). ``score`` is
wrapped too, so evaluating a fitted estimator adds validation metrics to its run.

Logging must never cost the user a training result: every step is guarded and a failure
becomes one ``AutologWarning``; the fit's own exceptions always propagate unchanged.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
import time
import warnings
import weakref
from dataclasses import dataclass

from ..errors import Conflict
from . import autolog_patch

__all__ = ["autolog", "run_id_for", "AutologWarning"]

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
# Fits started by sklearn's cross-validation helpers are folds, not models worth a run.
_CV_FILES = (os.path.join("sklearn", "model_selection", "_validation.py"),)
PERMUTATION_BUDGET = 1.0  # seconds; or the fit's own duration if longer


class AutologWarning(UserWarning):
    """Something could not be logged; the training itself was not affected."""


@dataclass
class _Config:
    enabled: bool = False
    log_models: bool = True
    log_datasets: bool = True
    log_importance: bool = True
    max_tuning_runs: int | None = 50
    permutation_repeats: int = 5
    silent: bool = False


_config = _Config()
_lock = threading.RLock()
_state = threading.local()  # .depth: how many patched calls this thread is inside
_outer_threads: set[int] = set()  # threads inside a logged (outermost) fit
_fitted: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # estimator -> (client, run id)
_evals: dict[str, dict[str, str]] = {}  # run id -> {evaluation data fingerprint: metric prefix}
_warned: set[str] = set()


def autolog(disable: bool = False, *, log_models: bool = True, log_datasets: bool = True,
            log_importance: bool = True, max_tuning_runs: int | None = 50,
            permutation_repeats: int = 5, silent: bool = False) -> None:
    """Log every scikit-learn ``fit`` from now on; ``autolog(disable=True)`` stops it.

    A fit inside ``with mo.start_run():`` logs into that run; otherwise it gets a run of
    its own (named after the estimator), ended when ``fit`` returns — FAILED, with the
    error, if ``fit`` raises. Recorded: the estimator's params (``get_params(deep=True)``),
    ``estimator_class``/``estimator_name`` tags, training metrics, the training dataset,
    ``feature_importance.json`` (+ ``.png``; permutation importance on ≤ 2000 rows when the
    model has neither ``feature_importances_`` nor ``coef_``) and the fitted model with its
    input signature. A GridSearchCV/RandomizedSearchCV run also gets ``best_*`` params,
    ``best_score``, ``cv_results.csv`` and one child run per candidate (best
    ``max_tuning_runs`` ranks); its ``model`` is ``best_estimator_``. Only the outermost fit
    is a run: Pipeline steps, search candidates and the folds of ``cross_val_score`` &
    co. are not.

    Validation metrics: ``est.score(X_val, y_val)`` logs ``val_score`` (``val_1_score``,
    ... for further datasets) into the run that fitted ``est`` — but finished runs are
    immutable, so fit and score inside one run to record them::

        with mo.start_run():
            model.fit(X_train, y_train)
            model.score(X_val, y_val)

    Scoring after an auto-started run has ended is not an error; the score is not logged.
    ``silent=True`` hides autolog's warnings.
    """
    if max_tuning_runs is not None and int(max_tuning_runs) < 0:
        raise ValueError("max_tuning_runs must be >= 0 or None")
    with _lock:
        if disable:
            autolog_patch.unpatch()
            _config.enabled = False
            _warned.clear()
            return
        _config.log_models, _config.log_datasets = bool(log_models), bool(log_datasets)
        _config.log_importance, _config.silent = bool(log_importance), bool(silent)
        _config.max_tuning_runs = None if max_tuning_runs is None else int(max_tuning_runs)
        _config.permutation_repeats = max(int(permutation_repeats), 1)
        autolog_patch.patch({**{m: _fit_call for m in FIT_METHODS}, "score": _score_call})
        _config.enabled = True


def run_id_for(estimator) -> str | None:
    """The id of the run that logged this estimator's last autologged fit (None if none)."""
    link = _fitted.get(estimator) if _weakable(estimator) else None
    return link[1] if link else None


# ------------------------------------------------------------------------------ fit
def _depth() -> int:
    return getattr(_state, "depth", 0)


def _fit_call(est, method, call, args, kwargs):
    depth = _depth()
    if depth or not _config.enabled or _inside_other_work():
        _state.depth = depth + 1
        try:
            return call(*args, **kwargs)
        finally:
            _state.depth = depth
    me = threading.get_ident()
    _state.depth = 1
    with _lock:
        _outer_threads.add(me)
    try:
        session = _Session.begin(est)
        start = time.perf_counter()
        try:
            result = call(*args, **kwargs)
        except BaseException as exc:
            if session is not None:
                session.abort(exc)
            raise
        if session is not None:
            session.fit_seconds = time.perf_counter() - start
            try:
                session.record(est, method, call, args, kwargs, result)
            except BaseException as exc:  # Ctrl-C while logging: leave no run open
                session.abort(exc)
                raise
        return result
    finally:
        _state.depth = 0
        with _lock:
            _outer_threads.discard(me)


def _inside_other_work() -> bool:
    """A fit that is part of something else: a worker thread of a logged fit (joblib's
    threading backend), or a fold of sklearn's cross-validation helpers."""
    if _outer_threads and threading.current_thread() is not threading.main_thread() \
            and threading.get_ident() not in _outer_threads:
        return True
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.endswith(_CV_FILES):
            return True
        frame = frame.f_back
    return False


class _Session:
    """The run one outermost fit logs into, and the steps that fill it."""

    def __init__(self, client, run_id: str, owned):
        self.client, self.run_id, self.owned = client, run_id, owned
        self.fit_seconds = 0.0

    @classmethod
    def begin(cls, est) -> "_Session | None":
        from .. import fluent

        try:
            active = fluent.active_run()
            if active is not None:
                session = cls(active.client, active.id, None)
            else:
                run = fluent.start_run(name=type(est).__name__)
                session = cls(run.client, run.id, run)
        except Exception as exc:
            _warn("start a run", exc)
            return None
        session._step("log params", session._log_params, est)
        return session

    def abort(self, exc: BaseException) -> None:
        if self.owned is not None:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            self._step("end the run", self.owned.end, status, exc)

    def record(self, est, method, call, args, kwargs, result) -> None:
        from .autolog_search import is_search

        X, y, weight = _fit_data(call, args, kwargs)
        labels = result if method == "fit_predict" else None
        search = is_search(est)
        self._step("log training metrics", self._log_metrics, est, X, y, weight, labels)
        if search:
            self._step("log the search results", self._log_search, est)
        if _config.log_datasets and X is not None:
            self._step("log the training dataset", self._log_input, X, "training", "training")
        if _config.log_importance and X is not None:
            self._step("log feature importance", self._log_importance, est, X, y, weight)
        if _config.log_models:
            self._step("log the model", self._log_model, est, X)
        _remember(est, self.client, self.run_id)
        if search and getattr(est, "best_estimator_", None) is not None:
            _remember(est.best_estimator_, self.client, self.run_id)
        if self.owned is not None:
            self._step("end the run", self.owned.end)

    def _step(self, what, fn, *args):
        try:
            fn(*args)
        except Exception as exc:
            _warn(what, exc)

    # steps ---------------------------------------------------------------------
    def _log_params(self, est) -> None:
        from .autolog_metrics import flat_params

        cls = type(est)
        self.client.set_tags(self.run_id, {"estimator_class": f"{cls.__module__}.{cls.__qualname__}",
                                           "estimator_name": cls.__name__})
        params = flat_params(est)
        if self.owned is None:  # a user's run may hold params of an earlier fit
            existing = self.client.get_run(self.run_id).params
            clash = sorted(k for k, v in params.items() if k in existing and existing[k] != v)
            params = {k: v for k, v in params.items() if k not in existing}
            if clash:
                _warn_once(f"clash:{self.run_id}", (
                    f"run {self.run_id[:8]} already has other values for {', '.join(clash[:5])}"
                    f"{' ...' if len(clash) > 5 else ''} from an earlier fit; they were kept. "
                    "Fit each model in its own run (mo.start_run(nested=True)) to record both."))
        if params:
            self.client.log_params(self.run_id, params)

    def _log_metrics(self, est, X, y, weight, labels) -> None:
        from .autolog_metrics import training_metrics

        metrics = training_metrics(est, X, y, weight, labels) if X is not None else {}
        if metrics:
            self.client.log_metrics(self.run_id, metrics)

    def _log_search(self, est) -> None:
        from .autolog_search import log_candidates, log_search_summary

        log_search_summary(self.client, self.run_id, est)
        if _config.max_tuning_runs != 0:
            parent = self.client.get_run(self.run_id)
            log_candidates(self.client, parent, est, _config.max_tuning_runs)

    def _log_input(self, data, name, context) -> None:
        from ..errors import InvalidInput

        try:
            self.client.log_input(self.run_id, data, name=name, context=context)
        except InvalidInput:
            pass  # a kind of data the dataset profiler does not describe (e.g. sparse)

    def _log_importance(self, est, X, y, weight) -> None:
        from . import autolog_explain

        budget = max(PERMUTATION_BUDGET, self.fit_seconds)  # never much slower than the fit
        report = autolog_explain.compute(est, X, y, weight, _config.permutation_repeats, budget)
        if report is None:
            return
        self.client.log_dict(self.run_id, report, "feature_importance.json")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return
        self.client.log_figure(self.run_id, autolog_explain.chart(report), "feature_importance.png")

    def _log_model(self, est, X) -> None:
        from .autolog_search import is_search

        model = getattr(est, "best_estimator_", None) if is_search(est) else est
        if model is None:
            return
        try:
            self.client.log_model(self.run_id, model, "model", input_example=_head(X))
        except Exception as exc:
            self.client.set_tags(self.run_id, {"autolog.model_error": _one_line(exc)})


def _fit_data(call, args, kwargs):
    """(X, y, sample_weight) from a fit/score call, whatever the method names them."""
    try:
        sig = inspect.signature(call)
        arguments = sig.bind_partial(*args, **kwargs).arguments
        names = list(sig.parameters)
        extra = {}
        for p in sig.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                extra = arguments.get(p.name, {})
        X = arguments.get(names[0]) if names else None
        y = arguments.get("y", arguments.get("Y"))
        weight = arguments.get("sample_weight", extra.get("sample_weight"))
        return X, y, weight
    except (TypeError, ValueError):
        return (args[0] if args else kwargs.get("X"), args[1] if len(args) > 1 else kwargs.get("y"),
                kwargs.get("sample_weight"))


def _head(X, n: int = 5):
    if X is None:
        return None
    try:
        return X.iloc[:n] if hasattr(X, "iloc") else X[:n]
    except Exception:
        return None


# ------------------------------------------------------------------------------ score
def _score_call(est, method, call, args, kwargs):
    if _depth() or not _config.enabled:
        return call(*args, **kwargs)
    _state.depth = 1
    try:
        result = call(*args, **kwargs)
        _log_validation(est, call, args, kwargs, result)
        return result
    finally:
        _state.depth = 0


def _log_validation(est, call, args, kwargs, result) -> None:
    link = _fitted.get(est) if _weakable(est) else None
    if link is None:
        return
    client, run_id = link
    try:
        X, y, _ = _fit_data(call, args, kwargs)
        names = _evals.setdefault(run_id, {})
        key = _fingerprint(X, y)
        prefix = names.get(key)
        if prefix is None:
            prefix = "val" if not names else f"val_{len(names)}"
        client.log_metric(run_id, f"{prefix}_score", float(result))
    except Conflict:
        _warn_once("ended", (
            f"run {run_id[:8]} has ended, so this score was not logged; fit and score inside "
            "`with mo.start_run():` to record validation metrics"))
        return
    except Exception as exc:
        _warn("log the validation score", exc)
        return
    if key not in names:
        names[key] = prefix
        if _config.log_datasets and X is not None:
            try:
                _Session(client, run_id, None)._log_input(X, prefix, "validation")
            except Exception as exc:
                _warn("log the validation dataset", exc)


def _fingerprint(X, y) -> str:
    try:
        import joblib

        return joblib.hash((X, y))
    except Exception:
        return f"{id(X)}:{id(y)}"


# ------------------------------------------------------------------------------ helpers
def _remember(est, client, run_id) -> None:
    if _weakable(est):
        _fitted[est] = (client, run_id)


def _weakable(est) -> bool:
    try:
        weakref.ref(est)
        hash(est)
    except TypeError:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _warn(what: str, exc: BaseException) -> None:
    if not _config.silent:
        warnings.warn(f"autolog could not {what}: {_one_line(exc)}", AutologWarning,
                      stacklevel=_user_stacklevel())


def _warn_once(key: str, message: str) -> None:
    if key not in _warned and not _config.silent:
        _warned.add(key)
        warnings.warn(f"autolog: {message}", AutologWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """Point a warning at the user's line that called fit/score, not at autolog or sklearn."""
    ours = os.path.dirname(os.path.abspath(__file__))
    sklearn_dir = os.sep + "sklearn" + os.sep
    frame, level = sys._getframe(2), 2
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(ours) or sklearn_dir in name or name == functools.__file__):
            return level
        frame, level = frame.f_back, level + 1
    return 2
