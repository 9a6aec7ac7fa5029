"""Synthetic runs for the search benchmarks, identical in every tool that loads them.

Run ``i`` is drawn from its own seeded generator, so a store can grow in steps (10k, then
100k runs) and another tool (MLflow, in its own virtual environment: this module imports
nothing outside the standard library) loads exactly the same first N runs. Each run has
10 params (9 drawn from small vocabularies plus a unique ``seed``), 10 latest metrics
(about 1 % NaN) and 2 tags; 2 % of the runs sit in a small experiment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PARAMS = {
    "C": ["0.01", "0.1", "1.0", "10.0", "100.0"],
    "penalty": ["l1", "l2"],
    "solver": ["lbfgs", "liblinear", "saga", "newton-cg"],
    "max_iter": ["100", "200", "500"],
    "model": ["logreg", "rf", "gbm", "svm"],
    "n_estimators": ["50", "100", "200", "400"],
    "max_depth": ["3", "5", "8", "None"],
    "learning_rate": ["0.01", "0.05", "0.1", "0.3"],
    "scaler": ["standard", "minmax", "none"],
}
METRICS = ["accuracy", "f1", "precision", "recall", "auc", "loss", "val_loss", "train_time",
           "log_loss", "mae"]
TEAMS = ["vision", "nlp", "tabular", "speech"]
BRANCHES = ["main", "dev", "exp"]
STATUSES = ["FINISHED"] * 90 + ["FAILED"] * 6 + ["KILLED"] * 2 + ["RUNNING"] * 2
EXPERIMENTS = ["bench-0", "bench-1", "bench-2", "bench-small"]
T0_MS = 1_700_000_000_000
METRIC_STEP = 10

# The query both tools answer in the side-by-side comparison (MLflow's filter syntax is a
# subset of ours): a param equality and a metric range, ordered by that metric, top 100.
COMPARE_FILTER = "params.C = '1.0' and metrics.accuracy > 0.9"
COMPARE_ORDER = ["metrics.accuracy DESC"]


@dataclass(frozen=True)
class RunRow:
    index: int
    experiment: str
    name: str
    status: str
    start_ms: int
    end_ms: int | None
    params: dict
    metrics: dict  # key -> float, or None for NaN
    tags: dict


def run_row(i: int, seed: int = 7) -> RunRow:
    rng = random.Random(seed * 1_000_003 + i)
    start = T0_MS + i * 1000 + rng.randrange(1000)
    status = rng.choice(STATUSES)
    end = None if status == "RUNNING" else start + rng.randrange(1_000, 300_000)
    params = {k: rng.choice(v) for k, v in PARAMS.items()}
    params["seed"] = str(i)
    acc = rng.random() * 0.5 + 0.5
    metrics = {}
    for k in METRICS:
        v = acc if k == "accuracy" else rng.random()
        metrics[k] = None if rng.random() < 0.01 else v
    tags = {"team": rng.choice(TEAMS), "git_branch": rng.choice(BRANCHES)}
    exp = EXPERIMENTS[3] if i % 50 == 0 else EXPERIMENTS[i % 3]
    return RunRow(i, exp, f"run-{i}", status, start, end, params, metrics, tags)


def expected_top(n: int, limit: int = 100, seed: int = 7) -> list[float]:
    """The accuracies that ``COMPARE_FILTER`` ordered by ``COMPARE_ORDER`` must return over
    the first ``n`` runs: the check that both tools answered the same question."""
    hits = []
    for i in range(n):
        row = run_row(i, seed)
        acc = row.metrics["accuracy"]
        if row.params["C"] == "1.0" and acc is not None and acc > 0.9:
            hits.append(acc)
    return sorted(hits, reverse=True)[:limit]
