"""Hyper-parameter searches: the parent run gets the summary, each top candidate a child run.

Candidates are read from ``cv_results_`` after the search has finished, so the inner
fits run untouched (and at full speed) while the search is working.
"""

from __future__ import annotations

from .autolog_metrics import _param_text, MAX_PARAM_CHARS

_CANDIDATE_METRICS = ("mean_", "std_", "rank_")


def is_search(estimator) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def primary_metric(search) -> str:
    """The scorer whose rank orders candidates: ``refit``'s for multi-metric searches."""
    if not getattr(search, "multimetric_", False):
        return "score"
    if isinstance(search.refit, str):
        return search.refit
    ranks = sorted(k[len("rank_test_"):] for k in search.cv_results_ if k.startswith("rank_test_"))
    return ranks[0] if ranks else "score"


def log_search_summary(client, run_id: str, search) -> None:
    """``best_*`` params, ``best_score``, ``best_params.json`` and ``cv_results.csv``."""
    best = getattr(search, "best_params_", None)
    if best is not None:
        client.log_params(run_id, _texts({f"best_{k}": v for k, v in best.items()}))
        client.log_dict(run_id, {k: _jsonable(v) for k, v in best.items()}, "best_params.json")
    score = getattr(search, "best_score_", None)
    if score is not None:
        client.log_metric(run_id, "best_score", float(score))
    import pandas as pd

    frame = pd.DataFrame({k: list(v) if k == "params" else v for k, v in search.cv_results_.items()})
    client.log_bytes(run_id, frame.to_csv(index=False).encode(), "cv_results.csv", "text/csv")


def log_candidates(client, parent, search, max_runs: int | None) -> list[str]:
    """One FINISHED child run per candidate, best ranks first, at most ``max_runs``."""
    import numpy as np

    results = search.cv_results_
    n = len(results["params"])
    ranks = results.get(f"rank_test_{primary_metric(search)}")
    order = np.argsort(ranks, kind="stable") if ranks is not None else np.arange(n)
    if max_runs is not None:
        order = order[: max(int(max_runs), 0)]
    base = type(getattr(search, "estimator", search)).__name__
    ids = []
    for i in order:
        i = int(i)
        child = client.create_run(
            parent.experiment_id, f"{base}-candidate-{i}", parent_run_id=parent.id,
            tags={"autolog.candidate_index": str(i)}, source=parent.source,
            code_hash=parent.code_hash,
        )
        try:
            client.log_params(child.id, _texts(results["params"][i]))
            client.log_metrics(child.id, {
                k: float(v[i]) for k, v in results.items()
                if k.startswith(_CANDIDATE_METRICS) and _is_number(v[i])
            })
        except BaseException as exc:
            client.end_run(child.id, error=exc)
            raise
        client.end_run(child.id)
        ids.append(child.id)
    return ids


def _texts(params: dict) -> dict[str, str]:
    out = {}
    for k, v in params.items():
        text = _param_text(v)
        if text is not None and len(text) <= MAX_PARAM_CHARS:
            out[str(k)] = text
    return out


def _jsonable(value):
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    try:
        return value.item()  # numpy scalar
    except Exception:
        return _param_text(value)


def _is_number(value) -> bool:
    try:
        float(value)  # NaN is kept: a candidate that failed to score is worth seeing
    except (TypeError, ValueError):
        return False
    return True
